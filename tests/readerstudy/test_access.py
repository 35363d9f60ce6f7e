"""Roles and per-study visibility: pages, admin and API."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from readerstudy.accounts.models import Role
from readerstudy.reading.models import Read
from tests.conftest import PASSWORD, Personas
from tests.factories import CaseFactory, ReadFactory, ReadingSessionFactory, RoundFactory


def _client(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def test_the_login_page_is_served_to_anonymous_visitors(client: Client, db: None) -> None:
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Log in" in response.content


def test_home_requires_login(client: Client, db: None) -> None:
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_each_person_sees_only_their_studies_on_home(personas: Personas) -> None:
    assert b"Study S" in _client("bob").get(reverse("home")).content
    carol_home = _client("carol").get(reverse("home")).content
    assert b"Study T" in carol_home
    assert b"Study S" not in carol_home


def test_carol_sees_nothing_of_study_s_through_the_api(personas: Personas) -> None:
    carol = _client("carol")
    assert [s["slug"] for s in carol.get("/api/studies/").json()] == ["t"]
    response = carol.get("/api/studies/s/")
    assert response.status_code == 404
    assert response.json() == {"message": "No such study.", "extra": {"slug": "s"}}


def test_the_api_reports_each_persons_role(personas: Personas) -> None:
    assert _client("alice").get("/api/studies/s/").json()["role"] == "coordinator"
    assert _client("sam").get("/api/studies/s/").json()["role"] == "statistician"
    assert _client("bob").get("/api/studies/s/").json()["role"] == "reader"


def test_the_api_refuses_anonymous_requests(client: Client, db: None) -> None:
    response = client.get("/api/studies/")
    assert response.status_code == 401  # "sign in", told apart from "not allowed" (403)
    assert response["WWW-Authenticate"].startswith("Session")
    assert set(response.json()) == {"message", "extra"}


def test_the_openapi_schema_and_its_browsable_ui_are_served(personas: Personas) -> None:
    alice = _client("alice")
    schema = alice.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/studies/" in schema.content
    assert alice.get("/api/docs/").status_code == 200


def test_coordinators_use_the_admin_and_readers_cannot(personas: Personas) -> None:
    assert personas.alice.has_role(Role.COORDINATOR)
    assert _client("alice").get("/admin/studies/study/").status_code == 200
    assert _client("bob").get("/admin/").status_code == 302  # to the admin login


def test_the_admin_shows_a_coordinator_only_their_studies(personas: Personas) -> None:
    page = _client("alice").get("/admin/studies/study/").content.decode()
    assert ">s<" in page
    assert ">t<" not in page


def test_reads_are_read_only_in_the_admin(personas: Personas) -> None:
    case = CaseFactory.create(study=personas.study)
    session = ReadingSessionFactory.create(
        reader=personas.bob, round=RoundFactory.create(study=personas.study)
    )
    read = ReadFactory.create(session=session, case=case)
    alice = _client("alice")
    assert alice.get(f"/admin/reading/read/{read.pk}/change/").status_code == 200
    response = alice.post(f"/admin/reading/read/{read.pk}/change/", {"confidence": 99})
    assert response.status_code == 403
    assert alice.get("/admin/reading/read/add/").status_code == 403
    assert alice.post(f"/admin/reading/read/{read.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Read.objects.get(pk=read.pk).confidence == read.confidence


def test_health_check_answers(client: Client, db: None) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert set(body["checks"]) == {"database", "broker", "cache", "storage"}
    assert body["checks"]["database"]["ok"] is True
    assert body["status"] == ("ok" if all(c["ok"] for c in body["checks"].values()) else "degraded")
