"""The audit CSV carries each event's place in the hash chain."""

from __future__ import annotations

import csv
import io

import pytest
from django.http import StreamingHttpResponse
from django.test import Client

from readerstudy.audit.models import AuditEvent
from readerstudy.audit.services import audit_record
from tests.conftest import Personas


@pytest.mark.django_db
def test_the_audit_export_has_each_events_previous_hash_and_hash(personas: Personas) -> None:
    audit_record(actor=personas.alice, action="test.happened", study=personas.study)
    client = Client()
    client.force_login(personas.sam)
    response = client.get("/studies/s/exports/audit.csv")
    assert isinstance(response, StreamingHttpResponse)
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8"))))
    assert rows
    for row in rows:
        event = AuditEvent.objects.get(pk=row["event_id"])
        assert (row["previous_hash"], row["hash"]) == (event.previous_hash, event.hash)
