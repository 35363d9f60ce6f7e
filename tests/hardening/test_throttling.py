"""Rate limits on the report, the exports and imports: per user, 429 with Retry-After, and
never a failure when the throttle's cache (Redis) is down."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from readerstudy.env import env_rate
from tests.analysis_adapter.conftest import client_for
from tests.conftest import Personas


@pytest.fixture
def rates(settings: Any) -> dict[str, str]:
    rates = {"report": "2/min", "export": "1/min", "import": "1/hour"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    return rates


def test_the_report_api_answers_429_with_retry_after_once_the_rate_is_spent(
    personas: Personas, rates: dict[str, str]
) -> None:
    sam = client_for("sam")
    assert [sam.get("/api/studies/s/report/").status_code for _ in range(2)] == [200, 200]
    refused = sam.get("/api/studies/s/plan/")  # the same scope: both compute the report
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["message"].startswith("Too many requests: try again in")
    # Per user: Alice still gets hers.
    assert client_for("alice").get("/api/studies/s/report/").status_code == 200


def test_the_csv_export_answers_429_with_retry_after(
    personas: Personas, rates: dict[str, str]
) -> None:
    sam = client_for("sam")
    assert sam.get("/studies/s/exports/reads.csv").status_code == 200
    refused = sam.get("/studies/s/exports/reads.csv")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60


def test_import_uploads_are_limited_per_hour(personas: Personas, rates: dict[str, str]) -> None:
    alice = client_for("alice")

    def upload() -> int:
        archive = io.BytesIO(b"not a zip")
        archive.name = "import.zip"
        return alice.post("/api/studies/s/imports/", {"archive": archive}).status_code

    assert upload() != 429
    assert upload() == 429


def test_the_expensive_endpoints_work_with_the_throttle_cache_down(
    personas: Personas, rates: dict[str, str], settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Port 1 on the loopback: nothing listens, every cache call fails at once.
    settings.CACHES = {
        **settings.CACHES,
        "throttle": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }
    sam = client_for("sam")
    with caplog.at_level(logging.WARNING, logger="readerstudy.throttling"):
        assert [sam.get("/api/studies/s/report/").status_code for _ in range(3)] == [200] * 3
        assert [sam.get("/studies/s/exports/reads.csv").status_code for _ in range(2)] == [200] * 2
    assert "Throttle cache unavailable" in caplog.text


@pytest.mark.parametrize("value", ["60", "60/fortnight", "0/min", "-1/min", "x/min", "60/"])
def test_a_malformed_rate_stops_start_up(value: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="THROTTLE_REPORT"):
        env_rate("THROTTLE_REPORT", default="60/min", environ={"THROTTLE_REPORT": value})


def test_a_rate_from_the_environment_is_read() -> None:
    assert env_rate("R", default="60/min", environ={"R": " 10/Hour "}) == "10/hour"
    assert env_rate("R", default="60/min", environ={}) == "60/min"
