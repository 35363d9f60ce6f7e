"""The database connection dies in the middle of a submit: the client's retry with the same nonce
leaves exactly one read. The connection is killed for real (`pg_terminate_backend` from a second
connection), once before the transaction commits and once after, when only the answer is lost."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.test import Client

from readerstudy.reading.labels import case_for_label
from readerstudy.reading.models import Read, ReadingSession
from readerstudy.reading.selectors import session_progress
from tests.conftest import PASSWORD, Personas
from tests.dbfaults import NEEDS_POSTGRESQL, backend_pid, read_submit_drops_connection_once
from tests.reading.test_api import reading_study_create

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason=NEEDS_POSTGRESQL)


@pytest.fixture
def study(personas_tx: Personas) -> Personas:
    """The reading study, committed: the killed connection's transaction must not hold it."""
    return reading_study_create(personas_tx)


@pytest.fixture(autouse=True)
def _reconnect_after(transactional_db: None) -> Iterator[None]:
    """A test that stops before its own reconnect must not leave the flush a dead connection."""
    yield
    close_old_connections()


def _bob() -> Client:
    # A failed request must come back as the response the user would get, not as an exception.
    client = Client(raise_request_exception=False)
    assert client.login(username="bob", password=PASSWORD)
    return client


def _submit_body(client: Client, p: Personas) -> tuple[str, ReadingSession, dict[str, object]]:
    started = client.post(f"/api/reading/rounds/{p.study.rounds.get(index=1).pk}/start/")
    assert started.status_code == 201, started.content
    session = ReadingSession.objects.get(pk=started.json()["id"])
    url = f"/api/reading/sessions/{session.pk}/reads/"
    label = client.get(f"/api/reading/sessions/{session.pk}/current/").json()["case"]["case"]
    body = {
        "case": label,
        "decision": "malignant",
        "confidence": 70,
        "nonce": str(uuid.uuid4()),
        "active_ms": 3000,
    }
    return url, session, body


def _assert_unavailable(response: Any) -> None:
    """The dropped connection answers a clean JSON 503 that says to try again, no traceback."""
    assert not 200 <= response.status_code < 300
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    body = response.json()
    assert set(body) == {"message", "extra"}
    assert "try again" in body["message"]
    assert body["extra"] == {}
    assert b"Traceback" not in response.content
    assert b"psycopg" not in response.content


def _assert_one_read(client: Client, url: str, session: ReadingSession, body: Any) -> None:
    retry = client.post(url, body, content_type="application/json")
    assert retry.status_code == 201, retry.content[:300]
    session.refresh_from_db()
    case = case_for_label(seed=session.seed, case_ids=session.permutation, label=body["case"])
    assert case is not None
    reads = Read.objects.filter(session=session, case_id=case)
    assert reads.count() == 1
    read = reads.get()
    assert str(read.nonce) == body["nonce"]
    assert read.confidence == body["confidence"]
    session.refresh_from_db()
    assert session_progress(session=session) == {"done": 1, "total": 4}
    assert session.completed_at is None
    assert retry.json()["next"]["done"] == 1
    assert retry.json()["next"]["case"]["case"] != body["case"]

    replay = client.post(url, body, content_type="application/json")
    assert replay.status_code == 201
    # The same stored read (image URLs in `next` are signed afresh, so compare the rest).
    assert replay.json()["read"] == retry.json()["read"]
    assert replay.json()["read"]["submitted_at"] is not None
    assert replay.json()["next"]["case"]["case"] == retry.json()["next"]["case"]["case"]
    assert reads.count() == 1
    assert Read.objects.filter(session=session).count() == 1


def test_a_connection_lost_inside_the_submit_transaction_is_retried_into_one_read(
    study: Personas, monkeypatch: pytest.MonkeyPatch
) -> None:
    bob = _bob()
    url, session, body = _submit_body(bob, study)
    killed = read_submit_drops_connection_once(monkeypatch, after_commit=False)

    first = bob.post(url, body, content_type="application/json")
    assert killed, "the fault was not injected"
    _assert_unavailable(first)

    close_old_connections()  # as Django does when the next request starts
    assert backend_pid() != killed[0]
    assert not Read.objects.filter(session=session).exists()  # rolled back with the connection
    _assert_one_read(bob, url, session, body)


def test_a_connection_lost_after_the_commit_loses_only_the_answer_and_the_retry_gets_the_read(
    study: Personas, monkeypatch: pytest.MonkeyPatch
) -> None:
    bob = _bob()
    url, session, body = _submit_body(bob, study)
    killed = read_submit_drops_connection_once(monkeypatch, after_commit=True)

    first = bob.post(url, body, content_type="application/json")
    assert killed, "the fault was not injected"
    _assert_unavailable(first)  # the read is stored, but the client never heard so

    close_old_connections()
    assert backend_pid() != killed[0]
    stored = Read.objects.get(session=session)
    assert str(stored.nonce) == body["nonce"]
    _assert_one_read(bob, url, session, body)
    assert Read.objects.get(session=session).pk == stored.pk
