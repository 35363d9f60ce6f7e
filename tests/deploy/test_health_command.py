"""`manage.py health --worker NAME`, the workers' and containers' health check, against a real
worker process on Redis: healthy while the worker answers, exit status 1 naming what is down."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.readerstudy.test_celery import _redis_url
from tests.workers import ROOT, worker_start, worker_stop

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def _health(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    test_only = {"SECRET_KEY", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {k: v for k, v in os.environ.items() if k not in test_only}
    return subprocess.run(
        [sys.executable, "manage.py", "health", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _env(tmp_path: Path, redis_url: str) -> dict[str, str]:
    (tmp_path / "media").mkdir(exist_ok=True)
    return {
        "VAR_DIR": str(tmp_path),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }


def test_a_running_worker_is_healthy_and_a_stopped_one_is_not(tmp_path: Path) -> None:
    url = _redis_url()
    env = _env(tmp_path, url)
    name = f"health{os.getpid()}@{socket.gethostname()}"
    worker = worker_start(env=env, name=name.split("@")[0], queues="default")
    try:
        deadline = time.monotonic() + 90
        while (result := _health(env, "--worker", name)).returncode != 0:
            assert worker.poll() is None, "the worker exited"
            assert time.monotonic() < deadline, result.stdout + result.stderr
            time.sleep(1)
        assert '"status": "ok"' in result.stdout
        assert '"worker": {"ok": true' in result.stdout
    finally:
        worker_stop(worker)
    result = _health(env, "--worker", name, "--timeout", "2")
    assert result.returncode == 1
    assert "unhealthy: worker" in result.stderr


def test_a_broker_that_does_not_answer_is_named(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = _health(_env(tmp_path, f"redis://127.0.0.1:{port}/0"))
    assert result.returncode == 1
    assert "broker" in result.stderr
    assert '"database": {"ok": true' in result.stdout
