"""Settings for signing in: local passwords always, OpenID Connect and LDAP when configured.

Kept apart from settings.py so tests build the same configuration from an environment of their
own. Each option is off until its one switch is set (OIDC_RP_CLIENT_ID, LDAP_SERVER_URI); then
everything it needs must be set too, or start-up fails naming what is missing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from readerstudy.env import env_bool, env_choice, env_mapping, env_secret, env_str, env_url

# The platform roles (readerstudy.accounts.models.Role); settings load before the models can.
ROLES = ("coordinator", "reader", "statistician")

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
OIDC_BACKEND = "readerstudy.accounts.sso.RoleMappedOIDCBackend"
LDAP_BACKEND = "readerstudy.accounts.directory.RoleMappedLDAPBackend"

_OIDC_ENDPOINTS = (
    "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "OIDC_OP_TOKEN_ENDPOINT",
    "OIDC_OP_USER_ENDPOINT",
    "OIDC_OP_JWKS_ENDPOINT",
)
_OIDC_OTHERS = (
    "OIDC_RP_CLIENT_SECRET",
    "OIDC_RP_CLIENT_SECRET_FILE",
    "OIDC_RP_SIGN_ALGO",
    "OIDC_RP_SCOPES",
    "OIDC_ROLES_CLAIM",
    "OIDC_ROLE_MAP",
    "OIDC_LOGIN_LABEL",
)
_LDAP_OTHERS = (
    "LDAP_BIND_DN",
    "LDAP_BIND_PASSWORD",
    "LDAP_BIND_PASSWORD_FILE",
    "LDAP_USER_SEARCH_BASE",
    "LDAP_USER_SEARCH_FILTER",
    "LDAP_GROUP_SEARCH_BASE",
    "LDAP_GROUP_TYPE",
    "LDAP_ROLE_MAP",
    "LDAP_START_TLS",
)


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def _refuse_strays(switch: str, names: tuple[str, ...], environ: Mapping[str, str]) -> None:
    """An option half-configured is a typo waiting to surprise someone: name it at start-up."""
    strays = [name for name in names if environ.get(name, "").strip()]
    if strays:
        raise ImproperlyConfigured(f"{', '.join(strays)} set but {switch} is not.")


def oidc_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """mozilla-django-oidc's settings, and ours: OIDC_ENABLED, OIDC_ROLES_CLAIM, OIDC_ROLE_MAP."""
    env = _environ(environ)
    client_id = env_str("OIDC_RP_CLIENT_ID", default="", environ=env)
    if not client_id:
        _refuse_strays("OIDC_RP_CLIENT_ID", _OIDC_ENDPOINTS + _OIDC_OTHERS, env)
        return {"OIDC_ENABLED": False, "OIDC_ROLES_CLAIM": "groups", "OIDC_ROLE_MAP": {}}
    scopes = env_str("OIDC_RP_SCOPES", default="openid email profile", environ=env)
    if "openid" not in scopes.split():
        raise ImproperlyConfigured(f"OIDC_RP_SCOPES={scopes!r} must include openid.")
    config: dict[str, Any] = {
        "OIDC_ENABLED": True,
        "OIDC_RP_CLIENT_ID": client_id,
        "OIDC_RP_CLIENT_SECRET": env_secret(
            "OIDC_RP_CLIENT_SECRET",
            file_name="OIDC_RP_CLIENT_SECRET_FILE",
            required=True,
            environ=env,
        ),
        **{name: env_url(name, required=True, environ=env) for name in _OIDC_ENDPOINTS},
        "OIDC_RP_SIGN_ALGO": env_choice(
            "OIDC_RP_SIGN_ALGO",
            choices=("rs256", "rs384", "rs512", "es256", "es384", "es512"),
            default="rs256",
            environ=env,
        ).upper(),
        "OIDC_RP_SCOPES": scopes,
        "OIDC_ROLES_CLAIM": env_str("OIDC_ROLES_CLAIM", default="groups", environ=env),
        "OIDC_ROLE_MAP": env_mapping("OIDC_ROLE_MAP", keys=ROLES, required=True, environ=env),
        "OIDC_LOGIN_LABEL": env_str(
            "OIDC_LOGIN_LABEL", default="Sign in with your hospital account", environ=env
        ),
        # The authorization code is bound to this login attempt (RFC 7636), and the ID token to
        # this session (nonce): a stolen code or token cannot be replayed elsewhere.
        "OIDC_USE_PKCE": True,
        "OIDC_USE_NONCE": True,
        "OIDC_TIMEOUT": 10,
        "OIDC_AUTHENTICATION_CALLBACK_URL": "sso-callback",
        # mozilla-django-oidc redirects to this as it is, unresolved: a path, not a URL name.
        "LOGIN_REDIRECT_URL_FAILURE": "/accounts/sso/refused/",
    }
    if not config["OIDC_ROLES_CLAIM"]:
        raise ImproperlyConfigured("OIDC_ROLES_CLAIM is set but empty.")
    return config


