"""The study report: computed from the database once per data version and cached in StudyReport.

Every number comes from the framework-free core (``analysis.study`` as the CLI uses it, plus
``metrics``, ``model``, ``tables``, ``charts`` and ``power``); the report only chooses the data
(current reads, the fully crossed part of an unfinished study: ``analysis.crossed``), lays the
results out (``analysis.web.report.sections`` and ``.charts``) and says what is still missing
instead of failing.
This module holds the entry points: the data version and cache, the charts, the planning. It
imports the statistics stack (pandas, scipy, statsmodels, matplotlib) only inside them, so the
web process starts without it and loads it on the first report (`compute`, `planning`).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from django.db import IntegrityError, transaction

from analysis.web.models import StudyReport
from analysis.web.selectors import study_data_fingerprint
from readerstudy.studies.models import Study

# Part of the data version: bump it when the report's content changes, so cached reports go.
REPORT_FORMAT = 4  # 2: the extended statistics; 3: the designs' sections; 4: reliance by condition


# --- caching --------------------------------------------------------------------------------


def report_data_version(*, study: Study) -> str:
    """A hash of everything the report reads; equal versions give equal reports."""
    fingerprint = {"format": REPORT_FORMAT, **study_data_fingerprint(study=study)}
    text = json.dumps(fingerprint, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def report_get(*, study: Study) -> StudyReport:
    """The report for the study's current data: from the cache, or computed once and stored.

    The version is taken before the data are read, so a read landing during the computation
    makes the next load see a newer version and recompute: a report is never stale for long.
    """
    version = report_data_version(study=study)
    cached = StudyReport.objects.filter(study=study, data_version=version).first()
    if cached is not None:
        return cached
    started = time.perf_counter()
    payload = report_compute(study=study)
    seconds = time.perf_counter() - started
    payload["data_version"] = version
    try:
        with transaction.atomic():
            report = StudyReport.objects.create(
                study=study,
                data_version=version,
                payload=payload,
                compute_seconds=seconds,
            )
    except IntegrityError:  # a concurrent request stored the same version first
        return StudyReport.objects.get(study=study, data_version=version)
    StudyReport.objects.filter(study=study).exclude(pk=report.pk).delete()
    return report


# --- the computation --------------------------------------------------------------------------


def report_charts(*, report: StudyReport) -> dict[str, str]:
    """The report's charts (name → SVG text), drawn on the first call for its data version.

    Drawn from the database again (the numbers are not enough to draw ROC curves); callers get
    the report from ``report_get`` just before, so the data are those of its version.
    """
    if report.charts is not None:
        return dict(report.charts)
    from analysis.web.report.charts import charts_compute  # matplotlib: on first use only

    charts = charts_compute(study=report.study)
    StudyReport.objects.filter(pk=report.pk, charts__isnull=True).update(charts=charts)
    report.charts = charts
    return charts


def report_compute(*, study: Study) -> dict[str, Any]:
    """The report's numbers as strict JSON, with the names of the charts it will have."""
    from analysis.web.report.compute import payload_compute

    return payload_compute(study=study)


def report_plan(
    *, report: StudyReport, effect: float, power: float, alpha: float
) -> dict[str, Any]:
    """Readers × cases for the next study, from this study's OR variance components (DeLong)."""
    from analysis.web.report.planning import plan_compute

    return plan_compute(report=report, effect=effect, power=power, alpha=alpha)
