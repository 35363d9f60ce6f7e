"""The coordinator's AI API: model versions and launching (or resuming) a precompute job."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inference.models import ModelVersion, PrecomputeJob
from inference.services import precompute_job_create
from readerstudy.accounts.models import User
from readerstudy.errors import NotFound
from readerstudy.reading.coordinator_apis import coordinated_study


class ModelVersionOutput(serializers.ModelSerializer[ModelVersion]):
    class Meta:
        model = ModelVersion
        fields = ("name", "architecture", "checkpoint_sha256", "validation_metrics", "created_at")


class PrecomputeJobOutput(serializers.ModelSerializer[PrecomputeJob]):
    model = serializers.CharField(source="model_version.name")

    class Meta:
        model = PrecomputeJob
        fields = ("id", "model", "status", "total_images", "done_images", "error", "created_at",
                  "started_at", "finished_at")  # fmt: skip


class ModelVersionListApi(APIView):
    @extend_schema(responses=ModelVersionOutput(many=True))
    def get(self, request: Request) -> Response:
        if not (
            isinstance(request.user, User) and (request.user.is_staff or request.user.is_superuser)
        ):
            raise NotFound("No model versions for you.")
        return Response(ModelVersionOutput(ModelVersion.objects.all(), many=True).data)


class PrecomputeCreateApi(APIView):
    """Make a model the study's AI and precompute every image on the GPU workers."""

    class PrecomputeInput(serializers.Serializer[None]):
        model = serializers.CharField()
        batch_size = serializers.IntegerField(min_value=1, max_value=1024, default=64)

    @extend_schema(request=PrecomputeInput, responses={202: PrecomputeJobOutput})
    def post(self, request: Request, slug: str) -> Response:
        study = coordinated_study(request.user, slug)
        data = self.PrecomputeInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = ModelVersion.objects.filter(name=data.validated_data["model"]).first()
        if version is None:
            raise NotFound("No such model version.", extra={"model": data.validated_data["model"]})
        assert isinstance(request.user, User)
        job = precompute_job_create(
            study=study,
            model_version=version,
            actor=request.user,
            batch_size=data.validated_data["batch_size"],
        )
        return Response(PrecomputeJobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class PrecomputeDetailApi(APIView):
    @extend_schema(responses=PrecomputeJobOutput)
    def get(self, request: Request, slug: str, pk: int) -> Response:
        study = coordinated_study(request.user, slug)
        job = (
            PrecomputeJob.objects.filter(study=study, pk=pk).select_related("model_version").first()
        )
        if job is None:
            raise NotFound("No such precompute job.")
        return Response(PrecomputeJobOutput(job).data)
