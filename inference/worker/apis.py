"""The coordinator's AI API: model versions and a precompute job's progress (launching one is
the reading app's `PrecomputeCreateApi`, since choosing the study's AI depends on its rounds)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inference.worker.models import ModelVersion, PrecomputeJob
from inference.worker.serializers import PrecomputeJobOutput
from readerstudy.accounts import access
from readerstudy.accounts.access import COORDINATE
from readerstudy.accounts.models import User
from readerstudy.errors import NotFound
from readerstudy.studies.models import Study


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
