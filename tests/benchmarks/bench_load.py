"""Load: 500 simulated readers at a radiologist's pace against gunicorn on PostgreSQL.

    .venv/bin/python tests/benchmarks/bench_load.py [--readers 500] [--cases 20]
        [--think 10 30] [--ceiling-readers 40] [--ceiling-seconds 60]

Paced phase: every reader logs in and starts their session (not measured), then reads each case
as the reading screen does — the case's JSON, every view's display rendition (the thumbnail strip
shows the same files, from the browser's cache) — thinks for a
random 10–30 s, and submits (the answer carries the next case). With 500 readers that is about
25 reads/s. Printed: p50/p95/p99 of submit + next case as the client sees it (wall clock; the
clients run at a lower CPU priority than the server, as if on machines of their own) and
server-side (Server-Timing), the error rate, and reads stored against reads expected (each
exactly once: a retried or doubled submit would show as a difference).

Ceiling phase: a second study, `--ceiling-readers` readers with no think time for
`--ceiling-seconds`: reads/s the server sustains. Targets on this 2-core machine: client p95
<= 100 ms at the pace, 0 errors, 0 lost or doubled reads, a ceiling of at least 3x the pace.

Needs PostgreSQL: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/readerstudy_bench),
recreated on every run. Every request goes to 127.0.0.1 only; every loop is bounded in count.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.bench_reading import (  # noqa: E402 (after the path is set)
    DEFAULT_DB,
    PASSWORD,
    Browser,
    percentile,
    recreate_database,
)


@dataclass
class Tally:
    """What the readers measured, merged under a lock."""

    wall_ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)
    done_at: list[float] = field(default_factory=list)  # time.monotonic() of each stored read
    began: float = 0.0  # time.monotonic() when the phase's readers were let go
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self,
        wall: list[float],
        server: list[float],
        done_at: list[float],
        requests: int,
        errors: list[str],
    ) -> None:
        with self.lock:
            self.wall_ms += wall
            self.server_ms += server
            self.done_at += done_at
            self.requests += requests
            self.errors += errors


def study_build(*, slug: str, prefix: str, readers: int, cases: int, seed: int) -> None:
    """A study of phantom cases with `readers` readers and round 1 open."""

    from django.contrib.auth.hashers import make_password

    from fixtures.phantom import generate_phantom_study
    from readerstudy.accounts.models import Reader, Role, User
    from readerstudy.accounts.services import user_create
    from readerstudy.reading.models import Round
    from readerstudy.reading.services import round_open
    from readerstudy.studies.importing import cases_import
    from readerstudy.studies.models import Cohort, Enrolment, StaffRole, Study, StudyMembership
    from tests.benchmarks._django import scratch_dir

    study = Study.objects.create(slug=slug, title=slug, reading_cohorts=list(Cohort.values))
    folder = scratch_dir() / "phantoms"
    generate_phantom_study(cases=cases, seed=seed, out=folder, fmt="dicom")
    cases_import(study=study, path=folder, actor=None)
    coordinator = user_create(
        username=f"{prefix}coordinator", password=PASSWORD, role=Role.COORDINATOR
    )
    StudyMembership.objects.create(study=study, user=coordinator, role=StaffRole.COORDINATOR)
    hashed = make_password(PASSWORD)
    users = User.objects.bulk_create(
        User(username=f"{prefix}{n:03d}", password=hashed) for n in range(readers)
    )
    profiles = Reader.objects.bulk_create(
        Reader(user=user, seniority="senior", years_experience=5) for user in users
    )
    Enrolment.objects.bulk_create(Enrolment(study=study, reader=r) for r in profiles)
    round_open(round=Round.objects.create(study=study, index=1, assisted=False), actor=coordinator)


def reader_run(
    *,
    base: str,
    username: str,
    think: tuple[float, float] | None,
    deadline: Deadline,
    ready: threading.Barrier,
    tally: Tally,
    rng: random.Random,
) -> None:
    """One reader: log in, start the session, wait for everyone, then read to the end (or to the
    deadline, for the ceiling), thinking `think` seconds per case (None: no think time)."""
    browser = Browser(base)
    wall, server, done_at, errors, requests = [], [], [], [], 0
    try:
        browser.login(username)
        rounds = json.loads(browser.request("/api/reading/rounds/")[1])
        _, body, _ = browser.request(f"/api/reading/rounds/{rounds[0]['round_id']}/start/", body={})
        session = json.loads(body)["id"]
        # Another reader failing to start breaks the barrier: read anyway.
        with contextlib.suppress(threading.BrokenBarrierError):
            ready.wait(timeout=1800)
        if think is not None:  # spread the first cases over one think time, as people arrive
            time.sleep(rng.uniform(0, think[1]))
        _, body, _ = browser.request(f"/api/reading/sessions/{session}/current/")
        current = json.loads(body)
        for _ in range(10_000):  # bounded: a session has far fewer cases
            if current["complete"] or deadline.passed():
                break
            case = current["case"]
            for image in case["images"]:  # each view's display, which the strip shows too
                code, _, _ = browser.request(image["display"])
                requests += 1
                if code != 200:
                    errors.append(f"{code} image")
            if think is not None:
                time.sleep(rng.uniform(*think))
            read = {
                "case": case["case"],
                "decision": rng.choice(["benign", "malignant"]),
                "confidence": rng.randint(0, 100),
                "nonce": str(uuid.uuid4()),
                "active_ms": 1500,
            }
            started = time.perf_counter()
            code, body, server_time = browser.request(
                f"/api/reading/sessions/{session}/reads/", body=read
            )
            requests += 1
            if code != 201:
                errors.append(f"{code} {body[:120]!r}")
                break
            wall.append((time.perf_counter() - started) * 1000)
            server.append(server_time)
            done_at.append(time.monotonic())
            current = json.loads(body)["next"]
    except Exception as error:  # a benchmark reports failures, it does not stop on them
        errors.append(repr(error)[:200])
        ready.abort()  # the others must not wait for this reader
    tally.add(wall, server, done_at, requests, errors)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process and of its children it has reaped (0 once it is
    gone). With the reaped children counted, a process tree's sum holds across a child's exit:
    PostgreSQL's backends and gunicorn's workers come and go during a phase."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, name) of every process this user can see."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                name, _, rest = stat.partition("(")[2].rpartition(")")
                found.append((int(entry.name), int(rest.split()[1]), name))
    return found


class CpuMeter:
    """Where the machine's CPU went during a phase: the web server (gunicorn and its workers),
    PostgreSQL (every postgres process: run on an otherwise idle machine), this process's client
    threads, and the machine in all (/proc/stat), so a ceiling shows what bounds it."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def sample(self) -> dict[str, float]:
        processes = _processes()
        web = [pid for pid, parent, _ in processes if self.server_pid in (pid, parent)]
        postgres = [pid for pid, _, name in processes if name == "postgres"]
        times = os.times()
        busy = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        ticks = os.sysconf("SC_CLK_TCK")
        return {
            "web": sum(map(_cpu_s, web)),
            "postgres": sum(map(_cpu_s, postgres)),
            "clients": times.user + times.system,
            "machine": (sum(map(int, busy)) - int(busy[3]) - int(busy[4])) / ticks,
            "wall": time.monotonic(),
        }

    @staticmethod
    def report(before: dict[str, float], after: dict[str, float], reads: int) -> str:
        used = {key: after[key] - before[key] for key in before}
        cores = len(os.sched_getaffinity(0))
        per_read = ", ".join(
            f"{key} {used[key] / max(1, reads) * 1000:.1f} ms"
            for key in ("web", "postgres", "clients", "machine")
        )
        busy = used["machine"] / (used["wall"] * cores) if used["wall"] else 0.0
        return f"  CPU per read: {per_read}; the machine {busy:.0%} busy on {cores} cores"


