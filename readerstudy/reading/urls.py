"""Reading: the reader's and the coordinator's API (under /api/, namespace "api") and the signed
image files readers load."""

from __future__ import annotations

from django.urls import path

from readerstudy.reading.apis import (
    ReaderRoundsApi,
    ReadReviseApi,
    ReadSubmitApi,
    SessionCaseApi,
    SessionCurrentCaseApi,
    SessionReadsApi,
    SessionStartApi,
)
from readerstudy.reading.coordinator_apis import (
    PrecomputeCreateApi,
    RoundCloseApi,
    RoundOpenApi,
    StudyConsoleApi,
    WashoutOverrideApi,
)
from readerstudy.reading.files import reading_file
from readerstudy.reading.practice_apis import (
    PracticeCurrentApi,
    PracticeStartApi,
    PracticeSubmitApi,
)
from readerstudy.reading.study_apis import StudyCloseApi, StudyListCreateApi

api_patterns = [
    path("studies/", StudyListCreateApi.as_view(), name="study-list"),
    path("studies/<slug:slug>/close/", StudyCloseApi.as_view(), name="study-close"),
    path("reading/rounds/", ReaderRoundsApi.as_view(), name="reader-rounds"),
    path("reading/rounds/<int:round_pk>/start/", SessionStartApi.as_view(), name="session-start"),
    path(
        "reading/sessions/<int:session_pk>/current/",
        SessionCurrentCaseApi.as_view(),
        name="session-current",
    ),
    path(
        "reading/sessions/<int:session_pk>/cases/<str:label>/",
        SessionCaseApi.as_view(),
        name="session-case",
    ),
    path("reading/sessions/<int:session_pk>/reads/", ReadSubmitApi.as_view(), name="read-submit"),
    path(
        "reading/sessions/<int:session_pk>/my-reads/",
        SessionReadsApi.as_view(),
        name="session-reads",
    ),
    path(
        "reading/sessions/<int:session_pk>/cases/<str:label>/revisions/",
        ReadReviseApi.as_view(),
        name="read-revise",
    ),
    path(
        "reading/studies/<slug:slug>/practice/", PracticeStartApi.as_view(), name="practice-start"
    ),
    path(
        "reading/practice/<int:practice_pk>/current/",
        PracticeCurrentApi.as_view(),
        name="practice-current",
    ),
    path(
        "reading/practice/<int:practice_pk>/reads/",
        PracticeSubmitApi.as_view(),
        name="practice-submit",
    ),
    path("studies/<slug:slug>/console/", StudyConsoleApi.as_view(), name="study-console"),
    path("rounds/<int:round_pk>/open/", RoundOpenApi.as_view(), name="round-open"),
    path("rounds/<int:round_pk>/close/", RoundCloseApi.as_view(), name="round-close"),
    path(
        "rounds/<int:round_pk>/washout-overrides/",
        WashoutOverrideApi.as_view(),
        name="washout-override",
    ),
    path(
        "studies/<slug:slug>/precompute/", PrecomputeCreateApi.as_view(), name="precompute-create"
    ),
]

urlpatterns = [
    path("reading/files/<str:token>", reading_file, name="reading-file"),
]
