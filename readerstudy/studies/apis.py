"""Study API: one view per operation, each with its own output serializer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.accounts import access
from readerstudy.accounts.access import COORDINATE
from readerstudy.accounts.models import User
from readerstudy.studies.models import CaseImage, ImportJob, Study
from readerstudy.studies.services import import_job_create, pacs_import_job_create


class StudyOutput(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Study
        fields = ("slug", "title", "description", "status", "washout_days", "role")

    def get_role(self, study: Study) -> str | None:
        user = self.context["user"]
        role = access.study_role(user=user, study=study)
        return None if role is None else role.value


def _user(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


class StudyListApi(APIView):
    @extend_schema(responses=StudyOutput(many=True))
    def get(self, request: Request) -> Response:
        user = _user(request)
        studies = access.scoped(Study.objects.all(), user=user, path="")
        return Response(StudyOutput(studies, many=True, context={"user": user}).data)


class StudyDetailApi(APIView):
    @extend_schema(responses=StudyOutput)
    def get(self, request: Request, slug: str) -> Response:
        user = _user(request)
        study = access.get_or_404(Study.objects, user=user, path="", what="study", slug=slug)
        data: dict[str, Any] = StudyOutput(study, context={"user": user}).data
        return Response(data)


class ImportJobOutput(serializers.ModelSerializer[ImportJob]):
    study: serializers.SlugRelatedField[Study] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = ImportJob
        fields = (
            "id", "study", "source", "pacs_endpoint", "phase", "status", "total_images", "done_images", "errors", "summary",
            "created_at", "finished_at",
        )  # fmt: skip


def _coordinated_study(request: Request, slug: str) -> tuple[User, Study]:
    # Imports are the coordinator's: to a reader or statistician the URL names nothing.
    user = _user(request)
    study = access.get_or_404(
        Study.objects, user=user, roles=COORDINATE, path="", what="study", slug=slug
    )
    return user, study


class ImportCreateApi(APIView):
    """Upload a zip (manifest.csv + images); a worker imports it, all or nothing."""

    parser_classes = [MultiPartParser]
    throttle_scope = "import"

    class ImportInput(serializers.Serializer[None]):
        archive = serializers.FileField()

    @extend_schema(request={"multipart/form-data": ImportInput}, responses={202: ImportJobOutput})
    def post(self, request: Request, slug: str) -> Response:
        user, study = _coordinated_study(request, slug)
        data = self.ImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = import_job_create(study=study, upload=data.validated_data["archive"], actor=user)
        return Response(ImportJobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class PacsImportCreateApi(APIView):
    """Upload a worklist CSV naming images in a configured PACS; a worker retrieves and imports
    them over DICOMweb, all or nothing, as a file import."""

    parser_classes = [MultiPartParser]
    throttle_scope = "import"

    class PacsImportInput(serializers.Serializer[None]):
        worklist = serializers.FileField()
        endpoint = serializers.CharField(max_length=64, help_text="A configured PACS endpoint.")

    @extend_schema(
        request={"multipart/form-data": PacsImportInput}, responses={202: ImportJobOutput}
    )
    def post(self, request: Request, slug: str) -> Response:
        user, study = _coordinated_study(request, slug)
        data = self.PacsImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = pacs_import_job_create(
            study=study,
            worklist=data.validated_data["worklist"],
            endpoint=data.validated_data["endpoint"],
            actor=user,
        )
        return Response(ImportJobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class ImportDetailApi(APIView):
    @extend_schema(responses=ImportJobOutput)
    def get(self, request: Request, pk: int) -> Response:
        user = _user(request)
        job = access.get_or_404(
            ImportJob.objects, user=user, roles=COORDINATE, what="import", pk=pk
        )
        return Response(ImportJobOutput(job).data)


class ImageRegionSetApi(APIView):
    """Set an image's ultrasound region by hand (x, y, w, h in original pixels); blanks outside."""

    class RegionInput(serializers.Serializer[None]):
        x = serializers.IntegerField(min_value=0)
        y = serializers.IntegerField(min_value=0)
        w = serializers.IntegerField(min_value=1)
        h = serializers.IntegerField(min_value=1)

    class RegionOutput(serializers.ModelSerializer[CaseImage]):
        region = serializers.SerializerMethodField(help_text="x, y, w, h in original pixels.")

        class Meta:
            model = CaseImage
            fields = ("id", "region", "needs_review")

        def get_region(self, image: CaseImage) -> list[int]:
            return [
                image.region_x or 0,
                image.region_y or 0,
                image.region_w or 0,
                image.region_h or 0,
            ]

    @extend_schema(request=RegionInput, responses=RegionOutput)
    def post(self, request: Request, pk: int) -> Response:
        from readerstudy.studies.regions import case_image_region_set

        user = _user(request)
        image = access.get_or_404(
            CaseImage.objects, user=user, roles=COORDINATE, path="case__study", what="image", pk=pk
        )
        data = self.RegionInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        box = (values["x"], values["y"], values["w"], values["h"])
        image = case_image_region_set(image=image, box=box, actor=user)
        return Response(self.RegionOutput(image).data)
