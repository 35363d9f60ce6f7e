"""`manage.py demo --design D` for each study design: the demo study gets the rounds its design
derives, the simulated readers read every case once per condition through the reading services,
on the demo's clock with each reader's washout between their sessions, and the report's analysis
recovers the effect the reader model implies (its expected assisted − unassisted AUC of the
confidence, `fixtures.designs_sim.expected_auc_difference`) within the RRRC 95% CI.

The AI is the command's test path (`--modelled-ai`: the reader model's modelled AI written as
the study's predictions), so the effect is known exactly and no network is trained. The reads
are keyed by the case's key and the demo's seed, and the session seeds (which draw a sequential
reader's bias-control cases) come from a seeded source here, so each design's figures are the
same on every run and database.
"""

from __future__ import annotations

import io
import itertools
import random
import re
import types
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from analysis.web.report.compute import payload_compute
from fixtures.demo import DEMO_STUDY_SLUG, LIVE_READER, demo_simulated_readers
from fixtures.designs_sim import case_number, expected_auc_difference
from fixtures.readers import PROFILES, SEED_AI_MODEL
from inference.worker.models import CasePrediction
from readerstudy.audit.models import AuditEvent
from readerstudy.audit.selectors import audit_chain_verify
from readerstudy.reading import services
from readerstudy.reading.designs import DESIGNS, design_rounds
from readerstudy.reading.models import Phase, Read, ReadingSession, RoundStatus, WashoutOverride
from readerstudy.reading.selectors import reading_cases
from readerstudy.studies.models import Study, StudyDesign
from tests.designs.effect import reported_effect

# 300 phantom cases give 58 in the reading (test) cohorts, about as many as the designs' own
# simulation test reads; with five readers the RRRC interval of the modality difference is then
# about ±0.08 around an expected 0.074 (sequential: ±0.10, on the 18 cases that no reader had as
# a bias-control case): wide, but the point estimate must still land near the effect for the
# interval to cover it. The phantoms are generated once for the three designs.
CASES = 300


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo-designs")


