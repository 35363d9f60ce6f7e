"""The frames the statistics core takes, read from the database: current reads, cases and the
AI's predictions. Apart from `selectors` because they need pandas, which the web process loads
only on the first report, not at start-up. Practice cases (`Case.practice`) are in none of them:
they are never analysed."""

from __future__ import annotations

import pandas as pd
from django.db.models import Count

from analysis.web.selectors import (
    CONTROL_FINAL,
    CONTROL_LOCKED,
    SEQUENTIAL_FINAL,
    SEQUENTIAL_LOCKED,
    study_conditions,
)
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
    "phase",
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
    ``active_seconds`` the client-measured time with the tab visible. ``modality`` is the
    condition the case was read in (`StudyConditions.label`): the round for independent rounds,
    assisted or not for a crossover (so a case's two reads pair across sessions), the step for
    a sequential study, its bias-control cases under modalities of their own.
    """
    conditions = study_conditions(study=study)
    rows = (
        Read.objects.filter(session__round__study=study, superseded_by__isnull=True)
        .order_by("pk")
        .values_list(
            "session__reader__user__username",
            "session__reader__seniority",
            "session__round__index",
            "assisted",
            "case__key",
            "case__truth_malignant",
            "confidence",
            "decision",
            "started_at",
            "submitted_at",
            "active_ms",
            "session_id",
            "case_id",
            "phase",
        )
    )
    records = [
        (
            reader,
            seniority,
            index,
            assisted,
            conditions.label(
                session=session, case=case, index=index, assisted=assisted, phase=phase
            ),
            key,
            int(truth),
            float(confidence),
            1 if decision == Decision.MALIGNANT else 0,
            (submitted - started).total_seconds(),
            active_ms / 1000.0,
            phase,
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
            session,
            case,
            phase,
        ) in rows
    ]
    return pd.DataFrame.from_records(records, columns=list(READ_COLUMNS))


def paired_reads(reads: pd.DataFrame, notes: list[str] | None = None) -> pd.DataFrame:
    """The reads the paired (MRMC) analysis compares. A sequential study compares the locked
    and final reads of the cases no reader kept as a bias control (its fully crossed part: each
    reader's control cases differ, and a control case has no assisted read), saying in `notes`
    how many cases that leaves out; every other design, every read."""
    main = reads["modality"].isin([SEQUENTIAL_LOCKED, SEQUENTIAL_FINAL])
    if not main.any():
        return reads
    control_cases = set(reads.loc[reads["modality"].isin([CONTROL_LOCKED, CONTROL_FINAL]), "case"])
    if control_cases and notes is not None:
        notes.append(
            f"Sequential reading: {len(control_cases)} of {reads['case'].nunique()} cases are "
            "some reader's bias-control case (no AI after the lock) and are left out of the "
            "paired locked → final analysis; they are reported apart."
        )
    return reads[main & ~reads["case"].isin(control_cases)]


def bias_control_summary(reads: pd.DataFrame) -> list[dict[str, object]]:
    """Sequential studies: per reader, the change from the locked to the final read on the
    bias-control cases (no AI after the lock) beside the cases with the AI — reported apart."""
    rows: list[dict[str, object]] = []
    for control, (locked, final) in (
        (True, (CONTROL_LOCKED, CONTROL_FINAL)),
        (False, (SEQUENTIAL_LOCKED, SEQUENTIAL_FINAL)),
    ):
        part = reads[reads["modality"].isin([locked, final])]
        if part.empty:
            continue
        wide = part.pivot_table(
            index=["reader", "case"], columns="modality", values=["score", "decision"]
        ).dropna()
        for reader, group in wide.groupby(level="reader"):
            rows.append(
                {
                    "reader": reader,
                    "bias_control": control,
                    "cases": len(group),
                    "mean_confidence_change": float(
                        (group[("score", final)] - group[("score", locked)]).mean()
                    ),
                    "decisions_changed": int(
                        (group[("decision", final)] != group[("decision", locked)]).sum()
                    ),
                }
            )
    return rows


def study_cases_frame(*, study: Study) -> pd.DataFrame:
    """One row per case with its cohort, truth (0/1), histology and features (blank → NaN)."""
    rows = (
        Case.objects.filter(study=study, practice=False)
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
        Prediction.objects.filter(
            image__case__study=study, image__case__practice=False, model_version=model
        )
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
        CasePrediction.objects.filter(case__study=study, case__practice=False, model_version=model)
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
