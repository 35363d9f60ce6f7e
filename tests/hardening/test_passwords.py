"""Passwords are stored with Argon2; older PBKDF2 hashes still log in and are upgraded."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import make_password
from django.test import Client

from readerstudy import settings as production
from readerstudy.accounts.models import Role, User
from readerstudy.accounts.services import user_create
from tests.conftest import PASSWORD


def test_a_new_users_password_is_hashed_with_argon2(settings: Any, db: None) -> None:
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    user = user_create(username="dana", password=PASSWORD, role=Role.STATISTICIAN)
    assert user.password.startswith("argon2$")
    assert user.check_password(PASSWORD)


def test_a_pbkdf2_password_still_logs_in_and_is_upgraded_to_argon2(settings: Any, db: None) -> None:
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    user = user_create(username="dana", password="x", role=Role.STATISTICIAN)
    User.objects.filter(pk=user.pk).update(password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    response = Client().post("/accounts/login/", {"username": "dana", "password": PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$")
