"""The reader's API: rounds and sessions, the case in front of them, submitting reads.

Every response is private and never stored by caches: a shared or browser cache must not hand
one reader's case (or an assisted round's AI output) to anybody else.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.cache import patch_cache_control
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.accounts.access import reader_or_404, reader_require
from readerstudy.errors import NotFound, NotPermitted
from readerstudy.reading.labels import case_for_label
from readerstudy.reading.models import Decision, Phase, Read, ReadingSession, Round
from readerstudy.reading.selectors import (
    RoundState,
    case_payload,
    reader_rounds,
    session_for_reader,
    session_next_case,
    session_position,
    session_progress,
    session_reads,
)
from readerstudy.reading.services import (
    case_view_record,
    read_revise,
    read_submit,
    session_start,
)
from readerstudy.studies.models import Case

# The steps of a sequential read a reader submits (one enum in the API schema).
SEQUENTIAL_STEPS = [
    (Phase.LOCKED.value, Phase.LOCKED.label),
    (Phase.FINAL.value, Phase.FINAL.label),
]


def _private(response: Response) -> Response:
    patch_cache_control(response, private=True, no_store=True)
    return response


class SessionOutput(serializers.Serializer[RoundState]):
    """A round as the reader sees it: their session's progress, or when it opens for them."""

    id = serializers.IntegerField(source="session.pk", allow_null=True)
    study = serializers.CharField(source="round.study.slug")
    study_title = serializers.CharField(source="round.study.title")
    round = serializers.IntegerField(source="round.index")
    round_id = serializers.IntegerField(source="round.pk")
    assisted = serializers.BooleanField(source="round.assisted")
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    started_at = serializers.DateTimeField(source="session.started_at", allow_null=True)
    completed_at = serializers.DateTimeField(source="session.completed_at", allow_null=True)
    opens_at = serializers.DateTimeField(allow_null=True)
    waiting_for = serializers.CharField()


class ProgressOutput(serializers.Serializer[dict[str, Any]]):
    done = serializers.IntegerField()
    total = serializers.IntegerField()


class SpacingOutput(serializers.Serializer[dict[str, Any]]):
    x_mm = serializers.FloatField()
    y_mm = serializers.FloatField()
    # the metaclass takes declared fields out of the class: this does not shadow Field.source
    source = serializers.CharField()  # type: ignore[assignment]


class ImageOutput(serializers.Serializer[dict[str, Any]]):
    id = serializers.CharField(help_text="The image's opaque token.")
    display = serializers.CharField(help_text="The rendition shown, also the thumbnail's source.")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    roi = serializers.ListField(
        child=serializers.IntegerField(), help_text="x, y, w, h in display pixels."
    )
    plane = serializers.CharField(allow_blank=True)
    scale = serializers.FloatField(help_text="Display pixels per original pixel.")
    spacing = SpacingOutput(allow_null=True, help_text="None: the file gives no physical size.")
    frames = serializers.ListField(
        child=serializers.CharField(), help_text="A cine's frame renditions (empty: one frame)."
    )
    frame = serializers.IntegerField(help_text="The frame the model gets, shown first.")
    probability = serializers.FloatField(required=False, help_text="Assisted rounds only.")
    heatmap = serializers.CharField(required=False, help_text="Assisted rounds only.")


class CurrentReadOutput(serializers.Serializer[dict[str, Any]]):
    decision = serializers.ChoiceField(choices=Decision.choices)
    confidence = serializers.IntegerField()
    features = serializers.DictField()
    comment = serializers.CharField(allow_blank=True)
    revision = serializers.IntegerField()


class AiOutput(serializers.Serializer[dict[str, Any]]):
    available = serializers.BooleanField()
    probability = serializers.FloatField(required=False)
    malignant = serializers.BooleanField(required=False)
    threshold = serializers.FloatField(required=False)


class LockedReadOutput(serializers.Serializer[dict[str, Any]]):
    decision = serializers.ChoiceField(choices=Decision.choices)
    confidence = serializers.IntegerField()


