"""The reader's API: rounds and sessions, the case in front of them, submitting reads, images.

Every response is private and never stored by caches: a shared or browser cache must not hand
one reader's case (or an assisted round's AI output) to anybody else.
"""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.http import FileResponse
from django.http.response import HttpResponseBase
from django.utils.cache import patch_cache_control
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.accounts.access import reader_require
from readerstudy.errors import NotFound, NotPermitted
from readerstudy.reading.models import Decision, ReadingSession, Round
from readerstudy.reading.selectors import (
    case_payload,
    image_for_session,
    reader_rounds,
    session_for_reader,
    session_next_case,
    session_position,
    session_progress,
)
from readerstudy.reading.services import (
    case_view_record,
    read_revise,
    read_submit,
    session_start,
)
from readerstudy.studies.models import Case


def _private(response: Response) -> Response:
    patch_cache_control(response, private=True, no_store=True)
    return response


class SessionOutput(serializers.Serializer[None]):
    id = serializers.IntegerField()
    study = serializers.CharField()
    study_title = serializers.CharField()
    round = serializers.IntegerField()
    round_id = serializers.IntegerField()
    assisted = serializers.BooleanField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    opens_at = serializers.DateTimeField(allow_null=True)
    waiting_for = serializers.CharField()


class ReaderRoundsApi(APIView):
    """My rounds: sessions with progress, and for rounds not started, when they open."""

    @extend_schema(responses=SessionOutput(many=True))
    def get(self, request: Request) -> Response:
        reader = reader_require(request.user)
        rows = [
            {
                "id": state.session.pk if state.session else None,
                "study": state.round.study.slug,
                "study_title": state.round.study.title,
                "round": state.round.index,
                "round_id": state.round.pk,
                "assisted": state.round.assisted,
                "done": state.done,
                "total": state.total,
                "started_at": state.session.started_at if state.session else None,
                "completed_at": state.session.completed_at if state.session else None,
                "opens_at": state.opens_at,
                "waiting_for": state.waiting_for,
            }
            for state in reader_rounds(reader=reader)
        ]
        return _private(Response(rows))


class SessionStartApi(APIView):
    """Start (or resume) my session in a round; refused before my washout ends."""

    @extend_schema(request=None, responses={201: SessionOutput})
    def post(self, request: Request, round_pk: int) -> Response:
        reader = reader_require(request.user)
        round = Round.objects.filter(pk=round_pk, study__enrolments__reader=reader).first()
        if round is None:
            raise NotFound("No such round.")
        session = session_start(reader=reader, round=round)
        return _private(
            Response(
                {"id": session.pk, **session_progress(session=session)},
                status=status.HTTP_201_CREATED,
            )
        )


def _current_case(session: ReadingSession) -> dict[str, Any]:
    case, done = session_position(session=session)
    progress = {"done": done, "total": len(session.permutation)}
    if case is None:
        return {"complete": True, "case": None, **progress}
    case_view_record(session=session, case=case)
    return {"complete": False, **progress, "case": case_payload(session=session, case=case)}


class SessionCurrentCaseApi(APIView):
    """The first unread case of my session (where I resume), or `complete`."""

    @extend_schema(responses=dict)
    def get(self, request: Request, session_pk: int) -> Response:
        session = session_for_reader(reader=reader_require(request.user), session_pk=session_pk)
        return _private(Response(_current_case(session)))


class SessionCaseApi(APIView):
    """A case of my session by its label (to look back where the study allows corrections)."""

    @extend_schema(responses=dict)
    def get(self, request: Request, session_pk: int, label: str) -> Response:
        reader = reader_require(request.user)
        session = session_for_reader(reader=reader, session_pk=session_pk)
        case = Case.objects.filter(reader_label=label, pk__in=session.permutation).first()
        if case is None:
            raise NotFound("No such case in this session.")
        if not session.round.study.allow_revisions and session_next_case(session=session) != case:
            raise NotPermitted("This study does not allow going back to earlier cases.")
        return _private(Response(case_payload(session=session, case=case)))


class ReadSubmitApi(APIView):
    """Submit my read of a case; answers with the next case so the screen needs one request."""

    class ReadInput(serializers.Serializer[None]):
        case = serializers.CharField(max_length=16)
        decision = serializers.ChoiceField(choices=Decision.choices)
        confidence = serializers.IntegerField(min_value=0, max_value=100)
        nonce = serializers.UUIDField()
        active_ms = serializers.IntegerField(min_value=0, max_value=24 * 3600 * 1000)
        features = serializers.DictField(required=False, default=dict)
        comment = serializers.CharField(
            required=False, allow_blank=True, max_length=4000, default=""
        )
        revision_reason = serializers.CharField(
            required=False, allow_blank=True, max_length=2000, default=""
        )

    @extend_schema(request=ReadInput, responses={201: dict})
    def post(self, request: Request, session_pk: int) -> Response:
        reader = reader_require(request.user)
        session = session_for_reader(reader=reader, session_pk=session_pk)
        data = self.ReadInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        case = Case.objects.filter(reader_label=values["case"], pk__in=session.permutation).first()
        if case is None:
            raise NotFound("No such case in this session.")
        common = {
            "session": session,
            "case": case,
            "decision": Decision(values["decision"]),
            "confidence": values["confidence"],
            "nonce": values["nonce"],
            "active_ms": values["active_ms"],
            "features": values["features"],
            "comment": values["comment"],
            "actor": reader.user,
        }
        if values["revision_reason"]:
            read = read_revise(**common, reason=values["revision_reason"])
        else:
            read = read_submit(**common)
        body = {"read": {"revision": read.revision, "submitted_at": read.submitted_at}}
        body["next"] = _current_case(session)
        return _private(Response(body, status=status.HTTP_201_CREATED))


class ReadingImageApi(APIView):
    """An image of a case in my session. Heatmaps exist only in assisted rounds."""

    @extend_schema(responses={(200, "image/jpeg"): bytes})
    def get(self, request: Request, session_pk: int, token: str, kind: str) -> HttpResponseBase:
        return _image_response(request, session_pk=session_pk, token=token, kind=kind)


def _image_response(
    request: Request, *, session_pk: int, token: str, kind: str
) -> HttpResponseBase:
    reader = reader_require(request.user)
    session = session_for_reader(reader=reader, session_pk=session_pk)
    image = image_for_session(session=session, token=token)
    if kind in ("display", "thumbnail"):
        name = getattr(image, kind).name
    elif kind == "heatmap" and session.round.assisted:
        from inference.worker.models import Prediction

        prediction = Prediction.objects.filter(
            image=image, model_version_id=session.round.study.ai_model_id
        ).first()
        name = prediction.heatmap.name if prediction is not None else ""
    else:
        raise NotFound("No such image.")
    if not name:
        raise NotFound("No such image.")
    response = FileResponse(default_storage.open(name, "rb"), content_type=_content_type(name))
    # Display images hold no AI output and never change (content-hashed): the browser may keep
    # them for the reader; heatmaps are assisted-round only and are never stored.
    if kind == "heatmap":
        patch_cache_control(response, private=True, no_store=True)
    else:
        patch_cache_control(response, private=True, max_age=3600)
    return response


def _content_type(name: str) -> str:
    return "image/png" if name.endswith(".png") else "image/jpeg"
