"""The coordinator's AI API: model versions, a precompute job's and a training job's progress
(launching a precompute is the reading app's `PrecomputeCreateApi`, since choosing the study's
AI depends on its rounds)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inference.worker.models import ModelVersion, PrecomputeJob, TrainingJob
from inference.worker.serializers import PrecomputeJobOutput, TrainingJobOutput
from readerstudy.accounts import access
from readerstudy.accounts.access import COORDINATE
from readerstudy.accounts.models import User
from readerstudy.errors import NotFound
from readerstudy.studies.models import Case, Study


def _coordinated_study(user: object, slug: str) -> Study:
    return access.get_or_404(
        Study.objects, user=user, roles=COORDINATE, path="", what="study", slug=slug
    )


class ModelVersionOutput(serializers.ModelSerializer[ModelVersion]):
    class Meta:
        model = ModelVersion
        fields = ("name", "architecture", "checkpoint_sha256", "validation_metrics", "created_at")


class ModelVersionListApi(APIView):
    @extend_schema(responses=ModelVersionOutput(many=True))
    def get(self, request: Request) -> Response:
        if not (
            isinstance(request.user, User) and (request.user.is_staff or request.user.is_superuser)
        ):
            raise NotFound("No model versions for you.")
        return Response(ModelVersionOutput(ModelVersion.objects.all(), many=True).data)


class PrecomputeDetailApi(APIView):
    @extend_schema(responses=PrecomputeJobOutput)
    def get(self, request: Request, slug: str, pk: int) -> Response:
        study = _coordinated_study(request.user, slug)
        job = (
            PrecomputeJob.objects.filter(study=study, pk=pk).select_related("model_version").first()
        )
        if job is None:
            raise NotFound("No such precompute job.")
        return Response(PrecomputeJobOutput(job).data)


class TrainingDetailApi(APIView):
    @extend_schema(responses=TrainingJobOutput)
    def get(self, request: Request, slug: str, pk: int) -> Response:
        study = _coordinated_study(request.user, slug)
        job = TrainingJob.objects.filter(study=study, pk=pk).select_related("model_version").first()
        if job is None:
            raise NotFound("No such training job.")
        return Response(TrainingJobOutput(job).data)


class CaseAiDicomPushApi(APIView):
    """Store a case's AI results (heatmap Secondary Captures, probability SRs) into a configured
    PACS by STOW-RS, in its de-identified study. Coordinators only: it reveals the AI."""

    class PushInput(serializers.Serializer[None]):
        endpoint = serializers.CharField(max_length=64, help_text="A configured PACS endpoint.")

    class PushOutput(serializers.Serializer[dict[str, Any]]):
        endpoint = serializers.CharField()
        instances = serializers.ListField(child=serializers.CharField(), help_text="SOP UIDs.")

    @extend_schema(request=PushInput, responses=PushOutput)
    def post(self, request: Request, pk: int) -> Response:
        from inference.worker.dicom_export import case_ai_push

        assert isinstance(request.user, User)
        user = request.user
        case = access.get_or_404(
            Case.objects, user=user, roles=COORDINATE, path="study", what="case", pk=pk
        )
        data = self.PushInput(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = data.validated_data["endpoint"]
        uids = case_ai_push(case=case, endpoint=endpoint, actor=user)
        return Response(self.PushOutput({"endpoint": endpoint, "instances": uids}).data)
