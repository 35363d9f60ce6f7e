from __future__ import annotations

from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "analysis.web"
    label = "analysis"  # tables, migrations and admin URLs keep the label they had
    verbose_name = "Analysis"
