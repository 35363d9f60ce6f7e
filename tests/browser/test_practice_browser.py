"""The practice cases in the browser: a study that requires them shows them first on the
reader's home and refuses round 1 until they are done; the practice screen is the reading
screen, and after each answer it tells the pathology (and in assisted practice the AI's call)
before "Next case"; then round 1 starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fixtures.phantom import generate_phantom_study
from readerstudy.reading.designs import study_rounds_create
from readerstudy.reading.labels import case_for_label
from readerstudy.reading.models import PracticeRead, PracticeSession, Read, Round
from readerstudy.reading.services import round_open
from readerstudy.studies.importing import cases_import
from readerstudy.studies.models import Case, Cohort, StaffRole, StudyMembership
from tests.browser.conftest import ai_outputs_create, case_label, login, shot
from tests.browser.page_api import round_start_in_page
from tests.conftest import Personas

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORT = {"width": 1366, "height": 768}


def _study(p: Personas, tmp_path: Path, *, assisted: bool) -> list[int]:
    """Study S with four phantom cases, two of them its practice set (required), round 1 open."""
    folder = tmp_path / "phantoms"
    generate_phantom_study(cases=4, seed=11, out=folder, fmt="jpeg")
    p.study.reading_cohorts = list(Cohort.values)
    p.study.practice_required = True
    p.study.practice_assisted = assisted
    p.study.save()
    cases_import(study=p.study, path=folder, actor=None)
    practice = list(Case.objects.filter(study=p.study).order_by("pk").values_list("pk", flat=True))[
        :2
    ]
    Case.objects.filter(pk__in=practice).update(practice=True)
    ai_outputs_create(p.study)
    StudyMembership.objects.get_or_create(study=p.study, user=p.alice, role=StaffRole.COORDINATOR)
    study_rounds_create(study=p.study)
    round_open(round=Round.objects.get(study=p.study, index=1), actor=p.alice)
    return practice


def _truth(label: str) -> str:
    practice = PracticeSession.objects.get()
    pk = case_for_label(seed=practice.seed, case_ids=practice.permutation, label=label)
    assert pk is not None
    return "malignant" if Case.objects.get(pk=pk).truth_malignant else "benign"


def test_a_reader_does_the_required_practice_sees_the_truth_after_each_answer_then_reads(
    personas_tx: Personas, page: Any, live_server: Any, tmp_path: Path
) -> None:
    practice_cases = _study(personas_tx, tmp_path, assisted=True)
    page.set_viewport_size(VIEWPORT)
    base = live_server.url
    login(page, base, "bob")
    page.goto(f"{base}/reading/")
    practice_row = page.locator("#practice tr[data-study='s']")
    assert "Required before your first session" in practice_row.inner_text()
    assert "2 cases" in practice_row.inner_text()
    round_row = page.locator("#rounds tr[data-round='1']")
    assert "Waiting for your practice cases" in round_row.inner_text()
    assert round_row.locator("button.start").count() == 0
    shot(page, "practice-home-required")
    # The server refuses too, whatever the page shows.
    refused = round_start_in_page(page, Round.objects.get(study=personas_tx.study, index=1).pk)
    assert refused["status"] == 409
    assert "practice" in refused["body"]["message"]

    practice_row.locator("button.practice-start").click()
    page.wait_for_url("**/reading/practice/*/")
    assert "Practice" in page.inner_text(".reading-head")
    for number in range(2):
        label = case_label(page)
        assert page.locator("#ai-panel").is_visible()  # assisted practice: the AI with the case
        assert "80%" in page.inner_text("#ai-result")
        assert not page.locator("#practice-feedback").is_visible()
        page.keyboard.press("m")
        for _ in range(4):
            page.keyboard.press("ArrowUp")  # confidence 70
        page.keyboard.press("Enter")
        page.locator("#practice-feedback").wait_for(state="visible")
        truth = _truth(label)
        shown = page.inner_text("#practice-feedback")
        assert f"Pathology: {truth}." in shown
        assert "Your answer: malignant, confidence 70" in shown
        agrees = (
            "agrees with the pathology" if truth == "malignant" else "differs from the pathology"
        )
        assert agrees in shown
        assert "The AI: probability of malignancy 80%, class malignant" in shown
        assert case_label(page) == label  # the case stays on screen with its truth
        assert not page.locator("#submit").is_visible()
        page.keyboard.press("b")  # the answer is held: keys do not change it
        assert page.locator("input[name=decision][value=malignant]").is_checked()
        shot(page, f"practice-feedback-{number + 1}")
        assert PracticeRead.objects.count() == number + 1
        page.keyboard.press("Enter")  # "Next case" (the last: "Finish practice")
        if number == 0:
            page.wait_for_function(
                f"() => document.getElementById('case-label').textContent !== '{label}'"
            )
            assert not page.locator("#practice-feedback").is_visible()
            assert page.locator("#submit").is_visible()
    page.locator("#done").wait_for(state="visible")
    assert "Practice complete" in page.inner_text("#done")
    shot(page, "practice-complete")
    assert set(PracticeRead.objects.values_list("case_id", flat=True)) == set(practice_cases)
    assert PracticeSession.objects.get().completed_at is not None

    page.click("#done >> text=Back to my reading")
    page.wait_for_url(f"{base}/reading/")
    assert "complete" in page.locator("#practice tr[data-study='s']").inner_text()
    assert page.locator("#practice button.practice-start").count() == 0
    shot(page, "practice-home-done")
    page.click("#rounds tr[data-round='1'] button.start")
    page.wait_for_url("**/reading/sessions/*/")
    case_label(page)
    assert page.locator("#ai-panel").count() == 0  # round 1 of independent rounds: no AI
    assert page.inner_text("#progress-text") == "1 of 2"  # the two practice cases are not in it
    assert not Read.objects.exists()


def test_unassisted_practice_shows_the_pathology_and_nothing_of_the_ai(
    personas_tx: Personas, page: Any, live_server: Any, tmp_path: Path
) -> None:
    _study(personas_tx, tmp_path, assisted=False)
    page.set_viewport_size(VIEWPORT)
    login(page, live_server.url, "bob")
    page.goto(f"{live_server.url}/reading/")
    page.click("#practice button.practice-start")
    page.wait_for_url("**/reading/practice/*/")
    label = case_label(page)
    assert page.locator("#ai-panel").count() == 0
    page.keyboard.press("b")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.locator("#practice-feedback").wait_for(state="visible")
    assert f"Pathology: {_truth(label)}." in page.inner_text("#practice-feedback")
    assert "AI" not in page.inner_text("#practice-feedback")
    html = page.evaluate("() => document.body.innerHTML")
    assert "probability" not in html
    assert not any("AI" in text for text in page.locator(".vp-label").all_inner_texts())
    shot(page, "practice-unassisted-feedback")
