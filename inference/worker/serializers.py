"""Output shapes of the inference adapter that more than one API answers with (the reading app's
precompute launch and this app's job progress): one definition, no API importing another's."""

from __future__ import annotations

from rest_framework import serializers

from inference.worker.models import PrecomputeJob, TrainingJob


class PrecomputeJobOutput(serializers.ModelSerializer[PrecomputeJob]):
    model = serializers.CharField(source="model_version.name")

    class Meta:
        model = PrecomputeJob
        fields = ("id", "model", "status", "total_images", "done_images", "error", "created_at",
                  "started_at", "finished_at")  # fmt: skip


class TrainingJobOutput(serializers.ModelSerializer[TrainingJob]):
    model = serializers.CharField(source="model_version.name", allow_null=True, default=None)

    class Meta:
        model = TrainingJob
        fields = ("id", "name", "status", "stage", "epoch", "epochs", "validation_case_auc",
                  "model", "error", "created_at", "started_at", "finished_at")  # fmt: skip
