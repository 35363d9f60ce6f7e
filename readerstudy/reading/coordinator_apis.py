"""The coordinator's API: the study console, opening and closing rounds, washout overrides."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inference.worker.apis import PrecomputeJobOutput
from inference.worker.models import ModelVersion
from readerstudy.accounts import access
from readerstudy.accounts.access import COORDINATE
from readerstudy.accounts.models import Reader, User
from readerstudy.errors import NotFound
from readerstudy.reading.console import study_console
from readerstudy.reading.models import Round
from readerstudy.reading.services import (
    round_close,
    round_open,
    study_ai_use,
    washout_override_grant,
)
from readerstudy.studies.models import Study


def _coordinated_round(user: Any, round_pk: int) -> Round:
    return access.get_or_404(Round.objects, user=user, roles=COORDINATE, what="round", pk=round_pk)


class RoundOutput(serializers.ModelSerializer[Round]):
    class Meta:
        model = Round
        fields = ("id", "index", "assisted", "status", "opened_at", "closed_at")


_COUNTS = (
    "cases",
    "reading_cases",
    "images",
    "images_needing_review",
    "cohorts",
    "reading_cases_with_ai",
)


class StudyConsoleApi(APIView):
    """Counts, precompute status, rounds and each reader's progress and washout."""

    @extend_schema(responses=dict)
    def get(self, request: Request, slug: str) -> Response:
        console = study_console(
            study=access.get_or_404(
                Study.objects, user=request.user, roles=COORDINATE, path="", what="study", slug=slug
            )
        )
        job = console["precompute"]
        return Response(
            {
                **{key: console[key] for key in _COUNTS},
                "review_images": [
                    {
                        "id": image.pk,
                        "case": image.case.key,
                        "position": image.position,
                        "width": image.width,
                        "height": image.height,
                    }
                    for image in console["review_images"]
                ],
                "ai_model": console["ai_model"].name if console["ai_model"] else None,
                "precompute": None
                if job is None
                else {"status": job.status, "done": job.done_images, "total": job.total_images},
                "rounds": RoundOutput(console["rounds"], many=True).data,
                "readers": [reader.__dict__ for reader in console["readers"]],
            }
        )


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

    @extend_schema(request=WashoutOverrideInput, responses={201: dict})
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
        return Response(
            {
                "round": round.index,
                "reader": reader.user.get_username(),
                "reason": override.reason,
                "granted_at": override.granted_at,
            },
            status=201,
        )


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
