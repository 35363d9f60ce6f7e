"""An unexpected error in the API is a 500 with an error id, never a stack trace."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from readerstudy.accounts import access
from tests.analysis_adapter.conftest import client_for
from tests.conftest import Personas


def test_an_unexpected_error_answers_an_error_id_and_logs_the_traceback(
    personas: Personas,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.DEBUG = False
    sam = client_for("sam")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("internal detail: connection string postgres://secret")

    monkeypatch.setattr(access, "scoped", broken)
    with caplog.at_level(logging.ERROR, logger="readerstudy.errors"):
        response = sam.get("/api/studies/")
    assert response.status_code == 500
    body = response.json()
    assert body["message"].startswith("Something went wrong on our side")
    assert set(body["extra"]) == {"id"}
    assert re.fullmatch(r"[0-9a-f]{32}", body["extra"]["id"])
    text = response.content.decode()
    for leak in ("Traceback", "RuntimeError", "internal detail", "secret", 'File "'):
        assert leak not in text
    assert body["extra"]["id"] in caplog.text
    assert "RuntimeError: internal detail" in caplog.text  # the traceback is in the log
