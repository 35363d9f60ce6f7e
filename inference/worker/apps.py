from __future__ import annotations

from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "inference.worker"
    label = (
        "inference"  # tables, migrations, admin URLs and "inference.ModelVersion" stay as they are
    )
    verbose_name = "Inference"
