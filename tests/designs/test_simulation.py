"""Simulated readers run each design through the services; the report's analysis (modality =
condition) recovers the known simulated effect within its CI.

Own small simulation (binormal, equal variance): a reader's latent score of a case is
mu·truth + N(0, 1), mu = 0.8 without the AI and 2.2 with it, so the population AUCs are
Φ(0.8/√2) = 0.714 and Φ(2.2/√2) = 0.940, ΔAUC = 0.226. Each (reader, case, condition) has its
own fixed draw, so the scores do not depend on the random reading orders.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

import numpy as np
import pytest
from django.utils import timezone

from analysis.web.report.compute import payload_compute
from readerstudy.accounts.models import Reader
from readerstudy.reading.models import Decision, Phase, Read, ReadingSession, Round
from readerstudy.reading.services import read_submit, session_start
from readerstudy.studies.models import Case, Study, StudyDesign
from tests.conftest import Personas
from tests.designs.world import design_study

MU = {False: 0.8, True: 2.2}


def _phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


TRUE_DELTA = _phi(MU[True] / math.sqrt(2)) - _phi(MU[False] / math.sqrt(2))


def _confidence(reader: int, case: Case, assisted: bool) -> int:
    # Keyed by the reader's username and the case's key, not primary keys: the same draws on
    # every database, so the test is deterministic.
    number = int(case.key.rsplit("-", 1)[1])
    rng = np.random.default_rng([reader, number, int(assisted), 7])
    latent = MU[assisted] * case.truth_malignant + rng.normal()
    return int(np.clip(round(50 + 10 * (latent - MU[assisted] / 2)), 0, 100))


def _read(
    session: ReadingSession, case: Case, *, assisted: bool, phase: Phase | None, now: datetime
) -> None:
    name = session.reader.user.username
    score = _confidence(0 if name == "bob" else int(name.removeprefix("reader")), case, assisted)
    decision = Decision.MALIGNANT if score > 50 else Decision.BENIGN
    read_submit(session=session, case=case, decision=decision, confidence=score,
                nonce=uuid.uuid4(), active_ms=5000, actor=session.reader.user, phase=phase,
                now=now)  # fmt: skip


def _run(study: Study, readers: list[Reader]) -> None:
    rounds = list(Round.objects.filter(study=study).order_by("index"))
    now = timezone.now()
    for round in rounds:
        for reader in readers:
            session = session_start(reader=reader, round=round, now=now)
            for pk in session.permutation:
                case = Case.objects.get(pk=pk)
                if study.design == StudyDesign.SEQUENTIAL:
                    _read(session, case, assisted=False, phase=Phase.LOCKED, now=now)
                    control = pk in session.assignment["control"]
                    _read(session, case, assisted=not control, phase=Phase.FINAL, now=now)
                else:
                    assisted = (
                        pk in session.assignment["assisted"]
                        if study.design == StudyDesign.CROSSOVER
                        else round.assisted
                    )
                    _read(session, case, assisted=assisted, phase=None, now=now)
        now += timedelta(days=study.washout_days + 1)


@pytest.mark.parametrize(
    "design", [StudyDesign.INDEPENDENT_ROUNDS, StudyDesign.CROSSOVER, StudyDesign.SEQUENTIAL]
)
def test_the_analysis_recovers_the_simulated_effect_within_its_ci(
    personas: Personas, design: str
) -> None:
    readers = design_study(personas, design=design, cases=80, readers=4,
                           bias_control_fraction=0.1)  # fmt: skip
    study = personas.study
    _run(study, readers)
    reads = Read.objects.filter(session__round__study=study)
    assert reads.count() == 80 * 4 * 2
    payload = payload_compute(study=study)
    rrrc = payload["mrmc"]["delong"]["rrrc"]
    low, high = rrrc["ci"]
    print(f"{design}: true ΔAUC {TRUE_DELTA:.3f}, RRRC {rrrc['diff']:.3f} [{low:.3f}, {high:.3f}]")
    assert low <= TRUE_DELTA <= high, (design, rrrc["diff"], rrrc["ci"])
    assert low > 0, "the effect is detected"
    modalities = payload["mrmc"]["delong"]["modalities"]
    if design == StudyDesign.CROSSOVER:
        assert modalities == ["condition 1: unassisted", "condition 2: assisted"]
        # Each case's two reads come from the reader's two sessions.
        sessions = reads.values("session__reader", "case").distinct().count()
        assert sessions == 80 * 4
        assert reads.values("session").distinct().count() == 4 * 2
    if design == StudyDesign.SEQUENTIAL:
        assert modalities == ["step 1: unassisted (locked)", "step 2: final (assisted)"]
        control = [row for row in payload["bias_control"] if row["bias_control"]]
        assert {row["reader"] for row in control} == {r.user.username for r in readers}
        assert all(row["cases"] == 8 for row in control)
        # The simulated reader re-reads a control case without the AI exactly as before the
        # lock; with the AI, answers move. Reported apart, per reader.
        assert all(r["mean_confidence_change"] == 0 and r["decisions_changed"] == 0
                   for r in control)  # fmt: skip
        aided = [row for row in payload["bias_control"] if not row["bias_control"]]
        assert all(r["decisions_changed"] > 0 for r in aided)
    assert payload["randomisation"]["design"] == design
