"""The admin goes through the access rules: a coordinator of study S can neither see nor write
anything of study T through it, what readers saw is frozen once reading started, and every admin
change is audited. Each test is an attack an adversarial probe carried out before the fix."""

from __future__ import annotations

import pytest
from django.test import Client

from readerstudy.accounts.models import Reader
from readerstudy.audit.models import AuditEvent
from readerstudy.reading.models import Round, RoundStatus
from readerstudy.studies.models import Case, CaseImage, StaffRole, StudyMembership
from tests.conftest import PASSWORD, Personas
from tests.factories import (
    CaseFactory,
    CaseImageFactory,
    ReadingSessionFactory,
    RoundFactory,
    StudyFactory,
)


@pytest.fixture
def alice(personas: Personas) -> Client:
    client = Client()
    assert client.login(username="alice", password=PASSWORD)
    return client


def test_a_coordinator_cannot_take_over_another_studys_reader(
    personas: Personas, alice: Client
) -> None:
    carol = personas.carol
    url = f"/admin/accounts/reader/{carol.pk}/change/"
    assert alice.get(url).status_code in (302, 404)  # "does not exist", as for a missing reader
    alice.post(url, {"user": personas.alice.pk, "seniority": "senior", "years_experience": 9})
    carol.refresh_from_db()
    assert carol.user == personas.carol.user
    assert carol.seniority == "junior"
    listing = alice.get("/admin/accounts/reader/").content.decode()
    assert "carol" not in listing
    assert "bob" in listing


def test_a_readers_profile_never_moves_to_another_user(personas: Personas, alice: Client) -> None:
    bob = personas.bob
    response = alice.post(
        f"/admin/accounts/reader/{bob.pk}/change/",
        {"user": personas.alice.pk, "seniority": "intermediate", "years_experience": 15},
    )
    assert response.status_code == 302
    bob.refresh_from_db()
    assert bob.user.username == "bob"
    assert bob.seniority == "intermediate"  # the rest is still editable


def test_rounds_cannot_be_added_to_another_study_nor_opened_by_hand(
    personas: Personas, alice: Client
) -> None:
    response = alice.post(
        "/admin/reading/round/add/",
        {"study": personas.other_study.pk, "index": 3, "assisted": "on"},
    )
    assert response.status_code == 200  # the form again, with the error
    assert "Select a valid choice" in response.content.decode()
    assert not Round.objects.filter(study=personas.other_study).exists()
    alice.post(
        "/admin/reading/round/add/",
        {"study": personas.study.pk, "index": 3, "assisted": "on", "status": "open"},
    )
    added = Round.objects.get(study=personas.study, index=3)
    assert added.status == RoundStatus.PLANNED  # opening is the console's, with its checks


def test_dropdowns_and_filters_offer_only_the_coordinators_studies(
    personas: Personas, alice: Client
) -> None:
    RoundFactory.create(study=personas.other_study, index=1)
    RoundFactory.create(study=personas.study, index=1)
    second = StudyFactory.create(slug="u")
    StudyMembership.objects.create(study=second, user=personas.alice, role=StaffRole.COORDINATOR)
    RoundFactory.create(study=second, index=1)
    form = alice.get("/admin/reading/round/add/").context["adminform"].form
    assert set(form.fields["study"].queryset) == {personas.study, second}
    case_form = alice.get("/admin/studies/case/add/").context["adminform"].form
    assert set(case_form.fields["study"].queryset) == {personas.study, second}
    listing = alice.get("/admin/reading/round/")
    filters = [spec for spec in listing.context["cl"].filter_specs if spec.title == "study"]
    assert filters
    assert sorted(label for _pk, label in filters[0].lookup_choices) == ["s", "u"]


def test_cases_and_images_cannot_be_attached_to_another_study(
    personas: Personas, alice: Client
) -> None:
    theirs = CaseFactory.create(study=personas.other_study)
    alice.post(
        "/admin/studies/case/add/",
        {
            "study": personas.other_study.pk,
            "key": "intruder",
            "patient_pseudonym": "P1",
            "cohort": "internal_test",
            "images-TOTAL_FORMS": 0,
            "images-INITIAL_FORMS": 0,
        },
    )
    assert not Case.objects.filter(key="intruder").exists()
    image = CaseImageFactory.create(case__study=personas.study)
    alice.post(f"/admin/studies/caseimage/{image.pk}/change/", {"case": theirs.pk})
    image.refresh_from_db()
    assert image.case.study == personas.study


def test_a_round_readers_have_seen_keeps_its_assistance(personas: Personas, alice: Client) -> None:
    round1 = RoundFactory.create(study=personas.study, index=1, assisted=False)
    round1.status = RoundStatus.OPEN
    round1.save()
    ReadingSessionFactory.create(round=round1, reader=personas.bob)
    alice.post(
        f"/admin/reading/round/{round1.pk}/change/",
        {"study": personas.study.pk, "index": 1, "assisted": "on", "status": "open"},
    )
    round1.refresh_from_db()
    assert round1.assisted is False


def test_study_settings_readers_saw_are_frozen_once_reading_started(
    personas: Personas, alice: Client
) -> None:
    round1 = RoundFactory.create(study=personas.study, index=1)
    ReadingSessionFactory.create(round=round1, reader=personas.bob)
    form = alice.get(f"/admin/studies/study/{personas.study.pk}/change/").context["adminform"]
    readonly = set(form.readonly_fields)
    assert {"reading_cohorts", "collect_features", "ai_model", "ai_threshold"} <= readonly
    assert "title" not in readonly


def test_every_admin_change_is_audited_in_its_study(personas: Personas, alice: Client) -> None:
    case = CaseFactory.create(study=personas.study, histology="")
    response = alice.post(
        f"/admin/studies/case/{case.pk}/change/",
        {
            "study": personas.study.pk,
            "key": case.key,
            "cohort": case.cohort,
            "histology": "pleomorphic adenoma",
            "images-TOTAL_FORMS": 0,
            "images-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.get(action="admin.changed")
    assert event.study == personas.study
    assert event.actor == personas.alice
    assert event.target_id == str(case.pk)


def test_the_manifest_path_is_never_shown_in_the_admin(personas: Personas, alice: Client) -> None:
    image = CaseImageFactory.create(case__study=personas.study, source_name="images/NF123/a.dcm")
    page = alice.get(f"/admin/studies/caseimage/{image.pk}/change/").content.decode()
    assert "NF123" not in page
    assert CaseImage.objects.get(pk=image.pk).source_name == "images/NF123/a.dcm"
    assert Reader.objects.count() == 2
