"""The demo builder: accounts as in the seed study, idempotent, passwords kept."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from fixtures.demo import DEMO_STUDY_SLUG, demo_build, demo_passwords
from readerstudy.accounts.models import Reader, User
from readerstudy.studies.models import Study


@pytest.mark.django_db
def test_the_demo_builds_six_readers_of_three_seniorities_twice_without_change(
    tmp_path: Path,
) -> None:
    passwords = demo_passwords(tmp_path / "demo.json")
    demo_build(passwords=passwords)
    demo_build(passwords=demo_passwords(tmp_path / "demo.json"))
    study = Study.objects.get(slug=DEMO_STUDY_SLUG)
    seniorities = sorted(Reader.objects.values_list("seniority", flat=True))
    assert seniorities == ["intermediate"] * 2 + ["junior"] * 2 + ["senior"] * 2
    assert study.enrolments.count() == 6
    assert list(study.rounds.values_list("index", "assisted")) == [(1, False), (2, True)]
    assert User.objects.count() == 8
    # Axes counts logins per address, so authenticate() takes the login's request.
    login = RequestFactory().post("/accounts/login/")
    user = authenticate(login, username="coordinator", password=passwords["coordinator"])
    assert user is not None


@pytest.mark.django_db
def test_the_demo_command_builds_without_serving(tmp_path: Path, settings: object) -> None:
    settings.VAR_DIR = tmp_path  # type: ignore[attr-defined]
    settings.STATIC_ROOT = tmp_path / "static"  # type: ignore[attr-defined]
    call_command("demo", "--no-serve", "--cases", "6", "--no-ai")
    assert (tmp_path / "demo-credentials.json").stat().st_mode & 0o077 == 0
    study = Study.objects.get(slug=DEMO_STUDY_SLUG)
    assert study.cases.count() == 6
    call_command(
        "demo", "--no-serve", "--cases", "6", "--no-ai"
    )  # a second run imports nothing again
    assert study.cases.count() == 6


@pytest.mark.worker
def _state(pid: int) -> str:
    """A process's state letter and command line ("" once it is gone; "Z": dead, not reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
    return state if state == "Z" else f"{state} {command[:120]}"


def _descendants(root: int) -> list[int]:
    """Every process below `root`, from /proc's parent links."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def test_the_demo_serves_login_and_admin_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["VAR_DIR"] = str(tmp_path)
    root = Path(__file__).resolve().parents[2]
    demo = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--port", str(port), "--cases", "6", "--no-ai"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            except OSError:
                assert demo.poll() is None, demo.stdout.read() if demo.stdout else ""
                assert time.monotonic() < deadline, "the demo did not come up"
                time.sleep(0.5)
        for page in ("/accounts/login/", "/admin/login/"):
            with urllib.request.urlopen(base + page, timeout=10) as response:
                assert response.status == 200
        started = _descendants(demo.pid)  # gunicorn and its workers, Celery, its pool and beat
        assert len(started) >= 5, started
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        output, _ = demo.communicate(timeout=60)
    assert demo.returncode == 0, output
    assert "Stopped." in output
    alive = [(pid, _state(pid)) for pid in started if _state(pid) not in ("", "Z")]
    assert not alive, f"processes the demo started outlived it: {alive}"
    assert "senior1" in output
    assert "coordinator" in output


@pytest.mark.django_db
def test_simulated_readers_read_both_rounds_and_leave_the_live_reader_unread(
    tmp_path: Path,
) -> None:
    from fixtures.demo import LIVE_READER, demo_import_cases, demo_simulate_reads
    from inference.worker.compute import precompute_run_inline
    from readerstudy.reading.models import Read, ReadingSession
    from readerstudy.reading.services import study_ai_use
    from readerstudy.studies.models import Cohort
    from tests.inference_adapter.test_precompute import tiny_version

    study = demo_build(passwords=demo_passwords(tmp_path / "demo.json"))
    demo_import_cases(study=study, work_dir=tmp_path, cases=8)
    study.reading_cohorts = list(Cohort.values)
    study.save()
    job = study_ai_use(study=study, model_version=tiny_version(), actor=None, queue=False)
    precompute_run_inline(job=job)
    counts = demo_simulate_reads(study=study)
    assert len(counts) == 10  # five readers, two rounds
    cases = study.cases.count()
    assert Read.objects.count() == 10 * cases
    live = ReadingSession.objects.get(reader__user__username=LIVE_READER)
    assert live.round.index == 1
    assert not live.reads.exists()
    for session in ReadingSession.objects.exclude(pk=live.pk):
        assert session.completed_at is not None
    round_2 = ReadingSession.objects.filter(round__index=2).first()
    round_1 = ReadingSession.objects.get(reader=round_2.reader, round__index=1)  # type: ignore[union-attr]
    assert round_2.started_at >= round_1.completed_at + timedelta(days=study.washout_days)  # type: ignore[union-attr,operator]
    assert demo_simulate_reads(study=study) == {}  # once only


@pytest.mark.django_db
def test_demo_story_reruns_the_readers_over_seeds_on_the_demo_cases_and_writes_nothing(
    tmp_path: Path,
) -> None:
    import io

    from django.core.management.base import CommandError

    from fixtures.demo import demo_import_cases, demo_story_over_seeds
    from fixtures.readers import SEED
    from inference.worker.compute import precompute_run_inline
    from readerstudy.audit.models import AuditEvent
    from readerstudy.reading.models import Read
    from readerstudy.reading.services import study_ai_use
    from readerstudy.studies.models import Cohort
    from tests.inference_adapter.test_precompute import tiny_version

    study = demo_build(passwords=demo_passwords(tmp_path / "demo.json"))
    demo_import_cases(study=study, work_dir=tmp_path, cases=8)
    study.reading_cohorts = list(Cohort.values)
    study.save()
    with pytest.raises(CommandError, match="has no output for 8 of its 8 reading cases"):
        call_command("demo_story", "--seeds", "2")
    precompute_run_inline(
        job=study_ai_use(study=study, model_version=tiny_version(), actor=None, queue=False)
    )
    events = AuditEvent.objects.count()

    rows = demo_story_over_seeds(study=study, seeds=3)
    out = io.StringIO()
    call_command("demo_story", "--seeds", "3", stdout=out)

    assert [(r["seniority"], r["round"]) for r in rows] == [
        (seniority, index) for seniority in SEED for index in (1, 2)
    ]
    assert all(0 <= float(r["simulated"]) <= 1 for r in rows)  # type: ignore[arg-type]
    assert rows[0]["seed"] == pytest.approx((0.776 + 0.772) / 2)
    text = out.getvalue()
    assert "mean over 3 simulated draws" in text
    assert f"senior            1 {float(rows[0]['simulated']):>9.3f}  0.774" in text  # type: ignore[arg-type]
    assert not Read.objects.exists()  # nothing was read into the database
    assert AuditEvent.objects.count() == events
