"""Real servers on loopback for the sign-in tests: the OpenID provider project and slapd."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    ready: Callable[[], bool], *, what: str, process: subprocess.Popen[bytes], seconds: float = 30
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer within {seconds} s")


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return bool(response.status == 200)


def port_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def provider_start(
    *, directory: Path, redirect_uri: str, client_id: str, client_secret: str
) -> tuple[subprocess.Popen[bytes], str]:
    """Migrate, set up and start the provider project; returns (process, base URL)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.sso.provider.settings",
        "PROVIDER_DIR": str(directory),
    }
    env.pop("DATABASE_URL", None)
    manage = [sys.executable, "-m", "django"]
    log = (directory / "provider.log").open("wb")
    for step in (
        ["migrate", "--noinput", "-v", "0"],
        [
            "provider_setup",
            "--redirect-uri",
            redirect_uri,
            "--client-id",
            client_id,
            "--client-secret",
            client_secret,
        ],
    ):
        subprocess.run(
            [*manage, *step], cwd=ROOT, env=env, check=True, timeout=120, stdout=log, stderr=log
        )
    port = free_port()
    process = subprocess.Popen(
        [*manage, "runserver", "--noreload", "--nothreading", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until(
        lambda: http_ok(f"{base}/o/.well-known/openid-configuration/"),
        what="the OpenID provider",
        process=process,
    )
    return process, base


def process_stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
