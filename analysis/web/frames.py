"""The frames the statistics core takes, read from the database: current reads, cases and the
AI's predictions. Apart from `selectors` because they need pandas, which the web process loads
only on the first report, not at start-up."""

from __future__ import annotations

import pandas as pd
from django.db.models import Count

from analysis.web.selectors import modality_label
from inference.worker.models import CasePrediction, ModelVersion, Prediction
from readerstudy.reading.models import Decision, Read
from readerstudy.studies.models import FEATURE_FIELDS, Case, Study

READ_COLUMNS = (
    "reader",
    "seniority",
    "round",
    "assisted",
    "modality",
    "case",
    "truth",
    "score",
    "decision",
    "reading_time",
    "active_seconds",
)
CASE_COLUMNS = (
    "case",
    "case_label",
    "patient",
    "cohort",
    "site",
    "truth",
    "histology",
    *FEATURE_FIELDS,
    "image_count",
)


def study_reads_frame(*, study: Study) -> pd.DataFrame:
    """One row per current read (the revision nothing supersedes), in ``READ_COLUMNS``.

    ``score`` is the confidence (0–100), ``decision`` 1 for malignant, ``truth`` 1 for a
    malignant case; ``reading_time`` is submitted − started in seconds (server clock) and
    ``active_seconds`` the client-measured time with the tab visible.
    """
    rows = (
        Read.objects.filter(session__round__study=study, superseded_by__isnull=True)
        .order_by("pk")
        .values_list(
            "session__reader__user__username",
            "session__reader__seniority",
            "session__round__index",
            "session__round__assisted",
            "case__key",
            "case__truth_malignant",
            "confidence",
            "decision",
            "started_at",
            "submitted_at",
            "active_ms",
        )
    )
    records = [
        (
            reader,
            seniority,
            index,
            assisted,
            modality_label(index=index, assisted=assisted),
            key,
            int(truth),
            float(confidence),
            1 if decision == Decision.MALIGNANT else 0,
            (submitted - started).total_seconds(),
            active_ms / 1000.0,
        )
        for (
            reader,
            seniority,
            index,
            assisted,
            key,
            truth,
            confidence,
            decision,
            started,
            submitted,
            active_ms,
        ) in rows
    ]
    return pd.DataFrame.from_records(records, columns=list(READ_COLUMNS))


def study_cases_frame(*, study: Study) -> pd.DataFrame:
    """One row per case with its cohort, truth (0/1), histology and features (blank → NaN)."""
    rows = (
        Case.objects.filter(study=study)
        .annotate(image_count=Count("images"))
        .order_by("pk")
        .values_list(
            "key",
            "reader_label",
            "patient_pseudonym",
            "cohort",
            "site",
            "truth_malignant",
            "histology",
            *FEATURE_FIELDS,
            "image_count",
        )
    )
    frame = pd.DataFrame.from_records(list(rows), columns=list(CASE_COLUMNS))
    frame["truth"] = frame["truth"].astype(int)
    frame["max_diameter_mm"] = pd.to_numeric(frame["max_diameter_mm"], errors="coerce")
    for name in FEATURE_FIELDS[1:]:
        frame[name] = frame[name].replace("", pd.NA)
    return frame


def study_image_predictions_frame(*, study: Study, model: ModelVersion) -> pd.DataFrame:
    """The model's probability for every image of the study's cases, with case, cohort, truth."""
    rows = (
        Prediction.objects.filter(image__case__study=study, model_version=model)
        .order_by("image__case_id", "image__position", "image_id")
        .values_list(
            "image__case__key",
            "image__case__cohort",
            "image__case__truth_malignant",
            "image__position",
            "probability",
        )
    )
    frame = pd.DataFrame.from_records(
        list(rows), columns=["case", "cohort", "truth", "image", "probability"]
    )
    frame["truth"] = frame["truth"].astype(int)
    return frame


def study_case_predictions_frame(*, study: Study, model: ModelVersion) -> pd.DataFrame:
    """The model's case predictions (the soft vote readers saw) with cohort and truth."""
    rows = (
        CasePrediction.objects.filter(case__study=study, model_version=model)
        .order_by("case_id")
        .values_list(
            "case__key", "case__cohort", "case__truth_malignant", "probability", "n_images"
        )
    )
    frame = pd.DataFrame.from_records(
        list(rows), columns=["case", "cohort", "truth", "probability", "n_images"]
    )
    frame["truth"] = frame["truth"].astype(int)
    return frame
