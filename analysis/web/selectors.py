"""The analysis adapter's reads from the database: who may analyse a study, the frames the core
takes (current reads, cases, the AI's predictions), the querysets the CSV exports stream, and the
fingerprint of everything a report depends on. The statistics core never queries; this does.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from django.db.models import Count, Max, QuerySet, Sum, TextField
from django.db.models.functions import Cast

from inference.worker.models import CasePrediction, ModelVersion, Prediction
from readerstudy.audit.models import AuditEvent
from readerstudy.reading.models import Decision, Read, ReadingSession, Round
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


def modality_label(*, index: int, assisted: bool) -> str:
    """The name a round goes by in the analysis, e.g. "round 1 (unassisted)"."""
    return f"round {index} ({'assisted' if assisted else 'unassisted'})"


# --- frames for the core ----------------------------------------------------------------------


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


# --- the data version -------------------------------------------------------------------------


def study_data_fingerprint(*, study: Study) -> dict[str, Any]:
    """Everything the report reads, summarised so that it changes exactly when an input does.

    Reads are insert-only (a database trigger refuses UPDATE), so their count and largest id
    change with every new read, revision or deletion. Cases, rounds and readers are few and
    editable, so their analysed fields are listed whole; predictions are many and written in
    bulk, so they are summarised by count, largest id and the sum of probabilities.
    """
    reads = Read.objects.filter(session__round__study=study).aggregate(
        n=Count("id"), last=Max("id")
    )
    model_id = study.ai_model_id
    images = Prediction.objects.filter(image__case__study=study, model_version_id=model_id)
    cases_predicted = CasePrediction.objects.filter(case__study=study, model_version_id=model_id)
    aggregates = {"n": Count("id"), "last": Max("id"), "sum": Sum("probability")}
    return {
        "study": [study.pk, study.slug, study.title, study.ai_threshold, model_id],
        "reads": [reads["n"], reads["last"]],
        "cases": [
            [str(v) for v in row]
            for row in Case.objects.filter(study=study)
            .order_by("pk")
            .values_list(
                "pk", "key", "cohort", "site", "truth_malignant", "histology", *FEATURE_FIELDS
            )
        ],
        "rounds": list(
            Round.objects.filter(study=study).order_by("pk").values_list("pk", "index", "assisted")
        ),
        "readers": sorted(
            ReadingSession.objects.filter(round__study=study)
            .values_list("reader_id", "reader__user__username", "reader__seniority")
            .distinct()
        ),
        "image_predictions": list(images.aggregate(**aggregates).values()),
        "case_predictions": list(cases_predicted.aggregate(**aggregates).values()),
    }


# --- querysets streamed by the exports ----------------------------------------------------------


def study_reads_export(*, study: Study) -> QuerySet[Read, tuple[Any, ...]]:
    """Every read of the study, all revisions, as tuples (``features`` as JSON text: most are
    empty, and decoding only the others is the cheaper half of a 100,000-row export)."""
    return (
        Read.objects.filter(session__round__study=study)
        .annotate(features_text=Cast("features", output_field=TextField()))
        .order_by("session__round__index", "session__reader__user__username", "case__key", "pk")
        .values_list(
            "pk",
            "session__reader__user__username",
            "session__reader__seniority",
            "session__round__index",
            "session__round__assisted",
            "case__key",
            "case__reader_label",
            "case__truth_malignant",
            "decision",
            "confidence",
            "features_text",
            "comment",
            "started_at",
            "submitted_at",
            "active_ms",
            "revision",
            "supersedes_id",
            "revision_reason",
            "superseded_by__id",
        )
    )


def study_cases_export(*, study: Study) -> QuerySet[Case, tuple[Any, ...]]:
    return (
        Case.objects.filter(study=study)
        .annotate(image_count=Count("images"))
        .order_by("key")
        .values_list(
            "key",
            "reader_label",
            "patient_pseudonym",
            "lesion_label",
            "cohort",
            "site",
            "truth_malignant",
            "histology",
            *FEATURE_FIELDS,
            "image_count",
        )
    )


def study_image_predictions_export(*, study: Study) -> QuerySet[Prediction, tuple[Any, ...]]:
    """Every model's image-level predictions on the study's cases (not only the study's model)."""
    return (
        Prediction.objects.filter(image__case__study=study)
        .order_by("model_version__name", "image__case__key", "image__position", "pk")
        .values_list(
            "model_version__name",
            "image__case__key",
            "image__position",
            "image__plane",
            "image__case__cohort",
            "image__case__truth_malignant",
            "probability",
            "heatmap",
            "computed_with",
        )
    )


def study_case_predictions_export(*, study: Study) -> QuerySet[CasePrediction, tuple[Any, ...]]:
    return (
        CasePrediction.objects.filter(case__study=study)
        .order_by("model_version__name", "case__key", "pk")
        .values_list(
            "model_version__name",
            "case__key",
            "case__cohort",
            "case__truth_malignant",
            "probability",
            "malignant",
            "threshold",
            "n_images",
        )
    )


def study_audit_export(*, study: Study) -> QuerySet[AuditEvent, tuple[Any, ...]]:
    return (
        AuditEvent.objects.filter(study=study)
        .order_by("at", "pk")
        .values_list(
            "pk",
            "at",
            "actor__username",
            "action",
            "target_type",
            "target_id",
            "data",
            "previous_hash",
            "hash",
        )
    )
