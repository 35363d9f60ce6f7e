"""The database itself holds the invariants of reads, images and audit events."""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, transaction

from readerstudy.audit.services import audit_record
from readerstudy.reading.models import Read
from tests.factories import CaseImageFactory, ReadFactory, ReadingSessionFactory


def _read_like(read: Read, **changes: object) -> Read:
    fields = {
        "session": read.session,
        "case": read.case,
        "decision": read.decision,
        "confidence": read.confidence,
        "nonce": uuid.uuid4(),
        "started_at": read.started_at,
        "submitted_at": read.submitted_at,
        "active_ms": read.active_ms,
    }
    fields.update(changes)
    return Read(**fields)


@pytest.mark.django_db
def test_confidence_above_100_is_rejected_by_the_database() -> None:
    session = ReadingSessionFactory.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        ReadFactory.create(session=session, confidence=101)


@pytest.mark.django_db
def test_confidence_bounds_0_and_100_are_accepted() -> None:
    session = ReadingSessionFactory.create()
    ReadFactory.create(session=session, confidence=0)
    ReadFactory.create(session=session, confidence=100)
    assert Read.objects.count() == 2


@pytest.mark.django_db
def test_duplicate_nonce_in_a_session_is_rejected() -> None:
    read = ReadFactory.create()
    other_case = ReadFactory.create(session=read.session).case
    with pytest.raises(IntegrityError), transaction.atomic():
        _read_like(read, case=other_case, nonce=read.nonce).save()


@pytest.mark.django_db
def test_a_second_current_read_of_a_case_is_rejected() -> None:
    read = ReadFactory.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        _read_like(read).save()


@pytest.mark.django_db
def test_a_revision_supersedes_the_previous_one_and_leaves_one_current_read() -> None:
    first = ReadFactory.create()
    second = _read_like(first, supersedes=first, revision=2, revision_reason="misclick")
    second.save()
    current = Read.objects.filter(
        session=first.session, case=first.case, superseded_by__isnull=True
    )
    assert list(current) == [second]
    with pytest.raises(IntegrityError), transaction.atomic():
        _read_like(first, supersedes=first, revision=2, revision_reason="again").save()


@pytest.mark.django_db
def test_a_revision_without_a_reason_is_rejected() -> None:
    first = ReadFactory.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        _read_like(first, supersedes=first, revision=2).save()


@pytest.mark.django_db
def test_a_revision_of_another_cases_read_is_rejected() -> None:
    first = ReadFactory.create()
    other = ReadFactory.create(session=first.session)
    with pytest.raises(IntegrityError), transaction.atomic():
        _read_like(other, supersedes=first, revision=2, revision_reason="wrong chain").save()


@pytest.mark.django_db
def test_a_read_cannot_be_updated() -> None:
    read = ReadFactory.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        Read.objects.filter(pk=read.pk).update(confidence=99)
    read.refresh_from_db()
    assert read.confidence == 20


@pytest.mark.django_db
def test_an_audit_event_cannot_be_updated() -> None:
    event = audit_record(actor=None, action="test.happened", data={"n": 1})
    with pytest.raises(IntegrityError), transaction.atomic():
        type(event).objects.filter(pk=event.pk).update(action="test.rewritten")


@pytest.mark.django_db
def test_a_lesion_box_outside_the_image_is_rejected() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseImageFactory.create(width=800, roi_x=700, roi_w=200)
