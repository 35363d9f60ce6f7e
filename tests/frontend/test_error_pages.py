"""Error pages in the site's layout with a way back (JSON under /api/), the logout
confirmation, the favicon."""

from __future__ import annotations

from django.test import Client, RequestFactory
from django.urls import reverse

from readerstudy.errors import csrf_failure, server_error
from tests.conftest import Personas


def _in_layout(html: str) -> bool:
    return 'class="topbar"' in html and 'href="/"' in html and "favicon.svg" in html


def test_404_is_a_page_with_a_way_back_and_json_under_the_api(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.bob.user)
    page = client.get("/no/such/page/")
    assert page.status_code == 404
    html = page.content.decode()
    assert _in_layout(html)
    assert "Back to my studies" in html
    api = client.get("/api/no-such-thing/")
    assert api.status_code == 404
    assert api.json() == {"message": "Not found.", "extra": {}}


def test_403_is_a_page_with_a_way_back(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.alice)
    page = client.get(reverse("reader-home"))  # for readers only
    assert page.status_code == 403
    assert _in_layout(page.content.decode())
    assert "Not allowed" in page.content.decode()


def test_a_refused_form_says_it_expired(personas: Personas) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.alice)
    page = client.post(reverse("study-close", args=[personas.study.slug]), {"confirm": "on"})
    assert page.status_code == 403
    assert "The form had expired" in page.content.decode()
    assert _in_layout(page.content.decode())
    personas.study.refresh_from_db()
    assert personas.study.status == "draft"
    api = csrf_failure(RequestFactory().post("/api/studies/"))
    assert api.status_code == 403
    assert b'"message"' in api.content


def test_500_is_a_page_without_the_request_context_and_json_under_the_api(db: None) -> None:
    page = server_error(RequestFactory().get("/studies/s/console/"))
    assert page.status_code == 500
    assert b"Something went wrong" in page.content
    assert b"Back to my studies" in page.content
    api = server_error(RequestFactory().get("/api/studies/"))
    assert api.status_code == 500
    assert b'"message"' in api.content


def test_logout_by_get_asks_and_by_post_signs_out(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.bob.user)
    page = client.get(reverse("logout"))
    assert page.status_code == 200
    assert "Log out?" in page.content.decode()
    assert client.get(reverse("home")).status_code == 200  # still signed in
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("home")).status_code == 302  # to the login page
