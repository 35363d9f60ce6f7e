"""Failed logins are counted per username and address; a locked-out login waits the cool-off."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from readerstudy.audit.models import AuditEvent
from tests.conftest import PASSWORD, Personas

LOGIN = "/accounts/login/"


def _attempt(client: Client, username: str, password: str, **headers: str):
    return client.post(LOGIN, {"username": username, "password": password}, headers=headers)


def test_thirty_wrong_passwords_lock_out_that_username_from_that_address(
    personas: Personas,
) -> None:
    client = Client()
    answers = [_attempt(client, "bob", f"wrong {n}").status_code for n in range(30)]
    # Four answers say "wrong password"; the fifth failure locks, and from then on the password
    # is no longer even checked.
    assert answers[:4] == [200] * 4
    assert answers[4:] == [429] * 26

    right = _attempt(client, "bob", PASSWORD)
    assert right.status_code == 429
    assert right["Retry-After"] == "900"
    assert b"Try again in 15 minutes" in right.content
    assert "_auth_user_id" not in client.session

    # Another username from the same address is not locked.
    assert _attempt(Client(), "alice", PASSWORD).status_code == 302


def test_the_lockout_answers_json_when_asked_for_json(personas: Personas) -> None:
    client = Client()
    for n in range(5):
        _attempt(client, "bob", f"wrong {n}")
    response = _attempt(client, "bob", PASSWORD, accept="application/json")
    assert response.status_code == 429
    body = response.json()
    assert "Try again in 15 minutes" in body["message"]
    assert body["extra"] == {"retry_after_seconds": 900}


def test_a_lockout_ends_after_the_cool_off(personas: Personas) -> None:
    client = Client()
    for n in range(6):
        _attempt(client, "bob", f"wrong {n}")
    assert _attempt(client, "bob", PASSWORD).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(minutes=14), tick=False):
        assert _attempt(Client(), "bob", PASSWORD).status_code == 429
    # That refused attempt started the cool-off again.
    with time_machine.travel(timezone.now() + timedelta(minutes=30), tick=False):
        assert _attempt(Client(), "bob", PASSWORD).status_code == 302


def test_an_administrator_can_lift_a_lockout(personas: Personas) -> None:
    for n in range(5):
        _attempt(Client(), "bob", f"wrong {n}")
    assert _attempt(Client(), "bob", PASSWORD).status_code == 429
    call_command("axes_reset_username", "bob")
    assert _attempt(Client(), "bob", PASSWORD).status_code == 302


def test_the_test_clients_login_goes_through_the_lockout_too(personas: Personas) -> None:
    for n in range(5):
        _attempt(Client(), "bob", f"wrong {n}")
    assert not Client().login(username="bob", password=PASSWORD)
    call_command("axes_reset")
    assert Client().login(username="bob", password=PASSWORD)


def _via_proxy(forwarded_for: str) -> dict[str, str]:
    return {"x-forwarded-for": forwarded_for}


def test_behind_a_proxy_the_lockout_counts_the_client_not_the_proxy(
    personas: Personas, settings: object
) -> None:
    """With nginx in front every request comes from its address; its X-Forwarded-For tells them
    apart. An attacker's lockout of bob stays at the attacker's address."""
    settings.TRUSTED_PROXY_COUNT = 1  # type: ignore[attr-defined]
    attacker = _via_proxy("203.0.113.66")
    for n in range(5):
        _attempt(Client(), "bob", f"wrong {n}", **attacker)
    assert _attempt(Client(), "bob", PASSWORD, **attacker).status_code == 429
    # Bob, elsewhere, behind the same proxy, still gets in.
    assert _attempt(Client(), "bob", PASSWORD, **_via_proxy("198.51.100.7")).status_code == 302


def test_a_forged_forwarded_for_does_not_escape_the_lockout(
    personas: Personas, settings: object
) -> None:
    """The client writes the left part of X-Forwarded-For; only what our proxy appended counts."""
    settings.TRUSTED_PROXY_COUNT = 1  # type: ignore[attr-defined]
    for n in range(5):
        forged = _via_proxy(f"10.0.0.{n}, 203.0.113.66")
        _attempt(Client(), "bob", f"wrong {n}", **forged)
    forged = _via_proxy("10.9.9.9, 203.0.113.66")
    assert _attempt(Client(), "bob", PASSWORD, **forged).status_code == 429
    event = AuditEvent.objects.filter(action="auth.login_failed").latest("sequence")
    assert event.data["ip"] == "203.0.113.66"


def test_without_trusted_proxies_the_header_is_ignored(personas: Personas) -> None:
    """Directly exposed, a client could otherwise pick a new address for every guess."""
    for n in range(5):
        _attempt(Client(), "bob", f"wrong {n}", **_via_proxy(f"203.0.113.{n}"))
    assert _attempt(Client(), "bob", PASSWORD, **_via_proxy("198.51.100.7")).status_code == 429
