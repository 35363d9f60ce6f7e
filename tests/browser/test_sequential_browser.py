"""A sequential read in the browser: the reader's own read without the AI, locked, then the AI's
output and the final read; a bias-control case stays without the AI after the lock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fixtures.phantom import generate_phantom_study
from readerstudy.reading.designs import study_rounds_create
from readerstudy.reading.models import Phase, Read, Round
from readerstudy.reading.services import round_open
from readerstudy.studies.importing import cases_import
from readerstudy.studies.models import Cohort, StaffRole, StudyDesign, StudyMembership
from tests.browser.conftest import ai_outputs_create, case_label, login, shot
from tests.conftest import Personas

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _study(p: Personas, tmp_path: Path, *, bias_control: float) -> None:
    folder = tmp_path / "phantoms"
    generate_phantom_study(cases=2, seed=5, out=folder, fmt="dicom")
    p.study.reading_cohorts = list(Cohort.values)
    p.study.design = StudyDesign.SEQUENTIAL
    p.study.bias_control_fraction = bias_control
    p.study.save()
    cases_import(study=p.study, path=folder, actor=None)
    ai_outputs_create(p.study)
    StudyMembership.objects.get_or_create(study=p.study, user=p.alice, role=StaffRole.COORDINATOR)
    study_rounds_create(study=p.study)
    round_open(round=Round.objects.get(study=p.study, index=1), actor=p.alice)


def _start(page: Any, base: str) -> None:
    login(page, base, "bob")
    page.click("text=Go to my reading")
    page.click("button.start")
    page.wait_for_url("**/reading/sessions/*/")


def _answer(page: Any, key: str, presses: int) -> None:
    page.keyboard.press(key)
    for _ in range(presses):
        page.keyboard.press("ArrowUp" if key == "m" else "ArrowDown")
    page.keyboard.press("Enter")


def test_the_reader_locks_a_read_then_sees_the_ai_and_gives_the_final_read(
    personas_tx: Personas, page: Any, live_server: Any, tmp_path: Path
) -> None:
    _study(personas_tx, tmp_path, bias_control=0.0)
    _start(page, live_server.url)
    first = case_label(page)
    assert "Step 1 of 2" in page.inner_text("#sequential-note")
    assert not page.locator("#ai-panel").is_visible()
    assert "Lock my read" in page.inner_text("#submit")
    shot(page, "sequential-locked-step")

    _answer(page, "b", 3)  # benign, confidence 35
    page.wait_for_function(
        "() => document.getElementById('sequential-note').textContent.includes('Step 2')"
    )
    assert case_label(page) == first  # the same case, now with the AI
    assert page.locator("#ai-panel").is_visible()
    assert "Your locked read: benign, confidence 35" in page.inner_text("#sequential-note")
    assert "Submit final read" in page.inner_text("#submit")
    shot(page, "sequential-final-step")

    _answer(page, "m", 2)  # the final read, changed after seeing the AI
    page.wait_for_function(f"() => document.getElementById('case-label').textContent !== '{first}'")
    assert "Step 1 of 2" in page.inner_text("#sequential-note")
    reads = Read.objects.filter(session__reader=personas_tx.bob).order_by("submitted_at")
    assert [(r.phase, r.decision, r.assisted) for r in reads] == [
        (Phase.LOCKED, "benign", False),
        (Phase.FINAL, "malignant", True),
    ]


def test_a_bias_control_case_stays_without_the_ai_after_the_lock(
    personas_tx: Personas, page: Any, live_server: Any, tmp_path: Path
) -> None:
    _study(personas_tx, tmp_path, bias_control=0.99)  # every case a control case
    _start(page, live_server.url)
    case_label(page)
    _answer(page, "m", 2)
    page.wait_for_function(
        "() => document.getElementById('sequential-note').textContent.includes('Step 2')"
    )
    assert "stays without the AI" in page.inner_text("#sequential-note")
    assert not page.locator("#ai-panel").is_visible()
    assert page.evaluate("() => document.body.innerHTML").count("AI class") == 0
    assert "AI" not in page.inner_text(".vp-label")
    shot(page, "sequential-bias-control")
