"""The reader's API for the practice cases: start, the case in front of them, answer (with the
pathology, and in assisted practice the AI, in the response)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.accounts.access import reader_or_404
from readerstudy.errors import NotFound
from readerstudy.reading.apis import AiOutput, CaseOutput, ReadAnswerInput, _private
from readerstudy.reading.labels import case_for_label
from readerstudy.reading.models import Decision, PracticeSession
from readerstudy.reading.practice import (
    practice_case_payload,
    practice_feedback,
    practice_for_reader,
    practice_position,
    practice_start,
    practice_submit,
)
from readerstudy.studies.models import Case, Study


class PracticeStateOutput(serializers.Serializer[dict[str, Any]]):
    id = serializers.IntegerField()
    complete = serializers.BooleanField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    assisted = serializers.BooleanField()
    case = CaseOutput(allow_null=True)


class FeedbackOutput(serializers.Serializer[dict[str, Any]]):
    pathology = serializers.ChoiceField(
        choices=Decision.choices, help_text="What the case is, from pathology."
    )
    ai = AiOutput(required=False, help_text="Assisted practice only.")


def _state(session: PracticeSession) -> dict[str, Any]:
    case, done = practice_position(session=session)
    return {
        "id": session.pk,
        "complete": case is None,
        "done": done,
        "total": len(session.permutation),
        "assisted": session.assisted,
        "case": None if case is None else practice_case_payload(session=session, case=case),
    }


class PracticeStartApi(APIView):
    """Start (or resume) my practice in a study."""

    @extend_schema(request=None, responses={201: PracticeStateOutput})
    def post(self, request: Request, slug: str) -> Response:
        reader = reader_or_404(request.user, what="study")
        study = Study.objects.filter(slug=slug, enrolments__reader=reader).first()
        if study is None:
            raise NotFound("No such study.")
        session = practice_start(reader=reader, study=study)
        return _private(Response(PracticeStateOutput(_state(session)).data, status=201))


class PracticeCurrentApi(APIView):
    """The next practice case of mine, or `complete`."""

    @extend_schema(responses=PracticeStateOutput)
    def get(self, request: Request, practice_pk: int) -> Response:
        reader = reader_or_404(request.user, what="practice session")
        session = practice_for_reader(reader=reader, practice_pk=practice_pk)
        return _private(Response(PracticeStateOutput(_state(session)).data))


class PracticeSubmitApi(APIView):
    """Answer a practice case: the response tells the pathology (and the AI in assisted practice)."""

    class PracticeInput(ReadAnswerInput):
        case = serializers.CharField(max_length=16)

    class PracticeReadOutput(serializers.Serializer[dict[str, Any]]):
        feedback = FeedbackOutput()
        next = PracticeStateOutput()

    @extend_schema(request=PracticeInput, responses={201: PracticeReadOutput})
    def post(self, request: Request, practice_pk: int) -> Response:
        reader = reader_or_404(request.user, what="practice session")
        session = practice_for_reader(reader=reader, practice_pk=practice_pk)
        data = self.PracticeInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        pk = case_for_label(seed=session.seed, case_ids=session.permutation, label=values["case"])
        case = None if pk is None else Case.objects.filter(pk=pk).first()
        if case is None:
            raise NotFound("No such case in this practice session.")
        practice_submit(
            session=session,
            case=case,
            decision=Decision(values["decision"]),
            confidence=values["confidence"],
            nonce=values["nonce"],
            active_ms=values["active_ms"],
            actor=reader.user,
        )
        body = {"feedback": practice_feedback(session=session, case=case), "next": _state(session)}
        return _private(
            Response(self.PracticeReadOutput(body).data, status=status.HTTP_201_CREATED)
        )
