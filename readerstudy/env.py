"""Strict parsers for settings that come from the environment.

A malformed value stops start-up with a message that names the variable, so a typo in a
deployment never silently falls back to a default.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    value = (os.environ if environ is None else environ).get(name)
    return None if value is None else value.strip()


def env_bool(name: str, *, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use one of 1/0, true/false.")


def env_choice(
    name: str, *, choices: tuple[str, ...], default: str, environ: Mapping[str, str] | None = None
) -> str:
    value = _raw(name, environ)
    if value is None:
        return default
    if value.lower() not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is not one of {', '.join(choices)}.")
    return value.lower()


def env_list(
    name: str, *, default: list[str], environ: Mapping[str, str] | None = None
) -> list[str]:
    value = _raw(name, environ)
    if value is None:
        return list(default)
    items = [item.strip() for item in value.split(",")]
    if any(not item for item in items):
        raise ImproperlyConfigured(
            f"{name}={value!r} has an empty item: separate values by single commas."
        )
    return items


def env_int(
    name: str, *, default: int, minimum: int = 0, environ: Mapping[str, str] | None = None
) -> int:
    value = _raw(name, environ)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is below its minimum {minimum}.")
    return number


def env_path(name: str, *, default: Path, environ: Mapping[str, str] | None = None) -> Path:
    value = _raw(name, environ)
    if value is None:
        return default
    if not value:
        raise ImproperlyConfigured(f"{name} is set but empty.")
    return Path(value).expanduser().resolve()


# SQLite, however it is named: wait for a busy database, and take the write lock when a
# transaction starts (a deferred one upgrading later fails at once with "database is locked").
_SQLITE: dict[str, Any] = {"OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"}}


def env_database(
    name: str, *, default_sqlite: Path, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The database from a URL (postgres://, postgresql://, sqlite:///), default SQLite."""
    value = _raw(name, environ)
    if value is None:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(default_sqlite), **_SQLITE}
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a database URL: expected postgres://USER@HOST:PORT/NAME "
            "or sqlite:///PATH."
        )
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(value, conn_max_age=60))
    except Exception as error:  # dj-database-url raises several types for bad URLs
        raise ImproperlyConfigured(f"{name}={value!r} could not be parsed: {error}") from error
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name}={value!r} names no database.")
    if config["ENGINE"].endswith("postgresql"):
        config["CONN_HEALTH_CHECKS"] = True
    if config["ENGINE"].endswith("sqlite3"):
        # The same as the default: concurrent writers wait for the lock instead of failing.
        config.update(_SQLITE)
        config["CONN_MAX_AGE"] = 0
    return config


_EMAIL_SCHEMES = {
    "smtp": (25, False, False),
    "smtp+tls": (587, True, False),
    "smtps": (465, False, True),
}


def env_email(name: str, *, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """EMAIL_* settings from one URL: unset or `console:` prints mail on the console;
    `file:///PATH` writes each message to a file there; `smtp://USER:PASSWORD@HOST:PORT`
    (`smtp+tls://` for STARTTLS, `smtps://` for TLS from the start) sends it. Anything else,
    a missing host, a bad port or a query string stops start-up.

    Hand-written rather than dj-email-url: that library accepts unknown schemes' defaults and
    query options silently, and a mistyped mail setting must fail at start-up, not at the first
    invitation."""
    value = _raw(name, environ)
    if value is None or value in {"console:", "console://"}:
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    parts = urlsplit(value)
    if parts.query or parts.fragment:
        raise ImproperlyConfigured(f"{name}: a mail URL takes no query string or fragment.")
    if parts.scheme == "file":
        if parts.netloc or not parts.path.startswith("/"):
            raise ImproperlyConfigured(f"{name}={value!r}: use file:///ABSOLUTE/PATH.")
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": parts.path,
        }
    if parts.scheme not in _EMAIL_SCHEMES:
        raise ImproperlyConfigured(
            f"{name}: the scheme {parts.scheme!r} is not one of console:, file://, "
            f"{', '.join(s + '://' for s in _EMAIL_SCHEMES)}."
        )
    default_port, use_tls, use_ssl = _EMAIL_SCHEMES[parts.scheme]
    try:
        port = parts.port or default_port
    except ValueError:
        raise ImproperlyConfigured(f"{name}: the port is not a number from 1 to 65535.") from None
    if not parts.hostname:
        raise ImproperlyConfigured(f"{name}: the mail URL names no host.")
    if parts.path not in {"", "/"}:
        raise ImproperlyConfigured(f"{name}: a mail URL has no path (got {parts.path!r}).")
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
        "EMAIL_TIMEOUT": 20,
    }


