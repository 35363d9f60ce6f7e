"""The report's numbers, computed from the database with the statistics core.

Imported on the first report, never at start-up: it loads pandas, scipy and statsmodels.
"""

from __future__ import annotations

from typing import Any

from analysis.crossed import analyse_crossed, crossed_reads
from analysis.serialize import jsonable
from analysis.study import METHODS, _records_with_ci, mrmc_json
from analysis.web.frames import (
    bias_control_summary,
    paired_reads,
    study_cases_frame,
    study_reads_frame,
)
from analysis.web.report import REPORT_FORMAT
from analysis.web.report.charts import CHART_TITLES, chart_names
from analysis.web.report.sections import (
    csv_frames,
    extended_section,
    input_summary,
    model_section,
    reader_changes,
    reader_metrics,
    seniority_section,
    table1,
    table4,
)
from readerstudy.questionnaires.selectors import questionnaire_summary
from readerstudy.reading.randomisation import randomisation_describe
from readerstudy.studies.models import Study


def payload_compute(*, study: Study) -> dict[str, Any]:
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
    data = crossed_reads(paired_reads(reads, notes), notes)
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
        "bias_control": bias_control_summary(reads) if not reads.empty else [],
        "questionnaires": questionnaire_summary(study=study),
        "randomisation": randomisation_describe(study=study),
        "table1": table1(cases),
        "table4": table4(reads, cases, data, model["case_probability"], study.ai_threshold),
        "csv": csv_frames(metrics, results, jackknife),
    }
    payload.update(
        extended_section(
            reads, data, model["case_probability"], notes, threshold=study.ai_threshold
        )
    )
    names = chart_names(results, model_compared=bool(model["json"] and model["json"]["vs_readers"]))
    payload["charts"] = [{"name": name, "title": CHART_TITLES[name]} for name in names]
    return dict(jsonable(payload))
