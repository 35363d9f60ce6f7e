"""A study's life from the console and the API: created with its design's rounds, edited while
nothing readers saw changes, draft → reading → closed, each step audited."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from readerstudy.audit.models import AuditEvent
from readerstudy.errors import Conflict, NotPermitted, RoundClosed
from readerstudy.reading.designs import DESIGNS, design_rounds
from readerstudy.reading.models import Decision, Round, RoundStatus
from readerstudy.reading.services import read_submit, round_open, session_start
from readerstudy.reading.study_setup import study_close, study_create, study_update
from readerstudy.studies.models import Cohort, StaffRole, Study, StudyDesign, StudyStatus
from tests.conftest import Personas
from tests.factories import CaseFactory, CaseImageFactory

NEW_STUDY = {
    "slug": "parotid-2",
    "title": "Parotid, second site",
    "description": "External validation.",
    "design": "independent_rounds",
    "washout_days": 30,
    "reading_cohorts": ["internal_test", "external_test"],
    "ai_threshold": 0.4,
    "collect_features": False,
    "allow_revisions": True,
}


def _client(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_every_design_choice_has_its_rounds() -> None:
    assert set(DESIGNS) == set(StudyDesign.values)
    rounds = design_rounds(StudyDesign.INDEPENDENT_ROUNDS)
    assert [(r.index, r.assisted) for r in rounds] == [(1, False), (2, True)]


def test_a_coordinator_creates_a_study_by_api_with_its_rounds_and_coordinates_it(
    personas: Personas,
) -> None:
    response = _client(personas.alice).post(
        reverse("api:study-list"), NEW_STUDY, content_type="application/json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["role"] == "coordinator"
    assert body["status"] == "draft"
    assert body["reading_cohorts"] == ["internal_test", "external_test"]
    study = Study.objects.get(slug="parotid-2")
    assert (study.washout_days, study.ai_threshold, study.collect_features) == (30, 0.4, False)
    assert list(study.rounds.order_by("index").values_list("index", "assisted", "status")) == [
        (1, False, "planned"),
        (2, True, "planned"),
    ]
    assert study.memberships.filter(user=personas.alice, role=StaffRole.COORDINATOR).exists()
    event = AuditEvent.objects.get(action="study.created", study=study)
    assert event.actor == personas.alice
    assert len(event.data["rounds"]) == 2


def test_the_create_operation_is_in_the_openapi_schema(personas: Personas) -> None:
    schema = _client(personas.alice).get(reverse("api:schema"), {"format": "json"}).json()
    operation = schema["paths"]["/api/studies/"]["post"]
    assert "201" in operation["responses"]
    assert "/api/studies/{slug}/members/" in schema["paths"]


@pytest.mark.parametrize("who", ["bob", "sam"])
def test_only_coordinators_create_studies(personas: Personas, who: str) -> None:
    user = personas.bob.user if who == "bob" else personas.sam
    response = _client(user).post(
        reverse("api:study-list"), NEW_STUDY, content_type="application/json"
    )
    assert response.status_code == 403
    assert not Study.objects.filter(slug="parotid-2").exists()


def test_bad_settings_are_refused_by_field_and_nothing_is_written(personas: Personas) -> None:
    client = _client(personas.alice)
    bad = {**NEW_STUDY, "reading_cohorts": ["test"], "ai_threshold": 1.5}
    response = client.post(reverse("api:study-list"), bad, content_type="application/json")
    assert response.status_code == 400
    assert {"reading_cohorts", "ai_threshold"} <= set(response.json()["extra"]["fields"])
    taken = {**NEW_STUDY, "slug": personas.study.slug}
    response = client.post(reverse("api:study-list"), taken, content_type="application/json")
    assert response.status_code == 400
    assert "slug" in response.json()["extra"]["fields"]
    assert Study.objects.count() == 2
    assert not AuditEvent.objects.filter(action="study.created")


def _reading_study(personas: Personas) -> tuple[Study, Round]:
    study = study_create(actor=personas.alice, slug="life", title="Life", washout_days=28)
    study.enrolments.create(reader=personas.bob)
    case = CaseFactory.create(study=study, cohort=Cohort.INTERNAL_TEST)
    CaseImageFactory.create(case=case)
    return study, study.rounds.get(index=1)


def _read_one(personas: Personas, round: Round) -> None:
    session = session_start(reader=personas.bob, round=round)
    read_submit(
        session=session,
        case=session.round.study.cases.get(),
        decision=Decision.BENIGN,
        confidence=20,
        nonce=uuid.uuid4(),
        active_ms=1000,
        actor=personas.bob.user,
    )


def test_what_readers_saw_is_frozen_after_the_first_read_with_the_reason(
    personas: Personas,
) -> None:
    study, round1 = _reading_study(personas)
    study_update(study=study, actor=personas.alice, ai_threshold=0.6)  # no read yet: fine
    round_open(round=round1, actor=personas.alice)
    _read_one(personas, round1)
    with pytest.raises(Conflict) as refused:
        study_update(
            study=study, actor=personas.alice, reading_cohorts=["train"], collect_features=False
        )
    fields = refused.value.extra["fields"]
    assert set(fields) == {"reading_cohorts", "collect_features"}
    assert "Frozen since the first read" in fields["reading_cohorts"][0]
    study.refresh_from_db()
    assert study.reading_cohorts == ["internal_test", "external_test"]
    # What readers never saw still changes, audited with its old value.
    study_update(study=study, actor=personas.alice, title="Life, renamed", washout_days=35)
    event = AuditEvent.objects.filter(action="study.updated").latest("sequence")
    assert event.data == {
        "before": {"title": "Life", "washout_days": 28},
        "after": {"title": "Life, renamed", "washout_days": 35},
    }


def test_status_goes_draft_reading_closed_and_a_closed_study_takes_no_reads(
    personas: Personas,
) -> None:
    study, round1 = _reading_study(personas)
    assert study.status == StudyStatus.DRAFT
    round_open(round=round1, actor=personas.alice)
    study.refresh_from_db()
    assert study.status == StudyStatus.READING
    with pytest.raises(NotPermitted):
        study_close(study=study, actor=personas.sam)  # the statistician may not close it
    study_close(study=study, actor=personas.alice)
    study.refresh_from_db()
    assert study.status == StudyStatus.CLOSED
    assert study.closed_at is not None
    assert Round.objects.get(pk=round1.pk).status == RoundStatus.CLOSED
    with pytest.raises(RoundClosed):
        _read_one(personas, round1)
    with pytest.raises(Conflict):
        round_open(round=study.rounds.get(index=2), actor=personas.alice)
    with pytest.raises(Conflict):
        study_update(study=study, actor=personas.alice, washout_days=10)
    changes = AuditEvent.objects.filter(action="study.status_changed", study=study)
    assert [(e.data["from"], e.data["to"]) for e in changes.order_by("sequence")] == [
        ("draft", "reading"),
        ("reading", "closed"),
    ]
    # The report and the exports stay.
    client = _client(personas.alice)
    assert client.get(reverse("analysis:report", args=[study.slug])).status_code == 200
    assert client.get(reverse("analysis:export", args=[study.slug, "reads"])).status_code == 200


def test_closing_by_api_answers_the_closed_study(personas: Personas) -> None:
    study, _ = _reading_study(personas)
    client = _client(personas.alice)
    response = client.post(reverse("api:study-close", args=[study.slug]))
    assert response.status_code == 200
    assert response.json()["status"] == "closed"
    again = client.post(reverse("api:study-close", args=[study.slug]))
    assert again.status_code == 409


def test_the_console_form_creates_a_study_and_shows_errors_next_to_their_fields(
    personas: Personas,
) -> None:
    client = _client(personas.alice)
    url = reverse("study-create")
    page = client.get(url).content.decode()
    assert 'type="checkbox" name="reading_cohorts" value="internal_test"' in page
    bad = {**NEW_STUDY, "reading_cohorts": [], "slug": "has space"}
    page = client.post(url, bad).content.decode()
    assert page.count('class="errorlist') >= 2
    assert not Study.objects.filter(title=bad["title"])
    response = client.post(url, {**NEW_STUDY, "collect_features": "", "allow_revisions": "on"})
    assert response.status_code == 302
    assert response["Location"] == reverse("study-console", args=["parotid-2"])
    study = Study.objects.get(slug="parotid-2")
    assert study.allow_revisions
    assert not study.collect_features
    console = client.get(response["Location"]).content.decode()
    assert "created with its rounds" in console
    assert "Open round 1" in console


def test_the_settings_form_disables_frozen_fields_after_a_read(personas: Personas) -> None:
    study, round1 = _reading_study(personas)
    round_open(round=round1, actor=personas.alice)
    _read_one(personas, round1)
    client = _client(personas.alice)
    url = reverse("study-settings", args=[study.slug])
    page = client.get(url).content.decode()
    assert "Frozen since the first read" in page
    response = client.post(
        url,
        {"title": "New title", "description": "", "washout_days": 40, "ai_threshold": 0.9,
         "reading_cohorts": ["train"]},
    )  # fmt: skip
    assert response.status_code == 302
    study.refresh_from_db()
    # The disabled fields kept their values whatever was posted.
    assert (study.title, study.washout_days, study.ai_threshold) == ("New title", 40, 0.5)
    assert study.reading_cohorts == ["internal_test", "external_test"]


def test_the_admin_offers_the_reading_cohorts_as_checkboxes(personas: Personas) -> None:
    page = _client(personas.alice).get(
        reverse("admin:studies_study_change", args=[personas.study.pk])
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert 'type="checkbox" name="reading_cohorts" value="internal_test"' in html
    assert 'name="design"' not in html  # the design brings the rounds: changed on the console
