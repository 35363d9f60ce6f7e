"""Broker and result-backend settings for Redis or the embedded filesystem transport.

Kept apart from settings.py so tests can build the same configuration for a worker they start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def visibility_timeout(task_time_limit: int) -> int:
    """Seconds before Redis re-delivers an unacknowledged task: the hard time limit plus a margin
    (a tenth, at least a minute), so only a task whose worker died is delivered again."""
    return task_time_limit + max(60, task_time_limit // 10)


def celery_transport(
    *, redis_url: str | None, var_dir: Path, task_time_limit: int
) -> dict[str, Any]:
    """CELERY_* settings for the broker and result backend.

    Without Redis, kombu's filesystem transport passes messages through files under var/broker:
    a real worker process and no server, which eager mode or an in-memory transport cannot give.
    """
    if redis_url is not None:
        return {
            "CELERY_BROKER_URL": redis_url,
            "CELERY_RESULT_BACKEND": redis_url,
            # Above the hard time limit, so a long task is not re-delivered while it still runs.
            "CELERY_BROKER_TRANSPORT_OPTIONS": {
                "visibility_timeout": visibility_timeout(task_time_limit)
            },
        }
    broker = var_dir / "broker"
    for folder in ("queue", "control", "processed", "results"):
        (broker / folder).mkdir(parents=True, exist_ok=True)
    return {
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_RESULT_BACKEND": f"file://{broker / 'results'}",
        "CELERY_BROKER_TRANSPORT_OPTIONS": {
            "data_folder_in": str(broker / "queue"),
            "data_folder_out": str(broker / "queue"),
            "control_folder": str(broker / "control"),
            "processed_folder": str(broker / "processed"),
            "store_processed": False,
            "polling_interval": 0.2,
        },
    }