class CaseOutput(serializers.Serializer[dict[str, Any]]):
    """The case on the reading screen: blinded (see `case_payload`)."""

    case = serializers.CharField(help_text="The case's reader label.")
    position = serializers.IntegerField()
    total = serializers.IntegerField()
    images = ImageOutput(many=True)
    read = CurrentReadOutput(allow_null=True, help_text="My current read, if any.")
    assisted = serializers.BooleanField(help_text="Whether this case is read with the AI now.")
    ai = AiOutput(required=False, help_text="Only where the case is read with the AI.")
    step = serializers.ChoiceField(
        choices=SEQUENTIAL_STEPS,
        required=False,
        help_text="Sequential sessions: the step to submit next (`phase` of the submit).",
    )
    locked_read = LockedReadOutput(required=False, help_text="Sequential, after the lock.")
    bias_control = serializers.BooleanField(
        required=False,
        help_text="Sequential, after the lock: true when this case stays without the AI.",
    )


class CurrentCaseOutput(serializers.Serializer[dict[str, Any]]):
    complete = serializers.BooleanField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    case = CaseOutput(allow_null=True)
    questionnaire = serializers.CharField(
        required=False, help_text="Once complete: the page of the round's questionnaires."
    )


class ReadOutput(serializers.Serializer[dict[str, Any]]):
    """The stored read and the case that now comes next, so the screen needs one request."""

    class StoredReadOutput(serializers.Serializer[Read]):
        revision = serializers.IntegerField()
        submitted_at = serializers.DateTimeField()

    read = StoredReadOutput()
    next = CurrentCaseOutput()


class ReaderRoundsApi(APIView):
    """My rounds: sessions with progress, and for rounds not started, when they open."""

    @extend_schema(responses=SessionOutput(many=True))
    def get(self, request: Request) -> Response:
        states = reader_rounds(reader=reader_require(request.user))
        return _private(Response([SessionOutput(state).data for state in states]))


class SessionStartApi(APIView):
    """Start (or resume) my session in a round; refused before my washout ends."""

    class SessionStartOutput(ProgressOutput):
        id = serializers.IntegerField()

    @extend_schema(request=None, responses={201: SessionStartOutput})
    def post(self, request: Request, round_pk: int) -> Response:
        reader = reader_or_404(request.user, what="round")
        round = Round.objects.filter(pk=round_pk, study__enrolments__reader=reader).first()
        if round is None:
            raise NotFound("No such round.")
        session = session_start(reader=reader, round=round)
        body = self.SessionStartOutput({"id": session.pk, **session_progress(session=session)})
        return _private(Response(body.data, status=status.HTTP_201_CREATED))


def _questionnaires_pending(session: ReadingSession) -> bool:
    """The round asks for a questionnaire this session has not answered. Through the reverse
    relations of the questionnaires app (the layer above): no import of it."""
    answered = session.questionnaire_responses.values("instrument")
    pending = session.round.questionnaires.exclude(instrument__in=answered)
    return bool(pending.exists())


def _current_case(session: ReadingSession) -> dict[str, Any]:
    case, done = session_position(session=session, finished=session.finished_cases)
    progress = {"done": done, "total": len(session.permutation)}
    if case is None:
        done_body: dict[str, Any] = {"complete": True, "case": None, **progress}
        if _questionnaires_pending(session):
            done_body["questionnaire"] = reverse("questionnaire", kwargs={"session_pk": session.pk})
        return done_body
    case_view_record(session=session, case=case)
    payload = case_payload(session=session, case=case, unread=True)  # the first unread case
    return {"complete": False, **progress, "case": payload}


def _session_case(session: ReadingSession, label: str) -> Case:
    pk = case_for_label(seed=session.seed, case_ids=session.permutation, label=label)
    case = None if pk is None else Case.objects.filter(pk=pk).order_by("pk").first()
    if case is None:
        raise NotFound("No such case in this session.")
    return case


class SessionCurrentCaseApi(APIView):
    """The first unread case of my session (where I resume), or `complete`."""

    @extend_schema(responses=CurrentCaseOutput)
    def get(self, request: Request, session_pk: int) -> Response:
        session = session_for_reader(user=request.user, session_pk=session_pk)
        return _private(Response(CurrentCaseOutput(_current_case(session)).data))


