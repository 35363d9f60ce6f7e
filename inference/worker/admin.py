from __future__ import annotations

from django.contrib import admin

from inference.worker.models import CasePrediction, ModelVersion, PrecomputeJob, Prediction
from readerstudy.admin_scoping import ReadOnlyAdmin


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("name", "architecture", "checkpoint_sha256", "created_at")
    readonly_fields = ("checkpoint_sha256",)


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
