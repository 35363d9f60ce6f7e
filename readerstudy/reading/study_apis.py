"""The study-setup API: list and create studies (with their design's rounds), close one."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.accounts import access
from readerstudy.accounts.access import COORDINATE
from readerstudy.accounts.models import User
from readerstudy.reading.study_setup import study_close, study_create, study_create_require
from readerstudy.studies.models import Cohort, Study, StudyDesign
from readerstudy.studies.serializers import StudyOutput


def _user(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


class StudyListCreateApi(APIView):
    """The studies the user takes part in; a coordinator creates one (becoming its coordinator)."""

    class StudyInput(serializers.Serializer[None]):
        slug = serializers.SlugField(max_length=64)
        title = serializers.CharField(max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        design = serializers.ChoiceField(
            choices=StudyDesign.choices, default=StudyDesign.INDEPENDENT_ROUNDS
        )
        washout_days = serializers.IntegerField(min_value=0, max_value=365, default=28)
        reading_cohorts = serializers.ListField(
            child=serializers.ChoiceField(choices=Cohort.choices),
            min_length=1,
            default=lambda: [Cohort.INTERNAL_TEST.value, Cohort.EXTERNAL_TEST.value],
        )
        ai_threshold = serializers.FloatField(min_value=0.001, max_value=0.999, default=0.5)
        collect_features = serializers.BooleanField(default=True)
        allow_revisions = serializers.BooleanField(default=False)

    @extend_schema(responses=StudyOutput(many=True))
    def get(self, request: Request) -> Response:
        user = _user(request)
        studies = access.scoped(Study.objects.all(), user=user, path="")
        return Response(StudyOutput(studies, many=True, context={"user": user}).data)

    @extend_schema(request=StudyInput, responses={201: StudyOutput})
    def post(self, request: Request) -> Response:
        user = _user(request)
        study_create_require(actor=user)  # before the input: a reader learns nothing from it
        data = self.StudyInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["reading_cohorts"] = list(dict.fromkeys(values["reading_cohorts"]))
        study = study_create(actor=user, **values)
        return Response(
            StudyOutput(study, context={"user": user}).data, status=status.HTTP_201_CREATED
        )


class StudyCloseApi(APIView):
    """Close the study: open rounds close and no read is accepted; the report and exports stay."""

    @extend_schema(request=None, responses=StudyOutput)
    def post(self, request: Request, slug: str) -> Response:
        user = _user(request)
        study = access.get_or_404(
            Study.objects, user=user, roles=COORDINATE, path="", what="study", slug=slug
        )
        study = study_close(study=study, actor=user)
        return Response(StudyOutput(study, context={"user": user}).data)
