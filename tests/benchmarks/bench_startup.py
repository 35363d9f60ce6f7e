"""Web start-up: seconds from starting gunicorn to its first 200 on the login page.

    .venv/bin/python tests/benchmarks/bench_startup.py [--runs 5] [--workers 2]

Each run starts `gunicorn readerstudy.wsgi` on a free loopback port with a throwaway SQLite
database (migrated once, before the first run), polls `/accounts/login/` until it answers 200,
then stops the server. Prints each run and the median, and which heavy modules the web process
loaded (torch must not be one: the web process never imports it). Target: median <= 3 s.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from tests.benchmarks._django import scratch_dir  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def first_page_seconds(env: dict[str, str], workers: int, bound_s: float = 300.0) -> float:
    port = free_port()
    url = f"http://127.0.0.1:{port}/accounts/login/"
    command = [str(BIN / "gunicorn"), "readerstudy.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--log-level", "warning"]
    started = time.perf_counter()
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        while time.perf_counter() - started < bound_s:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn exited with {server.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=60) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.02)
        raise SystemExit(f"no 200 from {url} within {bound_s:.0f} s")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def heavy_modules(env: dict[str, str]) -> list[str]:
    """The heavy libraries present after the web process's own start-up work."""
    probe = (
        "import sys, django; django.setup();"
        "from django.urls import get_resolver; get_resolver().url_patterns;"
        "import readerstudy.wsgi;"
        "print(' '.join(m for m in ('torch', 'torchvision', 'cv2', 'matplotlib', 'sklearn')"
        " if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    var_dir = str(scratch_dir("readerstudy-bench-startup-"))
    Path(var_dir, "static").mkdir()
    env = {**os.environ, "VAR_DIR": var_dir, "DJANGO_SETTINGS_MODULE": "readerstudy.settings"}
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    times = []
    for run in range(1, args.runs + 1):
        seconds = first_page_seconds(env, args.workers)
        times.append(seconds)
        print(f"run {run}: gunicorn start to first 200 on /accounts/login/: {seconds:.2f} s")
    print(
        f"median {statistics.median(times):.2f} s over {args.runs} runs "
        f"({args.workers} workers; target <= 3 s)"
    )
    print(f"heavy modules in the web process: {' '.join(heavy_modules(env)) or 'none'}")


if __name__ == "__main__":
    main()
