"""`manage.py demo`: migrate, build the demo study with round 1 read, serve (web server and a
worker) until Ctrl-C; meanwhile the demo AI is trained and precomputed on the gpu queue and the
simulated round 2 follows. Prints how far it is, with the seconds since it began."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any

from django import db
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from fixtures.demo import (
    DEMO_ACCOUNTS,
    DEMO_CASES,
    LIVE_READER,
    demo_job_state,
    demo_live_reader,
    demo_model,
    demo_passwords,
    demo_round_one,
    demo_round_two,
    demo_set_up,
    demo_story,
)
from readerstudy.studies.models import Study


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
            "--no-serve",
            action="store_true",
            help="Only build the demo data (the AI and round 2 included, inline), start nothing.",
        )

    def _step(self, message: str) -> None:
        """One line of progress, with the seconds since the command started."""
        self.stdout.write(f"[demo {time.monotonic() - self._began:5.0f} s] {message}")
        self.stdout.flush()

    def handle(self, *args: Any, **options: Any) -> None:
        self._began = time.monotonic()
        self._work_dir = settings.VAR_DIR / "demo"
        self._step("Migrating the database and collecting static files…")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        passwords = demo_passwords(settings.VAR_DIR / "demo-credentials.json")
        self._step(f"Building the demo study: accounts, {options['cases']} phantom cases…")
        study, imported = demo_set_up(
            passwords=passwords, work_dir=self._work_dir, cases=options["cases"]
        )
        if imported is not None:
            self._step(
                f"Imported {imported.cases} phantom cases ({imported.images} images) in "
                f"{imported.seconds:.0f} s."
            )
        reads = demo_round_one(study=study)
        if reads:
            self._step(f"Round 1 (simulated past): {len(reads)} readers read their cases.")
        if options["no_serve"]:
            if not options["no_ai"]:
                self._ai_and_round_two(study=study, queue=False)
            demo_live_reader(study=study)
            self._accounts(passwords)
            return
        if options["no_ai"]:
            demo_live_reader(study=study)
        self._accounts(passwords)
        self._serve(
            host=options["host"],
            port=options["port"],
            after_up=None if options["no_ai"] else study,
        )

    def _accounts(self, passwords: dict[str, str]) -> None:
        self.stdout.write("Demo accounts (username / password / role):")
        for account in DEMO_ACCOUNTS:
            extra = f" ({account.seniority.value})" if account.seniority else ""
            self.stdout.write(
                f"  {account.username:<14} {passwords[account.username]:<14} {account.role.value}{extra}"
            )

    def _ai_and_round_two(self, *, study: Study, queue: bool) -> None:
        """The AI (trained, or the cached checkpoint), its precompute, then the simulated round 2
        and the story's figures. With `queue`, precompute is a job on the worker's gpu queue."""
        self._step(
            "Preparing the demo AI (training takes a few minutes on a CPU the first time; "
            "the site is usable meanwhile)…"
        )
        version, how, job = demo_model(study=study, work_dir=self._work_dir, queue=queue)
        test = version.validation_metrics.get("internal_test", {}).get("case", {}).get("auc")
        self._step(
            f"AI {version.name} {how}; case-level AUC on the internal test cohort "
            f"{'n/a' if test is None else f'{test:.3f}'}."
        )
        last = -1
        while queue:
            state = demo_job_state(job_pk=job.pk)
            if state.finished and state.status != "succeeded":
                self.stderr.write(f"Precompute {state.status}: {state.error}; no round 2.")
                return
            if state.finished:
                break
            if state.done_images != last:
                last = state.done_images
                self._step(
                    f"Precompute on the gpu queue: {state.done_images}/{state.total_images} "
                    "images (progress on the console too)…"
                )
            time.sleep(2)
        reads = demo_round_two(study=study)
        if reads:
            self._step(f"Round 2 (simulated past, after each washout): {len(reads)} readers read.")
        demo_live_reader(study=study)
        self._step(f"{LIVE_READER} has an unread round-1 session waiting.")
        self.stdout.write("Simulated readers' binary AUC by seniority (seed's figure beside it):")
        for row in demo_story(study=study):
            self.stdout.write(
                f"  {row['seniority']:<13} round {row['round']}: {row['simulated']:.3f}"
                f"  (seed {row['seed']:.3f}, {row['readers']} readers)"
            )
        self.stdout.write(self.style.SUCCESS(f"Demo study '{study.slug}' is complete."))

    def _ai_in_background(self, study: Study) -> threading.Thread:
        def run() -> None:
            try:
                self._ai_and_round_two(study=study, queue=True)
            except Exception as error:  # the site keeps serving; say what failed
                self.stderr.write(f"The demo AI could not be prepared: {error!r}")
            finally:
                db.connections.close_all()

        thread = threading.Thread(target=run, name="demo-ai", daemon=True)
        thread.start()
        return thread

    def _serve(self, *, host: str, port: int, after_up: Study | None) -> None:
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
            self._step(self.style.SUCCESS(f"Serving on {url}  (admin: {url}admin/). Ctrl-C stops."))
            if after_up is not None:
                self._ai_in_background(after_up)
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
