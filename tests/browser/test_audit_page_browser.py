"""A coordinator filters the study's audit log in the browser and downloads what it lists."""

from __future__ import annotations

from typing import Any

from readerstudy.audit.services import audit_record
from tests.browser.conftest import login, shot
from tests.conftest import Personas


def test_the_coordinator_filters_the_audit_log_and_downloads_the_rows(
    personas: Personas, page: Any, live_server: Any
) -> None:
    for i in range(4):
        audit_record(
            actor=personas.alice, action="test.opened", study=personas.study, data={"i": i}
        )
    audit_record(actor=personas.sam, action="test.closed", study=personas.study)
    base = live_server.url
    login(page, base, "alice")
    page.goto(f"{base}/studies/s/console/")
    page.click("text=Audit log")
    page.wait_for_url(f"{base}/studies/s/audit/")
    assert "hash chain holds" in page.inner_text("#chain-status")
    shot(page, "audit-log")

    page.select_option("#id_action", "test.closed")
    page.click("button:has-text('Filter')")
    page.wait_for_url("**action=test.closed**")
    rows = page.locator("#audit-events tbody tr")
    assert rows.count() == 1
    assert "sam" in rows.first.inner_text()
    shot(page, "audit-log-filtered")

    with page.expect_download() as download:
        page.click("text=Download these as CSV")
    lines = download.value.path().read_text().splitlines()
    assert len(lines) == 2  # the header and sam's event
    assert "test.closed" in lines[1]
