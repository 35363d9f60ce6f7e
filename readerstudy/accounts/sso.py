"""Single sign-on: the hospital's OpenID provider says who someone is and which groups they are in;
the groups named in OIDC_ROLE_MAP give their platform role (never study rights, which stay with
memberships and enrolments)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from readerstudy.accounts.models import Role, User
from readerstudy.accounts.services import user_external_sync
from readerstudy.audit.services import audit_record

# Why the last single sign-on was refused, kept in the session for the page that explains it.
REFUSAL_SESSION_KEY = "sso_refusal"


def roles_from_groups(
    *, groups: Iterable[str], role_map: Mapping[str, tuple[str, ...]], fold_case: bool = False
) -> set[Role]:
    """The platform roles whose mapped groups include one of `groups`."""
    held = {group.lower() if fold_case else group for group in groups}
    return {
        Role(role)
        for role, mapped in role_map.items()
        if any((group.lower() if fold_case else group) in held for group in mapped)
    }


def sign_in_created_audit(*, user: User, roles: set[Role], source: str) -> None:
    """Record an account that a sign-in made (no person created it)."""
    audit_record(
        actor=None,
        action="account.created_by_sign_in",
        target=user,
        data={
            "username": user.username,
            "source": source,
            "roles": sorted(role.value for role in roles),
        },
    )


@transaction.atomic
def external_user_sync(
    *,
    username: str,
    email: str,
    roles: set[Role],
    source: str,
    first_name: str = "",
    last_name: str = "",
) -> User:
    """Make or update the user; a new account is audited with where it came from."""
    user, created = user_external_sync(
        username=username, email=email, roles=roles, first_name=first_name, last_name=last_name
    )
    if created:
        sign_in_created_audit(user=user, roles=roles, source=source)
    return user


class RoleMappedOIDCBackend(OIDCAuthenticationBackend):
    """Users by `preferred_username`; their roles set from the claim at every login."""

    def _claim_roles(self, claims: Mapping[str, Any]) -> set[Role]:
        groups = claims.get(settings.OIDC_ROLES_CLAIM) or []
        if isinstance(groups, str):
            groups = [groups]
        return roles_from_groups(groups=map(str, groups), role_map=settings.OIDC_ROLE_MAP)

    def verify_claims(self, claims: Mapping[str, Any]) -> bool:
        refusal = ""
        if not str(claims.get("preferred_username") or "").strip():
            refusal = "no_username"
        elif not self._claim_roles(claims):
            refusal = "no_role"
        request = getattr(self, "request", None)
        if request is not None:
            if refusal:
                request.session[REFUSAL_SESSION_KEY] = refusal
            else:
                request.session.pop(REFUSAL_SESSION_KEY, None)
        return not refusal

    def filter_users_by_claims(self, claims: Mapping[str, Any]) -> Any:
        return User.objects.filter(username=str(claims["preferred_username"]).strip())

    def _sync(self, claims: Mapping[str, Any]) -> User:
        return external_user_sync(
            username=str(claims["preferred_username"]).strip(),
            email=str(claims.get("email") or ""),
            roles=self._claim_roles(claims),
            source="oidc",
            first_name=str(claims.get("given_name") or ""),
            last_name=str(claims.get("family_name") or ""),
        )

    def create_user(self, claims: Mapping[str, Any]) -> User:
        return self._sync(claims)

    def update_user(self, user: User, claims: Mapping[str, Any]) -> User:
        return self._sync(claims)
