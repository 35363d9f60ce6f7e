"""The demo's simulated history is one consistent story: sessions, reads and audit events lie in
the past, the audit log reads forwards and verifies, and every round-2 session starts at least
the washout after that reader's round 1 ended, with no override."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from fixtures.demo import (
    LIVE_READER,
    SimulatedClock,
    demo_ai_arrives,
    demo_live_reader,
    demo_passwords,
    demo_round_read,
    demo_set_up,
)
from readerstudy.audit.models import AuditEvent
from readerstudy.audit.selectors import audit_chain_verify
from readerstudy.reading.models import Read, ReadingSession, WashoutOverride
from readerstudy.studies.models import Cohort, Study


def _demo_with_both_rounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Study:
    """The demo as `manage.py demo --no-serve` builds it, its AI trained as a training job (a
    tiny one: 32 px, three epochs; the cases' cohorts and truth are set so that it can train)."""
    import fixtures.demo_ai
    from fixtures.demo_ai import demo_ai_use, demo_training_inline, demo_training_start

    monkeypatch.setattr(
        fixtures.demo_ai,
        "DEMO_TRAINING",
        {"epochs": 3, "patience": 10, "batch_size": 4, "imagenet": None, "threads": 1},
    )
    monkeypatch.setattr(fixtures.demo_ai, "DEMO_PREPROCESSING_SIZE", 32)
    began = timezone.now()
    study, _ = demo_set_up(
        passwords=demo_passwords(tmp_path / "demo.json"), work_dir=tmp_path, cases=8
    )
    study.reading_cohorts = list(Cohort.values)
    study.save()
    for index, case in enumerate(study.cases.order_by("pk")):
        case.cohort = Cohort.TRAIN if index < 4 else Cohort.VALIDATION
        case.truth_malignant = index % 4 < 2
        case.save(update_fields=["cohort", "truth_malignant"])
    demo_round_read(study=study, index=1)
    clock = SimulatedClock(demo_ai_arrives(study=study))  # as the demo command does
    version = demo_training_inline(job=demo_training_start(study=study, clock=clock, queue=False))
    demo_ai_use(study=study, version=version, clock=clock, queue=False)
    demo_round_read(study=study, index=2)
    demo_live_reader(study=study)
    assert AuditEvent.objects.filter(at__gte=began).count() == 1  # only the live reader's start
    return study


@pytest.mark.django_db
def test_the_demo_audit_log_reads_forwards_in_the_past_and_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _demo_with_both_rounds(tmp_path, monkeypatch)
    now = timezone.now()
    events = list(AuditEvent.objects.order_by("sequence").values_list("at", "action"))
    stamps = [at for at, _ in events]
    assert stamps == sorted(stamps), "the audit log goes back in time somewhere"
    assert all(at <= now for at in stamps)
    assert audit_chain_verify().ok
    assert not WashoutOverride.objects.exists()
    assert not any(action.startswith("washout") for _, action in events)
    live = AuditEvent.objects.order_by("sequence").last()
    assert live is not None
    assert live.action == "session.started"
    assert live.actor is not None
    assert live.actor.username == LIVE_READER


@pytest.mark.django_db
def test_each_round_two_session_starts_at_least_the_washout_after_round_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = _demo_with_both_rounds(tmp_path, monkeypatch)
    washout = timedelta(days=study.washout_days)
    now = timezone.now()
    round_2_sessions = ReadingSession.objects.filter(round__study=study, round__index=2)
    assert round_2_sessions.count() == 5
    for second in round_2_sessions.select_related("reader"):
        first = ReadingSession.objects.get(reader=second.reader, round__index=1)
        assert first.completed_at is not None
        assert second.started_at is not None
        assert second.completed_at is not None
        assert second.started_at >= first.completed_at + washout
        assert second.completed_at < now - timedelta(days=1)
        # The audit log tells the same: completion of round 1, then the washout, then round 2.
        done = AuditEvent.objects.get(action="session.completed", target_id=str(first.pk))
        start = AuditEvent.objects.get(action="session.started", target_id=str(second.pk))
        assert done.at == first.completed_at
        assert start.at == second.started_at
        assert start.at - done.at >= washout
    opened = {
        event.target_id: event.at for event in AuditEvent.objects.filter(action="round.opened")
    }
    for round in study.rounds.all():
        assert opened[str(round.pk)] == round.opened_at
        first_start = min(s.started_at for s in round.sessions.all() if s.started_at)
        assert round.opened_at is not None
        assert round.opened_at <= first_start
    queued = AuditEvent.objects.get(action="training.queued")
    model = AuditEvent.objects.filter(action__startswith="model").order_by("sequence").first()
    round_2 = study.rounds.get(index=2)
    assert model is not None
    assert round_2.opened_at is not None
    first_done = ReadingSession.objects.filter(round__index=1).exclude(completed_at=None)
    assert min(s.completed_at for s in first_done if s.completed_at) < model.at
    assert model.at < round_2.opened_at
    assert queued.sequence < model.sequence  # trained, then registered, in the simulated past
    assert queued.at <= model.at


@pytest.mark.django_db
def test_every_read_lies_inside_its_session_and_its_audit_event_says_when(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = _demo_with_both_rounds(tmp_path, monkeypatch)
    submitted = {
        event.target_id: event.at for event in AuditEvent.objects.filter(action="read.submitted")
    }
    reads = Read.objects.filter(session__round__study=study).select_related("session")
    assert reads.count() == 10 * study.cases.count()
    for read in reads:
        session = read.session
        assert session.started_at is not None
        assert session.completed_at is not None
        assert session.started_at <= read.started_at <= read.submitted_at <= session.completed_at
        assert submitted[str(read.pk)] == read.submitted_at
