"""Unauthenticated API calls are 401 with WWW-Authenticate; sessions keep CSRF, tokens need none."""

from __future__ import annotations

from django.test import Client

from tests.conftest import PASSWORD, Personas


def test_an_anonymous_api_call_is_401_with_www_authenticate(db: None) -> None:
    response = Client().get("/api/studies/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert set(response.json()) == {"message", "extra"}


def test_a_wrong_token_is_401(db: None) -> None:
    response = Client(headers={"authorization": "Token nonsense"}).get("/api/studies/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_session_post_without_a_csrf_token_is_refused(personas: Personas) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.login(username="sam", password=PASSWORD)
    response = client.post("/api/tokens/")
    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]


def test_a_token_post_needs_no_csrf_token(personas: Personas) -> None:
    session = Client()
    assert session.login(username="sam", password=PASSWORD)
    secret = session.post("/api/tokens/").json()["token"]
    scripted = Client(enforce_csrf_checks=True, headers={"authorization": f"Token {secret}"})
    assert scripted.post("/api/tokens/").status_code == 201
