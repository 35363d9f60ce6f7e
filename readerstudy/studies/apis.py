"""Study API: one view per operation, each with its own output serializer: a study, its people,
imports and image regions."""

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
from readerstudy.accounts.models import Role, Seniority, User
from readerstudy.studies.members import (
    Invitation,
    Member,
    member_invite,
    member_remove,
    members_list,
)
from readerstudy.studies.models import CaseImage, ImportJob, Study
from readerstudy.studies.serializers import StudyOutput
from readerstudy.studies.services import import_job_create, pacs_import_job_create


def _user(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


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


class MemberOutput(serializers.Serializer[Member]):
    user_id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField()
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    seniority = serializers.CharField(help_text="A reader's; blank for staff.")
    years_of_experience = serializers.IntegerField(allow_null=True)
    has_read = serializers.BooleanField(help_text="A reader who has started: cannot be removed.")
    invitation_pending = serializers.BooleanField(help_text="Has not set a password yet.")


class StudyMemberListCreateApi(APIView):
    """The study's people; invite one by e-mail (a new account gets a one-time set-password link
    by e-mail; an existing user is enrolled as they are)."""

    class MemberInput(serializers.Serializer[None]):
        email = serializers.EmailField()
        role = serializers.ChoiceField(choices=Role.choices)
        name = serializers.CharField(max_length=200, required=False, default="")
        seniority = serializers.ChoiceField(
            choices=Seniority.choices,
            required=False,
            allow_blank=True,
            default="",
            help_text="Readers only: needed for someone who has no reader profile yet.",
        )
        years_of_experience = serializers.IntegerField(
            min_value=0, max_value=60, required=False, allow_null=True, default=None,
            help_text="Readers only.",
        )  # fmt: skip

    class InvitationOutput(serializers.Serializer[Invitation]):
        member = MemberOutput()
        new_account = serializers.BooleanField(help_text="An invitation link was e-mailed.")

    @extend_schema(responses=MemberOutput(many=True))
    def get(self, request: Request, slug: str) -> Response:
        _, study = _coordinated_study(request, slug)
        members = members_list(study=study)
        return Response(MemberOutput(members, many=True).data)  # type: ignore[arg-type]

    @extend_schema(request=MemberInput, responses={201: InvitationOutput})
    def post(self, request: Request, slug: str) -> Response:
        user, study = _coordinated_study(request, slug)
        data = self.MemberInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        invitation = member_invite(
            study=study,
            actor=user,
            email=values["email"],
            role=Role(values["role"]),
            name=values["name"],
            seniority=values["seniority"],
            years_of_experience=values["years_of_experience"],
            base_url=request.build_absolute_uri("/"),
        )
        return Response(self.InvitationOutput(invitation).data, status=status.HTTP_201_CREATED)


class StudyMemberDeleteApi(APIView):
    """Take a person out of the study (refused for a reader who has started reading)."""

    @extend_schema(responses={204: None})
    def delete(self, request: Request, slug: str, user_pk: int) -> Response:
        user, study = _coordinated_study(request, slug)
        member_remove(study=study, actor=user, user_id=user_pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
