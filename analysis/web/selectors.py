"""The analysis adapter's reads from the database: the querysets the CSV exports stream and the
fingerprint of everything a report depends on (the frames the core takes are in `frames`).
The statistics core never queries; this does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import BigIntegerField, Count, F, Max, QuerySet, Sum, TextField
from django.db.models.functions import Cast

from inference.worker.models import CasePrediction, Prediction
from readerstudy.audit.models import AuditEvent
from readerstudy.audit.selectors import AuditFilter, study_audit_events
from readerstudy.questionnaires.models import QuestionnaireResponse
from readerstudy.reading.models import Phase, Read, ReadingSession, ReadMeasurement, Round
from readerstudy.studies.models import FEATURE_FIELDS, Case, Study, StudyDesign


def modality_label(*, index: int, assisted: bool) -> str:
    """The name a round goes by in the analysis, e.g. "round 1 (unassisted)"."""
    return f"round {index} ({'assisted' if assisted else 'unassisted'})"


# The modalities of the designs whose condition is not the round's (labels sort in the order
# the comparison takes: the later minus the earlier).
CROSSOVER_UNASSISTED = "condition 1: unassisted"
CROSSOVER_ASSISTED = "condition 2: assisted"
SEQUENTIAL_LOCKED = "step 1: unassisted (locked)"
SEQUENTIAL_FINAL = "step 2: final (assisted)"
CONTROL_LOCKED = "control step 1: unassisted (locked)"
CONTROL_FINAL = "control step 2: final (unassisted)"


@dataclass(frozen=True)
class StudyConditions:
    """What names a read's modality: the design, and for a sequential study the bias-control
    cases of each session."""

    design: str
    control: frozenset[tuple[int, int]]  # (session pk, case pk)

    def label(self, *, session: int, case: int, index: int, assisted: bool, phase: str) -> str:
        """Independent rounds: the round; crossover: the condition; sequential: the step,
        the bias-control cases apart."""
        if self.design == StudyDesign.CROSSOVER:
            return CROSSOVER_ASSISTED if assisted else CROSSOVER_UNASSISTED
        if self.design == StudyDesign.SEQUENTIAL:
            control = (session, case) in self.control
            if phase == Phase.LOCKED:
                return CONTROL_LOCKED if control else SEQUENTIAL_LOCKED
            return CONTROL_FINAL if control else SEQUENTIAL_FINAL
        return modality_label(index=index, assisted=assisted)


def study_conditions(*, study: Study) -> StudyConditions:
    control: set[tuple[int, int]] = set()
    if study.design == StudyDesign.SEQUENTIAL:
        for pk, assignment in ReadingSession.objects.filter(round__study=study).values_list(
            "pk", "assignment"
        ):
            control.update((pk, case) for case in assignment.get("control", []))
    return StudyConditions(design=study.design, control=frozenset(control))


# --- the data version -------------------------------------------------------------------------


def study_data_fingerprint(*, study: Study) -> dict[str, Any]:
    """Everything the report reads, summarised so that it changes exactly when an input does.

    Reads are insert-only (a database trigger refuses UPDATE), so their count and largest id
    change with every new read, revision or deletion. Cases, rounds and readers are few and
    editable, so their analysed fields are listed whole; predictions are many and written in
    bulk, so they are summarised by count, largest id and the (exact) sum of probabilities.
    """
    reads = Read.objects.filter(session__round__study=study).aggregate(
        n=Count("id"), last=Max("id")
    )
    model_id = study.ai_model_id
    images = Prediction.objects.filter(image__case__study=study, model_version_id=model_id)
    cases_predicted = CasePrediction.objects.filter(case__study=study, model_version_id=model_id)
    # Summed as integers (units of 1e-12): a floating-point sum depends on the order the database
    # reads the rows in, which a restore from backup changes, and so would the version.
    units = Cast(F("probability") * 1e12, BigIntegerField())
    aggregates = {"n": Count("id"), "last": Max("id"), "sum": Sum(units)}
    return {
        "study": [study.pk, study.slug, study.title, study.ai_threshold, model_id, study.design],
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
        # The randomisation and questionnaire sections: new sessions and answers.
        "sessions": list(
            ReadingSession.objects.filter(round__study=study)
            .aggregate(n=Count("id"), last=Max("id"))
            .values()
        ),
        "questionnaires": list(
            QuestionnaireResponse.objects.filter(session__round__study=study)
            .aggregate(n=Count("id"), last=Max("id"))
            .values()
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
            "assisted",
            "case__key",
            "session__seed",
            "case_id",
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
            "session_id",
            "phase",
        )
    )


def study_measurements_export(*, study: Study) -> QuerySet[ReadMeasurement, tuple[Any, ...]]:
    """Every caliper of every read (all revisions), joined to the reads export by ``read_id``."""
    return (
        ReadMeasurement.objects.filter(read__session__round__study=study)
        .order_by("read_id", "pk")
        .values_list(
            "read_id",
            "read__session__reader__user__username",
            "read__session__round__index",
            "read__case__key",
            "image__position",
            "frame",
            "x0",
            "y0",
            "x1",
            "y1",
            "length_px",
            "length_mm",
            "image__spacing_source",
            "fills_max_diameter",
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


def study_audit_export(
    *, study: Study, where: AuditFilter | None = None
) -> QuerySet[AuditEvent, tuple[Any, ...]]:
    return study_audit_events(study_id=study.pk, where=where or AuditFilter()).values_list(
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


def study_imrmc_reads(*, study: Study) -> QuerySet[Read, tuple[Any, ...]]:
    """The current revision of every read as (reader, case id, case key, truth, round index,
    assisted, confidence), by round, reader and case."""
    return (
        Read.objects.filter(session__round__study=study, superseded_by__isnull=True)
        .order_by("session__round__index", "session__reader__user__username", "case_id")
        .values_list(
            "session__reader__user__username",
            "case_id",
            "case__key",
            "case__truth_malignant",
            "session__round__index",
            "session__round__assisted",
            "confidence",
        )
    )
