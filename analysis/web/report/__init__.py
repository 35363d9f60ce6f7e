"""The study report: computed from the database once per data version and cached in StudyReport.

Every number comes from the framework-free core (``analysis.study`` as the CLI uses it, plus
``metrics``, ``model``, ``tables``, ``charts`` and ``power``); the report only chooses the data
(current reads, the fully crossed part of an unfinished study: ``analysis.crossed``), lays the
results out (``analysis.web.report.sections`` and ``.charts``) and says what is still missing
instead of failing.
This module holds the entry points: the data version and cache, the charts, the planning.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from django.db import IntegrityError, transaction

from analysis.crossed import analyse_crossed, crossed_reads
from analysis.errors import AnalysisInputError
from analysis.mrmc import VarianceComponents
from analysis.power import cases_for_power, power_grid
from analysis.serialize import jsonable
from analysis.study import METHODS, _records_with_ci, mrmc_json
from analysis.web.models import StudyReport
from analysis.web.report.charts import CHART_TITLES, chart_names, charts_compute
from analysis.web.report.sections import (
    csv_frames,
    input_summary,
    model_section,
    reader_changes,
    reader_metrics,
    seniority_section,
    table1,
    table4,
)
from analysis.web.selectors import study_cases_frame, study_data_fingerprint, study_reads_frame
from readerstudy.errors import Conflict
from readerstudy.studies.models import Study

# Part of the data version: bump it when the report's content changes, so cached reports go.
REPORT_FORMAT = 1
PLAN_READERS = tuple(range(2, 16))
PLAN_GRID_READERS = (3, 4, 5, 6, 8, 10, 12, 15)
PLAN_GRID_CASES = (50, 100, 150, 200, 300, 400, 500, 750, 1000)


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
    charts = charts_compute(study=report.study)
    StudyReport.objects.filter(pk=report.pk, charts__isnull=True).update(charts=charts)
    report.charts = charts
    return charts


def report_compute(*, study: Study) -> dict[str, Any]:
    """The report's numbers as strict JSON, with the names of the charts it will have."""
    reads = study_reads_frame(study=study)
    cases = study_cases_frame(study=study)
    notes: list[str] = []
    if cases.empty:
        notes.append("No cases have been imported yet.")
    if reads.empty:
        notes.append(
            "No reads yet: reader metrics, the change between rounds and the MRMC analysis "
            "appear once readers submit reads."
        )
    metrics = reader_metrics(reads, notes)
    data = crossed_reads(reads, notes)
    results, jackknife = analyse_crossed(data, notes)
    model = model_section(study, data, results, notes)
    payload: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "study": {"slug": study.slug, "title": study.title, "ai_threshold": study.ai_threshold},
        "input": input_summary(reads, cases, data),
        "notes": notes,
        "methods": METHODS,
        "reader_metrics": _records_with_ci(metrics),
        "changes": reader_changes(results) if results is not None else [],
        "seniority": seniority_section(metrics),
        "model": model["json"],
        "mrmc": (
            {"delong": mrmc_json(results.mrmc), "jackknife": mrmc_json(jackknife)}
            if results is not None and results.mrmc is not None and jackknife is not None
            else None
        ),
        "table1": table1(cases),
        "table4": table4(reads, cases, data, model["case_probability"], study.ai_threshold),
        "csv": csv_frames(metrics, results, jackknife),
    }
    names = chart_names(results, model_compared=bool(model["json"] and model["json"]["vs_readers"]))
    payload["charts"] = [{"name": name, "title": CHART_TITLES[name]} for name in names]
    return dict(jsonable(payload))


# --- study planning -----------------------------------------------------------------------------


def report_plan(
    *, report: StudyReport, effect: float, power: float, alpha: float
) -> dict[str, Any]:
    """Readers × cases for the next study, from this study's OR variance components (DeLong)."""
    block = report.payload.get("mrmc")
    pilot_cases = int(report.payload["input"]["paired_cases"])
    if not block:
        raise Conflict(
            "Planning needs this study's variance components: at least two readers who have "
            "read every case in two rounds.",
            extra={"paired_readers": report.payload["input"]["paired_readers"]},
        )
    raw = block["delong"]["var_components"]
    if any(value is None for value in raw.values()):
        raise Conflict("This study's variance components are undefined.", extra={"components": raw})
    components = VarianceComponents(**raw)
    try:
        needed = cases_for_power(
            components=components,
            pilot_cases=pilot_cases,
            readers=PLAN_READERS,
            effect=effect,
            power=power,
            alpha=alpha,
        )
        grid = power_grid(
            components=components,
            pilot_cases=pilot_cases,
            readers=PLAN_GRID_READERS,
            cases=PLAN_GRID_CASES,
            effect=effect,
            alpha=alpha,
        )
    except AnalysisInputError as exc:
        raise Conflict(exc.message, extra=exc.extra) from exc
    table = grid.pivot(index="readers", columns="cases", values="power")
    return jsonable(
        {
            "effect": effect,
            "power": power,
            "alpha": alpha,
            "pilot": {
                "readers": len(report.payload["input"]["paired_readers"]),
                "cases": pilot_cases,
                "var_components": raw,
            },
            "cases_needed": needed.to_dict(orient="records"),
            "power_grid": {
                "cases": list(PLAN_GRID_CASES),
                "rows": [{"readers": int(r), "power": table.loc[r].tolist()} for r in table.index],
            },
        }
    )
