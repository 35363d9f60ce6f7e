"""Settings come from the environment, parsed strictly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from readerstudy.env import env_bool, env_choice, env_database, env_int, env_list, env_redis_url

ROOT = Path(__file__).resolve().parents[2]


def _start_django(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    environment.update({"VAR_DIR": str(tmp_path), **env})
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "url",
    ["not a url", "mysql://root@localhost/x", "postgres://", "postgres://user@host:notaport/db"],
)
def test_a_malformed_database_url_stops_start_up_naming_the_variable(
    tmp_path: Path, url: str
) -> None:
    result = _start_django(tmp_path, DATABASE_URL=url)
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_a_bad_boolean_stops_start_up_naming_the_variable(tmp_path: Path) -> None:
    result = _start_django(tmp_path, DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_start_up_with_embedded_defaults_succeeds_and_writes_a_secret_key(tmp_path: Path) -> None:
    result = _start_django(tmp_path)
    assert result.returncode == 0, result.stderr
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_database_url_parses_postgres_and_defaults_to_sqlite(tmp_path: Path) -> None:
    config = env_database(
        "DATABASE_URL",
        default_sqlite=tmp_path / "db.sqlite3",
        environ={"DATABASE_URL": "postgres://rs@127.0.0.1:5432/readerstudy"},
    )
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["HOST"], config["PORT"]) == ("readerstudy", "127.0.0.1", 5432)
    default = env_database("DATABASE_URL", default_sqlite=tmp_path / "db.sqlite3", environ={})
    assert default["ENGINE"] == "django.db.backends.sqlite3"


def test_a_sqlite_url_waits_for_the_lock_like_the_default(tmp_path: Path) -> None:
    default = env_database("DATABASE_URL", default_sqlite=tmp_path / "a.sqlite3", environ={})
    named = env_database(
        "DATABASE_URL",
        default_sqlite=tmp_path / "a.sqlite3",
        environ={"DATABASE_URL": f"sqlite:///{tmp_path / 'b.sqlite3'}"},
    )
    assert named["NAME"] == str(tmp_path / "b.sqlite3")
    assert (
        named["OPTIONS"] == default["OPTIONS"] == {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )


def test_parsers_refuse_malformed_values() -> None:
    with pytest.raises(ImproperlyConfigured, match="ALLOWED_HOSTS"):
        env_list("ALLOWED_HOSTS", default=[], environ={"ALLOWED_HOSTS": "a,,b"})
    with pytest.raises(ImproperlyConfigured, match="N='x' is not an integer"):
        env_int("N", default=1, environ={"N": "x"})
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        env_redis_url("REDIS_URL", environ={"REDIS_URL": "localhost:6379"})
    with pytest.raises(ImproperlyConfigured, match="C='maybe' is not one of on, off"):
        env_choice("C", choices=("on", "off"), default="on", environ={"C": "maybe"})
    assert env_choice("C", choices=("on", "off"), default="on", environ={"C": "OFF"}) == "off"
    assert env_bool("B", default=False, environ={"B": "Yes"}) is True
    assert env_redis_url("REDIS_URL", environ={}) is None


def test_times_are_stored_in_utc() -> None:
    from django.conf import settings

    assert settings.USE_TZ is True
    assert settings.TIME_ZONE == "UTC"
