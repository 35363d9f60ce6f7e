"""`/healthz`: each dependency checked for real and reported as it is.

The web process needs only its database to serve readers (design.md: reading never depends on
Redis or the workers), so the answer is 200 while the database answers — "degraded" when the
broker, cache or storage does not — and 503 when the database is down. Load balancers look at the
status code; operators read the body.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

TIMEOUT_S = 1.0  # a dependency slower than this counts as down: a probe must answer quickly


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _broker() -> None:
    if settings.REDIS_URL is None:  # the embedded broker: message files under var/broker
        folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
        if not folder.is_dir():
            raise OSError(f"the broker folder {folder} is missing")
        return
    import redis

    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S
    )
    try:
        client.ping()
    finally:
        client.close()


def _cache() -> None:
    cache.set("healthz", "1", timeout=10)
    if cache.get("healthz") != "1":
        raise OSError("the cache did not keep a value")


def _storage() -> None:
    default_storage.listdir("")


CHECKS: dict[str, Callable[[], None]] = {
    "database": _database,
    "broker": _broker,
    "cache": _cache,
    "storage": _storage,
}


def health_report() -> tuple[int, dict[str, object]]:
    """(HTTP status, body): every check with its time, and the error of each one that failed."""
    checks: dict[str, dict[str, object]] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
            checks[name] = {"ok": True}
        except Exception as error:  # a health check reports failures, it does not raise them
            checks[name] = {"ok": False, "error": f"{type(error).__name__}: {error}"[:300]}
        checks[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    if not checks["database"]["ok"]:
        return 503, {"status": "down", "checks": checks}
    healthy = all(check["ok"] for check in checks.values())
    return 200, {"status": "ok" if healthy else "degraded", "checks": checks}


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    status, body = health_report()
    return JsonResponse(body, status=status)
