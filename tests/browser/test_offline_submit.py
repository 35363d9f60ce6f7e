"""A submit that does not get through (the browser offline, the answer lost on the way back, the
server's database connection dropped) is retried by the reading screen itself with the same
nonce: one read is stored and the screen moves on to the next case."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import close_old_connections, connection

from readerstudy.reading.labels import case_for_label
from readerstudy.reading.models import Read, ReadingSession
from tests.browser.conftest import case_label, login, shot
from tests.conftest import Personas
from tests.dbfaults import NEEDS_POSTGRESQL, read_submit_drops_connection_once
from tests.reading.test_api import reading_study_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def study(personas_tx: Personas) -> Iterator[Personas]:
    yield reading_study_create(personas_tx)
    close_old_connections()


def _first_case_answered(page: Any, base: str) -> tuple[str, list[str]]:
    """Bob on his first case with an answer given; the nonces of every submit the page sends."""
    login(page, base, "bob")
    page.goto(f"{base}/reading/")
    page.click("button.start")
    page.wait_for_url("**/reading/sessions/*/")
    first = case_label(page)
    page.keyboard.press("m")
    page.keyboard.press("ArrowUp")
    nonces: list[str] = []
    page.on(
        "request",
        lambda request: (
            nonces.append(json.loads(request.post_data)["nonce"])
            if request.method == "POST" and request.url.endswith("/reads/")
            else None
        ),
    )
    return first, nonces


def _assert_stored_once_and_moved_on(
    page: Any, study: Personas, first: str, nonces: list[str], name: str
) -> None:
    page.wait_for_function(
        f"() => document.getElementById('case-label').textContent !== '{first}'", timeout=20_000
    )
    assert "2 of 4" in str(page.text_content("#progress-text"))
    assert not page.is_visible("#answer-error")
    shot(page, f"{name}-moved-on")
    assert len(nonces) >= 2, "the page did not send the answer again"
    assert len(set(nonces)) == 1, "a retry must reuse the nonce"
    session = ReadingSession.objects.get(reader=study.bob, round__index=1)
    case = case_for_label(seed=session.seed, case_ids=session.permutation, label=first)
    assert case is not None
    reads = Read.objects.filter(session=session, case_id=case)
    assert reads.count() == 1
    assert str(reads.get().nonce) == nonces[0]
    assert Read.objects.filter(session__reader=study.bob).count() == 1


def test_a_submit_sent_while_offline_is_retried_once_back_online(
    study: Personas, page: Any, live_server: Any
) -> None:
    first, nonces = _first_case_answered(page, live_server.url)
    page.context.set_offline(True)
    with page.expect_event("requestfailed", lambda request: request.url.endswith("/reads/")):
        page.keyboard.press("Enter")
    shot(page, "offline-submit-failed")
    assert not Read.objects.exists()
    page.context.set_offline(False)
    _assert_stored_once_and_moved_on(page, study, first, nonces, "offline")


def test_a_submit_whose_answer_is_lost_is_retried_into_the_stored_read(
    study: Personas, page: Any, live_server: Any
) -> None:
    first, nonces = _first_case_answered(page, live_server.url)
    lost: list[int] = []

    def lose_the_first_answer(route: Any) -> None:
        if lost:
            route.continue_()
            return
        lost.append(route.fetch().status)  # the server gets the request and stores the read…
        route.abort("connectionreset")  # …but the browser never hears back

    page.route("**/reads/", lose_the_first_answer)
    page.keyboard.press("Enter")
    _assert_stored_once_and_moved_on(page, study, first, nonces, "answer-lost")
    assert lost == [201]


@pytest.mark.skipif(connection.vendor != "postgresql", reason=NEEDS_POSTGRESQL)
def test_a_submit_that_loses_the_database_connection_is_retried_by_the_page(
    study: Personas, page: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, nonces = _first_case_answered(page, live_server.url)
    statuses: list[int] = []
    page.on(
        "response",
        lambda response: (
            statuses.append(response.status) if response.url.endswith("/reads/") else None
        ),
    )
    # The live server's request thread kills its own connection inside the submit transaction.
    killed = read_submit_drops_connection_once(monkeypatch, after_commit=False)
    page.keyboard.press("Enter")
    _assert_stored_once_and_moved_on(page, study, first, nonces, "database-dropped")
    assert len(killed) == 1
    assert statuses[0] == 503
    assert statuses[-1] == 201
