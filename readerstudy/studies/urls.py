"""The studies API: studies, imports and image regions (under /api/, namespace "api")."""

from __future__ import annotations

from django.urls import path

from readerstudy.studies.apis import (
    ImageRegionSetApi,
    ImportCreateApi,
    ImportDetailApi,
    PacsImportCreateApi,
    StudyDetailApi,
    StudyListApi,
)

api_patterns = [
    path("studies/", StudyListApi.as_view(), name="study-list"),
    path("studies/<slug:slug>/", StudyDetailApi.as_view(), name="study-detail"),
    path("studies/<slug:slug>/imports/", ImportCreateApi.as_view(), name="import-create"),
    path(
        "studies/<slug:slug>/pacs-imports/",
        PacsImportCreateApi.as_view(),
        name="pacs-import-create",
    ),
    path("imports/<int:pk>/", ImportDetailApi.as_view(), name="import-detail"),
    path("images/<int:pk>/region/", ImageRegionSetApi.as_view(), name="image-region"),
]
