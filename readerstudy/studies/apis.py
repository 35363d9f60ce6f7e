"""Study API: one view per operation, each with its own output serializer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.accounts.models import User
from readerstudy.errors import NotFound
from readerstudy.studies.models import CaseImage, ImportJob, Study
from readerstudy.studies.selectors import study_list_visible, study_role_of
from readerstudy.studies.services import import_job_create, study_require_coordinator


class StudyOutput(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Study
        fields = ("slug", "title", "description", "status", "washout_days", "role")

    def get_role(self, study: Study) -> str | None:
        user = self.context["user"]
        return study_role_of(user=user, study=study)


def _user(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


class StudyListApi(APIView):
    @extend_schema(responses=StudyOutput(many=True))
    def get(self, request: Request) -> Response:
        user = _user(request)
        studies = study_list_visible(user=user)
        return Response(StudyOutput(studies, many=True, context={"user": user}).data)


class StudyDetailApi(APIView):
    @extend_schema(responses=StudyOutput)
    def get(self, request: Request, slug: str) -> Response:
        user = _user(request)
        study = study_list_visible(user=user).filter(slug=slug).first()
        if study is None:
            # The same answer whether the study is missing or not the user's: nothing leaks.
            raise NotFound("No such study.", extra={"slug": slug})
        data: dict[str, Any] = StudyOutput(study, context={"user": user}).data
        return Response(data)


def study_visible_or_404(*, user: User, slug: str) -> Study:
    study = study_list_visible(user=user).filter(slug=slug).first()
    if study is None:
        raise NotFound("No such study.", extra={"slug": slug})
    return study


class ImportJobOutput(serializers.ModelSerializer[ImportJob]):
    study: serializers.SlugRelatedField[Study] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = ImportJob
        fields = (
            "id", "study", "status", "total_images", "done_images", "errors", "summary",
            "created_at", "finished_at",
        )  # fmt: skip


class ImportCreateApi(APIView):
    """Upload a zip (manifest.csv + images); a worker imports it, all or nothing."""

    parser_classes = [MultiPartParser]

    class ImportInput(serializers.Serializer[None]):
        archive = serializers.FileField()

    @extend_schema(request={"multipart/form-data": ImportInput}, responses={202: ImportJobOutput})
    def post(self, request: Request, slug: str) -> Response:
        user = _user(request)
        study = study_visible_or_404(user=user, slug=slug)
        data = self.ImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = import_job_create(study=study, upload=data.validated_data["archive"], actor=user)
        return Response(ImportJobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class ImportDetailApi(APIView):
    @extend_schema(responses=ImportJobOutput)
    def get(self, request: Request, pk: int) -> Response:
        user = _user(request)
        job = ImportJob.objects.filter(pk=pk, study__in=study_list_visible(user=user)).first()
        if job is None:
            raise NotFound("No such import.")
        study_require_coordinator(user=user, study=job.study)
        return Response(ImportJobOutput(job).data)


class ImageRegionSetApi(APIView):
    """Set an image's ultrasound region by hand (x, y, w, h in original pixels); blanks outside."""

    class RegionInput(serializers.Serializer[None]):
        x = serializers.IntegerField(min_value=0)
        y = serializers.IntegerField(min_value=0)
        w = serializers.IntegerField(min_value=1)
        h = serializers.IntegerField(min_value=1)

    @extend_schema(request=RegionInput, responses=dict)
    def post(self, request: Request, pk: int) -> Response:
        from readerstudy.studies.regions import case_image_region_set

        user = _user(request)
        image = CaseImage.objects.filter(
            pk=pk, case__study__in=study_list_visible(user=user)
        ).first()
        if image is None:
            raise NotFound("No such image.")
        data = self.RegionInput(data=request.data)
        data.is_valid(raise_exception=True)
        box = tuple(data.validated_data[k] for k in ("x", "y", "w", "h"))
        x, y, w, h = box
        image = case_image_region_set(image=image, box=(x, y, w, h), actor=user)
        return Response({"id": image.pk, "region": box, "needs_review": image.needs_review})
