"""Questionnaires after a session: standard scoring, the coordinator's configuration, the
reader's page (a plain form), the `questionnaires` export and the report's summary."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from django.http import StreamingHttpResponse

from readerstudy.errors import Conflict
from readerstudy.questionnaires.instruments import (
    NASA_TLX,
    SUS,
    TRUST,
    InstrumentError,
    answers_clean,
    instrument_items,
    instrument_score,
    sus_score,
    tlx_raw,
)
from readerstudy.questionnaires.models import QuestionnaireResponse
from readerstudy.questionnaires.services import round_questionnaires_set
from readerstudy.reading.models import Round
from readerstudy.studies.models import StudyDesign
from tests.conftest import Personas
from tests.designs.world import design_study
from tests.reading.test_api import login


def _sus(*values: int) -> dict[str, int]:
    return {f"q{i}": v for i, v in enumerate(values, 1)}


def test_sus_scores_by_the_standard_formula() -> None:
    assert sus_score(_sus(*[3] * 10)) == 50.0
    assert sus_score(_sus(5, 1, 5, 1, 5, 1, 5, 1, 5, 1)) == 100.0
    assert sus_score(_sus(1, 5, 1, 5, 1, 5, 1, 5, 1, 5)) == 0.0
    # Brooke's worked shape: odd items x − 1, even items 5 − x, × 2.5.
    assert sus_score(_sus(4, 2, 4, 1, 4, 2, 5, 2, 4, 1)) == 2.5 * (
        3 + 3 + 3 + 4 + 3 + 3 + 4 + 3 + 3 + 4
    )


def test_nasa_tlx_raw_is_the_unweighted_mean_of_six_subscales() -> None:
    answers = {"mental": 70, "physical": 10, "temporal": 50, "performance": 30, "effort": 60,
               "frustration": 20}  # fmt: skip
    assert tlx_raw(answers)["raw_tlx"] == pytest.approx(40.0)
    items = instrument_items(NASA_TLX)
    with pytest.raises(InstrumentError, match="steps of 5"):
        answers_clean(items, {**answers, "mental": 72})
    with pytest.raises(InstrumentError, match="physical"):
        answers_clean(items, {k: v for k, v in answers.items() if k != "physical"})


def test_trust_items_reverse_keyed_score_low_plus_high_minus_answer() -> None:
    items = instrument_items(TRUST, [{"text": "Reliable", "reverse": False},
                                     {"text": "Wary of it", "reverse": True}])  # fmt: skip
    assert instrument_score(items, TRUST, {"q1": 7, "q2": 1}) == {"score": 7.0}
    assert instrument_score(items, TRUST, {"q1": 4, "q2": 6}) == {"score": 3.0}


def test_a_completed_session_leads_to_the_rounds_questionnaires_scored_and_exported(
    personas: Personas,
) -> None:
    alice = login("alice")
    design_study(personas, design=StudyDesign.INDEPENDENT_ROUNDS, cases=3, readers=1)
    round_1 = Round.objects.get(study=personas.study, index=1)
    response = alice.put(f"/api/rounds/{round_1.pk}/questionnaires/", {"questionnaires": [
        {"instrument": "sus"}, {"instrument": "nasa_tlx"},
        {"instrument": "trust", "items": [{"text": "=I trust it", "reverse": False},
                                          {"text": "I doubt it", "reverse": True}]}]},
        content_type="application/json")  # fmt: skip
    assert response.status_code == 200, response.content
    assert [q["instrument"] for q in response.json()] == ["sus", "nasa_tlx", "trust"]
    bob = login("bob")
    session = int(bob.post(f"/api/reading/rounds/{round_1.pk}/start/").json()["id"])
    page = f"/reading/sessions/{session}/questionnaire/"
    assert bob.get(page).status_code == 409  # not before the session is complete
    for _ in range(3):
        current = bob.get(f"/api/reading/sessions/{session}/current/").json()
        bob.post(
            f"/api/reading/sessions/{session}/reads/",
            {
                "case": current["case"]["case"],
                "decision": "benign",
                "confidence": 10,
                "nonce": str(uuid.uuid4()),
                "active_ms": 10,
            },
            content_type="application/json",
        )
    done = bob.get(f"/api/reading/sessions/{session}/current/").json()
    assert done["complete"]
    assert done["questionnaire"] == page
    form = bob.get(page)
    assert form.status_code == 200
    text = form.content.decode()
    assert "<script" not in text
    assert "System Usability Scale" in text
    assert "I doubt it" in text
    answers = {f"sus-q{i}": 4 if i % 2 else 2 for i in range(1, 11)}
    answers |= {f"nasa_tlx-{k}": 50 for k in ("mental", "physical", "temporal", "performance",
                                              "effort", "frustration")}  # fmt: skip
    incomplete = bob.post(page, {**answers})
    assert incomplete.status_code == 400
    assert not QuestionnaireResponse.objects.exists()
    answers |= {"trust-q1": 6, "trust-q2": 2}
    assert bob.post(page, answers).status_code == 200
    scores = {r.instrument: r.scores for r in QuestionnaireResponse.objects.all()}
    assert scores == {SUS: {"score": 75.0}, TRUST: {"score": 6.0},
                      NASA_TLX: {"score": 50.0, **dict.fromkeys(("mental", "physical", "temporal", "performance", "effort", "frustration"), 50.0)}}  # fmt: skip
    assert "questionnaire" not in bob.get(f"/api/reading/sessions/{session}/current/").json()
    with pytest.raises(Conflict):
        round_questionnaires_set(round=round_1, instruments=[{"instrument": "sus"}],
                                 actor=personas.alice)  # fmt: skip
    export = login("sam").get(f"/studies/{personas.study.slug}/exports/questionnaires.csv")
    assert isinstance(export, StreamingHttpResponse)
    text = b"".join(export.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 10 + 6 + 2
    trust = [r for r in rows if r["instrument"] == "trust"]
    assert trust[0]["item_text"] == "'=I trust it"
    assert trust[1]["reverse"] == "1"
    from readerstudy.questionnaires.selectors import questionnaire_summary

    summary = {(r["round"], r["seniority"], r["instrument"], r["score"]): r
               for r in questionnaire_summary(study=personas.study)}  # fmt: skip
    assert summary[(1, "senior", "sus", "score")]["mean"] == 75.0
    assert summary[(1, "all", "nasa_tlx", "mental")]["n"] == 1
    report = login("sam").get(f"/studies/{personas.study.slug}/report/").content.decode()
    assert "Questionnaires per round and seniority" in report
    assert "75.0" in report
    assert "Randomisation (independent_rounds)" in report


def test_the_coordinator_cannot_configure_unknown_or_repeated_instruments(
    personas: Personas,
) -> None:
    design_study(personas, design=StudyDesign.INDEPENDENT_ROUNDS, cases=1, readers=1)
    round_1 = Round.objects.get(study=personas.study, index=1)
    for bad in ([{"instrument": "sus"}, {"instrument": "sus"}],
                [{"instrument": "sus", "items": [{"text": "x"}]}]):  # fmt: skip
        with pytest.raises(Conflict):
            round_questionnaires_set(round=round_1, instruments=bad, actor=personas.alice)
    reader_try = login("bob").put(f"/api/rounds/{round_1.pk}/questionnaires/",
                                  {"questionnaires": []}, content_type="application/json")  # fmt: skip
    assert reader_try.status_code == 404