@dataclass
class Deadline:
    """When a phase ends; None: when every reader has finished their session."""

    at: float | None = None

    def passed(self) -> bool:
        return self.at is not None and time.monotonic() > self.at


def phase(
    *,
    base: str,
    prefix: str,
    readers: int,
    think: tuple[float, float] | None,
    seconds: float | None,
    meter: CpuMeter,
) -> tuple[Tally, float, str]:
    tally, ready, deadline = Tally(), threading.Barrier(readers + 1), Deadline()
    threads = [
        threading.Thread(
            target=reader_run,
            kwargs={
                "base": base,
                "username": f"{prefix}{n:03d}",
                "think": think,
                "deadline": deadline,
                "ready": ready,
                "tally": tally,
                "rng": random.Random(n),
            },
            daemon=True,
        )
        for n in range(readers)
    ]
    for thread in threads:
        thread.start()
        time.sleep(0.01)  # logins are slow by design (password hashing): do not storm them
    # A reader that failed before reading breaks the barrier: the others go on; it is reported.
    with contextlib.suppress(threading.BrokenBarrierError):
        ready.wait(timeout=1800)
    began, cpu_before = time.perf_counter(), meter.sample()
    tally.began = time.monotonic()
    if seconds is not None:
        deadline.at = time.monotonic() + seconds
    for thread in threads:
        thread.join(timeout=3600)
    elapsed = time.perf_counter() - began
    return tally, elapsed, CpuMeter.report(cpu_before, meter.sample(), len(tally.wall_ms))


