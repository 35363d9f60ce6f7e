"""A study as the API shows it: shared by the studies API and the reading app's study-setup API
(which creates studies with their rounds)."""

from __future__ import annotations

from rest_framework import serializers

from readerstudy.accounts import access
from readerstudy.studies.models import Study


class StudyOutput(serializers.ModelSerializer[Study]):
    role = serializers.SerializerMethodField(help_text="The requesting user's role in the study.")

    class Meta:
        model = Study
        fields = (
            "slug", "title", "description", "status", "design", "washout_days",
            "reading_cohorts", "ai_threshold", "collect_features", "allow_revisions", "role",
        )  # fmt: skip

    def get_role(self, study: Study) -> str | None:
        role = access.study_role(user=self.context["user"], study=study)
        return None if role is None else role.value
