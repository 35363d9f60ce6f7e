"""Each design end to end in the browser: the rounds the design derives, a reader reading them
in the reading screen with the AI exactly where the design says (and nothing of it elsewhere,
on the page or in any response), the second session refused during the washout and then,
through the coordinator's audited override, read in the other condition; every case read once
per condition. Independent rounds and crossover have two sessions with a washout between;
sequential reads both conditions in one session (the locked step, then the final read)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fixtures.phantom import generate_phantom_study
from readerstudy.reading.designs import study_rounds_create
from readerstudy.reading.labels import case_for_label
from readerstudy.reading.models import Phase, Read, ReadingSession, Round
from readerstudy.reading.services import round_open, washout_override_grant
from readerstudy.studies.importing import cases_import
from readerstudy.studies.models import Cohort, StaffRole, StudyDesign, StudyMembership
from tests.browser.conftest import ai_outputs_create, case_label, login, shot
from tests.browser.page_api import round_start_in_page
from tests.conftest import Personas

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CASES = 4
# What each design derives: (index, assisted) per round.
ROUNDS: dict[str, list[tuple[int, bool]]] = {
    StudyDesign.INDEPENDENT_ROUNDS: [(1, False), (2, True)],
    StudyDesign.CROSSOVER: [(1, True), (2, True)],
    StudyDesign.SEQUENTIAL: [(1, True)],
}
# The screen settled on a case in its condition: the view labels are written last.
SETTLED = """([assisted, hasPanel]) => {
  const labels = [...document.querySelectorAll('.vp-label')].map((l) => l.textContent).filter(Boolean);
  if (!labels.length) return false;
  const panel = document.getElementById('ai-panel');
  if (!assisted) return (!panel || panel.hidden) && !labels.some((text) => text.includes('AI'));
  return hasPanel && !panel.hidden && labels.some((text) => text.includes('AI, this view'));
}"""


def _study(p: Personas, tmp_path: Path, design: str) -> list[Round]:
    folder = tmp_path / "phantoms"
    generate_phantom_study(cases=CASES, seed=21, out=folder, fmt="jpeg")
    p.study.reading_cohorts = list(Cohort.values)
    p.study.design = design
    p.study.bias_control_fraction = 0.0
    p.study.save()
    cases_import(study=p.study, path=folder, actor=None)
    ai_outputs_create(p.study)
    StudyMembership.objects.get_or_create(study=p.study, user=p.alice, role=StaffRole.COORDINATOR)
    rounds = study_rounds_create(study=p.study)
    for round in rounds:
        round_open(round=round, actor=p.alice)
    return rounds


def _expected(session: ReadingSession, pk: int, step: str) -> bool:
    """Whether the design shows the AI for this case and step, worked out from the stored
    assignment (not from the code that builds the payload)."""
    design = session.round.study.design
    if design == StudyDesign.CROSSOVER:
        return pk in session.assignment["assisted"]
    if design == StudyDesign.SEQUENTIAL:
        return step == Phase.FINAL and pk not in session.assignment["control"]
    return session.round.index == 2


class Responses:
    """The reading API's answers as the page received them."""

    def __init__(self, page: Any) -> None:
        self.pending: list[Any] = []
        page.on("response", lambda r: self.pending.append(r) if "/sessions/" in r.url else None)

    def cases(self) -> list[tuple[dict[str, Any], str]]:
        found = []
        for response in self.pending:
            if "/api/reading/" not in response.url:
                continue
            text = response.text()
            body = json.loads(text)
            case = (body.get("next") or body).get("case") if isinstance(body, dict) else None
            if case:
                found.append((case, text))
        self.pending = []
        return found


