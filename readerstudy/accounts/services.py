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
