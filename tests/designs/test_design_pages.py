"""The reader's pages for the designs, without a browser: the home shows the practice set and
holds round 1 back while required practice waits, the practice screen is the reading screen in
practice mode (its own reader's only), and the home links a finished session's questionnaire
until it is answered."""

from __future__ import annotations

import re
import uuid

from readerstudy.questionnaires.services import questionnaire_submit, round_questionnaires_set
from readerstudy.reading.models import Decision, Round
from readerstudy.reading.practice import practice_start, practice_submit
from readerstudy.studies.models import Case, StudyDesign
from tests.conftest import Personas
from tests.designs.test_designs import _read_all
from tests.designs.world import design_study
from tests.reading.test_api import login


def _row(html: str, attribute: str) -> str:
    found = re.search(rf"<tr {attribute}>(.*?)</tr>", html, re.S)
    assert found, attribute
    return found.group(1)


def test_required_practice_is_on_the_home_page_and_round_one_waits_for_it(
    personas: Personas,
) -> None:
    (bob,) = design_study(personas, design=StudyDesign.INDEPENDENT_ROUNDS, cases=2, readers=1,
                          practice=2, practice_required=True)  # fmt: skip
    client = login("bob")
    home = client.get("/reading/").content.decode()
    practice = _row(home, 'data-study="s"')
    assert "Required before your first session" in practice
    assert "Start practice" in practice
    assert "2 cases" in practice
    round_1 = _row(home, 'data-round="1"')
    assert "Waiting for your practice cases" in round_1
    assert "button" not in round_1

    session = practice_start(reader=bob, study=personas.study)
    screen = client.get(f"/reading/practice/{session.pk}/")
    assert screen.status_code == 200
    text = screen.content.decode()
    assert 'data-mode="practice"' in text
    assert f"/api/reading/practice/{session.pk}/reads/" in text
    assert 'id="ai-panel"' not in text  # unassisted practice
    assert 'id="comment"' not in text  # practice keeps the decision and confidence only
    assert "<script>" not in text  # modules only: the CSP holds
    # Another reader's practice, or none, answers as missing.
    assert login("carol").get(f"/reading/practice/{session.pk}/").status_code == 404

    assert "Resume practice" in _row(client.get("/reading/").content.decode(), 'data-study="s"')
    for pk in session.permutation:
        practice_submit(session=session, case=Case.objects.get(pk=pk), decision=Decision.BENIGN,
                        confidence=20, nonce=uuid.uuid4(), active_ms=100, actor=bob.user)  # fmt: skip
    home = client.get("/reading/").content.decode()
    assert "complete" in _row(home, 'data-study="s"')
    assert "practice-start" not in home
    assert "Start round 1" in _row(home, 'data-round="1"')


def test_a_study_without_practice_cases_shows_no_practice_unless_it_requires_it(
    personas: Personas,
) -> None:
    design_study(personas, design=StudyDesign.INDEPENDENT_ROUNDS, cases=2, readers=1)
    home = login("bob").get("/reading/").content.decode()
    assert 'id="practice"' not in home
    personas.study.practice_required = True
    personas.study.save()
    home = login("bob").get("/reading/").content.decode()
    assert "Waiting for the coordinator to add the practice cases" in home
    assert "Waiting for your practice cases" in _row(home, 'data-round="1"')
    # Carol reads another study: none of this reaches her home.
    assert "Study S" not in login("carol").get("/reading/").content.decode()


def test_the_home_links_a_finished_sessions_questionnaire_until_it_is_answered(
    personas: Personas,
) -> None:
    (bob,) = design_study(personas, design=StudyDesign.CROSSOVER, cases=2, readers=1)
    round_1 = Round.objects.get(study=personas.study, index=1)
    round_questionnaires_set(round=round_1, instruments=[{"instrument": "sus"}],
                             actor=personas.alice)  # fmt: skip
    client = login("bob")
    link = "/reading/sessions/{}/questionnaire/"
    session = _read_all(bob, round_1, personas.study.created_at)
    row = _row(client.get("/reading/").content.decode(), 'data-round="1"')
    assert "crossover: the AI on some cases" in row  # not "with AI assistance": half the cases
    assert link.format(session.pk) in row
    questionnaire_submit(session=session, answers={"sus": {f"q{i}": 3 for i in range(1, 11)}},
                         actor=bob.user)  # fmt: skip
    row = _row(client.get("/reading/").content.decode(), 'data-round="1"')
    assert link.format(session.pk) not in row
    assert "complete" in row
