"""With Redis configured and then stopped, readers keep logging in, reading and submitting: the
reading path never depends on Redis (design.md). A Redis server of the test's own, on its own
port, is started and stopped for real."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from readerstudy.reading.models import Read
from tests.conftest import PASSWORD, Personas
from tests.reading.test_api import reading_study  # noqa: F401 (a fixture)

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = _free_port()
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not _answers(port):
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)
    yield server, port
    server.kill()
    server.wait()


def _submit(client: Client, session: int) -> int:
    current = client.get(f"/api/reading/sessions/{session}/current/").json()
    body = {
        "case": current["case"]["case"],
        "decision": "benign",
        "confidence": 12,
        "nonce": str(uuid.uuid4()),
        "active_ms": 3000,
    }
    return client.post(
        f"/api/reading/sessions/{session}/reads/", body, content_type="application/json"
    ).status_code


def test_readers_log_in_read_and_submit_while_redis_is_down(
    reading_study: Personas,  # noqa: F811
    redis_server: tuple[subprocess.Popen[bytes], int],
    settings: Any,
) -> None:
    server, port = redis_server
    redis_cache = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{port}/0",
    }
    settings.CACHES = {"default": redis_cache, "throttle": redis_cache}
    bob = Client()
    assert bob.login(username="bob", password=PASSWORD)
    round1 = reading_study.study.rounds.get(index=1).pk
    session = bob.post(f"/api/reading/rounds/{round1}/start/").json()["id"]
    assert _submit(bob, session) == 201

    server.kill()
    server.wait()
    assert not _answers(port)

    assert _submit(bob, session) == 201  # the reader already in
    again = Client()
    assert again.login(username="bob", password=PASSWORD)  # a new login
    assert again.get("/reading/").status_code == 200
    assert _submit(again, session) == 201
    assert again.get(f"/reading/sessions/{session}/").status_code == 200
    assert Read.objects.filter(session_id=session).count() == 3


def test_health_says_degraded_not_ok_while_redis_is_down(
    db: None, settings: Any, redis_server: tuple[subprocess.Popen[bytes], int]
) -> None:
    server, port = redis_server
    url = f"redis://127.0.0.1:{port}/0"
    settings.REDIS_URL = url
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }
    client = Client()
    up = client.get("/healthz")
    assert up.status_code == 200
    assert up.json()["checks"]["broker"]["ok"] is True
    server.kill()
    server.wait()
    down = client.get("/healthz")
    assert down.status_code == 200  # readers are still served
    body = down.json()
    assert body["status"] == "degraded"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["cache"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
