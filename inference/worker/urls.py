"""The AI's API: model versions, precompute and training progress (under /api/, namespace "api")."""

from __future__ import annotations

from django.urls import path

from inference.worker.apis import (
    CaseAiDicomPushApi,
    ModelVersionListApi,
    PrecomputeDetailApi,
    TrainingDetailApi,
)

api_patterns = [
    path("models/", ModelVersionListApi.as_view(), name="model-list"),
    path(
        "studies/<slug:slug>/precompute/<int:pk>/",
        PrecomputeDetailApi.as_view(),
        name="precompute-detail",
    ),
    path(
        "studies/<slug:slug>/training/<int:pk>/",
        TrainingDetailApi.as_view(),
        name="training-detail",
    ),
    path("cases/<int:pk>/ai-dicom/", CaseAiDicomPushApi.as_view(), name="case-ai-dicom"),
]
