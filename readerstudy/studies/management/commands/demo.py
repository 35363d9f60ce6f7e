"""`manage.py demo`: migrate, build the demo study, then run the web server and a worker until Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from fixtures.demo import (
    DEMO_ACCOUNTS,
    DEMO_CASES,
    LIVE_READER,
    demo_build,
    demo_import_cases,
    demo_model,
    demo_passwords,
    demo_simulate_reads,
)


class Command(BaseCommand):
    help = "Build the demo study and serve the platform with a worker on http://HOST:PORT/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--cases", type=int, default=DEMO_CASES, help="phantom cases in the demo study"
        )
        parser.add_argument(
            "--no-ai", action="store_true", help="skip training and precompute (round 2 stays shut)"
        )
        parser.add_argument(
            "--no-serve", action="store_true", help="Only build the demo data, start nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        passwords = demo_passwords(settings.VAR_DIR / "demo-credentials.json")
        study = demo_build(passwords=passwords)
        imported = demo_import_cases(
            study=study, work_dir=settings.VAR_DIR / "demo", cases=options["cases"]
        )
        if imported is not None:
            self.stdout.write(
                f"Imported {imported.cases} phantom cases ({imported.images} images) in "
                f"{imported.seconds:.0f} s."
            )
        if not options["no_ai"]:
            version, how = demo_model(study=study, work_dir=settings.VAR_DIR / "demo")
            metrics = version.validation_metrics.get("case", {}).get("auc")
            self.stdout.write(
                f"AI model {version.name} ({how}); validation case-level AUC "
                f"{metrics if metrics is None else round(metrics, 3)}; every image precomputed."
            )
        reads = demo_simulate_reads(study=study)
        if reads:
            self.stdout.write(
                f"Simulated readers read {sum(reads.values())} cases over {len(reads)} sessions; "
                f"{LIVE_READER} has an unread round-1 session waiting."
            )
        self.stdout.write(self.style.SUCCESS(f"Demo study '{study.slug}' is ready."))
        self.stdout.write("Demo accounts (username / password / role):")
        for account in DEMO_ACCOUNTS:
            extra = f" ({account.seniority.value})" if account.seniority else ""
            self.stdout.write(
                f"  {account.username:<14} {passwords[account.username]:<14} {account.role.value}{extra}"
            )
        if options["no_serve"]:
            return
        self._serve(host=options["host"], port=options["port"])

    def _serve(self, *, host: str, port: int) -> None:
        python = sys.executable
        processes = {
            "worker": subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "readerstudy",
                    "worker",
                    "-B",  # beat: the periodic precompute sweep
                    "-Q",
                    "default,gpu",
                    "--concurrency",
                    "1",
                    "--loglevel",
                    "INFO",
                    "-n",
                    "demo@%h",
                ],
            ),
            "web": subprocess.Popen(  # noqa: S603
                [
                    python,
                    "-m",
                    "gunicorn",
                    "readerstudy.wsgi",
                    "--bind",
                    f"{host}:{port}",
                    "--workers",
                    "2",
                    "--access-logfile",
                    "-",
                ],
            ),
        }
        stop = {"requested": False}

        def request_stop(signum: int, frame: object) -> None:
            stop["requested"] = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        url = f"http://{host}:{port}/"
        if self._wait_until_up(f"{url}healthz", processes, stop):
            self.stdout.write(
                self.style.SUCCESS(f"Serving on {url}  (admin: {url}admin/). Ctrl-C stops.")
            )
        while not stop["requested"]:
            exited = [name for name, process in processes.items() if process.poll() is not None]
            if exited:
                self.stderr.write(f"{', '.join(exited)} stopped unexpectedly; shutting down.")
                break
            time.sleep(0.5)
        self._shutdown(processes)

    def _wait_until_up(
        self, url: str, processes: dict[str, subprocess.Popen[bytes]], stop: dict[str, bool]
    ) -> bool:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not stop["requested"]:
            if any(process.poll() is not None for process in processes.values()):
                return False
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own URL
                    if response.status == 200:
                        return True
            except OSError:
                time.sleep(0.3)
        return False

    def _shutdown(self, processes: dict[str, subprocess.Popen[bytes]]) -> None:
        self.stdout.write("Stopping the web server and the worker…")
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.stdout.write("Stopped.")
