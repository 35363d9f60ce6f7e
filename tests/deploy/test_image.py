"""The container image, built and run here: podman builds docker/Dockerfile on a Debian base made
by debootstrap (this machine cannot pull images or start containers), and the mounted image runs
`check --deploy`, migrates the local PostgreSQL and serves the login page under chroot.

The base image and podman's layer cache make a second run quick (docker/make-base.sh says where
the base is cached). The container's root filesystem (`podman create` + `podman mount`) is used
rather than `podman image mount`, which is read-only: gunicorn needs a writable /tmp.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.readerstudy.test_deploy_check import ROOT, production_env

pytestmark = pytest.mark.slow

IMAGE = "localhost/readerstudy:test"
BASE = "localhost/readerstudy-base:bookworm"
HOST = "readerstudy.example.org"  # production.env's ALLOWED_HOSTS
CA_BUNDLE = Path(os.environ.get("PIP_CERT", "/etc/ssl/certs/ca-certificates.crt"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(args: list[str], *, timeout: float, **kwargs: object) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, (
        f"{args[:4]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return str(result.stdout)


def _postgres_admin() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return url.rsplit("/", 1)[0] + "/postgres"
    return "postgres://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="module")
def image() -> str:
    if shutil.which("podman") is None:
        pytest.skip(
            "podman is not installed (Debian: apt-get install podman): the image is not built"
        )
    if os.geteuid() != 0 or shutil.which("debootstrap") is None:
        pytest.skip("the base image needs debootstrap run as root")
    started = time.monotonic()
    _run([str(ROOT / "docker" / "make-base.sh"), BASE], timeout=1800)
    build = ["podman", "build", "--isolation", "chroot", "--build-arg", f"BASE_IMAGE={BASE}"]
    if (
        CA_BUNDLE.is_file()
    ):  # this machine's TLS-inspecting proxy: pip inside the build needs its CA
        build += ["--secret", f"id=pip_ca,src={CA_BUNDLE}"]
    _run([*build, "-f", "docker/Dockerfile", "-t", IMAGE, "."], timeout=3600, cwd=ROOT)
    print(f"\nbase + image build: {time.monotonic() - started:.0f} s")
    return IMAGE


@pytest.fixture
def rootfs(image: str) -> Iterator[Path]:
    name = f"readerstudy-test-{secrets.token_hex(4)}"
    _run(["podman", "create", "--name", name, image], timeout=120)
    try:
        yield Path(_run(["podman", "mount", name], timeout=60).strip())
    finally:
        subprocess.run(["podman", "rm", "--force", name], capture_output=True, timeout=120)


@pytest.fixture
def database() -> Iterator[str]:
    admin = _postgres_admin()
    name = f"rs_image_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"CREATE DATABASE {name}")
    except psycopg.OperationalError as error:
        pytest.skip(f"no local PostgreSQL to migrate: {error}")
    try:
        yield admin.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _image_env(tmp_path: Path, database: str, port: int) -> dict[str, str]:
    """The image's own ENV (as a container would get it), then production.env's values."""
    config = json.loads(
        _run(["podman", "image", "inspect", "--format", "{{json .Config.Env}}", IMAGE], timeout=60)
    )
    image_env = dict(item.partition("=")[::2] for item in config)
    values = production_env(tmp_path)
    env = {k: v for k, v in values.items() if k in _production_names()}
    env.pop("SECRET_KEY_FILE", None)
    return {
        **image_env,
        **env,
        "HOME": "/home/readerstudy",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": database,
        "REDIS_URL": "",  # the embedded broker, inside the image's VAR_DIR
        "MEDIA_ROOT": "/var/lib/readerstudy/media",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "LOG_FORMAT": "json",
    }


def _production_names() -> set[str]:
    lines = (ROOT / "docker" / "production.env").read_text().splitlines()
    return {line.partition("=")[0] for line in lines if line.strip() and not line.startswith("#")}


def _chroot(root: Path, *command: str) -> list[str]:
    chroot = (
        shutil.which("chroot") or "/usr/sbin/chroot"
    )  # found here: `env` holds the image's PATH
    return [chroot, "--userspec=readerstudy:readerstudy", str(root), *command]


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        url, headers={"Host": HOST, "X-Forwarded-Proto": "https", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_the_image_checks_clean_migrates_and_serves_the_login_page(
    rootfs: Path, database: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    port = _free_port()
    env = _image_env(tmp_path, database, port)
    entry = "/usr/local/bin/readerstudy-entrypoint"
    check = _run(
        _chroot(
            rootfs, entry, "python", "manage.py", "check", "--deploy", "--fail-level", "WARNING"
        ),
        timeout=300,
        env=env,
    )
    assert "no issues" in check
    _run(_chroot(rootfs, entry, "migrate"), timeout=600, env=env)
    with psycopg.connect(database) as conn:
        applied = conn.execute("SELECT count(*) FROM django_migrations").fetchone()
    assert applied is not None
    assert applied[0] > 20

    server = subprocess.Popen(
        _chroot(rootfs, entry, "web"), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                status, headers, body = _get(f"http://127.0.0.1:{port}/accounts/login/")
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
                assert time.monotonic() < deadline, "gunicorn did not answer within 120 s"
                time.sleep(0.5)
        page = body.decode()
        assert status == 200, page[:2000]
        assert 'name="csrfmiddlewaretoken"' in page
        assert 'name="password"' in page
        assert "strict-transport-security" in {k.lower() for k in headers}
        # Static files: hashed names from the build's manifest, served precompressed by whitenoise.
        assets = re.findall(r'/static/[^"\']+\.[0-9a-f]{12}\.(?:css|js)', page)
        assert assets, "the login page names no hashed static file"
        status, headers, _ = _get(
            f"http://127.0.0.1:{port}{assets[0]}", **{"Accept-Encoding": "gzip"}
        )
        assert status == 200
        assert headers.get("Content-Encoding") == "gzip"
        assert "immutable" in headers.get("Cache-Control", "")
        status, _, body = _get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200, body
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    # LOG_FORMAT=json: gunicorn's access log line is one JSON object too.
    assert any(
        line.startswith("{") and "/accounts/login/" in line for line in output.splitlines()
    ), output[-2000:]
    print(f"\ncheck --deploy + migrate + serve in the image: {time.monotonic() - started:.0f} s")