def env_secret_key(*, key_name: str, file_name: str, default_file: Path) -> str:
    """SECRET_KEY, else the file SECRET_KEY_FILE names, else a key generated once under var/."""
    value = _raw(key_name, None)
    if value:
        return value
    explicit = _raw(file_name, None)
    path = Path(explicit) if explicit else default_file
    if explicit and not path.is_file():
        raise ImproperlyConfigured(f"{file_name}={explicit!r} does not name a readable file.")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting together never write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(50))
    key = path.read_text().strip()
    if len(key) < 32:
        raise ImproperlyConfigured(f"The secret key in {path} is shorter than 32 characters.")
    return key


def env_redis_url(name: str, *, environ: Mapping[str, str] | None = None) -> str | None:
    """A redis:// URL, or None when unset (the embedded broker is used then)."""
    value = _raw(name, environ)
    if not value:
        return None
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"{name}={value!r} is not a redis:// URL.")
    return value


def env_str(name: str, *, default: str, environ: Mapping[str, str] | None = None) -> str:
    value = _raw(name, environ)
    return default if value is None else value


def env_url(
    name: str,
    *,
    schemes: tuple[str, ...] = ("https", "http"),
    required: bool = False,
    environ: Mapping[str, str] | None = None,
) -> str:
    """An absolute URL with one of `schemes` and a host; "" when unset and not `required`."""
    value = _raw(name, environ)
    if not value:
        if required:
            raise ImproperlyConfigured(f"{name} is required here: set it to a {schemes[0]}:// URL.")
        return ""
    parts = urlsplit(value)
    if parts.scheme.lower() not in schemes or not parts.hostname:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a URL: expected {' or '.join(s + '://' for s in schemes)}HOST/…"
        )
    return value


def env_secret(
    name: str,
    *,
    file_name: str,
    required: bool = False,
    environ: Mapping[str, str] | None = None,
) -> str:
    """A secret from `name`, or from the file `file_name` names (never both); "" when neither."""
    value = _raw(name, environ)
    path = _raw(file_name, environ)
    if value and path:
        raise ImproperlyConfigured(f"Set {name} or {file_name}, not both.")
    if path:
        try:
            value = Path(path).read_text().strip()
        except OSError as error:
            raise ImproperlyConfigured(
                f"{file_name}={path!r} does not name a readable file: {error}"
            ) from None
        if not value:
            raise ImproperlyConfigured(f"{file_name}={path!r} names an empty file.")
    if not value and required:
        raise ImproperlyConfigured(f"{name} (or {file_name}) is required here.")
    return value or ""


def env_mapping(
    name: str,
    *,
    keys: tuple[str, ...],
    separator: str = ",",
    required: bool = False,
    environ: Mapping[str, str] | None = None,
) -> dict[str, tuple[str, ...]]:
    """`key=value` entries split by `separator`, e.g. `reader=rs-readers,reader=radiology`.

    A key may repeat (several values map to it); every key must be one of `keys`.
    """
    value = _raw(name, environ)
    if not value:
        if required:
            raise ImproperlyConfigured(
                f"{name} is required here: {separator.join(k + '=…' for k in keys)}"
            )
        return {}
    mapping: dict[str, list[str]] = {}
    for entry in value.split(separator):
        key, sign, item = (part.strip() for part in entry.partition("="))
        if not sign or not item:
            raise ImproperlyConfigured(
                f"{name}: {entry.strip()!r} is not key=value (entries are split by {separator!r})."
            )
        if key.lower() not in keys:
            raise ImproperlyConfigured(f"{name}: {key!r} is not one of {', '.join(keys)}.")
        mapping.setdefault(key.lower(), []).append(item)
    return {key: tuple(items) for key, items in mapping.items()}


_RATE_PERIODS = {"second", "sec", "s", "minute", "min", "m", "hour", "h", "day", "d"}


def env_rate(name: str, *, default: str, environ: Mapping[str, str] | None = None) -> str:
    """A throttle rate as DRF reads it, "N/period": 60/min, 10/hour, 1000/day."""
    value = _raw(name, environ)
    if value is None:
        return default
    count, _, period = value.partition("/")
    if not count.isdigit() or int(count) < 1 or period.lower() not in _RATE_PERIODS:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a rate: write requests/period, e.g. 60/min or 10/hour."
        )
    return f"{int(count)}/{period.lower()}"
