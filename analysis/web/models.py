"""The cached study report: computed once per data version, kept until the data change."""

from __future__ import annotations

from django.db import models


class StudyReport(models.Model):
    """A study's report for one data version (see ``analysis.web.report.report_data_version``).

    Only the latest version is kept per study; an older row is deleted when a newer one lands.
    The charts are drawn on the first page or chart request (they cost more than the numbers),
    and kept in their own column so that the JSON API never loads them.
    """

    study = models.ForeignKey("studies.Study", on_delete=models.CASCADE, related_name="reports")
    data_version = models.CharField(max_length=64)
    payload = models.JSONField(help_text="The report's numbers, strict JSON (no NaN).")
    charts = models.JSONField(
        null=True, blank=True, help_text="Chart name → SVG text; null until first drawn."
    )
    computed_at = models.DateTimeField(auto_now_add=True)
    compute_seconds = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["study", "data_version"], name="report_once_per_version"
            ),
        ]

    def __str__(self) -> str:
        return f"report of {self.study_id} at {self.data_version[:12]}"
