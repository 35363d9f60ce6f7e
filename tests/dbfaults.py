"""Killing the server process behind a PostgreSQL connection for real, for fault tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection, transaction

from readerstudy.reading import services

NEEDS_POSTGRESQL = (
    "needs PostgreSQL: the test kills the server process of its own connection, "
    "which SQLite (in-process, no server) does not have"
)


def backend_pid() -> int:
    """The server process of this thread's connection."""
    with connection.cursor() as cursor:
        cursor.execute("select pg_backend_pid()")
        return int(cursor.fetchone()[0])


def backend_terminate(pid: int) -> None:
    """Kill the server process `pid` from a second connection and wait until it is gone, so the
    next statement on the victim meets a dead connection, not a race."""
    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=True,
    ) as killer:
        assert killer.execute("select pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
        deadline = time.monotonic() + 10
        while killer.execute("select 1 from pg_stat_activity where pid = %s", [pid]).fetchone():
            assert time.monotonic() < deadline, "the backend did not exit"
            time.sleep(0.02)


def read_submit_drops_connection_once(
    monkeypatch: pytest.MonkeyPatch, *, after_commit: bool
) -> list[int]:
    """Make read_submit lose its connection on its first call, after inserting the read: inside
    the transaction (nothing is committed) or right after the commit (only the answer is lost).
    Works in whichever thread serves the request (the test client's or the live server's).
    Returns the killed pids (one, once the fault has happened)."""
    original: Callable[..., bool] = services._session_read_through
    killed: list[int] = []

    def dropping(**kwargs: Any) -> bool:
        if not killed:
            pid = backend_pid()
            killed.append(pid)
            if after_commit:
                transaction.on_commit(lambda: backend_terminate(pid))
            else:
                backend_terminate(pid)
        return original(**kwargs)

    monkeypatch.setattr(services, "_session_read_through", dropping)
    return killed
