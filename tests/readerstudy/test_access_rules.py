"""The access module's rules, on their own: roles per study, scoping any queryset by its path to
the study, and 404 for what is not the user's."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from readerstudy.accounts import access
from readerstudy.accounts.access import ANALYSE, COORDINATE, TAKE_PART
from readerstudy.accounts.models import Role
from readerstudy.errors import NotFound, NotPermitted
from readerstudy.reading.models import Round
from readerstudy.studies.models import CaseImage, StaffRole, Study, StudyMembership
from tests.conftest import Personas
from tests.factories import CaseImageFactory, RoundFactory, UserFactory


def test_each_persona_holds_their_own_role_and_none_elsewhere(personas: Personas) -> None:
    s, t = personas.study, personas.other_study
    assert access.study_role(user=personas.alice, study=s) == Role.COORDINATOR
    assert access.study_role(user=personas.sam, study=s) == Role.STATISTICIAN
    assert access.study_role(user=personas.bob.user, study=s) == Role.READER
    assert access.study_role(user=personas.carol.user, study=s) is None
    assert access.study_role(user=personas.alice, study=t) is None
    assert access.study_role(user=AnonymousUser(), study=s) is None


def test_the_strongest_role_wins_when_a_user_holds_several(personas: Personas) -> None:
    StudyMembership.objects.create(
        study=personas.study, user=personas.bob.user, role=StaffRole.STATISTICIAN
    )
    assert access.study_role(user=personas.bob.user, study=personas.study) == Role.STATISTICIAN
    scoped = access.scoped(Study.objects, user=personas.bob.user, path="")
    assert list(scoped) == [personas.study]  # one row, not one per role


@pytest.mark.parametrize(
    ("who", "roles", "expected"),
    [
        ("alice", COORDINATE, {"s"}),
        ("alice", ANALYSE, {"s"}),
        ("sam", COORDINATE, set()),
        ("sam", ANALYSE, {"s"}),
        ("bob", ANALYSE, set()),
        ("bob", TAKE_PART, {"s"}),
        ("carol", TAKE_PART, {"t"}),
        ("stranger", TAKE_PART, set()),
        ("root", COORDINATE, {"s", "t"}),
    ],
)
def test_scoping_keeps_only_the_studies_where_the_user_holds_a_role(
    personas: Personas, who: str, roles: frozenset[Role], expected: set[str]
) -> None:
    users = {
        "alice": personas.alice,
        "sam": personas.sam,
        "bob": personas.bob.user,
        "carol": personas.carol.user,
        "stranger": UserFactory.create(),
        "root": UserFactory.create(is_superuser=True),
    }
    scoped = access.scoped(Study.objects, user=users[who], roles=roles, path="")
    assert {study.slug for study in scoped} == expected


def test_any_model_is_scoped_through_its_path_to_the_study(personas: Personas) -> None:
    mine = CaseImageFactory.create(case__study=personas.study)
    CaseImageFactory.create(case__study=personas.other_study)
    images = access.scoped(CaseImage.objects, user=personas.alice, path="case__study")
    assert list(images) == [mine]
    RoundFactory.create(study=personas.other_study, index=1)
    assert not access.scoped(Round.objects, user=personas.alice).exists()


def test_anonymous_users_are_scoped_to_nothing(personas: Personas) -> None:
    assert not access.scoped(Study.objects, user=AnonymousUser(), path="").exists()


def test_another_studys_object_is_not_found_like_a_missing_one(personas: Personas) -> None:
    theirs = RoundFactory.create(study=personas.other_study, index=1)
    with pytest.raises(NotFound) as other:
        access.get_or_404(Round.objects, user=personas.alice, what="round", pk=theirs.pk)
    with pytest.raises(NotFound) as missing:
        access.get_or_404(Round.objects, user=personas.alice, what="round", pk=theirs.pk + 999)
    assert other.value.message == missing.value.message == "No such round."


def test_services_refuse_a_member_without_the_role(personas: Personas) -> None:
    access.study_require(user=personas.alice, study=personas.study)
    with pytest.raises(NotPermitted, match="Only a coordinator"):
        access.study_require(user=personas.sam, study=personas.study)
    access.study_require(user=personas.sam, study=personas.study, roles=ANALYSE)


def test_reader_profiles_are_for_readers_only(personas: Personas) -> None:
    assert access.reader_for(personas.bob.user) == personas.bob
    assert access.reader_for(personas.alice) is None
    assert access.reader_for(AnonymousUser()) is None
    with pytest.raises(NotPermitted, match="Only readers"):
        access.reader_require(personas.alice)
    with pytest.raises(NotPermitted, match="Log in"):
        access.reader_require(AnonymousUser())
