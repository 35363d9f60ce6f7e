"""The Celery app and the only two ways to declare a task: `default_task` and `gpu_task`.

Both set the queue, late acknowledgement (a task lost with its worker is re-delivered), JSON-only
arguments and a retry policy for transient infrastructure errors. Tasks take keyword-only primary
keys and must be idempotent: a re-delivered task may run twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from celery import Celery
from django.db import InterfaceError, OperationalError
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")

app = Celery("readerstudy", include=["readerstudy.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_default_queue="default",
    task_queues=tuple(Queue(name, Exchange(name), routing_key=name) for name in ("default", "gpu")),
    task_default_exchange="default",
    task_default_routing_key="default",
    task_track_started=True,
    result_expires=7 * 24 * 3600,
    broker_connection_retry_on_startup=True,
    enable_utc=True,
    timezone="UTC",
    worker_hijack_root_logger=False,
    task_routes=(lambda name, args, kwargs, options, task=None, **kw: _route(task),),
)
app.autodiscover_tasks()

F = TypeVar("F", bound=Callable[..., Any])

# The one list of errors a task retries: infrastructure hiccups (a dropped connection to the
# database, broker or storage; a timeout). A bug or bad data, a missing file included, fails
# loudly, once. Tasks that catch errors to record a failure re-raise these untouched.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    ConnectionError,
    TimeoutError,
    OperationalError,
    InterfaceError,
)


def _route(task: Any) -> dict[str, str]:
    """Send each task to the queue its decorator named (Celery 6 drops the `queue` attribute)."""
    return {"queue": getattr(task, "queue_name", "default")}


def _task(queue: str, **options: Any) -> Callable[[F], Any]:
    def decorator(function: F) -> Any:
        return app.task(
            queue_name=queue,
            acks_late=True,
            reject_on_worker_lost=True,
            autoretry_for=TRANSIENT_ERRORS,
            retry_backoff=True,
            retry_jitter=True,
            max_retries=5,
            **options,
        )(function)

    return decorator


def default_task(**options: Any) -> Callable[[F], Any]:
    """A task for the `default` queue: imports, renditions, exports, reports."""
    return _task("default", **options)


def gpu_task(**options: Any) -> Callable[[F], Any]:
    """A task for the `gpu` queue: one worker per GPU, `--concurrency 1`, model kept loaded."""
    return _task("gpu", **options)
