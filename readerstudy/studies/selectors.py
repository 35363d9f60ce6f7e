"""Who may see which study."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from readerstudy.accounts.models import User
from readerstudy.studies.models import StaffRole, Study


def study_list_visible(*, user: User) -> QuerySet[Study]:
    """Studies the user coordinates, analyses or reads; a superuser sees all."""
    if user.is_superuser:
        return Study.objects.all()
    return Study.objects.filter(
        Q(memberships__user=user) | Q(enrolments__reader__user=user)
    ).distinct()


def study_list_coordinated(*, user: User) -> QuerySet[Study]:
    if user.is_superuser:
        return Study.objects.all()
    return Study.objects.filter(
        memberships__user=user, memberships__role=StaffRole.COORDINATOR
    ).distinct()


def study_role_of(*, user: User, study: Study) -> str | None:
    """The user's role in the study: coordinator, statistician, reader or None."""
    if user.is_superuser:
        return StaffRole.COORDINATOR.value
    roles = set(study.memberships.filter(user=user).values_list("role", flat=True))
    for role in (StaffRole.COORDINATOR.value, StaffRole.STATISTICIAN.value):
        if role in roles:
            return role
    if study.enrolments.filter(reader__user=user).exists():
        return "reader"
    return None
