"""Per-user API tokens: created by users for themselves, shown once, hashed at rest, audited,
and working on every endpoint with the same per-study access rules."""

from __future__ import annotations

from django.test import Client
from knox.models import AuthToken

from readerstudy.audit.models import AuditEvent
from tests.analysis_adapter.conftest import client_for
from tests.conftest import Personas


def _token_for(username: str) -> dict:
    response = client_for(username).post("/api/tokens/")
    assert response.status_code == 201
    return response.json()


def test_a_token_is_shown_once_and_listed_without_its_secret(personas: Personas) -> None:
    created = _token_for("sam")
    assert set(created) == {"id", "created", "expiry", "token"}
    assert created["token"].startswith(created["id"])
    stored = AuthToken.objects.get(token_key=created["id"])
    assert created["token"] not in stored.digest  # hashed at rest
    assert stored.expiry is not None

    listed = client_for("sam").get("/api/tokens/").json()
    assert listed == [
        {"id": created["id"], "created": created["created"], "expiry": created["expiry"]}
    ]
    assert client_for("alice").get("/api/tokens/").json() == []


def test_creating_and_revoking_a_token_are_audited_without_the_secret(personas: Personas) -> None:
    created = _token_for("sam")
    assert client_for("sam").delete(f"/api/tokens/{created['id']}/").status_code == 204
    events = list(AuditEvent.objects.filter(action__startswith="token.").order_by("id"))
    assert [(e.action, e.actor) for e in events] == [
        ("token.created", personas.sam),
        ("token.revoked", personas.sam),
    ]
    for event in events:
        assert created["token"] not in str(event.data)
        assert event.data["token_key"] == created["id"]


def test_a_token_opens_the_api_with_its_users_access_rules(personas: Personas) -> None:
    sam = Client(headers={"authorization": f"Token {_token_for('sam')['token']}"})
    assert sam.get("/api/studies/s/report/").status_code == 200
    assert sam.get("/api/studies/t/report/").status_code == 404
    carol = Client(headers={"authorization": f"Token {_token_for('carol')['token']}"})
    assert carol.get("/api/studies/s/report/").status_code == 404
    assert carol.get("/api/studies/").json()[0]["slug"] == "t"


def test_a_revoked_token_no_longer_opens_the_api(personas: Personas) -> None:
    created = _token_for("sam")
    sam = Client(headers={"authorization": f"Token {created['token']}"})
    assert sam.delete(f"/api/tokens/{created['id']}/").status_code == 204
    assert sam.get("/api/studies/").status_code == 401


def test_nobody_revokes_someone_elses_token(personas: Personas) -> None:
    created = _token_for("sam")
    assert client_for("alice").delete(f"/api/tokens/{created['id']}/").status_code == 404
    assert AuthToken.objects.filter(token_key=created["id"]).exists()