class SessionCaseApi(APIView):
    """A case of my session by its label (to look back where the study allows corrections)."""

    @extend_schema(responses=CaseOutput)
    def get(self, request: Request, session_pk: int, label: str) -> Response:
        session = session_for_reader(user=request.user, session_pk=session_pk)
        case = _session_case(session, label)
        if not session.round.study.allow_revisions and session_next_case(session=session) != case:
            raise NotPermitted("This study does not allow going back to earlier cases.")
        return _private(Response(CaseOutput(case_payload(session=session, case=case)).data))


class MeasurementInput(serializers.Serializer[None]):
    """A caliper: endpoints in the original image's pixels (the server computes millimetres)."""

    image = serializers.CharField(max_length=24, help_text="The image's id in the payload.")
    frame = serializers.IntegerField(min_value=0, required=False)
    x0 = serializers.FloatField(min_value=0)
    y0 = serializers.FloatField(min_value=0)
    x1 = serializers.FloatField(min_value=0)
    y1 = serializers.FloatField(min_value=0)
    fills_max_diameter = serializers.BooleanField(required=False, default=False)


class SessionReadOutput(serializers.Serializer[dict[str, Any]]):
    case = serializers.CharField()
    position = serializers.IntegerField()
    decision = serializers.ChoiceField(choices=Decision.choices)
    confidence = serializers.IntegerField()
    revision = serializers.IntegerField()
    submitted_at = serializers.DateTimeField()


class SessionReadsApi(APIView):
    """My current reads of a session, in reading order: where I go back from to correct one."""

    @extend_schema(responses=SessionReadOutput(many=True))
    def get(self, request: Request, session_pk: int) -> Response:
        session = session_for_reader(user=request.user, session_pk=session_pk)
        rows = session_reads(session=session)
        return _private(Response([SessionReadOutput(row).data for row in rows]))


class ReadAnswerInput(serializers.Serializer[None]):
    """What a reader answers about a case: the fields a read and its corrections share."""

    decision = serializers.ChoiceField(choices=Decision.choices)
    confidence = serializers.IntegerField(min_value=0, max_value=100)
    nonce = serializers.UUIDField()
    active_ms = serializers.IntegerField(min_value=0, max_value=24 * 3600 * 1000)
    features = serializers.DictField(required=False, default=dict)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")
    measurements = MeasurementInput(many=True, required=False, default=list)


class ReadSubmitApi(APIView):
    """Submit my read of a case; answers with the next case so the screen needs one request."""

    class ReadInput(ReadAnswerInput):
        case = serializers.CharField(max_length=16)
        phase = serializers.ChoiceField(
            choices=SEQUENTIAL_STEPS,
            required=False,
            help_text="Sequential sessions: `locked` (the unassisted read), then `final`.",
        )

    @extend_schema(request=ReadInput, responses={201: ReadOutput})
    def post(self, request: Request, session_pk: int) -> Response:
        session = session_for_reader(user=request.user, session_pk=session_pk, with_study=False)
        data = self.ReadInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        case = _session_case(session, values.pop("case"))
        phase = values.pop("phase", None)
        read = read_submit(
            session=session,
            case=case,
            decision=Decision(values.pop("decision")),
            phase=None if phase is None else Phase(phase),
            actor=session.reader.user,
            **values,
        )
        # The read's session is the one the submit locked, with its round and study fresh.
        body = ReadOutput({"read": read, "next": _current_case(read.session)})
        return _private(Response(body.data, status=status.HTTP_201_CREATED))


class ReadReviseApi(APIView):
    """Correct my read of a case (where the study allows it): a new revision, with a reason.

    The earlier read is kept; answers with the case that now comes next, as a submit does.
    """

    class ReviseInput(ReadAnswerInput):
        reason = serializers.CharField(max_length=2000)

    @extend_schema(request=ReviseInput, responses={201: ReadOutput})
    def post(self, request: Request, session_pk: int, label: str) -> Response:
        session = session_for_reader(user=request.user, session_pk=session_pk)
        case = _session_case(session, label)
        data = self.ReviseInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        read = read_revise(
            session=session,
            case=case,
            decision=Decision(values.pop("decision")),
            actor=session.reader.user,
            **values,
        )
        # The read's session is the one the submit locked, with its round and study fresh.
        body = ReadOutput({"read": read, "next": _current_case(read.session)})
        return _private(Response(body.data, status=status.HTTP_201_CREATED))
