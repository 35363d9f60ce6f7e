from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from inference.worker.models import CasePrediction, ModelVersion, PrecomputeJob, Prediction
from readerstudy.accounts import access
from readerstudy.accounts.access import COORDINATE
from readerstudy.accounts.models import User
from readerstudy.admin_scoping import AuditedAdmin, ReadOnlyAdmin


@admin.register(ModelVersion)
class ModelVersionAdmin(AuditedAdmin):
    """Model versions used by the coordinator's studies or by none; provenance is never edited."""

    list_display = ("name", "architecture", "checkpoint_sha256", "created_at")
    readonly_fields = (
        "architecture",
        "checkpoint",
        "checkpoint_sha256",
        "preprocessing",
        "training",
        "validation_metrics",
        "created_by",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        user = request.user
        assert isinstance(user, User)
        if user.is_superuser:
            return queryset
        coordinated = access.scoped(queryset, user=user, roles=COORDINATE, path="studies")
        return queryset.filter(
            Q(studies__isnull=True) | Q(pk__in=coordinated.values("pk"))
        ).distinct()


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyAdmin):
    study_path = "image__case__study"
    list_display = ("image", "model_version", "probability", "computed_with")


@admin.register(CasePrediction)
class CasePredictionAdmin(ReadOnlyAdmin):
    study_path = "case__study"
    list_display = ("case", "model_version", "probability", "malignant")


@admin.register(PrecomputeJob)
class PrecomputeJobAdmin(ReadOnlyAdmin):
    list_display = ("study", "model_version", "status", "done_images", "total_images", "created_at")
