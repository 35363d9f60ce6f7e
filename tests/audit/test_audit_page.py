"""The console's audit page lists a study's events filtered by action, user and dates, and its CSV
link exports exactly the rows it lists; other people see nothing of it."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.utils import timezone

from readerstudy.audit.models import AuditEvent
from readerstudy.audit.services import audit_record
from tests.audit.conftest import tamper
from tests.conftest import Personas


def _client(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def _csv(response: object) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode("utf-8")  # type: ignore[arg-type]
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def events(personas: Personas) -> None:
    for i in range(3):
        audit_record(
            actor=personas.alice, action="test.opened", study=personas.study, data={"i": i}
        )
    audit_record(actor=personas.sam, action="test.closed", study=personas.study)
    audit_record(actor=personas.alice, action="test.secret", study=personas.other_study)


@pytest.mark.django_db
@pytest.mark.usefixtures("events")
def test_the_page_lists_the_studys_events_newest_first(personas: Personas) -> None:
    response = _client(personas.alice).get("/studies/s/audit/")
    assert response.status_code == 200
    page = response.context["page"]
    sequences = [event.sequence for event in page]
    assert sequences == sorted(sequences, reverse=True)
    assert {event.study_id for event in page} == {personas.study.pk}
    assert "test.secret" not in response.content.decode()
    assert "hash chain holds" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.usefixtures("events")
def test_filter_by_action_and_user_and_export_the_same_rows(personas: Personas) -> None:
    client = _client(personas.alice)
    response = client.get("/studies/s/audit/", {"action": "test.opened", "actor": "alice"})
    listed = {event.pk for event in response.context["page"]}
    assert len(listed) == 3
    assert "?action=test.opened&amp;actor=alice" in response.content.decode()
    rows = _csv(client.get("/studies/s/exports/audit.csv?action=test.opened&actor=alice"))
    assert {int(row["event_id"]) for row in rows} == listed
    by_sam = client.get("/studies/s/audit/", {"actor": personas.sam.username})
    assert [event.action for event in by_sam.context["page"]] == ["test.closed"]


@pytest.mark.django_db
@pytest.mark.usefixtures("events")
def test_filter_by_dates_includes_the_end_day(personas: Personas) -> None:
    client = _client(personas.sam)
    today = timezone.localdate()
    same_day = client.get("/studies/s/audit/", {"since": str(today), "until": str(today)})
    assert len(same_day.context["page"]) == AuditEvent.objects.filter(study=personas.study).count()
    yesterday = today - timedelta(days=1)
    before = client.get("/studies/s/audit/", {"until": str(yesterday)})
    assert len(before.context["page"]) == 0


@pytest.mark.django_db
@pytest.mark.usefixtures("events")
def test_a_bad_filter_is_shown_next_to_its_field_and_refused_by_the_export(
    personas: Personas,
) -> None:
    client = _client(personas.alice)
    response = client.get("/studies/s/audit/", {"since": "2026-05-02", "until": "2026-05-01"})
    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()
    assert len(response.context["page"]) == 0
    unknown = client.get("/studies/s/audit/", {"action": "no.such"})
    assert "Select a valid choice" in unknown.content.decode()
    export = client.get("/studies/s/exports/audit.csv", {"since": "not a date"})
    assert export.status_code == 400
    assert "since: Enter a valid date." in export.content.decode()


@pytest.mark.django_db
@pytest.mark.usefixtures("events")
def test_the_filtered_export_is_audited_with_its_filter(personas: Personas) -> None:
    _csv(_client(personas.alice).get("/studies/s/exports/audit.csv?action=test.closed"))
    event = AuditEvent.objects.filter(action="analysis.exported").latest("sequence")
    assert event.data == {"kind": "audit", "filter": {"action": "test.closed"}}


@pytest.mark.django_db
@pytest.mark.usefixtures("events")
def test_readers_and_other_studies_people_get_404(personas: Personas) -> None:
    assert _client(personas.bob.user).get("/studies/s/audit/").status_code == 404
    assert _client(personas.carol.user).get("/studies/s/audit/").status_code == 404
    anonymous = Client().get("/studies/s/audit/")
    assert anonymous.status_code == 302


@pytest.mark.django_db
@pytest.mark.usefixtures("events")
def test_a_tampered_chain_is_shown_without_another_studys_details(personas: Personas) -> None:
    secret = AuditEvent.objects.get(action="test.secret")
    tamper(secret, data={"edited": True})
    body = _client(personas.alice).get("/studies/s/audit/").content.decode()
    assert "hash chain is broken" in body
    assert "may lie in another study" in body
    assert f"event {secret.pk}" not in body
