"""The coordinator's API: the study console, opening and closing rounds, washout overrides."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inference.worker.models import ModelVersion, PrecomputeJob
from inference.worker.serializers import PrecomputeJobOutput, TrainingJobOutput
from readerstudy.accounts import access
from readerstudy.accounts.access import COORDINATE
from readerstudy.accounts.models import Reader, User
from readerstudy.errors import NotFound
from readerstudy.reading.console import ReaderProgress, study_console
from readerstudy.reading.models import Round, WashoutOverride
from readerstudy.reading.services import (
    round_close,
    round_open,
    study_ai_use,
    washout_override_grant,
)
from readerstudy.studies.models import CaseImage, Study


def _coordinated_round(user: Any, round_pk: int) -> Round:
    return access.get_or_404(Round.objects, user=user, roles=COORDINATE, what="round", pk=round_pk)


class RoundOutput(serializers.ModelSerializer[Round]):
    class Meta:
        model = Round
        fields = ("id", "index", "assisted", "status", "opened_at", "closed_at")


class ReviewImageOutput(serializers.ModelSerializer[CaseImage]):
    case = serializers.CharField(source="case.key")

    class Meta:
        model = CaseImage
        fields = ("id", "case", "position", "width", "height")


class PrecomputeStatusOutput(serializers.ModelSerializer[PrecomputeJob]):
    done = serializers.IntegerField(source="done_images")
    total = serializers.IntegerField(source="total_images")

    class Meta:
        model = PrecomputeJob
        fields = ("status", "done", "total")


class ReaderRoundOutput(serializers.Serializer[dict[str, Any]]):
    round = serializers.IntegerField()
    round_id = serializers.IntegerField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    washout_opens_at = serializers.DateTimeField(allow_null=True)
    washout_days_left = serializers.IntegerField()
    override = serializers.BooleanField()
    override_by = serializers.CharField(allow_null=True, help_text="Who granted the override.")
    override_at = serializers.DateTimeField(allow_null=True)
    override_reason = serializers.CharField(allow_null=True)


class WashoutPendingOutput(serializers.Serializer[dict[str, Any]]):
    round = serializers.IntegerField()
    round_id = serializers.IntegerField()
    username = serializers.CharField()
    until = serializers.DateTimeField(allow_null=True, help_text="When the washout ends.")
    override = serializers.BooleanField()
    why = serializers.CharField()


class ReaderProgressOutput(serializers.Serializer[ReaderProgress]):
    username = serializers.CharField()
    reader_id = serializers.IntegerField()
    seniority = serializers.CharField()
    years_experience = serializers.IntegerField()
    rounds = ReaderRoundOutput(many=True)


class StudyConsoleApi(APIView):
    """Counts, training and precompute status, rounds and each reader's progress and washout."""

    class ConsoleOutput(serializers.Serializer[dict[str, Any]]):
        cases = serializers.IntegerField()
        reading_cases = serializers.IntegerField(help_text="Cases in the reading cohorts.")
        images = serializers.IntegerField()
        images_needing_review = serializers.IntegerField()
        cohorts = serializers.DictField(
            child=serializers.IntegerField(), help_text="Cases per cohort."
        )
        reading_cases_with_ai = serializers.IntegerField()
        review_images = ReviewImageOutput(many=True, help_text="The first 200.")
        ai_model = serializers.CharField(source="ai_model.name", allow_null=True)
        precompute = PrecomputeStatusOutput(allow_null=True, help_text="The latest job.")
        training = TrainingJobOutput(allow_null=True, help_text="The latest training job.")
        rounds = RoundOutput(many=True)
        readers = ReaderProgressOutput(many=True)
        washout_pending = WashoutPendingOutput(
            many=True, help_text="Readers who may not start a later round yet, and why."
        )

    @extend_schema(responses=ConsoleOutput)
    def get(self, request: Request, slug: str) -> Response:
        study = access.get_or_404(
            Study.objects, user=request.user, roles=COORDINATE, path="", what="study", slug=slug
        )
        return Response(self.ConsoleOutput(study_console(study=study)).data)


class RoundOpenApi(APIView):
    @extend_schema(request=None, responses=RoundOutput)
    def post(self, request: Request, round_pk: int) -> Response:
        round = _coordinated_round(request.user, round_pk)
        assert isinstance(request.user, User)
        return Response(RoundOutput(round_open(round=round, actor=request.user)).data)


class RoundCloseApi(APIView):
    @extend_schema(request=None, responses=RoundOutput)
    def post(self, request: Request, round_pk: int) -> Response:
        round = _coordinated_round(request.user, round_pk)
        assert isinstance(request.user, User)
        return Response(RoundOutput(round_close(round=round, actor=request.user)).data)


class WashoutOverrideApi(APIView):
    """Let one reader start this round before their washout ends (audited, reason required)."""

    class WashoutOverrideInput(serializers.Serializer[None]):
        reader = serializers.IntegerField()
        reason = serializers.CharField(max_length=2000)

    class WashoutOverrideOutput(serializers.ModelSerializer[WashoutOverride]):
        round = serializers.IntegerField(source="round.index")
        reader = serializers.CharField(source="reader.user.username")

        class Meta:
            model = WashoutOverride
            fields = ("round", "reader", "reason", "granted_at")

    @extend_schema(request=WashoutOverrideInput, responses={201: WashoutOverrideOutput})
    def post(self, request: Request, round_pk: int) -> Response:
        round = _coordinated_round(request.user, round_pk)
        data = self.WashoutOverrideInput(data=request.data)
        data.is_valid(raise_exception=True)
        reader = Reader.objects.filter(
            pk=data.validated_data["reader"], enrolments__study=round.study
        ).first()
        if reader is None:
            raise NotFound("No such reader in this study.")
        assert isinstance(request.user, User)
        override = washout_override_grant(
            round=round, reader=reader, actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(self.WashoutOverrideOutput(override).data, status=status.HTTP_201_CREATED)


class PrecomputeCreateApi(APIView):
    """Make a model the study's AI and precompute every image on the GPU workers."""

    class PrecomputeInput(serializers.Serializer[None]):
        model = serializers.CharField()
        batch_size = serializers.IntegerField(min_value=1, max_value=1024, default=64)

    @extend_schema(request=PrecomputeInput, responses={202: PrecomputeJobOutput})
    def post(self, request: Request, slug: str) -> Response:
        study = access.get_or_404(
            Study.objects, user=request.user, roles=COORDINATE, path="", what="study", slug=slug
        )
        data = self.PrecomputeInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = ModelVersion.objects.filter(name=data.validated_data["model"]).first()
        if version is None:
            raise NotFound("No such model version.", extra={"model": data.validated_data["model"]})
        assert isinstance(request.user, User)
        job = study_ai_use(
            study=study,
            model_version=version,
            actor=request.user,
            batch_size=data.validated_data["batch_size"],
        )
        return Response(PrecomputeJobOutput(job).data, status=status.HTTP_202_ACCEPTED)
