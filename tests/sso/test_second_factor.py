"""Coordinators' second factor (TOTP): set up once with a QR code, then a code after each login
before any page or API call; readers never see it."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils.html import escape
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD


@pytest.fixture
def otp_required(settings: Any) -> None:
    settings.OTP_REQUIRED_FOR_COORDINATORS = True
    # django-otp locks a device for 2^n s after n wrong codes; these tests type codes back to back.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def _code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now (or `steps_ahead` periods later, within tolerance:
    a code once accepted is never accepted again)."""
    value = totp(
        device.bin_key,
        step=device.step,
        t0=device.t0,
        digits=device.digits,
        drift=device.drift + steps_ahead,
    )
    return str(value).zfill(device.digits)


def _log_in(client: Any, username: str) -> None:
    assert (
        client.post("/accounts/login/", {"username": username, "password": PASSWORD}).status_code
        == 302
    )


def test_coordinator_sets_up_an_authenticator_before_anything_else(
    otp_required: None, client: Any, personas: Any
) -> None:
    _log_in(client, "alice")

    home = client.get("/")
    assert home.status_code == 302
    assert home["Location"] == "/accounts/otp/setup/?next=%2F"
    api = client.get("/api/studies/")
    assert api.status_code == 401
    assert api.json()["extra"] == {"second_factor": "/accounts/otp/setup/"}
    assert client.get("/admin/").status_code == 302

    setup = client.get(home["Location"])
    assert setup.status_code == 200
    device = TOTPDevice.objects.get(user=personas.alice, confirmed=False)
    assert device.config_url.startswith("otpauth://totp/")
    assert escape(device.config_url) in setup.content.decode()
    qr = client.get("/accounts/otp/setup/qr.svg")
    assert qr["Content-Type"] == "image/svg+xml"
    assert b"<svg" in qr.content
    assert b"<script" not in setup.content + qr.content

    wrong = client.post(
        "/accounts/otp/setup/",
        {"token": "000000" if _code(device) != "000000" else "111111", "next": "/"},
    )
    assert wrong.status_code == 200
    assert b"did not match" in wrong.content
    assert client.get("/").status_code == 302

    right = client.post("/accounts/otp/setup/", {"token": _code(device), "next": "/"})
    assert right.status_code == 302
    assert right["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get("/api/studies/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed


def test_coordinator_enters_a_code_after_every_login(
    otp_required: None, client: Any, personas: Any
) -> None:
    device = TOTPDevice.objects.create(user=personas.alice, name="phone", confirmed=True)
    _log_in(client, "alice")

    home = client.get("/studies/s/console/")
    assert home.status_code == 302
    assert home["Location"] == "/accounts/otp/verify/?next=%2Fstudies%2Fs%2Fconsole%2F"
    # Past a confirmed device, set-up cannot be used to add another one.
    assert client.get("/accounts/otp/setup/").status_code == 302
    assert client.get("/accounts/otp/setup/qr.svg").status_code == 404

    wrong = client.post("/accounts/otp/verify/", {"token": "12345", "next": "/"})
    assert b"did not match" in wrong.content
    assert client.get("/api/studies/").status_code == 401

    right = client.post(
        "/accounts/otp/verify/", {"token": _code(device), "next": "https://evil.example/"}
    )
    assert right["Location"] == "/"  # never off-site
    assert client.get("/api/studies/").status_code == 200

    # A new login asks again; the code just used is spent, the next period's is accepted.
    client.post("/accounts/logout/")
    _log_in(client, "alice")
    assert client.get("/").status_code == 302
    assert client.post("/accounts/otp/verify/", {"token": _code(device)}).status_code == 200
    assert (
        client.post("/accounts/otp/verify/", {"token": _code(device, steps_ahead=1)}).status_code
        == 302
    )
    assert client.get("/").status_code == 200


def test_readers_and_statisticians_are_not_asked_for_a_code(
    otp_required: None, client: Any, personas: Any
) -> None:
    _log_in(client, "bob")
    assert client.get("/").status_code == 200
    assert client.get("/reading/").status_code == 200
    assert client.get("/api/reading/rounds/").status_code == 200
    client.post("/accounts/logout/")
    _log_in(client, "sam")
    assert client.get("/").status_code == 200


def test_without_the_setting_coordinators_sign_in_with_a_password_alone(
    client: Any, personas: Any
) -> None:
    _log_in(client, "alice")
    assert client.get("/").status_code == 200
    assert client.get("/api/studies/").status_code == 200
