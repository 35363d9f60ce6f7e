"""The studies API: a study, its people, imports and image regions (the list and creation are
the reading app's: a study is created with its rounds) (under /api/, namespace "api")."""

from __future__ import annotations

from django.urls import path

from readerstudy.studies.apis import (
    ImageRegionSetApi,
    ImportCreateApi,
    ImportDetailApi,
    PacsImportCreateApi,
    StudyDetailApi,
    StudyMemberDeleteApi,
    StudyMemberListCreateApi,
)

api_patterns = [
    path("studies/<slug:slug>/", StudyDetailApi.as_view(), name="study-detail"),
    path("studies/<slug:slug>/members/", StudyMemberListCreateApi.as_view(), name="study-members"),
    path(
        "studies/<slug:slug>/members/<int:user_pk>/",
        StudyMemberDeleteApi.as_view(),
        name="study-member",
    ),
    path("studies/<slug:slug>/imports/", ImportCreateApi.as_view(), name="import-create"),
    path(
        "studies/<slug:slug>/pacs-imports/",
        PacsImportCreateApi.as_view(),
        name="pacs-import-create",
    ),
    path("imports/<int:pk>/", ImportDetailApi.as_view(), name="import-detail"),
    path("images/<int:pk>/region/", ImageRegionSetApi.as_view(), name="image-region"),
]
