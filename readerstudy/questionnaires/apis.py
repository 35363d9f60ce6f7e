"""The coordinator's API for a round's questionnaires (the reader answers on a page)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.accounts import access
from readerstudy.accounts.access import COORDINATE
from readerstudy.accounts.models import User
from readerstudy.questionnaires.instruments import INSTRUMENTS, instrument_items
from readerstudy.questionnaires.models import RoundQuestionnaire
from readerstudy.questionnaires.services import round_questionnaires_set
from readerstudy.reading.models import Round


class TrustItemSerializer(serializers.Serializer[dict[str, Any]]):
    text = serializers.CharField(max_length=300)
    reverse = serializers.BooleanField(default=False)


class QuestionnaireSerializer(serializers.Serializer[dict[str, Any]]):
    instrument = serializers.ChoiceField(choices=INSTRUMENTS)
    items = TrustItemSerializer(many=True, required=False, help_text="Trust scale only.")


class QuestionnaireOutput(serializers.Serializer[Any]):
    instrument = serializers.CharField()
    items = serializers.SerializerMethodField()

    def get_items(self, row: RoundQuestionnaire) -> list[dict[str, Any]]:
        return [
            {"key": i.key, "text": i.text, "low": i.low, "high": i.high, "reverse": i.reverse}
            for i in instrument_items(row.instrument, row.items)
        ]


class RoundQuestionnairesApi(APIView):
    """The questionnaires a round asks after each reader's session (SUS, NASA-TLX, trust)."""

    class SetInput(serializers.Serializer[None]):
        questionnaires = QuestionnaireSerializer(many=True)

    def _round(self, request: Request, round_pk: int) -> Round:
        return access.get_or_404(
            Round.objects.select_related("study"),
            user=request.user,
            roles=COORDINATE,
            what="round",
            pk=round_pk,
        )

    @extend_schema(responses=QuestionnaireOutput(many=True))
    def get(self, request: Request, round_pk: int) -> Response:
        round = self._round(request, round_pk)
        rows = RoundQuestionnaire.objects.filter(round=round)
        return Response(QuestionnaireOutput(rows, many=True).data)

    @extend_schema(request=SetInput, responses=QuestionnaireOutput(many=True))
    def put(self, request: Request, round_pk: int) -> Response:
        round = self._round(request, round_pk)
        data = self.SetInput(data=request.data)
        data.is_valid(raise_exception=True)
        assert isinstance(request.user, User)
        rows = round_questionnaires_set(
            round=round, instruments=data.validated_data["questionnaires"], actor=request.user
        )
        return Response(QuestionnaireOutput(rows, many=True).data)
