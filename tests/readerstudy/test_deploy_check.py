"""`manage.py check --deploy` is clean with the production example settings (docker/production.env)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def production_env(tmp_path: Path) -> dict[str, str]:
    values = {}
    for line in (ROOT / "docker" / "production.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    key = tmp_path / "secret_key"
    key.write_text(secrets.token_urlsafe(64))
    values.update(SECRET_KEY_FILE=str(key), MEDIA_ROOT=str(tmp_path / "media"))
    values.update(VAR_DIR=str(tmp_path / "var"))
    # DJANGO_ALLOW_ASYNC_UNSAFE: the browser tests' conftest sets it for this process when the
    # whole suite is collected; a deployment never has it.
    dropped = {"SECRET_KEY", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    return {**env, **values, "DJANGO_SETTINGS_MODULE": "readerstudy.settings"}


def test_check_deploy_is_clean_with_the_production_example(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
