"""The coordinator console and its API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from inference.worker.models import ModelVersion
from readerstudy.audit.models import AuditEvent
from readerstudy.reading.models import ReadingSession, Round, RoundStatus
from tests.conftest import PASSWORD, Personas
from tests.factories import CaseFactory


def login(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


@pytest.fixture
def console_study(personas: Personas) -> Personas:
    for n in range(3):
        CaseFactory.create(study=personas.study, key=f"k{n}")
    Round.objects.create(study=personas.study, index=1, assisted=False)
    Round.objects.create(study=personas.study, index=2, assisted=False)
    return personas


def test_the_coordinator_opens_and_closes_rounds_through_the_api(console_study: Personas) -> None:
    p = console_study
    alice = login("alice")
    round_1 = p.study.rounds.get(index=1)
    assert alice.post(f"/api/rounds/{round_1.pk}/open/").json()["status"] == "open"
    assert alice.post(f"/api/rounds/{round_1.pk}/close/").json()["status"] == "closed"
    assert AuditEvent.objects.filter(action__in=["round.opened", "round.closed"]).count() == 2


def test_only_the_studys_coordinator_reaches_the_console(console_study: Personas) -> None:
    p = console_study
    round_1 = p.study.rounds.get(index=1)
    for username in ("sam", "bob", "carol"):
        client = login(username)
        assert client.get("/studies/s/console/").status_code == 404
        assert client.get("/api/studies/s/console/").status_code == 404
        assert client.post(f"/api/rounds/{round_1.pk}/open/").status_code == 404
    assert Round.objects.get(pk=round_1.pk).status == RoundStatus.PLANNED


def test_the_console_shows_progress_and_the_washout_countdown(console_study: Personas) -> None:
    p = console_study
    alice = login("alice")
    alice.post(f"/api/rounds/{p.study.rounds.get(index=1).pk}/open/")
    done = timezone.now() - timedelta(days=10)
    ReadingSession.objects.create(
        reader=p.bob,
        round=p.study.rounds.get(index=1),
        seed="ab",
        permutation=[1, 2, 3],
        started_at=done - timedelta(hours=1),
        completed_at=done,
    )
    data = alice.get("/api/studies/s/console/").json()
    assert data["cases"] == 3
    bob = next(r for r in data["readers"] if r["username"] == "bob")
    assert bob["rounds"][1]["washout_days_left"] == 18
    page = alice.get("/studies/s/console/").content.decode()
    assert "washout: 18 days left" in page


def test_a_washout_override_through_the_api_needs_a_reason(console_study: Personas) -> None:
    p = console_study
    alice = login("alice")
    url = f"/api/rounds/{p.study.rounds.get(index=2).pk}/washout-overrides/"
    assert alice.post(url, {"reader": p.bob.pk}, content_type="application/json").status_code == 400
    response = alice.post(
        url, {"reader": p.bob.pk, "reason": "moving abroad"}, content_type="application/json"
    )
    assert response.status_code == 201
    assert AuditEvent.objects.get(action="washout.overridden").data["reason"] == "moving abroad"
    other = alice.post(url, {"reader": p.carol.pk, "reason": "x"}, content_type="application/json")
    assert other.status_code == 404


def test_the_console_says_when_a_model_trained_from_scratch(console_study: Personas) -> None:
    note = "no ImageNet weights for resnet18 in /cache/checkpoints: trained from random init"
    ModelVersion.objects.create(
        name="scratchy",
        architecture="resnet18",
        checkpoint_sha256="a" * 64,
        training={"initialisation": "scratch", "initialisation_note": note},
    )
    ModelVersion.objects.create(
        name="pretrained",
        architecture="resnet18",
        checkpoint_sha256="b" * 64,
        training={"initialisation": "imagenet:resnet18-f37072fd.pth:0123456789ab"},
    )
    page = login("alice").get("/studies/s/console/").content.decode()
    assert "<td>scratchy</td><td>resnet18</td>" in page
    assert f'from scratch <strong class="error">warning: {note}</strong>' in page
    assert "<td>pretrained</td><td>resnet18</td>\n      <td>ImageNet</td>" in page
