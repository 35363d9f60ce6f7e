"""The report page in Chromium at 1366×768: the second-pass blocks and the reporting pack render
under the strict CSP, and the flow diagram is drawn; screenshots kept in test-artifacts/browser/."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from analysis.web.report import report_charts, report_get
from readerstudy.accounts.models import Seniority
from readerstudy.reading.models import ReadingSession
from tests.analysis_adapter.conftest import study_build
from tests.browser.conftest import login, shot
from tests.conftest import Personas
from tests.factories import ReaderFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_report_shows_reliance_agreement_and_the_reporting_pack(
    personas: Personas, page: Any, live_server: Any
) -> None:
    others = [
        ReaderFactory.create(user=UserFactory.create(username=name), seniority=level)
        for name, level in (
            ("dora", Seniority.JUNIOR),
            ("eve", Seniority.JUNIOR),
            ("fay", Seniority.SENIOR),
        )
    ]
    built = study_build(
        study=personas.study,
        readers=[personas.bob, *others],
        with_model=True,
        faster_per_round=8,
    )
    # As the reading service leaves them: a permutation each, round 2 after a 29-day washout.
    cases = [c.pk for c in built.cases]
    day0 = timezone.now() - timedelta(days=40)
    for (index, r), session in built.sessions.items():
        start = day0 + timedelta(days=(29 + r) * (index - 1))
        ReadingSession.objects.filter(pk=session.pk).update(
            permutation=cases[r:] + cases[:r] if index == 1 else cases[::-1],
            started_at=start,
            completed_at=start + timedelta(hours=2),
        )
    # Computed before the page asks (statistics and charts take seconds on a shared machine).
    report_charts(report=report_get(study=built.study))
    base = live_server.url
    page.set_viewport_size({"width": 1366, "height": 768})
    login(page, base, "alice")
    page.goto(f"{base}/studies/{built.study.slug}/report/", timeout=60_000)
    page.wait_for_selector("h1")
    shot(page, "report-top-1366x768")
    for title in ("Reliance on the AI", "MRMC per seniority group", "Reading time per case"):
        heading = page.get_by_role("heading", name=title)
        heading.scroll_into_view_if_needed()
        assert heading.is_visible()
    page.get_by_role("heading", name="Reliance on the AI").scroll_into_view_if_needed()
    shot(page, "report-reliance-1366x768")
    flow = page.locator("figure.flow-diagram svg")
    flow.scroll_into_view_if_needed()
    box = flow.bounding_box()
    assert box is not None
    assert box["width"] > 300
    assert box["height"] > 200
    assert "Cases imported: 30" in flow.text_content()
    shot(page, "report-reporting-pack-1366x768")
    page.get_by_role("heading", name="Checklist").scroll_into_view_if_needed()
    shot(page, "report-checklist-1366x768")
