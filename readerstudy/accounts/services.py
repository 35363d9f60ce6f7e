"""Creating users in a role, and reader profiles."""

from __future__ import annotations

from django.db import transaction

from readerstudy.accounts.models import Reader, Role, Seniority, User
from readerstudy.accounts.roles import roles_ensure


@transaction.atomic
def user_create(*, username: str, password: str, role: Role, email: str = "") -> User:
    """A user in one platform role; coordinators get admin access."""
    groups = roles_ensure()
    user = User.objects.create_user(username=username, password=password, email=email)
    user.is_staff = role == Role.COORDINATOR
    user.save(update_fields=["is_staff"])
    user.groups.add(groups[role])
    return user


@transaction.atomic
def reader_create(
    *, username: str, password: str, seniority: Seniority, years_experience: int
) -> Reader:
    user = user_create(username=username, password=password, role=Role.READER)
    return Reader.objects.create(user=user, seniority=seniority, years_experience=years_experience)
