"""LOGGING for Django, Celery workers and gunicorn: plain lines, or one JSON object a line
(LOG_FORMAT=json, python-json-logger) for a log collector."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from readerstudy.env import env_choice

JSON_FIELDS = "%(levelname)s %(name)s %(process)d %(message)s"
RENAMED = {"levelname": "level", "name": "logger"}


def logging_config(*, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    kind = env_choice("LOG_FORMAT", choices=("plain", "json"), default="plain", environ=environ)
    formatters: dict[str, dict[str, Any]] = {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": JSON_FIELDS,
            "rename_fields": RENAMED,
            "timestamp": "time",  # ISO 8601 with its zone
        },
    }
    level = env_choice(
        "LOG_LEVEL", choices=("debug", "info", "warning", "error"), default="info", environ=environ
    ).upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": formatters,
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": kind}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # gunicorn's own loggers write through the same handler (readerstudy/gunicorn_conf.py).
            "gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
