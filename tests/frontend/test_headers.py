"""Security headers on every kind of page: a strict Content-Security-Policy (no inline code, no
other origin), no framing, no sniffing, a referrer policy and a permissions policy."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import PASSWORD, Personas

PAGES = ["/accounts/login/", "/", "/reading/", "/api/docs/", "/api/studies/", "/admin/", "/healthz"]


def _directives(header: str) -> dict[str, list[str]]:
    parts = [part.split() for part in header.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_the_security_headers(personas: Personas, path: str) -> None:
    client = Client()
    assert client.login(username="bob", password=PASSWORD)
    response = client.get(path, follow=True)
    csp = _directives(response["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
