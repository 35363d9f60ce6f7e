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


def user_roles_set(*, user: User, roles: set[Role]) -> None:
    """Give `user` exactly these platform roles; groups other than the three roles are kept.

    Coordinators get admin access, as `user_create` gives it; losing the role takes it away.
    """
    groups = roles_ensure()
    user.groups.remove(*(groups[role] for role in Role if role not in roles))
    user.groups.add(*(groups[role] for role in roles))
    is_staff = Role.COORDINATOR in roles
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])


@transaction.atomic
def user_external_sync(
    *, username: str, email: str, roles: set[Role], first_name: str = "", last_name: str = ""
) -> tuple[User, bool]:
    """The user an identity provider vouched for, made or updated, with the roles it gives now.

    Such a user never has a local password: they sign in where their hospital decides.
    Returns (user, created).
    """
    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
    user.email = email
    user.first_name = first_name or user.first_name
    user.last_name = last_name or user.last_name
    user.save()
    user_roles_set(user=user, roles=roles)
    return user, created
