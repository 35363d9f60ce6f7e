"""The PACS endpoints the platform may import from and export to (DICOMweb), from the environment.

Credentials never reach the database: a study or an import names an endpoint, and its URL and
credentials come from here. Two sources, both optional:

- `PACS_URL` (+ `PACS_USERNAME` with `PACS_PASSWORD` or `PACS_PASSWORD_FILE`, or `PACS_TOKEN` /
  `PACS_TOKEN_FILE` for a bearer token): one endpoint named `PACS_NAME` (default `pacs`);
- `PACS_ENDPOINTS_FILE`: a JSON secrets file `{"name": {"url": …, "username": …, "password": …,
  "token": …, "qido_prefix": …, "wado_prefix": …, "stow_prefix": …, "timeout": 30, "retries": 5}}`.

Kept apart from settings.py so tests build the same configuration from an environment of their own.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from readerstudy.env import env_secret, env_str, env_url

_KEYS = {
    "url",
    "username",
    "password",
    "token",
    "qido_prefix",
    "wado_prefix",
    "stow_prefix",
    "timeout",
}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _checked(name: str, entry: Any, *, where: str) -> dict[str, Any]:
    if not _NAME.match(name):
        raise ImproperlyConfigured(f"{where}: the endpoint name {name!r} is not a lowercase slug.")
    if not isinstance(entry, dict):
        raise ImproperlyConfigured(f"{where}: endpoint {name!r} must be an object.")
    unknown = set(entry) - _KEYS
    if unknown:
        raise ImproperlyConfigured(
            f"{where}: endpoint {name!r} has unknown keys {sorted(unknown)}."
        )
    url = entry.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"{where}: endpoint {name!r} needs an http(s) url.")
    if entry.get("password") and not entry.get("username"):
        raise ImproperlyConfigured(f"{where}: endpoint {name!r} has a password but no username.")
    timeout = entry.get("timeout", 30)
    if not isinstance(timeout, int | float) or timeout <= 0:
        raise ImproperlyConfigured(f"{where}: endpoint {name!r}: timeout must be > 0 seconds.")
    retries = entry.get("retries", 5)
    if not isinstance(retries, int) or not 0 <= retries <= 20:
        raise ImproperlyConfigured(f"{where}: endpoint {name!r}: retries must be 0 to 20.")
    return {
        "url": url.rstrip("/"),
        "username": str(entry.get("username") or ""),
        "password": str(entry.get("password") or ""),
        "token": str(entry.get("token") or ""),
        "qido_prefix": entry.get("qido_prefix") or None,
        "wado_prefix": entry.get("wado_prefix") or None,
        "stow_prefix": entry.get("stow_prefix") or None,
        "timeout": float(timeout),
        "retries": retries,
    }


def pacs_endpoints(environ: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Endpoint name → its settings; a bad file or value fails at start-up, naming what is wrong."""
    environ = os.environ if environ is None else environ
    endpoints: dict[str, dict[str, Any]] = {}
    path = environ.get("PACS_ENDPOINTS_FILE", "")
    if path:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as error:
            raise ImproperlyConfigured(f"PACS_ENDPOINTS_FILE={path!r}: {error}") from None
        if not isinstance(data, dict):
            raise ImproperlyConfigured(f"PACS_ENDPOINTS_FILE={path!r} must hold a JSON object.")
        for name, entry in data.items():
            endpoints[name] = _checked(name, entry, where="PACS_ENDPOINTS_FILE")
    url = env_url("PACS_URL", environ=environ)
    if url:
        name = env_str("PACS_NAME", default="pacs", environ=environ)
        if name in endpoints:
            raise ImproperlyConfigured(f"PACS_NAME={name!r} is also in PACS_ENDPOINTS_FILE.")
        entry = {
            "url": url,
            "username": env_str("PACS_USERNAME", default="", environ=environ),
            "password": env_secret(
                "PACS_PASSWORD", file_name="PACS_PASSWORD_FILE", environ=environ
            ),
            "token": env_secret("PACS_TOKEN", file_name="PACS_TOKEN_FILE", environ=environ),
        }
        endpoints[name] = _checked(name, entry, where="PACS_URL")
    return endpoints
