"""Signing in with the hospital directory (LDAP): the password is checked by the directory, and
the groups named in LDAP_ROLE_MAP give the platform role, set again at every login."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django_auth_ldap.backend import LDAPBackend, _LDAPUser

from readerstudy.accounts.models import User
from readerstudy.accounts.services import user_roles_set
from readerstudy.accounts.sso import roles_from_groups, sign_in_created_audit


class RoleMappedLDAPBackend(LDAPBackend):
    """django-auth-ldap's search and bind; only our three role groups are ever set.

    AUTH_LDAP_REQUIRE_GROUP (built from LDAP_ROLE_MAP) refuses someone in none of the mapped
    groups before any user is made; django-auth-ldap's own group mirroring stays off, so the
    directory's other groups never become Django groups.
    """

    _built = False

    def get_or_build_user(self, username: str, ldap_user: _LDAPUser) -> tuple[Any, bool]:
        user, built = super().get_or_build_user(username, ldap_user)
        if built:
            # Someone the directory vouches for never gets a local password here.
            user.set_unusable_password()
        self._built = built
        return user, built

    def authenticate_ldap_user(self, ldap_user: _LDAPUser, password: str) -> User | None:
        with transaction.atomic():
            user: User | None = super().authenticate_ldap_user(ldap_user, password)
            if user is None:
                return None
            roles = roles_from_groups(
                groups=ldap_user.group_dns, role_map=settings.LDAP_ROLE_MAP, fold_case=True
            )
            user_roles_set(user=user, roles=roles)
            if self._built:
                sign_in_created_audit(user=user, roles=roles, source="ldap")
        return user if roles else None
