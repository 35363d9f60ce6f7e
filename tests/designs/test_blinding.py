"""The blinding walk for each design: nothing of the AI reaches a reader in an unassisted
condition — the unassisted half of a crossover session, the locked step of a sequential read,
its bias-control cases after the lock — nor the truth, identities or other readers' reads."""

from __future__ import annotations

import uuid

from django.test import Client

from readerstudy.reading.models import Round
from readerstudy.studies.models import StudyDesign
from tests.conftest import Personas
from tests.designs.world import design_study
from tests.reading.test_api import FORBIDDEN, _walk, login


def _walk_is_blind(client: Client, session: int) -> None:
    pages = _walk(client, ["/", "/reading/", f"/reading/sessions/{session}/",
                           "/api/reading/rounds/", f"/api/reading/sessions/{session}/current/"])  # fmt: skip
    assert any(url.startswith("/reading/files/") for url in pages), "the walk reached no image"
    screen = f"/reading/sessions/{session}/"
    for url, content in pages.items():
        text = content.decode("latin-1")
        for word in FORBIDDEN:
            # The schema names the fields; the reading screen of a round that shows the AI to
            # some cases has the (empty) AI panel: the case's payload decides what fills it.
            skeleton = url.startswith(("/static", "/api/schema")) or url == screen
            if word in ("probability", "heatmap") and skeleton:
                continue
            assert word not in text, f"{word!r} reached an unassisted reader at {url}"


def _current(client: Client, session: int) -> dict:
    return dict(client.get(f"/api/reading/sessions/{session}/current/").json()["case"])


def _post(client: Client, session: int, label: str, **extra: object) -> dict:
    response = client.post(
        f"/api/reading/sessions/{session}/reads/",
        {"case": label, "decision": "benign", "confidence": 30, "nonce": str(uuid.uuid4()),
         "active_ms": 500, **extra},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    return dict(response.json())


def _start(client: Client, study_pk: int) -> int:
    round_1 = Round.objects.get(study_id=study_pk, index=1)
    return int(client.post(f"/api/reading/rounds/{round_1.pk}/start/").json()["id"])


def test_the_unassisted_half_of_a_crossover_session_shows_nothing_of_the_ai(
    personas: Personas,
) -> None:
    design_study(personas, design=StudyDesign.CROSSOVER, cases=8, readers=2)
    bob = login("bob")
    session = _start(bob, personas.study.pk)
    walked = 0
    for _ in range(8):
        case = _current(bob, session)
        if not case["assisted"]:
            _walk_is_blind(bob, session)
            walked += 1
        _post(bob, session, case["case"])
    assert walked == 4


def test_the_locked_step_and_the_bias_control_cases_of_a_sequential_read_are_blind(
    personas: Personas,
) -> None:
    design_study(personas, design=StudyDesign.SEQUENTIAL, cases=6, readers=1,
                 bias_control_fraction=0.5)  # fmt: skip
    bob = login("bob")
    session = _start(bob, personas.study.pk)
    controls = 0
    for _ in range(6):
        case = _current(bob, session)
        _walk_is_blind(bob, session)  # the locked step
        after = _post(bob, session, case["case"], phase="locked")["next"]["case"]
        if after["bias_control"]:
            _walk_is_blind(bob, session)  # after the lock, still without the AI
            controls += 1
        else:
            assert "ai" in after
        _post(bob, session, case["case"], phase="final")
    assert controls == 3


def test_unassisted_practice_shows_neither_the_ai_nor_the_truth_before_the_answer(
    personas: Personas,
) -> None:
    design_study(personas, design=StudyDesign.INDEPENDENT_ROUNDS, cases=2, readers=1, practice=2)
    bob = login("bob")
    state = bob.post(f"/api/reading/studies/{personas.study.slug}/practice/").json()
    pages = _walk(bob, [f"/api/reading/practice/{state['id']}/current/"])
    for url, content in pages.items():
        for word in FORBIDDEN:
            assert word not in content.decode("latin-1"), f"{word!r} reached practice at {url}"
