"""CSV exports of a study (and the iMRMC input file, ``analysis.web.imrmc``), streamed in chunks with flat memory and safe to open in a spreadsheet.

Raw tables (reads, cases, predictions, audit log) stream straight from the database with
``iterator(chunk_size=…)``; the analysis tables (per-reader metrics, changes, MRMC) come from the
cached report, so they hold the same numbers as the report page and the API.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from analysis.web.design_exports import (
    PRACTICE_COLUMNS,
    QUESTIONNAIRE_COLUMNS,
    practice_rows,
    questionnaire_rows,
)
from analysis.web.imrmc import imrmc_chunks
from analysis.web.report import report_get
from analysis.web.selectors import (
    study_audit_export,
    study_case_predictions_export,
    study_cases_export,
    study_conditions,
    study_image_predictions_export,
    study_measurements_export,
    study_reads_export,
)
from readerstudy.audit.selectors import AuditFilter
from readerstudy.reading.labels import case_label
from readerstudy.studies.models import FEATURE_FIELDS, Study

CHUNK_ROWS = 2000
# A cell starting with one of these runs as a formula in Excel, LibreOffice and Google Sheets
# (OWASP "CSV injection"); tab and carriage return also start one in some of them.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

READ_COLUMNS = (
    "read_id",
    "reader",
    "seniority",
    "round",
    "assisted",
    "modality",
    "case",
    "case_label",
    "truth",
    "decision",
    "confidence",
    *FEATURE_FIELDS,
    "comment",
    "started_at",
    "submitted_at",
    "reading_time_s",
    "active_ms",
    "revision",
    "supersedes",
    "revision_reason",
    "is_current",
    "phase",
)
MEASUREMENT_COLUMNS = (
    "read_id",
    "reader",
    "round",
    "case",
    "image",
    "frame",
    "x0",
    "y0",
    "x1",
    "y1",
    "length_px",
    "length_mm",
    "spacing_source",
    "fills_max_diameter",
)
CASE_COLUMNS = (
    "case",
    "case_label",
    "patient",
    "lesion",
    "cohort",
    "site",
    "truth",
    "histology",
    *FEATURE_FIELDS,
    "image_count",
)
IMAGE_PREDICTION_COLUMNS = (
    "model",
    "case",
    "image",
    "plane",
    "cohort",
    "truth",
    "probability",
    "has_heatmap",
    "computed_with",
)
CASE_PREDICTION_COLUMNS = (
    "model",
    "case",
    "cohort",
    "truth",
    "probability",
    "malignant",
    "threshold",
    "n_images",
)
AUDIT_COLUMNS = (
    "event_id",
    "at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "data",
    "previous_hash",
    "hash",
)


def spreadsheet_safe(value: str) -> str:
    """Text that a spreadsheet would run as a formula gets a leading single quote."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _cell(value: Any) -> Any:
    """One CSV cell: numbers stay numbers, missing values are empty, text is made safe."""
    kind = type(value)
    if kind is str:
        return "'" + value if value.startswith(FORMULA_START) else value
    if kind is int:
        return value
    if value is None:
        return ""
    if kind is bool:
        return int(value)
    if kind is float:
        return value if math.isfinite(value) else ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return spreadsheet_safe(json.dumps(value, ensure_ascii=False, sort_keys=True))
    if isinstance(value, str):
        return spreadsheet_safe(value)
    return value  # Decimal and other numbers: written by ``str`` as themselves


