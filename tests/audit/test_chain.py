"""The audit log's hash chain holds as events are appended, and shows where it was tampered with."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import IntegrityError, connection, connections, transaction

from readerstudy.audit.chain import GENESIS, canonical_json, event_hash
from readerstudy.audit.models import AuditEvent
from readerstudy.audit.selectors import BreakKind, audit_chain_verify
from readerstudy.audit.services import audit_record
from tests.audit.conftest import append_only_lifted, tamper
from tests.conftest import Personas

# Values a JSON column may give back in another form (jsonb writes 1.5e20 as an integer).
AWKWARD = {
    "z": [1, 2.0, 1.5e20, 0.1, 1e-7, -0.0, True, None],
    "a": {"ü": "naïve ✓", "nested": {"b": 1, "a": [[]]}},
    "tuple": (1, 2),
}


def _events(n: int, personas: Personas | None = None) -> list[AuditEvent]:
    events = []
    for i in range(n):
        events.append(
            audit_record(
                actor=personas.alice if personas and i % 2 else None,
                action="test.happened",
                study=personas.study if personas and i % 3 == 0 else None,
                target=personas.alice if personas and i % 5 == 0 else None,
                data={"i": i, **AWKWARD},
            )
        )
    return events


def test_canonical_json_sorts_keys_and_writes_no_whitespace() -> None:
    assert canonical_json({"b": [1, 2.0], "a": {"y": None, "x": "é"}}) == (
        '{"a":{"x":"é","y":null},"b":[1,2]}'
    )
    assert canonical_json(1.5e20) == canonical_json(150000000000000000000)
    assert canonical_json(0.1) == "0.1"


@pytest.mark.django_db
def test_the_chain_holds_after_many_events(personas: Personas) -> None:
    events = _events(120, personas)
    report = audit_chain_verify()
    # The personas' own creation is audited too (coordinators are staff, users join groups).
    total = AuditEvent.objects.count()
    assert report.ok, report.first_break
    assert report.count == total
    assert report.head_sequence == total
    assert report.head_hash == events[-1].hash == AuditEvent.objects.get(pk=events[-1].pk).hash
    assert report.study_counts == {personas.study.pk: 40}


@pytest.mark.django_db
def test_each_event_links_to_the_one_before_it() -> None:
    first, second, third = _events(3)
    assert (first.sequence, first.previous_hash) == (1, GENESIS)
    assert (second.sequence, second.previous_hash) == (2, first.hash)
    assert (third.sequence, third.previous_hash) == (3, second.hash)
    assert len({first.hash, second.hash, third.hash}) == 3


@pytest.mark.django_db
def test_a_stored_event_hashes_as_it_did_before_it_was_stored() -> None:
    (event,) = _events(1)
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.data["tuple"] == [1, 2]
    assert event.data == stored.data, "the returned event holds what was stored"
    assert (
        event_hash(
            sequence=stored.sequence,
            at=stored.at,
            actor_id=stored.actor_id,
            action=stored.action,
            study_id=stored.study_id,
            target_type=stored.target_type,
            target_id=stored.target_id,
            data=stored.data,
            previous_hash=stored.previous_hash,
        )
        == event.hash
    )


@pytest.mark.django_db
def test_an_empty_log_verifies_with_the_genesis_head() -> None:
    report = audit_chain_verify()
    assert report.ok
    assert (report.count, report.head_sequence, report.head_hash) == (0, None, GENESIS)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changes",
    [
        {"action": "test.rewritten"},
        {"data": {"i": 5, "forged": True}},
        {"target_id": "999"},
        {"previous_hash": "f" * 64},
    ],
    ids=["action", "data", "target", "link"],
)
def test_an_edited_event_is_found_at_that_event(changes: dict[str, Any]) -> None:
    events = _events(10)
    tamper(events[5], **changes)
    report = audit_chain_verify()
    assert report.first_break is not None
    assert report.first_break.event_id == events[5].pk
    assert report.first_break.kind == BreakKind.EDITED
    assert report.count == 10


@pytest.mark.django_db
def test_an_edit_with_its_hash_recomputed_is_found_at_the_next_event() -> None:
    events = _events(10)
    tamper(events[5], rehash=True, action="test.rewritten")
    broken = audit_chain_verify().first_break
    assert broken is not None
    assert (broken.event_id, broken.kind) == (events[6].pk, BreakKind.UNLINKED)


@pytest.mark.django_db
def test_a_deleted_middle_event_is_found_at_its_successor() -> None:
    events = _events(10)
    AuditEvent.objects.filter(pk=events[4].pk).delete()
    broken = audit_chain_verify().first_break
    assert broken is not None
    assert (broken.event_id, broken.kind) == (events[5].pk, BreakKind.MISSING)
    assert "sequence 5" in broken.detail


@pytest.mark.django_db
def test_deleting_the_first_events_is_found() -> None:
    events = _events(5)
    AuditEvent.objects.filter(pk__in=[events[0].pk, events[1].pk]).delete()
    broken = audit_chain_verify().first_break
    assert broken is not None
    assert (broken.event_id, broken.kind) == (events[2].pk, BreakKind.MISSING)
    assert "sequences 1 to 2" in broken.detail


@pytest.mark.django_db
def test_swapping_two_events_places_is_found() -> None:
    events = _events(6)
    tamper(events[2], sequence=1000)
    tamper(events[3], sequence=3)
    tamper(events[2], sequence=4)
    broken = audit_chain_verify().first_break
    assert broken is not None
    assert (broken.event_id, broken.kind) == (events[3].pk, BreakKind.EDITED)


@pytest.mark.django_db
def test_an_event_that_follows_another_than_its_predecessor_is_reported_as_reordered() -> None:
    events = _events(6)
    # Linking to the head: any other event's hash is already some event's previous_hash (unique).
    tamper(events[2], rehash=True, previous_hash=events[5].hash)
    broken = audit_chain_verify().first_break
    assert broken is not None
    assert (broken.event_id, broken.kind) == (events[2].pk, BreakKind.REORDERED)
    assert f"follows event {events[5].pk}" in broken.detail


@pytest.mark.django_db
def test_a_fork_is_refused_by_the_database() -> None:
    first, _ = _events(2)
    fork = AuditEvent(
        action="test.fork", sequence=3, previous_hash=first.hash, hash="e" * 64, data={}
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        fork.save(force_insert=True)
    fork = AuditEvent(
        action="test.fork", sequence=2, previous_hash="d" * 64, hash="e" * 64, data={}
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        fork.save(force_insert=True)


@pytest.mark.django_db
def test_events_stay_append_only_after_the_chain_migration() -> None:
    (event,) = _events(1)
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(hash="0" * 64)
    with append_only_lifted():
        pass
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="test.rewritten")


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_make_one_unbroken_chain(personas_tx: Personas) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL (set DATABASE_URL)")
    writers, each = 12, 10
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def append(n: int) -> None:
        try:
            barrier.wait()
            for i in range(each):
                # Each inside its own transaction that does more after the append, as callers do.
                with transaction.atomic():
                    audit_record(actor=personas_tx.alice, action="test.concurrent", data={"n": n})
                    AuditEvent.objects.filter(action="test.concurrent").count()
                    if i == 3:
                        transaction.set_rollback(True)  # a rolled-back append leaves no gap
        except BaseException as error:  # collected and asserted below
            errors.append(error)
        finally:
            connections.close_all()

    before = AuditEvent.objects.count()
    threads = [threading.Thread(target=append, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = audit_chain_verify()
    assert report.ok, report.first_break
    assert report.count == before + writers * (each - 1)
    sequences = list(AuditEvent.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, report.count + 1))
