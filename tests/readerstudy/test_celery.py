"""A task round trip through a real worker process: once on Redis, once on the embedded broker."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery

from readerstudy.celery import app
from readerstudy.celery_config import celery_transport
from tests.workers import worker_start, worker_stop

ROOT = Path(__file__).resolve().parents[2]
LOCAL_REDIS = "redis://127.0.0.1:6379/15"


def _redis_url() -> str:
    """CI sets REDIS_URL (Redis must then work); elsewhere use a local Redis if one answers."""
    url = os.environ.get("REDIS_URL")
    if url:
        return url
    try:
        redis.Redis.from_url(LOCAL_REDIS, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis here: set REDIS_URL to run the Redis round trip")
    return LOCAL_REDIS


def _client(transport: dict[str, Any]) -> Celery:
    client = Celery("roundtrip-client", set_as_current=False)
    client.conf.update(
        broker_url=transport["CELERY_BROKER_URL"],
        result_backend=transport["CELERY_RESULT_BACKEND"],
        broker_transport_options=transport["CELERY_BROKER_TRANSPORT_OPTIONS"],
        task_queues=app.conf.task_queues,
        task_serializer="json",
        accept_content=["json"],
    )
    return client


@pytest.fixture
def worker_on(tmp_path: Path) -> Iterator[Any]:
    started: list[subprocess.Popen[str]] = []

    def start(*, redis_url: str | None) -> Celery:
        env = {"VAR_DIR": str(tmp_path)}
        if redis_url:
            env["REDIS_URL"] = redis_url
        else:
            env["REDIS_URL"] = ""
        started.append(worker_start(env=env, name=f"roundtrip{len(started)}"))
        return _client(
            celery_transport(redis_url=redis_url, var_dir=tmp_path, task_time_limit=3600)
        )

    yield start
    for process in started:
        worker_stop(process)


def _round_trip(client: Celery) -> None:
    for task, queue in (
        ("readerstudy.tasks.echo", "default"),
        ("readerstudy.tasks.gpu_echo", "gpu"),
    ):
        value = f"ping-{queue}-{time.monotonic_ns()}"
        result = client.send_task(task, kwargs={"value": value}, queue=queue)
        answer = result.get(timeout=60)
        assert answer["value"] == value
        assert answer["queue"] == queue
        assert answer["pid"] != os.getpid()  # a separate worker process answered


@pytest.mark.worker
def test_a_task_round_trips_through_a_worker_on_redis(worker_on: Any) -> None:
    url = _redis_url()
    redis.Redis.from_url(url).flushdb()
    _round_trip(worker_on(redis_url=url))


@pytest.mark.worker
def test_a_task_round_trips_through_a_worker_on_the_embedded_broker(worker_on: Any) -> None:
    _round_trip(worker_on(redis_url=None))


def test_tasks_are_declared_with_late_acks_and_json_only() -> None:
    from readerstudy.tasks import echo, gpu_echo

    assert echo.acks_late
    assert echo.reject_on_worker_lost
    assert app.amqp.router.route({}, echo.name, task_type=echo)["queue"].name == "default"
    assert app.amqp.router.route({}, gpu_echo.name, task_type=gpu_echo)["queue"].name == "gpu"
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit
