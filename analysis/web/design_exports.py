"""The exports the study designs add: questionnaire answers and practice reads (apart from the
reads: practice is never analysed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from readerstudy.questionnaires.models import QuestionnaireResponse
from readerstudy.reading.labels import case_label
from readerstudy.reading.models import PracticeRead

QUESTIONNAIRE_COLUMNS = (
    "response_id",
    "reader",
    "seniority",
    "round",
    "instrument",
    "item",
    "item_text",
    "reverse",
    "answer",
    "instrument_score",
    "submitted_at",
)
PRACTICE_COLUMNS = (
    "practice_read_id",
    "reader",
    "seniority",
    "assisted",
    "case",
    "case_label",
    "truth",
    "decision",
    "confidence",
    "started_at",
    "submitted_at",
    "active_ms",
)


def questionnaire_rows(study: Any) -> Iterator[tuple[Any, ...]]:
    """One row per answered item (NASA-TLX: per subscale), with the instrument's score."""
    responses = (
        QuestionnaireResponse.objects.filter(session__round__study=study)
        .order_by("session__round__index", "session__reader__user__username", "instrument")
        .values_list(
            "pk",
            "session__reader__user__username",
            "session__reader__seniority",
            "session__round__index",
            "instrument",
            "items",
            "answers",
            "scores",
            "submitted_at",
        )
    )
    for pk, reader, seniority, index, instrument, items, answers, scores, at in responses:
        for item in items:
            yield (
                pk, reader, seniority, index, instrument, item["key"], item["text"],
                int(bool(item.get("reverse"))), answers[item["key"]], scores["score"],
                at.isoformat(),
            )  # fmt: skip


def practice_rows(study: Any) -> Iterator[tuple[Any, ...]]:
    reads = (
        PracticeRead.objects.filter(session__study=study)
        .order_by("session__reader__user__username", "submitted_at", "pk")
        .values_list(
            "pk",
            "session__reader__user__username",
            "session__reader__seniority",
            "session__assisted",
            "case__key",
            "session__seed",
            "case_id",
            "case__truth_malignant",
            "decision",
            "confidence",
            "started_at",
            "submitted_at",
            "active_ms",
        )
    )
    for (
        pk, reader, seniority, assisted, key, seed, case_id, truth, decision, confidence,
        started, submitted, active_ms,
    ) in reads:  # fmt: skip
        yield (
            pk, reader, seniority, int(assisted), key, case_label(seed=seed, case_id=case_id),
            int(truth), decision, confidence, started.isoformat(), submitted.isoformat(),
            active_ms,
        )  # fmt: skip
