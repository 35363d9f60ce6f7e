"""Personas shared by the suite: Alice coordinates study S; Bob reads it; Sam analyses it;
Carol reads another study and must see nothing of S."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import RequestFactory
from django.test.client import ClientMixin

from readerstudy.accounts.models import Reader, Role, Seniority, User
from readerstudy.accounts.services import reader_create, user_create
from readerstudy.studies.models import Enrolment, StaffRole, Study, StudyMembership
from tests.factories import StudyFactory

PASSWORD = "correct horse battery staple"


@dataclass
class Personas:
    study: Study
    other_study: Study
    alice: User
    bob: Reader
    sam: User
    carol: Reader


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """PBKDF2's deliberate slowness protects stored passwords, not tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _login_through_axes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test client's login() goes through django-axes like a real login does.

    Axes refuses an authenticate() without the request (it counts failures per address), and
    Client.login() passes none; it passes its keyword arguments on, so give it the request a
    login form would have. Axes stays enabled for the whole suite.
    """
    original = ClientMixin.login

    def login(self: ClientMixin, **credentials: Any) -> bool:
        credentials.setdefault("request", RequestFactory().post("/accounts/login/"))
        return original(self, **credentials)

    monkeypatch.setattr(ClientMixin, "login", login)


@pytest.fixture(autouse=True)
def _private_throttle_counts(settings: Any) -> None:
    """Each test starts with unspent rate limits, in memory of its own."""
    settings.CACHES = {
        **settings.CACHES,
        "throttle": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"throttle-{uuid.uuid4().hex}",
        },
    }


@pytest.fixture(autouse=True)
def _private_media(settings: Any, tmp_path: Path) -> None:
    """Each test stores files in its own folder, so storage assertions see only their own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    # Static files come from the app folders, never from a collected (maybe stale) manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def personas(db: None) -> Personas:
    return _personas_create()


@pytest.fixture
def personas_tx(transactional_db: None) -> Personas:
    """The personas, committed for real: for tests where several connections must see them."""
    return _personas_create()


def _personas_create() -> Personas:
    study = StudyFactory.create(slug="s", title="Study S")
    other = StudyFactory.create(slug="t", title="Study T")
    alice = user_create(username="alice", password=PASSWORD, role=Role.COORDINATOR)
    StudyMembership.objects.create(study=study, user=alice, role=StaffRole.COORDINATOR)
    sam = user_create(username="sam", password=PASSWORD, role=Role.STATISTICIAN)
    StudyMembership.objects.create(study=study, user=sam, role=StaffRole.STATISTICIAN)
    bob = reader_create(
        username="bob", password=PASSWORD, seniority=Seniority.SENIOR, years_experience=14
    )
    Enrolment.objects.create(study=study, reader=bob)
    carol = reader_create(
        username="carol", password=PASSWORD, seniority=Seniority.JUNIOR, years_experience=2
    )
    Enrolment.objects.create(study=other, reader=carol)
    return Personas(study=study, other_study=other, alice=alice, bob=bob, sam=sam, carol=carol)
