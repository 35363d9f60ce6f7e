"""The API docs page: Swagger UI from this site's own static files, nothing from a CDN."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.staticfiles import finders

from tests.analysis_adapter.conftest import client_for
from tests.conftest import Personas
from tests.frontend.test_links import page_parse

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


def test_the_api_docs_load_swagger_ui_from_our_static_files_only(personas: Personas) -> None:
    client = client_for("alice")
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"https?://", html), "the docs page names an outside URL"
    found = page_parse(html)
    assert found.blocked == []
    prefix = "/" + settings.STATIC_URL.lstrip("/")
    static = [url for url in found.assets if url.startswith(prefix)]
    assert len(static) >= 4  # the favicon, two stylesheets, two bundles
    for url in static:
        assert finders.find(url.removeprefix(prefix)), f"{url} is missing"
    # What is left is Swagger UI's start-up script, served apart from the page.
    (script,) = set(found.assets) - set(static)
    assert script.startswith("/api/docs/?")
    start_up = client.get(script)
    assert start_up.status_code == 200
    assert start_up["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in start_up.content.decode()
