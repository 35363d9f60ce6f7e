"""PACS endpoints from the environment or a secrets file, parsed strictly at start-up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from readerstudy.pacs_config import pacs_endpoints


def test_no_pacs_is_configured_by_default() -> None:
    assert pacs_endpoints({}) == {}


def test_one_endpoint_from_the_environment_with_its_password_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    endpoints = pacs_endpoints(
        {
            "PACS_URL": "https://pacs.example.org/dicom-web/",
            "PACS_USERNAME": "rs",
            "PACS_PASSWORD_FILE": str(secret),
        }
    )
    assert endpoints["pacs"]["url"] == "https://pacs.example.org/dicom-web"
    assert (endpoints["pacs"]["username"], endpoints["pacs"]["password"]) == ("rs", "s3cret")


def test_endpoints_from_a_secrets_file(tmp_path: Path) -> None:
    path = tmp_path / "pacs.json"
    path.write_text(json.dumps({"lab": {"url": "http://orthanc:8042/dicom-web", "token": "t"}}))
    endpoints = pacs_endpoints({"PACS_ENDPOINTS_FILE": str(path), "PACS_URL": "https://b/x"})
    assert sorted(endpoints) == ["lab", "pacs"]
    assert endpoints["lab"]["token"] == "t"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"url": "ftp://x"}, "needs an http"),
        ({"url": "http://x", "password": "p"}, "no username"),
        ({"url": "http://x", "timeout": 0}, "timeout"),
        ({"url": "http://x", "retries": 99}, "retries"),
        ({"url": "http://x", "secret": "?"}, "unknown keys"),
    ],
)
def test_a_bad_endpoint_stops_start_up_naming_the_problem(
    tmp_path: Path, entry: dict[str, object], message: str
) -> None:
    path = tmp_path / "pacs.json"
    path.write_text(json.dumps({"lab": entry}))
    with pytest.raises(ImproperlyConfigured, match=message):
        pacs_endpoints({"PACS_ENDPOINTS_FILE": str(path)})


def test_an_unreadable_secrets_file_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="PACS_ENDPOINTS_FILE"):
        pacs_endpoints({"PACS_ENDPOINTS_FILE": str(tmp_path / "missing.json")})
