"""An idle user is logged out; a reader's work survives it and reading resumes where it stopped."""

from __future__ import annotations

import time
import uuid
from typing import Any

import time_machine
from django.test import Client

from readerstudy.reading.models import Read
from tests.conftest import PASSWORD, Personas
from tests.reading.test_api import reading_study  # noqa: F401 (a fixture)


def test_an_idle_reader_is_logged_out_and_resumes_at_the_first_unread_case(
    reading_study: Personas,  # noqa: F811
    settings: Any,
) -> None:
    settings.SESSION_IDLE_MINUTES = 30
    bob = Client()
    with time_machine.travel(time.time(), tick=True) as clock:
        assert bob.login(username="bob", password=PASSWORD)
        round1 = reading_study.study.rounds.get(index=1).pk
        session = bob.post(f"/api/reading/rounds/{round1}/start/").json()["id"]
        first = bob.get(f"/api/reading/sessions/{session}/current/").json()["case"]
        body = {
            "case": first["case"],
            "decision": "benign",
            "confidence": 10,
            "nonce": str(uuid.uuid4()),
            "active_ms": 900,
        }
        url = f"/api/reading/sessions/{session}/reads/"
        assert bob.post(url, body, content_type="application/json").status_code == 201
        clock.shift(20 * 60)  # active again within the limit: still logged in
        assert bob.get(f"/api/reading/sessions/{session}/current/").status_code == 200
        clock.shift(31 * 60)
        assert bob.get(f"/api/reading/sessions/{session}/current/").status_code in (401, 403)
        assert bob.get("/reading/").status_code == 302  # to the login page
        assert bob.login(username="bob", password=PASSWORD)
        resumed = bob.get(f"/api/reading/sessions/{session}/current/").json()
    assert resumed["done"] == 1
    assert resumed["case"]["position"] == 2
    assert Read.objects.filter(session_id=session).count() == 1