def ldap_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """django-auth-ldap's AUTH_LDAP_* settings, and ours: LDAP_ENABLED, LDAP_ROLE_MAP."""
    env = _environ(environ)
    uri = env_url("LDAP_SERVER_URI", schemes=("ldaps", "ldap"), environ=env)
    if not uri:
        _refuse_strays("LDAP_SERVER_URI", _LDAP_OTHERS, env)
        return {"LDAP_ENABLED": False, "LDAP_ROLE_MAP": {}}
    # python-ldap is a C extension: imported only where LDAP is configured.
    import ldap
    from django_auth_ldap.config import GroupOfNamesType, LDAPGroupQuery, LDAPSearch, PosixGroupType

    user_base = env_str("LDAP_USER_SEARCH_BASE", default="", environ=env)
    group_base = env_str("LDAP_GROUP_SEARCH_BASE", default="", environ=env)
    for name, value in (
        ("LDAP_USER_SEARCH_BASE", user_base),
        ("LDAP_GROUP_SEARCH_BASE", group_base),
    ):
        if not value:
            raise ImproperlyConfigured(f"{name} is required with LDAP_SERVER_URI.")
    user_filter = env_str("LDAP_USER_SEARCH_FILTER", default="(uid=%(user)s)", environ=env)
    if "%(user)s" not in user_filter:
        raise ImproperlyConfigured(
            f"LDAP_USER_SEARCH_FILTER={user_filter!r} must contain %(user)s, e.g. (uid=%(user)s)."
        )
    group_type = env_choice(
        "LDAP_GROUP_TYPE",
        choices=("groupofnames", "posixgroup"),
        default="groupofnames",
        environ=env,
    )
    # DNs contain commas, so LDAP_ROLE_MAP's entries are split by semicolons.
    role_map = env_mapping("LDAP_ROLE_MAP", keys=ROLES, separator=";", required=True, environ=env)
    role_map = {role: tuple(dn.lower() for dn in dns) for role, dns in role_map.items()}
    # Someone in none of the mapped groups is refused by django-auth-ldap before any user is made.
    queries = [LDAPGroupQuery(dn) for dns in role_map.values() for dn in dns]
    require = queries[0]
    for query in queries[1:]:
        require = require | query
    return {
        "LDAP_ENABLED": True,
        "LDAP_ROLE_MAP": role_map,
        "AUTH_LDAP_SERVER_URI": uri,
        "AUTH_LDAP_START_TLS": env_bool("LDAP_START_TLS", default=False, environ=env),
        "AUTH_LDAP_BIND_DN": env_str("LDAP_BIND_DN", default="", environ=env),
        "AUTH_LDAP_BIND_PASSWORD": env_secret(
            "LDAP_BIND_PASSWORD", file_name="LDAP_BIND_PASSWORD_FILE", environ=env
        ),
        "AUTH_LDAP_USER_SEARCH": LDAPSearch(user_base, ldap.SCOPE_SUBTREE, user_filter),
        "AUTH_LDAP_GROUP_SEARCH": LDAPSearch(
            group_base,
            ldap.SCOPE_SUBTREE,
            "(objectClass=groupOfNames)"
            if group_type == "groupofnames"
            else "(objectClass=posixGroup)",
        ),
        "AUTH_LDAP_GROUP_TYPE": GroupOfNamesType()
        if group_type == "groupofnames"
        else PosixGroupType(),
        "AUTH_LDAP_REQUIRE_GROUP": require,
        "AUTH_LDAP_USER_ATTR_MAP": {"first_name": "givenName", "last_name": "sn", "email": "mail"},
        "AUTH_LDAP_ALWAYS_UPDATE_USER": True,
        # A directory that does not answer must not hang the login form.
        "AUTH_LDAP_CONNECTION_OPTIONS": {ldap.OPT_NETWORK_TIMEOUT: 5, ldap.OPT_TIMEOUT: 10},
    }


def signin_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every sign-in setting, AUTHENTICATION_BACKENDS included (local passwords first)."""
    config = {**oidc_settings(environ), **ldap_settings(environ)}
    backends = [MODEL_BACKEND]
    if config["OIDC_ENABLED"]:
        backends.append(OIDC_BACKEND)
    if config["LDAP_ENABLED"]:
        backends.append(LDAP_BACKEND)
    config["AUTHENTICATION_BACKENDS"] = backends
    config["OTP_REQUIRED_FOR_COORDINATORS"] = env_bool(
        "OTP_REQUIRED_FOR_COORDINATORS", default=False, environ=environ
    )
    return config