def _read_session(page: Any, responses: Responses, session: ReadingSession, name: str) -> int:
    """Read the session on screen, checking every step's condition; return the steps read."""
    steps = 0
    while not page.locator("#done").is_visible():
        label = case_label(page)
        note = (
            page.inner_text("#sequential-note")
            if page.locator("#sequential-note").is_visible()
            else ""
        )
        step = (
            Phase.LOCKED if "Step 1" in note else Phase.FINAL if "Step 2" in note else Phase.SINGLE
        )
        pk = case_for_label(seed=session.seed, case_ids=session.permutation, label=label)
        assert pk is not None
        assisted = _expected(session, pk, step)
        page.wait_for_function(SETTLED, arg=[assisted, page.locator("#ai-panel").count() == 1])
        received = [(c, t) for c, t in responses.cases() if c["case"] == label]
        assert received, "the case's payload was not seen on the network"
        for case, text in received:
            assert case["assisted"] is assisted
            if not assisted:
                assert "ai" not in case
                assert "probability" not in text, f"the AI reached {label} read without it"
                assert "heatmap" not in text
        html = page.evaluate("() => document.body.innerHTML")
        if assisted:
            assert "80%" in page.inner_text("#ai-result")
        else:
            assert "80%" not in html
            assert "soft vote" not in html
        if steps < 2:
            shot(page, f"designs-{name}-{steps + 1}-{'ai' if assisted else 'no-ai'}")
        key = f"{label}|{note}"
        page.keyboard.press("b")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        steps += 1
        page.wait_for_function(
            """(key) => !document.getElementById('done').hidden
                || `${document.getElementById('case-label').textContent}|${
                     document.getElementById('sequential-note').hidden ? ''
                     : document.getElementById('sequential-note').innerText}` !== key""",
            arg=key,
        )
    # The last answer's response (the session complete: no case) is read before the page goes.
    page.wait_for_function("() => !document.getElementById('done').hidden")
    assert not [case for case, _ in responses.cases() if case["case"] != label]
    return steps


@pytest.mark.parametrize("design", list(ROUNDS))
def test_each_design_end_to_end_in_the_browser(
    design: str, personas_tx: Personas, page: Any, live_server: Any, tmp_path: Path
) -> None:
    rounds = _study(personas_tx, tmp_path, design)
    assert [(r.index, r.assisted) for r in rounds] == ROUNDS[design]
    page.set_viewport_size({"width": 1366, "height": 768})
    base = live_server.url
    responses = Responses(page)
    login(page, base, "bob")
    page.goto(f"{base}/reading/")
    assert page.locator("#rounds tbody tr").count() == len(rounds)
    page.click("tr[data-round='1'] button.start")
    page.wait_for_url("**/reading/sessions/*/")
    first = ReadingSession.objects.get(round=rounds[0])
    steps = _read_session(page, responses, first, f"{design}-1")
    assert steps == CASES * (2 if design == StudyDesign.SEQUENTIAL else 1)

    if len(rounds) == 2:
        page.click("#done >> text=Back to my reading")
        page.wait_for_url(f"{base}/reading/")
        assert "Opens for you on" in page.inner_text("tr[data-round='2']")
        refused = round_start_in_page(page, rounds[1].pk)
        assert refused["status"] == 409
        assert "opens for you on" in refused["body"]["message"]
        # The coordinator's audited override stands in for the month: a session the service
        # started "a month on" could not be read now (it would complete before it started).
        washout_override_grant(round=rounds[1], reader=personas_tx.bob, actor=personas_tx.alice,
                               reason="Browser test: the washout stands in for a month")  # fmt: skip
        page.reload()
        page.click("tr[data-round='2'] button.start")
        page.wait_for_url("**/reading/sessions/*/")
        second = ReadingSession.objects.get(round=rounds[1])
        _read_session(page, responses, second, f"{design}-2")

    # Every case read once without the AI and once with it (sequential: locked, then final).
    reads = Read.objects.filter(session__reader=personas_tx.bob)
    assert reads.count() == 2 * CASES
    for pk in first.permutation:
        assert sorted(r.assisted for r in reads.filter(case_id=pk)) == [False, True]
