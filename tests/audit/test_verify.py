"""`manage.py audit_verify` and `GET /api/audit/verify/` report the chain, each to whom it may."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from readerstudy.accounts.models import User
from readerstudy.audit.models import AuditEvent
from readerstudy.audit.services import audit_record
from tests.audit.conftest import tamper
from tests.conftest import Personas

URL = "/api/audit/verify/"


def _verify(*args: str) -> str:
    out = StringIO()
    call_command("audit_verify", *args, stdout=out)
    return out.getvalue()


def _client(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.django_db
def test_the_command_prints_ok_with_the_count_and_the_head_hash(personas: Personas) -> None:
    for study in (personas.study, personas.study, personas.other_study):
        audit_record(actor=None, action="test.happened", study=study)
    head = AuditEvent.objects.order_by("-sequence").first()
    assert head is not None
    output = _verify("--study", "s")
    assert output.startswith(f"OK: {AuditEvent.objects.count()} events")
    assert f"head hash {head.hash}" in output
    assert "study s: 2 events" in output


@pytest.mark.django_db
def test_the_command_exits_1_naming_the_first_broken_event(personas: Personas) -> None:
    events = [audit_record(actor=None, action="test.happened", study=personas.study) for _ in "ab"]
    tamper(events[0], data={"forged": True})
    with pytest.raises(CommandError) as raised:
        _verify("--study", "s")
    assert raised.value.returncode == 1
    message = str(raised.value)
    assert (
        f"BROKEN at event {events[0].pk} (sequence {events[0].sequence}) (in this study)" in message
    )
    assert "edited: its content no longer matches its hash" in message


@pytest.mark.django_db
def test_the_command_reports_a_deleted_event() -> None:
    events = [audit_record(actor=None, action="test.happened") for _ in range(3)]
    AuditEvent.objects.filter(pk=events[1].pk).delete()
    with pytest.raises(CommandError) as raised:
        _verify()
    assert raised.value.returncode == 1
    assert f"event {events[2].pk} " in str(raised.value)
    assert "missing: the events of sequence 2 are missing" in str(raised.value)


@pytest.mark.django_db
def test_the_command_refuses_an_unknown_study() -> None:
    with pytest.raises(CommandError) as raised:
        _verify("--study", "nope")
    assert raised.value.returncode == 2


@pytest.mark.django_db
def test_a_superuser_gets_the_whole_report(personas: Personas) -> None:
    root = User.objects.create_superuser(username="root", password="x")
    event = audit_record(actor=None, action="test.happened", study=personas.other_study)
    body = _client(root).get(URL).json()
    assert body["ok"] is True
    assert body["head_hash"] == event.hash
    assert body["count"] == AuditEvent.objects.count()
    assert body["study_counts"] == {str(personas.other_study.pk): 1}
    tamper(event, action="test.rewritten")
    body = _client(root).get(URL).json()
    assert body["ok"] is False
    assert body["first_break"]["event_id"] == event.pk
    assert body["first_break"]["kind"] == "edited"


@pytest.mark.django_db
def test_a_coordinator_sees_whether_it_holds_and_only_their_studies_counts(
    personas: Personas,
) -> None:
    audit_record(actor=None, action="test.happened", study=personas.study)
    event = audit_record(actor=None, action="test.happened", study=personas.other_study)
    assert _client(personas.alice).get(URL).json() == {
        "ok": True,
        "studies": [{"slug": "s", "count": 1}],
    }
    tamper(event, action="test.rewritten")
    body = _client(personas.alice).get(URL).json()
    assert body == {"ok": False, "studies": [{"slug": "s", "count": 1}]}, "nothing of study T"


@pytest.mark.django_db
def test_readers_and_statisticians_may_not_verify(personas: Personas) -> None:
    for user in (personas.bob.user, personas.sam):
        response = _client(user).get(URL)
        assert response.status_code == 403
        assert "message" in response.json()
    assert APIClient().get(URL).status_code == 401  # anonymous: authenticate first
