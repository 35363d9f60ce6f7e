"""The pages around a study's life in a real browser, under the strict CSP: errors in the site's
layout with a way back, the logout confirmation, the settings form once reads exist, an
invitation link that no longer works. Screenshots at 1366×768 are kept as artefacts."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from readerstudy.reading.models import Decision
from readerstudy.reading.services import read_submit, round_open, session_start
from readerstudy.reading.study_setup import study_create
from readerstudy.studies.models import Cohort
from tests.browser.conftest import ARTIFACTS, login
from tests.conftest import Personas
from tests.factories import CaseFactory, CaseImageFactory


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"site-{name}.png"), full_page=True)


@pytest.fixture
def small(page: Any) -> Any:
    page.set_viewport_size({"width": 1366, "height": 768})
    return page


def test_error_pages_logout_and_a_dead_link_are_in_the_layout_with_a_way_back(
    personas_tx: Personas, small: Any, live_server: Any
) -> None:
    base = live_server.url
    page = small
    page.goto(f"{base}/accounts/invitation/MQ/not-a-token/")
    assert "This link does not work" in page.text_content("main")
    _shot(page, "invitation-dead")
    login(page, base, "alice")
    for path, name, text in (
        ("/no/such/page/", "404", "Page not found"),
        ("/reading/", "403", "Not allowed"),  # alice is not a reader
    ):
        response = page.goto(base + path)
        assert response.status == int(name)
        assert text in page.text_content("main")
        _shot(page, name)
        page.click("text=Back to my studies")
        page.wait_for_url(f"{base}/")
    page.goto(f"{base}/accounts/logout/")
    assert "Log out?" in page.text_content("main")
    _shot(page, "logout")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/accounts/login/")
    href = page.get_attribute("link[rel=icon]", "href")
    assert href is not None
    assert href.endswith("favicon.svg")
    assert page.request.get(base + href).ok


def test_the_settings_form_says_why_a_setting_is_frozen(
    personas_tx: Personas, small: Any, live_server: Any
) -> None:
    p = personas_tx
    study = study_create(actor=p.alice, slug="frozen", title="Frozen settings")
    study.enrolments.create(reader=p.bob)
    case = CaseFactory.create(study=study, cohort=Cohort.INTERNAL_TEST)
    CaseImageFactory.create(case=case)
    round1 = round_open(round=study.rounds.get(index=1), actor=p.alice)
    session = session_start(reader=p.bob, round=round1)
    read_submit(
        session=session, case=case, decision=Decision.BENIGN, confidence=10,
        nonce=uuid.uuid4(), active_ms=900, actor=p.bob.user,
    )  # fmt: skip
    login(small, live_server.url, "alice")
    small.goto(f"{live_server.url}/studies/frozen/settings/")
    assert small.is_disabled("#id_ai_threshold")
    assert not small.is_disabled("#id_washout_days")
    assert "Frozen since the first read" in small.text_content("main")
    _shot(small, "settings-frozen")
    small.fill("#id_washout_days", "400")
    small.click("text=Save settings")
    assert small.locator(".field .errorlist").count() == 1
    _shot(small, "settings-error")
    small.fill("#id_washout_days", "35")
    small.click("text=Save settings")
    small.wait_for_url(f"{live_server.url}/studies/frozen/console/")
    assert "Settings saved" in small.text_content(".messages")
    small.goto(f"{live_server.url}/")
    assert "Reading" in small.text_content("table.grid")
    _shot(small, "home-status")
