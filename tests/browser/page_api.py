"""Calls to the API from inside a test's page: with the page's own session cookie and CSRF token,
as the reading screen's scripts make them."""

from __future__ import annotations

from typing import Any


def round_start_in_page(page: Any, round_pk: int) -> dict[str, Any]:
    """POST the round's start from the page; its status and JSON body."""
    return dict(
        page.evaluate(
            """async (url) => {
                const token = document.querySelector('[name=csrfmiddlewaretoken]').value;
                const r = await fetch(url, {method: 'POST', headers: {'X-CSRFToken': token}});
                return {status: r.status, body: await r.json()};
            }""",
            f"/api/reading/rounds/{round_pk}/start/",
        )
    )