class _Echo:
    """A file-like object whose ``write`` returns the text: csv.writer then formats one row."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(
    *,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    chunk_rows: int = CHUNK_ROWS,
    cells_ready: bool = False,
) -> Iterator[str]:
    """The CSV text in chunks of ``chunk_rows`` rows: one chunk in memory at a time.

    Every cell goes through ``_cell`` unless the rows say they already did (``cells_ready``:
    the reads export, whose size makes the per-cell dispatch its largest cost).
    """
    writer = csv.writer(_Echo())
    if header:
        yield writer.writerow(header)
    chunk: list[str] = []
    for row in rows:
        chunk.append(writer.writerow(row if cells_ready else [_cell(v) for v in row]))
        if len(chunk) >= chunk_rows:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def _reads_rows(study: Study) -> Iterator[tuple[Any, ...]]:
    """Rows of ready cells: the free text (reader and case names from outside, comments,
    reasons, feature values) made safe; the rest are numbers or our own fixed words."""
    safe = spreadsheet_safe
    no_features = ("",) * len(FEATURE_FIELDS)
    conditions = study_conditions(study=study)
    for (
        pk,
        reader,
        seniority,
        index,
        assisted,
        case,
        seed,
        case_id,
        truth,
        decision,
        confidence,
        features,
        comment,
        started,
        submitted,
        active_ms,
        revision,
        supersedes,
        reason,
        superseded_by,
        session_id,
        phase,
    ) in study_reads_export(study=study).iterator(chunk_size=CHUNK_ROWS):
        modality = conditions.label(
            session=session_id, case=case_id, index=index, assisted=assisted, phase=phase
        )
        recorded = json.loads(features) if features and features != "{}" else None
        yield (
            pk,
            safe(reader),
            seniority,
            index,
            int(assisted),
            modality,
            safe(case),
            case_label(seed=seed, case_id=case_id),  # the label this reader saw, this session
            int(truth),
            decision,
            confidence,
            *(
                tuple(_cell(recorded.get(name)) for name in FEATURE_FIELDS)
                if isinstance(recorded, dict)
                else no_features
            ),
            safe(comment),
            started.isoformat(),
            submitted.isoformat(),
            (submitted - started).total_seconds(),
            active_ms,
            revision,
            "" if supersedes is None else supersedes,
            safe(reason),
            int(superseded_by is None),
            phase,
        )


def _measurement_rows(study: Study) -> Iterator[tuple[Any, ...]]:
    return study_measurements_export(study=study).iterator(chunk_size=CHUNK_ROWS)


def _cases_rows(study: Study) -> Iterator[tuple[Any, ...]]:
    return study_cases_export(study=study).iterator(chunk_size=CHUNK_ROWS)


def _image_prediction_rows(study: Study) -> Iterator[tuple[Any, ...]]:
    for *row, heatmap, computed_with in study_image_predictions_export(study=study).iterator(
        chunk_size=CHUNK_ROWS
    ):
        yield (*row, bool(heatmap), computed_with)


def _case_prediction_rows(study: Study) -> Iterator[tuple[Any, ...]]:
    return study_case_predictions_export(study=study).iterator(chunk_size=CHUNK_ROWS)


def audit_chunks(*, study: Study, where: AuditFilter) -> Iterator[str]:
    """The audit log's CSV, limited to the events ``where`` selects (the console's filter)."""
    rows = study_audit_export(study=study, where=where).iterator(chunk_size=CHUNK_ROWS)
    return csv_chunks(header=AUDIT_COLUMNS, rows=rows)


def _audit_rows(study: Study) -> Iterator[tuple[Any, ...]]:
    return study_audit_export(study=study).iterator(chunk_size=CHUNK_ROWS)


@dataclass(frozen=True)
class Export:
    """One download: its columns (None: taken from the cached report) and where its rows come
    from, or (``chunks``) a file in another format with its own extension and media type."""

    kind: str
    title: str
    columns: Sequence[str] | None
    rows: Callable[[Study], Iterable[Sequence[Any]]] | None = None
    cells_ready: bool = False
    chunks: Callable[[Study], Iterator[str]] | None = None
    extension: str = "csv"
    content_type: str = "text/csv; charset=utf-8"


EXPORTS: dict[str, Export] = {
    export.kind: export
    for export in (
        Export("reads", "Reads, every revision (long format)", READ_COLUMNS, _reads_rows, True),
        Export(
            "measurements",
            "Caliper measurements of the reads (original pixels, mm)",
            MEASUREMENT_COLUMNS,
            _measurement_rows,
        ),
        Export("cases", "Cases with cohort, truth and features", CASE_COLUMNS, _cases_rows),
        Export(
            "image_predictions",
            "AI predictions per image",
            IMAGE_PREDICTION_COLUMNS,
            _image_prediction_rows,
        ),
        Export(
            "case_predictions",
            "AI predictions per case (soft vote)",
            CASE_PREDICTION_COLUMNS,
            _case_prediction_rows,
        ),
        Export("reader_metrics", "Per-reader metrics per round", None),
        Export("changes", "Each reader's change between rounds", None),
        Export("mrmc", "MRMC results (DeLong and jackknife)", None),
        Export("mrmc_variance_components", "MRMC variance components", None),
        Export("audit", "Audit log of the study", AUDIT_COLUMNS, _audit_rows),
        Export(
            "imrmc",
            "Current reads in iMRMC's input format (also RJafroc's)",
            None,
            chunks=lambda study: imrmc_chunks(study=study),
            extension="imrmc",
            content_type="text/plain; charset=utf-8",
        ),
        Export(
            "questionnaires",
            "Questionnaire answers and scores (SUS, NASA-TLX, trust)",
            QUESTIONNAIRE_COLUMNS,
            questionnaire_rows,
        ),
        Export(
            "practice_reads",
            "Practice reads (training cases; never analysed)",
            PRACTICE_COLUMNS,
            practice_rows,
        ),
    )
}


def export_chunks(*, study: Study, kind: str) -> Iterator[str]:
    """The CSV of one export kind (a key of ``EXPORTS``) as text chunks."""
    export = EXPORTS[kind]
    if export.chunks is not None:
        return export.chunks(study)
    if export.rows is not None and export.columns is not None:
        return csv_chunks(
            header=export.columns, rows=export.rows(study), cells_ready=export.cells_ready
        )
    table = report_get(study=study).payload["csv"][kind]
    return csv_chunks(header=table["columns"], rows=table["rows"])


def export_filename(*, study: Study, kind: str) -> str:
    return f"{study.slug}-{kind}.{EXPORTS[kind].extension}"
