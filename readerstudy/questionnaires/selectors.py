"""What the questionnaire page shows and what the report summarises."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from readerstudy.accounts.models import Reader
from readerstudy.errors import NotFound
from readerstudy.questionnaires.instruments import Item, instrument_items
from readerstudy.questionnaires.models import QuestionnaireResponse, RoundQuestionnaire
from readerstudy.reading.models import ReadingSession
from readerstudy.studies.models import Study


@dataclass(frozen=True)
class Asked:
    questionnaire: RoundQuestionnaire
    items: list[Item]
    answered: bool


def session_for_questionnaire(*, reader: Reader, session_pk: int) -> ReadingSession:
    session = (
        ReadingSession.objects.select_related("round__study", "reader__user")
        .filter(pk=session_pk, reader=reader)
        .first()
    )
    if session is None:
        raise NotFound("No such reading session.")
    return session


def session_questionnaires(*, session: ReadingSession) -> list[Asked]:
    """The instruments the session's round asks, in order, and whether each is answered."""
    answered = set(
        QuestionnaireResponse.objects.filter(session=session).values_list("instrument", flat=True)
    )
    return [
        Asked(q, instrument_items(q.instrument, q.items), q.instrument in answered)
        for q in RoundQuestionnaire.objects.filter(round=session.round)
    ]


def sessions_with_questionnaires_pending(*, reader: Reader) -> set[int]:
    """The reader's completed sessions whose round asks a questionnaire they have not answered."""
    asked = set(
        ReadingSession.objects.filter(
            reader=reader, completed_at__isnull=False, round__questionnaires__isnull=False
        ).values_list("pk", "round__questionnaires__instrument")
    )
    answered = set(
        QuestionnaireResponse.objects.filter(session__reader=reader).values_list(
            "session_id", "instrument"
        )
    )
    return {session for session, _ in asked - answered}


def questionnaire_summary(*, study: Study) -> list[dict[str, Any]]:
    """Per round, seniority and instrument: n, mean, SD and range of each score (the SUS
    score, the raw TLX and its six subscales, the trust scale's mean)."""
    groups: dict[tuple[int, str, str, str], list[float]] = {}
    rows = QuestionnaireResponse.objects.filter(session__round__study=study).values_list(
        "session__round__index", "session__reader__seniority", "instrument", "scores"
    )
    for index, seniority, instrument, scores in rows:
        for key, value in scores.items():
            groups.setdefault((index, seniority, instrument, key), []).append(float(value))
            groups.setdefault((index, "all", instrument, key), []).append(float(value))
    summary = []
    for (index, seniority, instrument, key), values in sorted(groups.items()):
        summary.append(
            {
                "round": index,
                "seniority": seniority,
                "instrument": instrument,
                "score": key,
                "n": len(values),
                "mean": statistics.fmean(values),
                "sd": statistics.stdev(values) if len(values) > 1 else None,
                "min": min(values),
                "max": max(values),
            }
        )
    return summary
