"""Configuring a round's questionnaires and recording a reader's answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from readerstudy.accounts import access
from readerstudy.accounts.models import User
from readerstudy.audit.services import audit_record
from readerstudy.errors import Conflict, NotPermitted
from readerstudy.questionnaires.instruments import (
    INSTRUMENTS,
    TRUST,
    InstrumentError,
    answers_clean,
    instrument_score,
    trust_items_clean,
)
from readerstudy.questionnaires.models import QuestionnaireResponse, RoundQuestionnaire
from readerstudy.questionnaires.selectors import session_questionnaires
from readerstudy.reading.models import ReadingSession, Round


@transaction.atomic
def round_questionnaires_set(
    *, round: Round, instruments: Sequence[Mapping[str, Any]], actor: User
) -> list[RoundQuestionnaire]:
    """The instruments the round asks after its session, in order: [{instrument, items?}].
    Refused once a reader has answered one of the round's questionnaires."""
    access.study_require(user=actor, study=round.study)
    round = Round.objects.select_for_update().get(pk=round.pk)
    if QuestionnaireResponse.objects.filter(session__round=round).exists():
        raise Conflict("Readers have answered this round's questionnaires: they cannot change now.")
    names = [str(entry.get("instrument", "")) for entry in instruments]
    unknown = [name for name in names if name not in INSTRUMENTS]
    if unknown or len(set(names)) != len(names):
        raise Conflict(
            "Each instrument at most once, from: " + ", ".join(INSTRUMENTS) + ".",
            extra={"instruments": names},
        )
    rows = []
    try:
        for position, entry in enumerate(instruments):
            items = entry.get("items") or []
            if entry["instrument"] != TRUST and items:
                raise InstrumentError("Only the trust scale has items the coordinator edits.")
            rows.append(
                RoundQuestionnaire(
                    round=round,
                    instrument=entry["instrument"],
                    position=position,
                    items=trust_items_clean(items) if items else [],
                )
            )
    except InstrumentError as error:
        raise Conflict(str(error)) from error
    RoundQuestionnaire.objects.filter(round=round).delete()
    RoundQuestionnaire.objects.bulk_create(rows)
    audit_record(
        actor=actor,
        action="questionnaires.configured",
        target=round,
        study=round.study,
        data={"round": round.index, "instruments": [{"instrument": r.instrument, "items": r.items}
                                                     for r in rows]},
    )  # fmt: skip
    return list(RoundQuestionnaire.objects.filter(round=round))


@transaction.atomic
def questionnaire_submit(
    *,
    session: ReadingSession,
    answers: Mapping[str, Mapping[str, Any]],
    actor: User,
    now: datetime | None = None,
) -> list[QuestionnaireResponse]:
    """Record the answers to every instrument still open for the session, all or nothing."""
    session = ReadingSession.objects.select_for_update().get(pk=session.pk)
    if session.reader.user_id != actor.pk:
        raise NotPermitted("This is not your reading session.")
    if session.completed_at is None:
        raise Conflict("The questionnaires come once the session is complete.")
    pending = [asked for asked in session_questionnaires(session=session) if not asked.answered]
    if not pending:
        raise Conflict("No questionnaire is waiting for this session.")
    now = now or timezone.now()
    responses = []
    for asked in pending:
        instrument = asked.questionnaire.instrument
        try:
            clean = answers_clean(asked.items, answers.get(instrument, {}))
        except InstrumentError as error:
            raise Conflict(str(error), extra={"instrument": instrument}) from error
        responses.append(
            QuestionnaireResponse(
                session=session,
                instrument=instrument,
                items=[{"key": i.key, "text": i.text, "low": i.low, "high": i.high,
                        "reverse": i.reverse} for i in asked.items],
                answers=clean,
                scores=instrument_score(asked.items, instrument, clean),
                submitted_at=now,
            )
        )  # fmt: skip
    QuestionnaireResponse.objects.bulk_create(responses)
    audit_record(
        actor=actor,
        action="questionnaires.answered",
        target=session,
        study=session.round.study,
        data={"instruments": [r.instrument for r in responses]},
    )
    return responses
