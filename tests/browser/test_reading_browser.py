"""A reader in a real browser: log in, read with keyboard and mouse, reload and resume, and see
the AI's heatmap only in the assisted round."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fixtures.phantom import generate_phantom_study
from readerstudy.reading.models import Decision, Read, Round
from readerstudy.reading.services import round_open, washout_override_grant
from readerstudy.studies.importing import cases_import
from readerstudy.studies.models import Cohort, StaffRole, StudyMembership
from tests.browser.conftest import ai_outputs_create, case_label, login, shot
from tests.conftest import Personas

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def study(personas_tx: Personas, tmp_path: Path) -> Personas:
    p = personas_tx
    folder = tmp_path / "phantoms"
    generate_phantom_study(cases=4, seed=21, out=folder, fmt="dicom")
    p.study.reading_cohorts = list(Cohort.values)
    p.study.save()
    cases_import(study=p.study, path=folder, actor=None)
    ai_outputs_create(p.study)
    StudyMembership.objects.get_or_create(study=p.study, user=p.alice, role=StaffRole.COORDINATOR)
    round_open(round=Round.objects.create(study=p.study, index=1, assisted=False), actor=p.alice)
    round_open(round=Round.objects.create(study=p.study, index=2, assisted=True), actor=p.alice)
    return p


def test_a_reader_reads_with_keyboard_and_mouse_resumes_after_reload_and_sees_no_ai(
    study: Personas, page: Any, live_server: Any
) -> None:
    base = live_server.url
    login(page, base, "bob")
    page.click("text=Go to my reading")
    page.click("button.start")
    page.wait_for_url("**/reading/sessions/*/")
    first = case_label(page)
    assert page.locator("#ai-panel").count() == 0
    assert page.locator("#heatmap-opacity").count() == 0
    shot(page, "round1-first-case")

    # Keyboard: M, then Enter without touching the slider is refused; ↑ sets it; Enter submits.
    page.keyboard.press("m")
    page.keyboard.press("Enter")
    assert "Set your confidence" in str(page.text_content("#answer-error"))
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => document.getElementById('case-label').textContent !== '{first}'")
    second = case_label(page)
    assert "2 of" in str(page.text_content("#progress-text"))

    # Mouse: click benign, set the slider, zoom and reset, submit.
    page.click("text=Benign")
    page.locator("#confidence").fill("15")
    page.keyboard.press("+")
    page.click("#reset")
    page.click("#submit")
    page.wait_for_function(
        f"() => document.getElementById('case-label').textContent !== '{second}'"
    )
    third = case_label(page)

    # Reload mid-case: the same case comes back, nothing was lost.
    page.keyboard.press("b")
    page.reload()
    assert case_label(page) == third
    assert "3 of" in str(page.text_content("#progress-text"))
    reads = Read.objects.filter(session__reader=study.bob).order_by("submitted_at")
    assert [(r.decision, r.confidence) for r in reads] == [("malignant", 55), ("benign", 15)]
    assert all(r.active_ms > 0 for r in reads)
    shot(page, "round1-after-reload")


def test_the_assisted_round_shows_the_labelled_ai_output_and_a_toggleable_heatmap(
    study: Personas, page: Any, live_server: Any
) -> None:
    washout_override_grant(
        round=study.study.rounds.get(index=2),
        reader=study.bob,
        actor=study.alice,
        reason="browser test",
    )
    # Round 1 is complete for Bob (the washout override only skips the waiting).
    import uuid

    from readerstudy.reading.services import read_submit, session_start

    session = session_start(reader=study.bob, round=study.study.rounds.get(index=1))
    for case in study.study.cases.all():
        read_submit(
            session=session,
            case=case,
            decision=Decision.BENIGN,
            confidence=10,
            nonce=uuid.uuid4(),
            active_ms=1,
            actor=study.bob.user,
        )
    base = live_server.url
    login(page, base, "bob")
    page.goto(f"{base}/reading/")
    page.click("button.start")
    page.wait_for_url("**/reading/sessions/*/")
    case_label(page)
    assert "AI model output" in str(page.text_content("#ai-panel"))
    assert "probability of malignancy 80%" in str(page.text_content("#ai-result"))
    page.wait_for_function("() => document.getElementById('show-heatmap').checked")
    shot(page, "round2-heatmap")
    page.keyboard.press("h")
    assert not page.is_checked("#show-heatmap")
    page.keyboard.press("h")
    assert page.is_checked("#show-heatmap")
