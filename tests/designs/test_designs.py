"""Each design end to end through the services and the reader's API: rounds derived, washout
enforced, blocks balanced, one read per case and condition, the sequential lock, practice."""

from __future__ import annotations

import functools
import itertools
import operator
import uuid
from collections import Counter
from datetime import datetime, timedelta

import pytest
from django.db import DatabaseError, IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from readerstudy.accounts.models import Reader
from readerstudy.errors import PracticeRequired, WashoutNotOver
from readerstudy.reading.conditions import round_plan
from readerstudy.reading.crossover import crossover_arm, crossover_blocks
from readerstudy.reading.models import Decision, Phase, PracticeRead, Read, ReadingSession, Round
from readerstudy.reading.randomisation import randomisation_describe
from readerstudy.reading.sequential import bias_control_cases
from readerstudy.reading.services import read_submit, session_start
from readerstudy.studies.models import Case, StudyDesign
from tests.conftest import Personas
from tests.designs.world import design_study, study_cases
from tests.factories import CaseFactory
from tests.reading.test_api import login


def _submit(client: Client, session: int, label: str, **extra: object) -> dict:
    body = {"case": label, "decision": "benign", "confidence": 30, "nonce": str(uuid.uuid4()),
            "active_ms": 1000, **extra}  # fmt: skip
    response = client.post(f"/api/reading/sessions/{session}/reads/", body,
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 201, response.content
    return dict(response.json())


def _start(client: Client, round_pk: int) -> int:
    response = client.post(f"/api/reading/rounds/{round_pk}/start/")
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def _assert_blinded(case: dict) -> None:
    """Nothing of the AI in a payload read without it."""
    assert case["assisted"] is False
    assert "ai" not in case
    assert all("heatmap" not in image for image in case["images"])
    assert "0.91" not in str(case)
    assert "probability" not in str(case)


# --- crossover ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [f"{n:032x}" for n in (1, 2, 3, 2**127 + 5)])
def test_crossover_blocks_balance_every_truth_and_cohort_stratum(seed: str) -> None:
    cases = [(pk, pk % 3 == 0, ("internal_test", "external_test", "validation")[pk % 5 % 3])
             for pk in range(1, 58)]  # fmt: skip
    blocks = crossover_blocks(seed=seed, cases=cases)
    assert sorted(blocks) == [pk for pk, _, _ in cases]
    strata = Counter((truth, cohort, blocks[pk]) for pk, truth, cohort in cases)
    for truth, cohort in {(t, c) for _, t, c in cases}:
        assert abs(strata[(truth, cohort, 1)] - strata[(truth, cohort, 2)]) <= 1
    for truth in (True, False):
        by_block = Counter(blocks[pk] for pk, t, _ in cases if t == truth)
        assert abs(by_block[1] - by_block[2]) <= 1
    assert abs(Counter(blocks.values())[1] - Counter(blocks.values())[2]) <= 1
    assert crossover_blocks(seed=seed, cases=cases) == blocks  # reproduced from the seed
    assert crossover_blocks(seed=f"{int(seed, 16) + 1:032x}", cases=cases) != blocks


def test_crossover_arms_are_permuted_blocks_of_two() -> None:
    seed = "ab" * 16
    arms = [crossover_arm(seed=seed, rank=rank) for rank in range(20)]
    for pair in zip(arms[::2], arms[1::2], strict=True):
        assert sorted(pair) == ["A", "B"]
    assert len({tuple(crossover_arm(seed=f"{s:032x}", rank=r) for r in range(8))
                for s in range(10)}) > 1  # fmt: skip


def test_crossover_end_to_end_each_reader_reads_each_case_once_per_condition(
    personas: Personas,
) -> None:
    readers = design_study(personas, design=StudyDesign.CROSSOVER, cases=12, readers=4)
    study = personas.study
    assert [(p.index, p.assisted, p.washout_days_before) for p in round_plan(study=study)] == [
        (1, True, 0), (2, True, 28)]  # fmt: skip
    round_1, round_2 = Round.objects.filter(study=study).order_by("index")
    bob = login("bob")
    session = _start(bob, round_1.pk)
    seen = {True: 0, False: 0}
    while True:
        current = bob.get(f"/api/reading/sessions/{session}/current/").json()
        if current["complete"]:
            break
        case = current["case"]
        if case["assisted"]:
            assert case["ai"]["available"]
            assert all("heatmap" in i for i in case["images"])
        else:
            _assert_blinded(case)
        seen[case["assisted"]] += 1
        _submit(bob, session, case["case"])
    assert seen == {True: 6, False: 6}
    # The washout is enforced per reader before the second session.
    refused = bob.post(f"/api/reading/rounds/{round_2.pk}/start/")
    assert refused.status_code == 409
    assert "opens for you" in refused.json()["message"]
    completed = ReadingSession.objects.get(pk=session).completed_at
    assert completed is not None
    with pytest.raises(WashoutNotOver):
        session_start(reader=readers[0], round=round_2, now=completed + timedelta(days=27))
    later = completed + timedelta(days=29)
    session_start(reader=readers[0], round=round_2, now=later)
    for reader in readers[1:]:
        _read_all(reader, round_1, timezone.now())
    for reader in readers:
        _read_all(reader, round_2, later + timedelta(days=1))
    # Every reader read every case once assisted and once not, in two sessions.
    by_case = Counter(
        (r.session.reader_id, r.case_id, r.assisted, r.session.round.index)
        for r in Read.objects.select_related("session__round")
    )
    for reader, case in itertools.product(readers, study_cases(study)):
        conditions = [k for k in by_case if k[0] == reader.pk and k[1] == case.pk]
        assert sorted(c[2] for c in conditions) == [False, True]
        assert sorted(c[3] for c in conditions) == [1, 2]
    arms = Counter(s.assignment["arm"] for s in ReadingSession.objects.filter(round=round_1))
    assert arms == {"A": 2, "B": 2}
    described = randomisation_describe(study=study)
    assert described["design_seed"] == study.design_seed
    assert described["between_readers"]["1"]["identical_pairs"] == 0
    assert described["within_reader"]["pairs"] == 4
    assert described["within_reader"]["identical_pairs"] == 0
    assert sorted(functools.reduce(operator.iadd, described["arms"].values(), [])) == sorted(
        r.user.username for r in readers)  # fmt: skip
    per_block: Counter[tuple[str, str, int]] = Counter()
    for row in described["blocks"]:
        per_block[(row["truth"], row["cohort"], row["block"])] += row["cases"]
    for truth, cohort in {(k[0], k[1]) for k in per_block}:
        assert abs(per_block[(truth, cohort, 1)] - per_block[(truth, cohort, 2)]) <= 1


def _read_all(reader: Reader, round: Round, now: datetime) -> ReadingSession:
    session = session_start(reader=reader, round=round, now=now)
    for pk in session.permutation:
        case = Case.objects.get(pk=pk)
        if Read.objects.filter(session=session, case=case).exists():
            continue
        phases = (
            [Phase.LOCKED, Phase.FINAL] if round.study.design == StudyDesign.SEQUENTIAL else [None]
        )
        for phase in phases:
            read_submit(session=session, case=case, decision=Decision.BENIGN, confidence=40,
                        nonce=uuid.uuid4(), active_ms=500, actor=reader.user, phase=phase,
                        now=now)  # fmt: skip
    return session


# --- sequential --------------------------------------------------------------------------------


def test_bias_control_draws_the_fraction_from_the_session_seed() -> None:
    cases = list(range(100, 150))
    chosen = bias_control_cases(seed="12" * 16, cases=cases, fraction=0.2)
    assert len(chosen) == 10
    assert set(chosen) <= set(cases)
    assert bias_control_cases(seed="12" * 16, cases=cases, fraction=0.2) == chosen
    assert bias_control_cases(seed="13" * 16, cases=cases, fraction=0.2) != chosen
    assert bias_control_cases(seed="12" * 16, cases=cases, fraction=0) == []


def test_sequential_lock_cannot_be_undone_and_bias_control_never_shows_the_ai(
    personas: Personas,
) -> None:
    design_study(personas, design=StudyDesign.SEQUENTIAL, cases=12, readers=1,
                 bias_control_fraction=0.25)  # fmt: skip
    study = personas.study
    (round_1,) = Round.objects.filter(study=study)
    bob = login("bob")
    session = _start(bob, round_1.pk)
    stored = ReadingSession.objects.get(pk=session)
    assert len(stored.assignment["control"]) == 3
    controls = 0
    while True:
        current = bob.get(f"/api/reading/sessions/{session}/current/").json()
        if current["complete"]:
            break
        case = current["case"]
        assert case["step"] == "locked"
        assert "bias_control" not in case
        _assert_blinded(case)
        after = _submit(bob, session, case["case"], phase="locked", confidence=22)["next"]["case"]
        assert after["case"] == case["case"]
        assert after["step"] == "final"
        assert after["locked_read"] == {"decision": "benign", "confidence": 22}
        # A second unassisted submit is refused: the locked read stays.
        again = bob.post(f"/api/reading/sessions/{session}/reads/", {
            "case": case["case"], "decision": "malignant", "confidence": 90,
            "nonce": str(uuid.uuid4()), "active_ms": 10, "phase": "locked"},
            content_type="application/json")  # fmt: skip
        assert again.status_code == 409
        assert "locked" in again.json()["message"]
        if after["bias_control"]:
            controls += 1
            _assert_blinded(after)
        else:
            assert after["assisted"]
            assert after["ai"]["probability"] == 0.91
            assert all("heatmap" in image for image in after["images"])
        _submit(bob, session, case["case"], phase="final", confidence=60)
    assert controls == 3
    reads = Read.objects.filter(session_id=session)
    assert reads.filter(phase=Phase.LOCKED, assisted=False).count() == 12
    assert reads.filter(phase=Phase.FINAL, assisted=True).count() == 9
    assert reads.filter(phase=Phase.FINAL, assisted=False).count() == 3
    for final in reads.filter(phase=Phase.FINAL):
        locked = reads.get(case=final.case, phase=Phase.LOCKED)
        assert final.started_at == locked.submitted_at <= final.submitted_at
    assert ReadingSession.objects.get(pk=session).completed_at is not None
    # The database itself refuses to change a locked read or to skip the lock.
    first_locked = reads.filter(phase=Phase.LOCKED).first()
    assert first_locked is not None
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        Read.objects.filter(pk=first_locked.pk).update(confidence=99)
    other = design_case_without_reads(personas)
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        Read.objects.create(session_id=session, case=other, decision="benign", confidence=1,
                            started_at=timezone.now(), submitted_at=timezone.now(),
                            active_ms=1, phase=Phase.FINAL, assisted=True)  # fmt: skip


def design_case_without_reads(p: Personas) -> Case:
    return CaseFactory.create(study=p.study, key="unread")


def test_a_non_sequential_session_refuses_steps_and_a_sequential_one_needs_them(
    personas: Personas,
) -> None:
    design_study(personas, design=StudyDesign.SEQUENTIAL, cases=4, readers=1)
    round_1 = Round.objects.get(study=personas.study)
    bob = login("bob")
    session = _start(bob, round_1.pk)
    label = bob.get(f"/api/reading/sessions/{session}/current/").json()["case"]["case"]
    body = {"case": label, "decision": "benign", "confidence": 30, "nonce": str(uuid.uuid4()),
            "active_ms": 1000}  # fmt: skip
    url = f"/api/reading/sessions/{session}/reads/"
    assert bob.post(url, body, content_type="application/json").status_code == 409
    final_first = {**body, "phase": "final"}
    assert bob.post(url, final_first, content_type="application/json").status_code == 409
    assert not Read.objects.exists()


# --- practice ----------------------------------------------------------------------------------


@pytest.mark.parametrize("assisted", [False, True])
def test_required_practice_comes_first_and_tells_the_pathology_after_each_answer(
    personas: Personas, assisted: bool
) -> None:
    readers = design_study(personas, design=StudyDesign.INDEPENDENT_ROUNDS, cases=4, readers=1, practice=3,
                           practice_required=True, practice_assisted=assisted)  # fmt: skip
    study = personas.study
    round_1 = Round.objects.get(study=study, index=1)
    bob = login("bob")
    refused = bob.post(f"/api/reading/rounds/{round_1.pk}/start/")
    assert refused.status_code == 409
    assert "practice" in refused.json()["message"]
    with pytest.raises(PracticeRequired):
        session_start(reader=readers[0], round=round_1)
    state = bob.post(f"/api/reading/studies/{study.slug}/practice/").json()
    assert state["total"] == 3
    assert state["assisted"] is assisted
    while not state["complete"]:
        case = state["case"]
        assert "pathology" not in str(case)
        assert "truth" not in str(case)
        if assisted:
            assert case["ai"]["available"]
        else:
            _assert_blinded(case)
        response = bob.post(
            f"/api/reading/practice/{state['id']}/reads/",
            {
                "case": case["case"],
                "decision": "malignant",
                "confidence": 70,
                "nonce": str(uuid.uuid4()),
                "active_ms": 900,
            },
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
        feedback = response.json()["feedback"]
        assert feedback["pathology"] in ("benign", "malignant")
        assert ("ai" in feedback) is assisted
        state = response.json()["next"]
    assert PracticeRead.objects.count() == 3
    assert not Read.objects.exists()
    session = _start(bob, round_1.pk)
    practice_cases = set(study.cases.filter(practice=True).values_list("pk", flat=True))
    assert not practice_cases & set(ReadingSession.objects.get(pk=session).permutation)
