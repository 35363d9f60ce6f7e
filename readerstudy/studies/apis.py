"""Study API: one view per operation, each with its own output serializer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.accounts.models import User
from readerstudy.errors import NotFound
from readerstudy.studies.models import Study
from readerstudy.studies.selectors import study_list_visible, study_role_of


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
