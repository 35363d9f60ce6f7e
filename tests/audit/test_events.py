"""Logins, logouts, failed logins and permission changes are audit events."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from readerstudy.accounts.models import Role, User
from readerstudy.audit.models import AuditEvent
from readerstudy.audit.selectors import audit_chain_verify
from tests.conftest import PASSWORD, Personas

LOGIN = "/accounts/login/"
CHANGED = "accounts.permissions_changed"


def _changes(user: User) -> list[dict[str, object]]:
    return [
        event.data
        for event in AuditEvent.objects.filter(
            action=CHANGED, target_type="accounts.user", target_id=str(user.pk)
        )
    ]


@pytest.mark.django_db
def test_a_login_is_recorded_with_the_client_ip(personas: Personas) -> None:
    client = Client(REMOTE_ADDR="203.0.113.7")
    response = client.post(LOGIN, {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="auth.login")
    assert event.actor == personas.alice
    assert (event.target_type, event.target_id) == ("accounts.user", str(personas.alice.pk))
    assert event.data == {"ip": "203.0.113.7"}
    assert audit_chain_verify().ok


@pytest.mark.django_db
def test_a_failed_login_keeps_the_username_and_ip_but_never_the_password(
    personas: Personas,
) -> None:
    client = Client(REMOTE_ADDR="198.51.100.9")
    client.post(LOGIN, {"username": "alice", "password": "wrong guess 1234"})
    client.post(LOGIN, {"username": "x" * 5000, "password": "wrong guess 1234"})
    first, second = AuditEvent.objects.filter(action="auth.login_failed")
    assert first.actor is None
    assert first.data == {"username": "alice", "ip": "198.51.100.9"}
    assert second.data["username"] == "x" * 150
    for event in (first, second):
        assert "wrong guess" not in str(event.data)
        assert "*" not in str(event.data), "not even Django's masked password"
    assert not AuditEvent.objects.filter(action="auth.login").exists()


@pytest.mark.django_db
def test_a_logout_is_recorded(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.alice)
    client.post("/accounts/logout/")
    event = AuditEvent.objects.get(action="auth.logout")
    assert event.actor == personas.alice
    assert event.data == {"ip": "127.0.0.1"}


@pytest.mark.django_db
def test_a_logout_of_nobody_records_nothing() -> None:
    Client().post("/accounts/logout/")
    assert not AuditEvent.objects.filter(action="auth.logout").exists()


@pytest.mark.django_db
def test_joining_and_leaving_groups_is_recorded_from_either_side(personas: Personas) -> None:
    bob = personas.bob.user
    coordinators = Group.objects.get(name=Role.COORDINATOR.value)
    statisticians = Group.objects.get(name=Role.STATISTICIAN.value)
    before = len(_changes(bob))
    bob.groups.add(coordinators, statisticians)
    bob.groups.remove(statisticians)
    coordinators.user_set.remove(bob)
    statisticians.user_set.add(bob)
    bob.groups.clear()
    assert _changes(bob)[before:] == [
        {"groups": {"added": ["coordinator", "statistician"]}},
        {"groups": {"removed": ["statistician"]}},
        {"groups": {"removed": ["coordinator"]}},
        {"groups": {"added": ["statistician"]}},
        {"groups": {"removed": ["reader", "statistician"]}},
    ]


@pytest.mark.django_db
def test_direct_permissions_are_recorded(personas: Personas) -> None:
    permission = Permission.objects.get(codename="view_auditevent")
    personas.sam.user_permissions.add(permission)
    assert _changes(personas.sam)[-1] == {"user_permissions": {"added": ["audit.view_auditevent"]}}


@pytest.mark.django_db
def test_staff_and_superuser_flags_are_recorded_when_they_change(personas: Personas) -> None:
    sam = personas.sam
    before = len(_changes(sam))
    sam.is_superuser = True
    sam.save()
    sam.first_name = "Samuel"
    sam.save()  # no flag changed
    sam.is_staff, sam.is_superuser = True, False
    sam.save(update_fields=["is_staff", "is_superuser"])
    assert _changes(sam)[before:] == [
        {"is_superuser": [False, True]},
        {"is_staff": [False, True], "is_superuser": [True, False]},
    ]


@pytest.mark.django_db
def test_a_user_created_with_privileges_is_recorded() -> None:
    root = User.objects.create_superuser(username="root", password="x")
    plain = User.objects.create_user(username="plain", password="x")
    assert _changes(root) == [{"is_staff": [False, True], "is_superuser": [False, True]}]
    assert _changes(plain) == []


@pytest.mark.django_db
def test_coordinators_are_recorded_as_made_staff(personas: Personas) -> None:
    assert {"is_staff": [False, True]} in _changes(personas.alice)
    assert {"groups": {"added": ["coordinator"]}} in _changes(personas.alice)


def test_every_read_submit_and_report_view_is_an_audit_event(personas: Personas) -> None:
    from readerstudy.reading.models import Round
    from readerstudy.reading.services import round_open
    from tests.factories import CaseFactory

    p = personas
    for n in range(2):
        CaseFactory.create(study=p.study, key=f"c{n}")
    round1 = round_open(
        round=Round.objects.create(study=p.study, index=1, assisted=False), actor=p.alice
    )
    bob = Client()
    assert bob.login(username="bob", password=PASSWORD)
    session = bob.post(f"/api/reading/rounds/{round1.pk}/start/").json()["id"]
    current = bob.get(f"/api/reading/sessions/{session}/current/").json()["case"]
    body = {
        "case": current["case"],
        "decision": "benign",
        "confidence": 5,
        "nonce": "0b0e2f6e-8a39-4f9e-9d4b-2d1a7a5b3c11",
        "active_ms": 10,
    }
    assert (
        bob.post(
            f"/api/reading/sessions/{session}/reads/", body, content_type="application/json"
        ).status_code
        == 201
    )
    assert (
        bob.post(
            f"/api/reading/sessions/{session}/reads/", body, content_type="application/json"
        ).status_code
        == 201
    )
    assert (
        AuditEvent.objects.filter(action="read.submitted", study=p.study).count() == 1
    )  # a replay is not a second read
    sam = Client()
    assert sam.login(username="sam", password=PASSWORD)
    assert sam.get(f"/studies/{p.study.slug}/report/").status_code == 200
    assert sam.get(f"/api/studies/{p.study.slug}/report/").status_code == 200
    viewed = AuditEvent.objects.filter(action="report.viewed", study=p.study, actor=p.sam)
    assert sorted(event.data["via"] for event in viewed) == ["api", "page"]
    assert audit_chain_verify().ok
