"""`manage.py demo [--design D]`: migrate, build the demo study in design D and let the simulated
readers read what needs no AI, serve (web server and a worker) until Ctrl-C; meanwhile the demo AI
is trained and precomputed as jobs on the worker's gpu queue and they read the rest. Prints how
far it is, with the seconds since it began.

Independent rounds (the default, the seed's): round 1 is read before serving, round 2 once the AI
is there. Crossover and sequential show the AI in their first session (crossover: half the cases
of each session; sequential: every case's final read but the bias-control ones), and a round
that shows the AI opens only with its output; so in these designs every session is read after
the AI arrives, crossover's second one after each reader's washout, and with `--no-ai` nothing
is read and the rounds stay planned."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from fixtures.demo import (
    DEMO_ACCOUNTS,
    DEMO_CASES,
    LIVE_READER,
    STORY_SEEDS,
    DemoDesignConflict,
    SimulatedClock,
    demo_ai_arrives,
    demo_live_reader,
    demo_passwords,
    demo_rounds_read,
    demo_set_up,
    demo_story,
    demo_story_over_seeds,
)
from fixtures.demo_ai import (
    DEMO_MODELLED_AI,
    demo_ai_summary,
    demo_ai_use,
    demo_checkpoint_cache,
    demo_job_state,
    demo_model_registered,
    demo_model_version,
    demo_modelled_ai,
    demo_training_inline,
    demo_training_start,
    demo_training_state,
)
from readerstudy.studies.models import Study, StudyDesign

if TYPE_CHECKING:
    from fixtures.designs_sim import SimulatedSession
    from inference.worker.models import ModelVersion


class Command(BaseCommand):
    help = (
        "Build the demo study and serve the platform with a worker on http://HOST:PORT/. "
        "Independent rounds: round 1 is read before serving, round 2 after the AI arrives; "
        "crossover and sequential show the AI in their first session, so all their sessions "
        "are read after it (none with --no-ai)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--cases", type=int, default=DEMO_CASES, help="phantom cases in the demo study"
        )
        parser.add_argument(
            "--design",
            # The study's own choices, which `reading.designs.DESIGNS` is keyed by (this app
            # sits below reading in the apps' layers).
            choices=StudyDesign.values,
            default=StudyDesign.INDEPENDENT_ROUNDS,
            help="the demo study's design (default: %(default)s, the seed's). A demo study "
            "built in another design is refused, not mixed.",
        )
        parser.add_argument(
            "--no-ai",
            action="store_true",
            help="skip training and precompute: only the rounds without the AI are read (round "
            "1 of independent rounds; nothing of crossover or sequential), the others stay shut",
        )
        parser.add_argument(
            "--modelled-ai",
            action="store_true",
            help="test path: instead of training the ResNet18, the AI's output is drawn from the "
            "simulated readers' modelled AI (fixtures/readers.py; seconds, no heatmaps)",
        )
        parser.add_argument(
            "--no-serve",
            action="store_true",
            help="Only build the demo data (the AI and its rounds included, inline), start "
            "nothing.",
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
        self._modelled_ai = options["modelled_ai"]
        design = options["design"]
        self._step(
            f"Building the demo study ({design}): accounts, {options['cases']} phantom cases…"
        )
        try:
            study, imported = demo_set_up(
                passwords=passwords, work_dir=self._work_dir, cases=options["cases"], design=design
            )
        except DemoDesignConflict as error:
            raise CommandError(str(error)) from error
        if imported is not None:
            self._step(
                f"Imported {imported.cases} phantom cases ({imported.images} images) in "
                f"{imported.seconds:.0f} s."
            )
        self._sessions_read(demo_rounds_read(study=study, ai=False))
        if study.rounds.get(index=1).assisted and options["no_ai"]:
            self._step(
                f"The {design} design shows the AI in round 1: with --no-ai no round opens and "
                "no one reads."
            )
        if options["no_serve"]:
            if not options["no_ai"]:
                for _ in self._ai_and_rounds(study=study, queue=False):
                    pass  # inline: nothing to wait for
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

    def _sessions_read(self, sessions: list[SimulatedSession]) -> None:
        """One line per round the simulated readers read."""
        for index in sorted({s.round for s in sessions}):
            readers = sum(s.round == index for s in sessions)
            when = "simulated past" + (", after each washout" if index > 1 else "")
            self._step(f"Round {index} ({when}): {readers} readers read their cases.")

    def _accounts(self, passwords: dict[str, str]) -> None:
        self.stdout.write("Demo accounts (username / password / role):")
        for account in DEMO_ACCOUNTS:
            extra = f" ({account.seniority.value})" if account.seniority else ""
            self.stdout.write(
                f"  {account.username:<14} {passwords[account.username]:<14} {account.role.value}{extra}"
            )

    def _ai_and_rounds(self, *, study: Study, queue: bool) -> Iterator[None]:
        """The AI (trained as a job, the cached checkpoint, or with --modelled-ai the test
        path's), its precompute, then the simulated rounds that show the AI and the story's
        figures, step by step: with `queue` the training and the precompute are jobs on the
        worker's gpu queue, and this yields while they run (the serving loop advances it);
        without, both run inline and it never yields."""
        clock = SimulatedClock(demo_ai_arrives(study=study))  # one clock: the log reads forwards
        version: ModelVersion | None
        study.refresh_from_db()
        # A rerun keeps the study's modelled AI: a trained one could not replace it once a
        # round that shows the AI has started.
        kept = study.ai_model is not None and study.ai_model.name == DEMO_MODELLED_AI
        if self._modelled_ai or kept:
            version = demo_modelled_ai(study=study, clock=clock)
            how = "drawn from the simulated readers' modelled AI (--modelled-ai, a test path)"
        else:
            version, how = demo_model_registered(study=study, work_dir=self._work_dir, clock=clock)
        if version is None:
            where = "as a job on the gpu queue" if queue else "in this process"
            self._step(
                f"Training the demo AI {where} (a few minutes on a CPU, the first time only"
                f"{'; the site is usable meanwhile' if queue else ''})…"
            )
            job = demo_training_start(study=study, clock=clock, queue=queue)
            if queue:
                seen: tuple[str, int] | None = None
                while True:
                    state = demo_training_state(job_pk=job.pk)
                    if (state.stage, state.done) != seen and state.total:
                        seen = (state.stage, state.done)
                        self._epoch(
                            state.stage, state.done, state.total, state.validation_case_auc, True
                        )
                    if state.finished:
                        break
                    yield
                if state.status != "succeeded" or state.model_version_id is None:
                    self.stderr.write(
                        f"Training {state.status}: {state.error}; no round with the AI."
                    )
                    return
                version = demo_model_version(pk=state.model_version_id)
            else:
                version = demo_training_inline(
                    job=job,
                    progress=lambda stage, record, epochs: self._epoch(
                        stage, record.epoch, epochs, record.validation_case_auc, False
                    ),
                )
            cache = demo_checkpoint_cache(version=version, work_dir=self._work_dir)
            how = f"trained on the phantom train cohort (cached in {cache})"
        self._step(f"AI {version.name} {how}; {demo_ai_summary(version)}.")
        precompute = demo_ai_use(study=study, version=version, clock=clock, queue=queue)
        last = -1
        while queue:
            state = demo_job_state(job_pk=precompute.pk)
            if state.finished and state.status != "succeeded":
                self.stderr.write(
                    f"Precompute {state.status}: {state.error}; no round with the AI."
                )
                return
            if state.finished:
                break
            if state.done != last:
                last = state.done
                self._step(
                    f"Precompute on the gpu queue: {state.done}/{state.total} "
                    "images (progress on the console too)…"
                )
            yield
        self._sessions_read(demo_rounds_read(study=study, ai=True))
        demo_live_reader(study=study)
        self._step(f"{LIVE_READER} has an unread round-1 session waiting.")
        self.stdout.write(
            "Simulated readers' binary AUC by seniority, round 1 without the AI and round 2 with "
            "it as in the seed (seed's figure beside it):"
        )
        for row in demo_story(study=study):
            self.stdout.write(
                f"  {row['seniority']:<13} round {row['round']}: {row['simulated']:.3f}"
                f"  (seed {row['seed']:.3f}, {row['readers']} readers)"
            )
        self.stdout.write(
            f"The same readers over {STORY_SEEDS} simulated draws on these cases and this AI "
            "(manage.py demo_story):"
        )
        for row in demo_story_over_seeds(study=study, seeds=STORY_SEEDS):
            self.stdout.write(
                f"  {row['seniority']:<13} round {row['round']}: {row['simulated']:.3f}"
                f"  (seed {row['seed']:.3f})"
            )
        self.stdout.write(self.style.SUCCESS(f"Demo study '{study.slug}' is complete."))

    def _epoch(self, stage: str, epoch: int, epochs: int, auc: float | None, queued: bool) -> None:
        shown = "n/a" if auc is None or math.isnan(auc) else f"{auc:.3f}"
        self._step(
            f"Training {stage}: epoch {epoch} of at most {epochs}, validation case AUC {shown}"
            + (" (progress on the console too)" if queued else "")
        )

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
                start_new_session=True,  # its own group: its beat and pool go with it (_shutdown)
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
                start_new_session=True,
            ),
        }
        stop = {"requested": False}

        def request_stop(signum: int, frame: object) -> None:
            stop["requested"] = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        url = f"http://{host}:{port}/"
        ai: Iterator[None] | None = None
        if self._wait_until_up(f"{url}healthz", processes, stop):
            self._step(self.style.SUCCESS(f"Serving on {url}  (admin: {url}admin/). Ctrl-C stops."))
            if after_up is not None:
                ai = self._ai_and_rounds(study=after_up, queue=True)
        while not stop["requested"]:
            exited = [name for name, process in processes.items() if process.poll() is not None]
            if exited:
                self.stderr.write(f"{', '.join(exited)} stopped unexpectedly; shutting down.")
                break
            ai = self._advance(ai)
            time.sleep(0.5)
        self._shutdown(processes)

    def _advance(self, ai: Iterator[None] | None) -> Iterator[None] | None:
        """One step of the AI's story; None once it is over (done, or failed: the site keeps
        serving, and what failed is said)."""
        if ai is None:
            return None
        try:
            next(ai)
        except StopIteration:
            return None
        except Exception as error:
            self.stderr.write(f"The demo AI could not be prepared: {error!r}")
            return None
        return ai

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
        """SIGTERM to each (gunicorn and Celery stop gracefully), then, once each has exited or
        20 s have passed, SIGKILL to whatever is left of its process group. Each runs in a
        group of its own, so Ctrl-C reaches only this command, and nothing it started outlives
        it: Celery's embedded beat and its pool (a training task may still be running) included."""
        self.stdout.write("Stopping the web server and the worker…")
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self.stdout.write("Stopped.")