def _demo(settings: object, var_dir: Path, *args: str) -> str:
    settings.VAR_DIR = var_dir  # type: ignore[attr-defined]
    settings.STATIC_ROOT = var_dir / "static"  # type: ignore[attr-defined]
    out = io.StringIO()
    call_command("demo", "--no-serve", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("design", list(DESIGNS))
def test_each_designs_demo_reads_every_case_once_per_condition_and_recovers_the_effect(
    design: str, settings: object, var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = random.Random(f"demo-{design}")  # reproducible on purpose
    monkeypatch.setattr(services, "secrets", types.SimpleNamespace(randbits=seeded.getrandbits))
    began = timezone.now()
    output = _demo(settings, var_dir, "--design", design, "--cases", str(CASES), "--modelled-ai")
    study = Study.objects.get(slug=DEMO_STUDY_SLUG)

    # The rounds the design derives, all opened.
    assert study.design == design
    assert list(study.rounds.order_by("index").values_list("index", "assisted")) == [
        (plan.index, plan.assisted) for plan in design_rounds(design, washout_days=28)
    ]
    assert set(study.rounds.values_list("status", flat=True)) == {RoundStatus.OPEN}
    rounds = study.rounds.count()
    assert f"Round {rounds} (simulated past" in output

    # The story reads forwards: every event in the past but the live reader's session start,
    # and the hash-chained log in the order of its timestamps.
    events = list(AuditEvent.objects.order_by("sequence").values_list("at", "action"))
    assert [at for at, _ in events] == sorted(at for at, _ in events)
    assert [action for at, action in events if at >= began] == ["session.started"]
    assert audit_chain_verify().ok
    assert not WashoutOverride.objects.exists()

    readers = demo_simulated_readers(study=study)
    assert len(readers) == 5
    cases = reading_cases(study=study)
    truth = dict(study.cases.values_list("pk", "truth_malignant"))
    keys = {case.pk: case_number(case) for case in study.cases.all()}
    ai = dict(
        CasePrediction.objects.filter(model_version=study.ai_model).values_list(
            "case_id", "probability"
        )
    )
    reads = Read.objects.filter(session__round__study=study)
    # The live reader has their first session waiting, unread.
    live = ReadingSession.objects.get(round__study=study, reader__user__username=LIVE_READER)
    assert live.round.index == 1
    assert not live.reads.exists()
    assert reads.count() == 2 * len(cases) * len(readers)

    control = round(study.bias_control_fraction * len(cases))
    for reader, simulated in readers:
        # Each case once per condition: once without the AI, once with it (sequential: the
        # locked read, then the final one, which shows the AI but on the bias-control cases).
        steps = defaultdict(list)
        for read in reads.filter(session__reader=reader).select_related("session__round"):
            steps[read.case_id].append((read.phase, read.assisted))
            # The stored condition, which the analysis reads, is what the reader saw: the
            # simulated reader's answer with the AI where `assisted`, without it elsewhere.
            answer = simulated.read(
                case_key=keys[read.case_id],
                malignant=truth[read.case_id],
                ai_probability=ai[read.case_id] if read.assisted else None,
                ai_threshold=study.ai_threshold,
            )
            assert read.confidence == answer.confidence, (design, reader, read.case_id)
        assert sorted(steps) == cases
        if design == StudyDesign.SEQUENTIAL:
            assert {tuple(sorted(s)) for s in steps.values()} == {
                ((Phase.FINAL, True), (Phase.LOCKED, False)),
                ((Phase.FINAL, False), (Phase.LOCKED, False)),
            }
            assert sum((Phase.FINAL, False) in s for s in steps.values()) == control
        else:
            assert {tuple(sorted(s)) for s in steps.values()} == {
                ((Phase.SINGLE, False), (Phase.SINGLE, True))
            }
        # One session per round, in the past, each after the washout that follows the last.
        sessions = list(ReadingSession.objects.filter(reader=reader).order_by("round__index"))
        assert [s.round.index for s in sessions] == list(range(1, rounds + 1))
        for earlier, later in itertools.pairwise(sessions):
            assert earlier.completed_at is not None
            assert later.started_at is not None
            assert later.started_at >= earlier.completed_at + timedelta(days=study.washout_days)
        assert all(s.completed_at is not None and s.completed_at < began for s in sessions)
        if design == StudyDesign.CROSSOVER:
            # Each session mixes both conditions, the second the mirror of the first.
            first, second = (set(s.reads.filter(assisted=True).values_list("case", flat=True))
                             for s in sessions)  # fmt: skip
            assert first
            assert second
            assert first.isdisjoint(second)
            assert first | second == set(cases)

    payload = payload_compute(study=study)
    expected = expected_auc_difference(
        [PROFILES[reader.seniority] for reader, _ in readers], ai=SEED_AI_MODEL
    )
    effect = reported_effect(payload, label=design, expected=expected)
    modalities = effect.modalities
    assert "unassisted" in modalities[0]
    assert "unassisted" not in modalities[1]
    # The analysis crosses readers and cases: a case counts when every reader read it in both
    # conditions, so in sequential a case that is one reader's bias-control case drops out.
    controls = set().union(
        *ReadingSession.objects.filter(round__study=study)
        .exclude(pk=live.pk)
        .values_list("assignment__control", flat=True)
    ) if design == StudyDesign.SEQUENTIAL else set()  # fmt: skip
    assert payload["input"]["paired_cases"] == len(set(cases) - controls)
    assert effect.covers(expected), (design, expected, effect)


@pytest.mark.django_db
@pytest.mark.parametrize("design", [StudyDesign.CROSSOVER, StudyDesign.SEQUENTIAL])
def test_without_the_ai_a_design_that_shows_it_in_round_one_reads_nothing(
    design: str, settings: object, tmp_path: Path
) -> None:
    output = _demo(settings, tmp_path, "--design", design, "--cases", "6", "--no-ai")
    study = Study.objects.get(slug=DEMO_STUDY_SLUG)
    assert study.design == design
    assert set(study.rounds.values_list("status", flat=True)) == {RoundStatus.PLANNED}
    assert not ReadingSession.objects.exists()  # the live reader's too: round 1 is shut
    assert "no round opens" in output


@pytest.mark.django_db
def test_a_demo_study_of_one_design_refuses_another_and_an_unknown_design_is_named(
    settings: object, tmp_path: Path
) -> None:
    _demo(settings, tmp_path, "--cases", "6", "--no-ai")
    reads = Read.objects.count()
    assert reads > 0  # independent rounds: round 1 read without the AI
    with pytest.raises(
        CommandError, match="exists with the independent_rounds design, not crossover"
    ):
        _demo(settings, tmp_path, "--design", "crossover", "--cases", "6", "--no-ai")
    study = Study.objects.get(slug=DEMO_STUDY_SLUG)
    assert study.design == StudyDesign.INDEPENDENT_ROUNDS
    assert Read.objects.count() == reads
    # The choices are the designs the registry has, in its order.
    registry = ", ".join(f"'{design}'" for design in DESIGNS)
    with pytest.raises(CommandError, match=re.escape(f"'parallel' (choose from {registry})")):
        _demo(settings, tmp_path, "--design", "parallel")
