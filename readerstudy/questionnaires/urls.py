"""Questionnaires: the coordinator's API (under /api/) and the reader's page."""

from __future__ import annotations

from django.urls import path

from readerstudy.questionnaires.apis import RoundQuestionnairesApi
from readerstudy.questionnaires.views import questionnaire_page

api_patterns = [
    path(
        "rounds/<int:round_pk>/questionnaires/",
        RoundQuestionnairesApi.as_view(),
        name="round-questionnaires",
    ),
]

urlpatterns = [
    path(
        "reading/sessions/<int:session_pk>/questionnaire/",
        questionnaire_page,
        name="questionnaire",
    ),
]
