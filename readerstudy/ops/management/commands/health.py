"""`manage.py health [--worker NAME]`: the checks of /healthz from a worker's or container's side
(database, broker, cache, storage), and with --worker that the named Celery worker answers a ping.
Exit status 0 only when everything is up: a container health check or a monitor reads it."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from readerstudy.health import TIMEOUT_S, health_report


class Command(BaseCommand):
    help = "Check the database, broker, cache and storage (and a worker); exit 1 if any is down."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--worker", help="a worker's node name, e.g. default@HOST or gpu0@HOST")
        parser.add_argument("--timeout", type=float, default=5 * TIMEOUT_S)

    def handle(self, *args: Any, **options: Any) -> None:
        _, body = health_report()
        checks: dict[str, Any] = body["checks"]  # type: ignore[assignment]
        if options["worker"]:
            from readerstudy.celery import app

            try:
                answers = app.control.ping(
                    destination=[options["worker"]], timeout=options["timeout"]
                )
                answered = any(options["worker"] in answer for answer in answers or [])
                checks["worker"] = {"ok": answered, "name": options["worker"]}
                if not answered:
                    checks["worker"]["error"] = "no answer to a ping"
            except Exception as error:  # a failed ping is reported, not raised
                checks["worker"] = {"ok": False, "error": f"{type(error).__name__}: {error}"[:300]}
        healthy = all(check["ok"] for check in checks.values())
        self.stdout.write(json.dumps({"status": "ok" if healthy else "down", "checks": checks}))
        if not healthy:
            raise CommandError(
                "unhealthy: " + ", ".join(n for n, c in checks.items() if not c["ok"])
            )
