"""A crossover study in the browser: in session 1 the reader's arm reads one block with the AI
and the other without, and for the cases read without it nothing of the AI is on the page or
in any response; the second session is refused during the washout (then let through by the
coordinator's audited override), and every case comes in the other condition: each case read once per condition."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fixtures.phantom import generate_phantom_study
from readerstudy.reading.designs import study_rounds_create
from readerstudy.reading.labels import case_for_label
from readerstudy.reading.models import Read, ReadingSession, Round
from readerstudy.reading.services import round_open, washout_override_grant
from readerstudy.studies.importing import cases_import
from readerstudy.studies.models import Cohort, StaffRole, StudyDesign, StudyMembership
from tests.browser.conftest import ai_outputs_create, benign_and_next, case_label, login, shot
from tests.browser.page_api import round_start_in_page
from tests.conftest import Personas

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CASES = 4
SETTLED = """(assisted) => {
  const labels = [...document.querySelectorAll('.vp-label')].map((l) => l.textContent).filter(Boolean);
  const panel = document.getElementById('ai-panel');
  if (!labels.length) return false;
  return assisted
    ? !panel.hidden && labels.some((text) => text.includes('AI, this view'))
    : panel.hidden && !labels.some((text) => text.includes('AI'));
}"""


def _study(p: Personas, tmp_path: Path) -> tuple[Round, Round]:
    folder = tmp_path / "phantoms"
    generate_phantom_study(cases=CASES, seed=8, out=folder, fmt="jpeg")
    p.study.reading_cohorts = list(Cohort.values)
    p.study.design = StudyDesign.CROSSOVER
    p.study.save()
    cases_import(study=p.study, path=folder, actor=None)
    ai_outputs_create(p.study)
    StudyMembership.objects.get_or_create(study=p.study, user=p.alice, role=StaffRole.COORDINATOR)
    round_1, round_2 = study_rounds_create(study=p.study)
    for round in (round_1, round_2):
        round_open(round=round, actor=p.alice)
    return round_1, round_2


class Responses:
    """The reading API's answers as the page received them, checked case by case."""

    def __init__(self, page: Any) -> None:
        self.pending: list[Any] = []
        page.on("response", self._seen)

    def _seen(self, response: Any) -> None:
        if "/api/reading/sessions/" in response.url:
            self.pending.append(response)

    def cases(self) -> list[tuple[dict[str, Any], str]]:
        """(case payload, the whole response's text) of each response since the last call."""
        found = []
        for response in self.pending:
            text = response.text()
            body = json.loads(text)
            case = (body.get("next") or body).get("case") if isinstance(body, dict) else None
            if case:
                found.append((case, text))
        self.pending = []
        return found


def _read_session(
    page: Any, responses: Responses, session: ReadingSession, name: str
) -> dict[int, bool]:
    """Read every case of the session on screen; check each against its condition; return
    {case pk: read with the AI}."""
    conditions: dict[int, bool] = {}
    for number in range(CASES):
        label = case_label(page)
        pk = case_for_label(seed=session.seed, case_ids=session.permutation, label=label)
        assert pk is not None
        assisted = pk in session.assignment["assisted"]
        conditions[pk] = assisted
        # The screen settled on this case in its condition (the view labels come last).
        page.wait_for_function(SETTLED, arg=assisted)
        labels = page.locator(".vp-label").all_inner_texts()
        html = page.evaluate("() => document.body.innerHTML")
        received = [(case, text) for case, text in responses.cases() if case["case"] == label]
        assert received, "the case's payload was not seen on the network"
        for case, text in received:
            assert case["assisted"] is assisted
            if not assisted:
                assert "ai" not in case
                assert "probability" not in text, "the AI reached a case read without it"
                assert "heatmap" not in text
        if assisted:
            assert page.locator("#ai-panel").is_visible()
            assert "80%" in page.inner_text("#ai-result")
            assert any("AI, this view" in text for text in labels)
        else:
            assert page.locator("#ai-panel").is_hidden()
            assert not any("AI" in text for text in labels)
            # Not this case's AI output, nor the previous case's left behind in the hidden panel.
            assert "80%" not in html
            assert "soft vote" not in html
            assert "AI class" not in html
        shot(page, f"crossover-{name}-case-{number + 1}-{'ai' if assisted else 'no-ai'}")
        if number < CASES - 1:
            benign_and_next(page)
        else:
            page.keyboard.press("b")
            page.keyboard.press("ArrowDown")
            page.keyboard.press("Enter")
    page.locator("#done").wait_for(state="visible")
    # The last answer's response (the session complete: no case) is read before the page goes.
    assert not responses.cases()
    return conditions


def test_a_crossover_reader_reads_each_case_once_with_and_once_without_the_ai(
    personas_tx: Personas, page: Any, live_server: Any, tmp_path: Path
) -> None:
    round_1, round_2 = _study(personas_tx, tmp_path)
    page.set_viewport_size({"width": 1366, "height": 768})
    base = live_server.url
    responses = Responses(page)
    login(page, base, "bob")
    page.goto(f"{base}/reading/")
    assert "crossover" in page.inner_text("tr[data-round='1']")
    page.click("tr[data-round='1'] button.start")
    page.wait_for_url("**/reading/sessions/*/")
    first = ReadingSession.objects.get(round=round_1)
    assert first.assignment["arm"] in ("A", "B")
    session_1 = _read_session(page, responses, first, "session-1")
    assert sorted(session_1.values()) == [False, False, True, True]  # two blocks of two

    # Session 2 waits for the washout: on the page and at the server.
    page.click("#done >> text=Back to my reading")
    page.wait_for_url(f"{base}/reading/")
    assert "Opens for you on" in page.inner_text("tr[data-round='2']")
    refused = round_start_in_page(page, round_2.pk)
    assert refused["status"] == 409
    assert "opens for you on" in refused["body"]["message"]
    shot(page, "crossover-washout")
    assert not ReadingSession.objects.filter(round=round_2).exists()

    # The coordinator's audited override stands in for the month (a session started "a month
    # on" by the service could not be read now); the reader starts session 2 on the page.
    washout_override_grant(round=round_2, reader=personas_tx.bob, actor=personas_tx.alice,
                           reason="Browser test: the washout stands in for a month")  # fmt: skip
    page.reload()
    page.click("tr[data-round='2'] button.start")
    page.wait_for_url("**/reading/sessions/*/")
    second = ReadingSession.objects.get(round=round_2)
    assert second.assignment["arm"] == first.assignment["arm"]
    session_2 = _read_session(page, responses, second, "session-2")

    assert set(session_1) == set(session_2)
    assert all(session_2[pk] is not assisted for pk, assisted in session_1.items())
    reads = Read.objects.filter(session__reader=personas_tx.bob)
    assert reads.count() == 2 * CASES
    for pk in session_1:
        assert sorted(r.assisted for r in reads.filter(case_id=pk)) == [False, True]
