"""Starting a real Celery worker process for integration tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def worker_start(
    *,
    env: dict[str, str],
    name: str,
    queues: str = "default,gpu",
    pool: str = "solo",
    beat: bool = False,
) -> subprocess.Popen[str]:
    """A worker consuming `queues` in its own process group (so `os.killpg` kills its pool and
    beat too), with the given environment on top of ours; `pool="prefork"` runs tasks in one
    forked child, as the README's GPU worker does; `beat` embeds beat (`-B`), as `make worker`."""
    command = [sys.executable, "-m", "celery", "-A", "readerstudy", "worker", "-Q", queues]
    command += ["-B"] if beat else []
    command += ["--pool", pool, "--concurrency", "1", "-n", f"{name}@%h", "--loglevel", "WARNING"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def worker_stop(process: subprocess.Popen[str]) -> str:
    """Stop the worker (warm shutdown, then kill) and return what it printed."""
    process.terminate()
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output
