"""Rounds, the washout, sessions and reads, through the services."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection, connections
from django.utils import timezone

from readerstudy.audit.models import AuditEvent
from readerstudy.errors import Conflict, NotPermitted, RoundClosed, WashoutNotOver
from readerstudy.reading.models import Decision, Read, ReadingSession, Round, RoundStatus
from readerstudy.reading.selectors import session_next_case
from readerstudy.reading.services import (
    read_revise,
    read_submit,
    round_close,
    round_open,
    session_start,
    washout_override_grant,
)
from readerstudy.studies.models import Cohort
from tests.conftest import Personas
from tests.factories import CaseFactory, EnrolmentFactory, ReaderFactory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def study_with_cases(personas: Personas) -> Personas:
    for n in range(6):
        CaseFactory.create(study=personas.study, key=f"k{n}", truth_malignant=n % 2 == 0)
    CaseFactory.create(study=personas.study, key="trained-on", cohort=Cohort.TRAIN)
    Round.objects.create(study=personas.study, index=1, assisted=False)
    Round.objects.create(study=personas.study, index=2, assisted=False)
    return personas


def _read_all(p: Personas, session: ReadingSession, when: datetime) -> None:
    for case_pk in session.permutation:
        case = p.study.cases.get(pk=case_pk)
        read_submit(
            session=session,
            case=case,
            decision=Decision.BENIGN,
            confidence=30,
            nonce=uuid.uuid4(),
            active_ms=1000,
            actor=p.bob.user,
            now=when,
        )


def _round(p: Personas, index: int) -> Round:
    return p.study.rounds.get(index=index)


def test_a_session_cannot_start_before_the_round_opens(study_with_cases: Personas) -> None:
    p = study_with_cases
    with pytest.raises(RoundClosed):
        session_start(reader=p.bob, round=_round(p, 1))


def test_only_a_coordinator_opens_a_round(study_with_cases: Personas) -> None:
    p = study_with_cases
    with pytest.raises(NotPermitted):
        round_open(round=_round(p, 1), actor=p.sam)
    assert round_open(round=_round(p, 1), actor=p.alice).status == RoundStatus.OPEN
    assert AuditEvent.objects.filter(action="round.opened", actor=p.alice).count() == 1


def test_an_assisted_round_needs_the_ai_output_first(study_with_cases: Personas) -> None:
    p = study_with_cases
    assisted = Round.objects.create(study=p.study, index=3, assisted=True)
    with pytest.raises(Conflict, match="AI model"):
        round_open(round=assisted, actor=p.alice)


def test_the_session_reads_only_the_reading_cohorts_in_a_stored_order(
    study_with_cases: Personas,
) -> None:
    p = study_with_cases
    round_open(round=_round(p, 1), actor=p.alice)
    session = session_start(reader=p.bob, round=_round(p, 1))
    keys = set(p.study.cases.filter(pk__in=session.permutation).values_list("key", flat=True))
    assert keys == {f"k{n}" for n in range(6)}
    assert len(session.seed) == 32
    session.refresh_from_db()
    assert session_start(reader=p.bob, round=_round(p, 1)).permutation == session.permutation


def test_permutations_differ_between_readers_and_between_a_readers_rounds(
    study_with_cases: Personas,
) -> None:
    p = study_with_cases
    for n in range(20):
        CaseFactory.create(study=p.study, key=f"extra{n}")
    others = [
        EnrolmentFactory.create(study=p.study, reader=ReaderFactory.create()).reader
        for _ in range(4)
    ]
    round_open(round=_round(p, 1), actor=p.alice)
    round_open(round=_round(p, 2), actor=p.alice)
    with time_machine.travel(T0, tick=False):
        first = session_start(reader=p.bob, round=_round(p, 1))
        _read_all(p, first, T0)
    washout_override_grant(round=_round(p, 2), reader=p.bob, actor=p.alice, reason="test")
    second = session_start(reader=p.bob, round=_round(p, 2))
    sessions = [first, second] + [session_start(reader=r, round=_round(p, 1)) for r in others]
    orders = [tuple(s.permutation) for s in sessions]
    assert len(set(orders)) == len(orders)
    assert len({s.seed for s in sessions}) == len(sessions)


def test_round_two_is_refused_one_second_before_the_washout_ends_and_allowed_on_time(
    study_with_cases: Personas,
) -> None:
    p = study_with_cases
    round_open(round=_round(p, 1), actor=p.alice)
    round_open(round=_round(p, 2), actor=p.alice)
    with time_machine.travel(T0, tick=False):
        first = session_start(reader=p.bob, round=_round(p, 1))
        _read_all(p, first, T0)
    first.refresh_from_db()
    assert first.completed_at == T0
    opens = T0 + timedelta(days=28)
    with time_machine.travel(opens - timedelta(seconds=1), tick=False):
        with pytest.raises(WashoutNotOver) as refused:
            session_start(reader=p.bob, round=_round(p, 2))
        assert refused.value.extra["opens_at"] == opens.isoformat()
    with time_machine.travel(opens, tick=False):
        assert session_start(reader=p.bob, round=_round(p, 2)).round.index == 2


def test_round_two_needs_round_one_complete(study_with_cases: Personas) -> None:
    p = study_with_cases
    round_open(round=_round(p, 1), actor=p.alice)
    round_open(round=_round(p, 2), actor=p.alice)
    session_start(reader=p.bob, round=_round(p, 1))
    with pytest.raises(Conflict, match="Round 1 must be complete"):
        session_start(reader=p.bob, round=_round(p, 2))


def test_a_washout_override_needs_a_coordinator_and_a_reason_and_is_audited(
    study_with_cases: Personas,
) -> None:
    p = study_with_cases
    round_open(round=_round(p, 1), actor=p.alice)
    round_open(round=_round(p, 2), actor=p.alice)
    _read_all(p, session_start(reader=p.bob, round=_round(p, 1)), timezone.now())
    with pytest.raises(NotPermitted):
        washout_override_grant(round=_round(p, 2), reader=p.bob, actor=p.sam, reason="hurry")
    with pytest.raises(Conflict, match="reason"):
        washout_override_grant(round=_round(p, 2), reader=p.bob, actor=p.alice, reason="  ")
    washout_override_grant(
        round=_round(p, 2), reader=p.bob, actor=p.alice, reason="leaves the hospital"
    )
    assert session_start(reader=p.bob, round=_round(p, 2)).round.index == 2
    event = AuditEvent.objects.get(action="washout.overridden")
    assert event.actor == p.alice
    assert event.data["reason"] == "leaves the hospital"


def test_a_retried_submit_makes_one_read_and_resume_lands_on_the_first_unread_case(
    study_with_cases: Personas,
) -> None:
    p = study_with_cases
    round_open(round=_round(p, 1), actor=p.alice)
    session = session_start(reader=p.bob, round=_round(p, 1))
    first = session_next_case(session=session)
    assert first is not None
    assert first.pk == session.permutation[0]
    nonce = uuid.uuid4()

    def submit() -> Read:
        return read_submit(
            session=session,
            case=first,
            decision=Decision.MALIGNANT,
            confidence=80,
            nonce=nonce,
            active_ms=5000,
            actor=p.bob.user,
        )

    one = submit()
    two = submit()
    assert one.pk == two.pk
    assert Read.objects.count() == 1
    resumed = session_next_case(session=ReadingSession.objects.get(pk=session.pk))
    assert resumed is not None
    assert resumed.pk == session.permutation[1]


def test_another_reader_cannot_submit_into_bobs_session(study_with_cases: Personas) -> None:
    p = study_with_cases
    round_open(round=_round(p, 1), actor=p.alice)
    session = session_start(reader=p.bob, round=_round(p, 1))
    case = p.study.cases.get(pk=session.permutation[0])
    with pytest.raises(NotPermitted):
        read_submit(
            session=session,
            case=case,
            decision=Decision.BENIGN,
            confidence=10,
            nonce=uuid.uuid4(),
            active_ms=1,
            actor=p.carol.user,
        )


def test_a_read_case_cannot_be_read_again_and_a_correction_needs_revisions_allowed(
    study_with_cases: Personas,
) -> None:
    p = study_with_cases
    round_open(round=_round(p, 1), actor=p.alice)
    session = session_start(reader=p.bob, round=_round(p, 1))
    case = p.study.cases.get(pk=session.permutation[0])
    read_submit(
        session=session,
        case=case,
        decision=Decision.BENIGN,
        confidence=10,
        nonce=uuid.uuid4(),
        active_ms=1,
        actor=p.bob.user,
    )
    with pytest.raises(Conflict, match="already read"):
        read_submit(
            session=session,
            case=case,
            decision=Decision.MALIGNANT,
            confidence=90,
            nonce=uuid.uuid4(),
            active_ms=1,
            actor=p.bob.user,
        )
    with pytest.raises(Conflict, match="does not allow"):
        read_revise(
            session=session,
            case=case,
            decision=Decision.MALIGNANT,
            confidence=90,
            nonce=uuid.uuid4(),
            active_ms=1,
            reason="second look",
            actor=p.bob.user,
        )
    p.study.allow_revisions = True
    p.study.save()
    revised = read_revise(
        session=session,
        case=case,
        decision=Decision.MALIGNANT,
        confidence=90,
        nonce=uuid.uuid4(),
        active_ms=1,
        reason="second look",
        actor=p.bob.user,
    )
    assert revised.revision == 2
    assert Read.objects.filter(session=session, case=case).count() == 2
    assert Read.objects.get(session=session, case=case, superseded_by__isnull=True) == revised


def test_the_session_completes_with_its_last_case_and_the_round_can_close(
    study_with_cases: Personas,
) -> None:
    p = study_with_cases
    round_open(round=_round(p, 1), actor=p.alice)
    session = session_start(reader=p.bob, round=_round(p, 1))
    _read_all(p, session, timezone.now())
    session.refresh_from_db()
    assert session.is_complete
    assert session_next_case(session=session) is None
    round_close(round=_round(p, 1), actor=p.alice)
    with pytest.raises(Conflict, match="closed round"):
        round_open(round=_round(p, 1), actor=p.alice)


def test_unknown_features_are_refused(study_with_cases: Personas) -> None:
    p = study_with_cases
    round_open(round=_round(p, 1), actor=p.alice)
    session = session_start(reader=p.bob, round=_round(p, 1))
    case = p.study.cases.get(pk=session.permutation[0])
    with pytest.raises(Conflict, match="shape must be one of"):
        read_submit(
            session=session,
            case=case,
            decision=Decision.BENIGN,
            confidence=10,
            nonce=uuid.uuid4(),
            active_ms=1,
            actor=p.bob.user,
            features={"shape": "round"},
        )
    assert not Read.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_identical_submits_make_one_read(personas_tx: Personas) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL (set DATABASE_URL)")
    p = personas_tx
    CaseFactory.create(study=p.study, key="only")
    round_1 = Round.objects.create(study=p.study, index=1, assisted=False)
    round_open(round=round_1, actor=p.alice)
    session = session_start(reader=p.bob, round=round_1)
    case = p.study.cases.get()
    nonce = uuid.uuid4()
    barrier = threading.Barrier(20)
    results: list[int] = []
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            barrier.wait()
            read = read_submit(
                session=session,
                case=case,
                decision=Decision.BENIGN,
                confidence=42,
                nonce=nonce,
                active_ms=10,
                actor=p.bob.user,
            )
            results.append(read.pk)
        except BaseException as error:  # collected and asserted below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(results)) == 1
    assert Read.objects.filter(session=session).count() == 1
