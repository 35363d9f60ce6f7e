"""Health tasks: prove that a worker consumes each queue (used by the worker tests)."""

from __future__ import annotations

import os
import socket

from readerstudy.celery import default_task, gpu_task


@default_task()
def echo(*, value: str) -> dict[str, str | int]:
    """Return the value with the worker's identity, so a caller sees a real process answered."""
    return {"value": value, "pid": os.getpid(), "host": socket.gethostname(), "queue": "default"}


@gpu_task()
def gpu_echo(*, value: str) -> dict[str, str | int]:
    """The same round trip on the `gpu` queue."""
    return {"value": value, "pid": os.getpid(), "host": socket.gethostname(), "queue": "gpu"}
