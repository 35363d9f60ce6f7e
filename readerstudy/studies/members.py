"""A study's people: invite by e-mail (a new account gets a set-password link, an existing one
is enrolled as it is), list, and remove before they have read. Every change is audited."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from readerstudy.accounts import access
from readerstudy.accounts.invitations import invitation_send
from readerstudy.accounts.models import Reader, Role, Seniority, User
from readerstudy.accounts.services import user_roles_set
from readerstudy.audit.services import audit_record
from readerstudy.errors import Conflict, NotFound
from readerstudy.studies.models import Enrolment, StaffRole, Study, StudyMembership


@dataclass(frozen=True)
class Member:
    """One person of a study and what they are in it."""

    user_id: int
    email: str
    name: str
    username: str
    roles: tuple[str, ...]
    seniority: str
    years_of_experience: int | None
    has_read: bool  # a reader with a session here: their reads stay, so they stay
    invitation_pending: bool  # has not set a password yet


@dataclass(frozen=True)
class Invitation:
    member: Member
    new_account: bool


def members_list(*, study: Study) -> list[Member]:
    """The study's coordinators, statisticians and readers, each person once."""
    users = (
        User.objects.filter(study_memberships__study=study)
        | User.objects.filter(reader__enrolments__study=study)
    ).distinct()
    return sorted(
        (_member(study=study, user=user) for user in users.select_related("reader")),
        key=lambda m: (m.roles[0] if m.roles else "", m.email or m.username),
    )


def _member(*, study: Study, user: User) -> Member:
    roles = list(
        StudyMembership.objects.filter(study=study, user=user)
        .order_by("role")
        .values_list("role", flat=True)
    )
    reader = Reader.objects.filter(user=user).first()
    enrolled = reader is not None and Enrolment.objects.filter(study=study, reader=reader).exists()
    if enrolled:
        roles.append(Role.READER.value)
    return Member(
        user_id=user.pk,
        email=user.email,
        name=user.get_full_name(),
        username=user.get_username(),
        roles=tuple(roles),
        seniority=reader.seniority if enrolled and reader else "",
        years_of_experience=reader.years_experience if enrolled and reader else None,
        has_read=Reader.objects.filter(
            user=user, enrolments__study=study, sessions__round__study=study
        ).exists(),
        invitation_pending=not user.has_usable_password() and user.last_login is None,
    )


def _split_name(name: str) -> tuple[str, str]:
    first, _, last = name.strip().partition(" ")
    return first[:150], last.strip()[:150]


@transaction.atomic
def member_invite(
    *,
    study: Study,
    actor: User,
    email: str,
    role: Role,
    name: str = "",
    seniority: Seniority | str = "",
    years_of_experience: int | None = None,
    base_url: str,
) -> Invitation:
    """Add a person to the study by e-mail address. Someone without an account gets one (no
    password) and a one-time link to set it; an existing user is enrolled as they are. A reader
    needs a seniority and years of experience unless they already have a reader profile."""
    access.study_require(user=actor, study=study)
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid e-mail address."}) from None
    user = (
        User.objects.filter(email__iexact=email).order_by("pk").first()
        or User.objects.filter(username__iexact=email).first()
    )
    new_account = user is None
    if user is None:
        first, last = _split_name(name)
        user = User(username=email, email=email, first_name=first, last_name=last)
        user.set_unusable_password()
        user.save()
    if role == Role.READER:
        _enrol_reader(
            study=study, user=user, seniority=seniority, years_of_experience=years_of_experience
        )
    else:
        if StudyMembership.objects.filter(study=study, user=user, role=role.value).exists():
            raise Conflict(
                f"{email} is already a {role.value} of this study.", extra={"email": email}
            )
        StudyMembership.objects.create(study=study, user=user, role=StaffRole(role.value))
    if not user.is_superuser:  # a superuser holds every role already
        user_roles_set(user=user, roles={r for r in Role if user.has_role(r)} | {role})
    audit_record(
        actor=actor,
        action="member.invited" if new_account else "member.enrolled",
        target=user,
        study=study,
        data={"email": email, "role": role.value, "new_account": new_account},
    )
    transaction.on_commit(
        lambda: invitation_send(
            user=user,
            study_title=study.title,
            role=role.label,
            inviter=actor,
            base_url=base_url,
            new_account=new_account,
        )
    )
    return Invitation(member=_member(study=study, user=user), new_account=new_account)


def _enrol_reader(
    *, study: Study, user: User, seniority: Seniority | str, years_of_experience: int | None
) -> None:
    reader = Reader.objects.filter(user=user).first()
    if reader is None:
        problems = {}
        if seniority not in Seniority.values:
            problems["seniority"] = "A reader's seniority: junior, intermediate or senior."
        if years_of_experience is None or not 0 <= years_of_experience <= 60:
            problems["years_of_experience"] = "A reader's years of experience, 0 to 60."
        if problems:
            raise ValidationError(problems)
        assert years_of_experience is not None
        reader = Reader.objects.create(
            user=user, seniority=seniority, years_experience=years_of_experience
        )
    if Enrolment.objects.filter(study=study, reader=reader).exists():
        raise Conflict(
            f"{user.email or user.get_username()} is already a reader of this study.",
            extra={"email": user.email},
        )
    Enrolment.objects.create(study=study, reader=reader)


@transaction.atomic
def member_remove(*, study: Study, actor: User, user_id: int) -> None:
    """Take a person out of the study. A reader who has started a session stays (their reads
    are part of the study); the last coordinator stays (someone must run it)."""
    access.study_require(user=actor, study=study)
    study = Study.objects.select_for_update().get(pk=study.pk)
    user = (
        User.objects.filter(pk=user_id, study_memberships__study=study)
        | User.objects.filter(pk=user_id, reader__enrolments__study=study)
    ).first()
    if user is None:
        raise NotFound("No such member of this study.", extra={"user": user_id})
    member = _member(study=study, user=user)
    if member.has_read:
        raise Conflict(
            f"{member.email or member.username} has started reading: their reads belong to the "
            "study, so they stay enrolled.",
            extra={"user": user_id},
        )
    coordinators = StudyMembership.objects.filter(study=study, role=StaffRole.COORDINATOR)
    if Role.COORDINATOR.value in member.roles and not coordinators.exclude(user=user).exists():
        raise Conflict("The study's last coordinator cannot be removed.", extra={"user": user_id})
    StudyMembership.objects.filter(study=study, user=user).delete()
    Enrolment.objects.filter(study=study, reader__user=user).delete()
    audit_record(
        actor=actor,
        action="member.removed",
        target=user,
        study=study,
        data={"email": user.email, "username": user.get_username(), "roles": list(member.roles)},
    )
