"""Creating users in a role, reader profiles, and users' own API tokens."""

from __future__ import annotations

from django.db import transaction
from knox.models import AuthToken

from readerstudy.accounts.models import Reader, Role, Seniority, User
from readerstudy.accounts.roles import roles_ensure
from readerstudy.audit.services import audit_record
from readerstudy.errors import NotFound


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


@transaction.atomic
def token_create(*, user: User) -> tuple[AuthToken, str]:
    """A new API token for the user's own scripts; the secret is returned once, stored hashed."""
    token, secret = AuthToken.objects.create(user=user)
    audit_record(
        actor=user,
        action="token.created",
        data={
            "token_key": token.token_key,
            "expiry": token.expiry.isoformat() if token.expiry else None,
        },
    )
    return token, secret


@transaction.atomic
def token_revoke(*, user: User, token_key: str) -> None:
    """Revoke one of the user's own tokens; someone else's is not found, as a missing one."""
    token = AuthToken.objects.filter(user=user, token_key=token_key).first()
    if token is None:
        raise NotFound("No such token.")
    token.delete()
    audit_record(actor=user, action="token.revoked", data={"token_key": token_key})
