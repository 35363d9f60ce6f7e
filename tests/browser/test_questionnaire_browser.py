"""The questionnaires after a session in the browser: the end-of-session screen and the reader's
home lead to the round's questionnaire while it waits; a missing answer is refused next to its
item with nothing stored; the answers are stored with their scores; then the link is gone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fixtures.phantom import generate_phantom_study
from readerstudy.questionnaires.models import QuestionnaireResponse
from readerstudy.questionnaires.services import round_questionnaires_set
from readerstudy.reading.designs import study_rounds_create
from readerstudy.reading.models import Round
from readerstudy.reading.services import round_open
from readerstudy.studies.importing import cases_import
from readerstudy.studies.models import Cohort, StaffRole, StudyMembership
from tests.browser.conftest import benign_and_next, case_label, login, shot
from tests.conftest import Personas

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Odd SUS items (the positive ones) answered 4, even ones 2: each item contributes 3, so the
# standard score is 10 × 3 × 2.5 = 75.
SUS_ANSWERS = {f"q{i}": 4 if i % 2 else 2 for i in range(1, 11)}
TLX_ANSWERS = {"mental": 55, "physical": 5, "temporal": 40, "performance": 25, "effort": 60,
               "frustration": 15}  # fmt: skip


def _study(p: Personas, tmp_path: Path) -> Round:
    folder = tmp_path / "phantoms"
    generate_phantom_study(cases=2, seed=3, out=folder, fmt="jpeg")
    p.study.reading_cohorts = list(Cohort.values)
    p.study.save()
    cases_import(study=p.study, path=folder, actor=None)
    StudyMembership.objects.get_or_create(study=p.study, user=p.alice, role=StaffRole.COORDINATOR)
    study_rounds_create(study=p.study)
    round_1 = Round.objects.get(study=p.study, index=1)
    round_questionnaires_set(
        round=round_1, instruments=[{"instrument": "sus"}, {"instrument": "nasa_tlx"}],
        actor=p.alice,
    )  # fmt: skip
    round_open(round=round_1, actor=p.alice)
    return round_1


def _fill(page: Any, *, skip: str = "") -> None:
    for key, value in SUS_ANSWERS.items():
        if key != skip:
            page.check(f"input[name='sus-{key}'][value='{value}']")
    for key, value in TLX_ANSWERS.items():
        page.fill(f"input[name='nasa_tlx-{key}']", str(value))


def test_after_a_session_the_reader_answers_sus_and_nasa_tlx_and_the_scores_are_stored(
    personas_tx: Personas, page: Any, live_server: Any, tmp_path: Path
) -> None:
    _study(personas_tx, tmp_path)
    page.set_viewport_size({"width": 1366, "height": 768})
    base = live_server.url
    login(page, base, "bob")
    page.goto(f"{base}/reading/")
    page.click("tr[data-round='1'] button.start")
    page.wait_for_url("**/reading/sessions/*/")
    case_label(page)
    benign_and_next(page)
    page.keyboard.press("m")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    page.locator("#done").wait_for(state="visible")
    link = page.locator("#questionnaire-link")
    assert link.is_visible()
    assert "asks a short questionnaire" in page.inner_text("#done")
    shot(page, "questionnaire-session-done")

    page.click("#done >> text=Back to my reading")
    page.wait_for_url(f"{base}/reading/")
    row = page.locator("tr[data-round='1']")
    assert "complete" in row.inner_text()
    row.locator("a.questionnaire").click()
    page.wait_for_url("**/questionnaire/")
    assert "System Usability Scale" in page.inner_text("main")
    assert "NASA Task Load Index" in page.inner_text("main")
    shot(page, "questionnaire-form")

    # One SUS item left out: the browser holds the form at that item; nothing is stored. (The
    # server's own refusal of a missing answer is tested in tests/designs/test_questionnaires.)
    _fill(page, skip="q7")
    page.click("form.questionnaire button[type=submit]")
    missing = page.locator("input[name='sus-q7']").first
    assert missing.evaluate("(input) => input.validity.valueMissing")
    assert page.evaluate("() => document.activeElement.name") == "sus-q7"
    assert not QuestionnaireResponse.objects.exists()
    shot(page, "questionnaire-missing-answer")

    _fill(page)
    page.click("form.questionnaire button[type=submit]")
    page.wait_for_selector("text=nothing more to answer")
    scores = {r.instrument: r.scores for r in QuestionnaireResponse.objects.all()}
    assert scores["sus"] == {"score": 75.0}
    assert scores["nasa_tlx"]["score"] == pytest.approx(sum(TLX_ANSWERS.values()) / 6)
    assert {k: scores["nasa_tlx"][k] for k in TLX_ANSWERS} == TLX_ANSWERS
    answers = {r.instrument: r.answers for r in QuestionnaireResponse.objects.all()}
    assert answers == {"sus": SUS_ANSWERS, "nasa_tlx": TLX_ANSWERS}

    page.click("text=Back to my reading")
    page.wait_for_url(f"{base}/reading/")
    assert page.locator("tr[data-round='1'] a.questionnaire").count() == 0
    # The reading screen of the finished session no longer asks either.
    session = QuestionnaireResponse.objects.values_list("session_id", flat=True).first()
    page.goto(f"{base}/reading/sessions/{session}/")
    page.locator("#done").wait_for(state="visible")
    assert not page.locator("#questionnaire-link").is_visible()
