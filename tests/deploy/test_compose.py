"""docker/compose.yaml, resolved by `podman-compose config` with the example env: every service the
production stack needs, health checks, one GPU worker per GPU on the gpu queue, and the web
service's settings pass `check --deploy`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.readerstudy.test_deploy_check import ROOT, production_env

DOCKER = ROOT / "docker"
APP_SERVICES = ("web", "worker-default", "worker-gpu0", "worker-gpu1")


def _podman_compose() -> str:
    beside = Path(sys.executable).parent / "podman-compose"  # the venv's own (dev extra)
    found = str(beside) if beside.exists() else shutil.which("podman-compose")
    if found is None:
        pytest.skip("podman-compose is not installed (pip install podman-compose)")
    return found


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    profiles = ["--profile", "pacs", "--profile", "monitoring", "--profile", "tools"]
    result = subprocess.run(
        [
            _podman_compose(),
            "--env-file",
            str(DOCKER / "env.example"),
            *profiles,
            "-f",
            "compose.yaml",
            "config",
        ],
        cwd=DOCKER,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_the_stack_has_every_service_with_a_health_check(compose: dict[str, Any]) -> None:
    services = compose["services"]
    expected = {*APP_SERVICES, "migrate", "postgres", "redis", "orthanc", "flower", "manage"}
    assert expected <= set(services)
    assert services["orthanc"]["profiles"] == ["pacs"]
    assert services["flower"]["profiles"] == ["monitoring"]
    for name, service in services.items():
        if name not in ("migrate", "manage"):  # one-off commands
            assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert (
            depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy"
        )
        assert "media:/var/lib/readerstudy/media" in services[name]["volumes"]
        assert services[name]["environment"]["MEDIA_ROOT"] == "/var/lib/readerstudy/media"
    assert set(compose["volumes"]) >= {"media", "pgdata", "redisdata"}
    assert services["web"]["ports"] == ["127.0.0.1:8000:8000"]  # the TLS proxy sits in front


def test_one_gpu_worker_per_gpu_on_the_gpu_queue_one_task_at_a_time(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    devices, names = [], []
    for name in ("worker-gpu0", "worker-gpu1"):
        service = services[name]
        command = service["command"]
        assert command[command.index("-Q") + 1] == "gpu"
        assert command[command.index("--concurrency") + 1] == "1"
        names.append(command[command.index("-n") + 1])
        (reservation,) = service["deploy"]["resources"]["reservations"]["devices"]
        assert reservation["driver"] == "nvidia"
        assert reservation["capabilities"] == ["gpu"]
        devices += reservation["device_ids"]
        assert "EXTRAS=ai" in service["build"]["args"]  # the image with torch
    assert devices == ["0", "1"]
    assert names == ["gpu0@%h", "gpu1@%h"]
    default = services["worker-default"]["command"]
    assert default[default.index("-Q") + 1] == "default"
    assert "-B" in default  # the one worker that runs beat
    assert "args" not in services["web"]["build"]  # web and default worker: the image without torch


def test_the_web_services_settings_pass_check_deploy(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    web = compose["services"]["web"]
    env = production_env(tmp_path)
    secret_key_file, media = env["SECRET_KEY_FILE"], env["MEDIA_ROOT"]
    env.update({k: str(v) for k, v in web["environment"].items()})
    env.update(SECRET_KEY_FILE=secret_key_file, MEDIA_ROOT=media)  # the container's paths, here
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