def report(title: str, tally: Tally, elapsed: float) -> None:
    print(title)
    if tally.wall_ms:
        w, s = tally.wall_ms, tally.server_ms
        print(
            f"  submit + next case, client wall clock: p50 {percentile(w, 50):.1f} ms, "
            f"p95 {percentile(w, 95):.1f} ms, p99 {percentile(w, 99):.1f} ms"
        )
        print(
            f"  the same, server-side: p50 {percentile(s, 50):.1f} ms, "
            f"p95 {percentile(s, 95):.1f} ms, p99 {percentile(s, 99):.1f} ms"
        )
    rate = len(tally.wall_ms) / elapsed if elapsed else 0.0
    share = len(tally.errors) / max(1, tally.requests)
    print(
        f"  {len(tally.wall_ms)} reads in {elapsed:.0f} s = {rate:.1f} reads/s; "
        f"{tally.requests} requests, errors {len(tally.errors)} ({share:.2%})"
    )
    for line in tally.errors[:5]:
        print(f"    {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=500)
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--think", type=float, nargs=2, default=(10.0, 30.0))
    parser.add_argument("--ceiling-readers", type=int, default=40)
    parser.add_argument("--ceiling-seconds", type=float, default=60.0)
    parser.add_argument(
        "--workers",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="gunicorn sync workers (default: one per core, as readerstudy/gunicorn_conf.py)",
    )
    args = parser.parse_args()
    database = os.environ.get("DATABASE_URL", DEFAULT_DB)
    recreate_database(database)
    os.environ["DATABASE_URL"] = database
    os.environ.pop("REDIS_URL", None)
    from tests.benchmarks._django import django_setup

    var_dir = django_setup(migrate=True)
    study_build(slug="load", prefix="r", readers=args.readers, cases=args.cases, seed=3)
    study_build(slug="ceiling", prefix="c", readers=args.ceiling_readers, cases=200, seed=4)
    from readerstudy.reading.models import Read

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "gunicorn", "readerstudy.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(args.workers), "--log-level", "warning", "--backlog", "2048"]
    server = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "VAR_DIR": str(var_dir)})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        os.nice(10)  # the clients stand for other machines: the server goes first
        meter = CpuMeter(server.pid)
        paced, paced_s, paced_cpu = phase(
            base=base,
            prefix="r",
            readers=args.readers,
            think=tuple(args.think),
            seconds=None,
            meter=meter,
        )
        ceiling, ceiling_s, ceiling_cpu = phase(
            base=base,
            prefix="c",
            readers=args.ceiling_readers,
            think=None,
            seconds=args.ceiling_seconds,
            meter=meter,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    expected = args.readers * args.cases
    stored = Read.objects.filter(session__round__study__slug="load").count()
    distinct = (
        Read.objects.filter(session__round__study__slug="load")
        .values("session", "case")
        .distinct()
        .count()
    )
    pace = expected / paced_s if paced_s else 0.0
    # While every reader is reading: all have begun (each waits up to one think time first) and
    # none can have finished (each case takes at least the shortest think time).
    steady_from, steady_to = args.think[1], args.cases * args.think[0]
    steady_reads = sum(steady_from <= t - paced.began < steady_to for t in paced.done_at)
    steady = steady_reads / (steady_to - steady_from) if steady_to > steady_from else 0.0
    report(
        f"paced: {args.readers} readers x {args.cases} cases, think {args.think[0]:.0f}-"
        f"{args.think[1]:.0f} s, gunicorn {args.workers} sync workers, PostgreSQL",
        paced,
        paced_s,
    )
    print(paced_cpu)
    print(
        f"  reads expected {expected}, stored {stored}, distinct (session, case) {distinct}: "
        f"lost {expected - distinct}, doubled {stored - distinct}"
    )
    ceiling_rate = len(ceiling.wall_ms) / ceiling_s if ceiling_s else 0.0
    report(f"ceiling: {args.ceiling_readers} readers, no think time", ceiling, ceiling_s)
    print(ceiling_cpu)
    print(
        f"  ceiling {ceiling_rate:.1f} reads/s = {ceiling_rate / pace if pace else 0:.2f}x "
        f"the paced phase's mean rate ({pace:.1f} reads/s over the whole phase) and "
        f"{ceiling_rate / steady if steady else 0:.2f}x its steady rate ({steady:.1f} reads/s "
        f"from {steady_from:.0f} to {steady_to:.0f} s, while every reader reads); target >= 3x"
    )


if __name__ == "__main__":
    main()
