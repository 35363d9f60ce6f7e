"""Sign-in settings are strict: a half-configured option stops start-up naming what is wrong."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from readerstudy.accounts.models import Role
from readerstudy.signin_config import MODEL_BACKEND, ROLES, signin_settings

_OIDC = {
    "OIDC_RP_CLIENT_ID": "rs",
    "OIDC_RP_CLIENT_SECRET": "s3cret",
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://idp.example/auth",
    "OIDC_OP_TOKEN_ENDPOINT": "https://idp.example/token",
    "OIDC_OP_USER_ENDPOINT": "https://idp.example/userinfo",
    "OIDC_OP_JWKS_ENDPOINT": "https://idp.example/jwks",
    "OIDC_ROLE_MAP": "coordinator=rs-coordinators,reader=rs-readers,reader=radiology",
}


def test_the_roles_settings_know_are_the_models_roles() -> None:
    assert set(ROLES) == set(Role.values)


def test_passwords_alone_by_default() -> None:
    config = signin_settings({})
    assert config["AUTHENTICATION_BACKENDS"] == [MODEL_BACKEND]
    assert not config["OIDC_ENABLED"]
    assert not config["LDAP_ENABLED"]
    assert not config["OTP_REQUIRED_FOR_COORDINATORS"]


def test_oidc_settings_parse() -> None:
    config = signin_settings(_OIDC)
    assert config["OIDC_ENABLED"]
    assert config["OIDC_RP_SIGN_ALGO"] == "RS256"
    assert config["OIDC_ROLE_MAP"] == {
        "coordinator": ("rs-coordinators",),
        "reader": ("rs-readers", "radiology"),
    }
    assert config["OIDC_USE_PKCE"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"OIDC_OP_TOKEN_ENDPOINT": ""}, "OIDC_OP_TOKEN_ENDPOINT is required"),
        ({"OIDC_OP_JWKS_ENDPOINT": "idp.example/jwks"}, "is not a URL"),
        ({"OIDC_RP_CLIENT_SECRET": ""}, "OIDC_RP_CLIENT_SECRET (or OIDC_RP_CLIENT_SECRET_FILE)"),
        ({"OIDC_RP_CLIENT_SECRET_FILE": "/nonexistent/secret"}, "not both"),
        ({"OIDC_ROLE_MAP": "admin=rs-admins"}, "'admin' is not one of"),
        ({"OIDC_ROLE_MAP": "reader"}, "is not key=value"),
        ({"OIDC_RP_SIGN_ALGO": "none"}, "OIDC_RP_SIGN_ALGO"),
        ({"OIDC_RP_CLIENT_ID": ""}, "set but OIDC_RP_CLIENT_ID is not"),
    ],
)
def test_a_bad_oidc_setting_is_named(change: dict[str, str], message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message.replace("(", r"\(").replace(")", r"\)")):
        signin_settings({**_OIDC, **change})


def test_ldap_needs_its_bases_and_a_role_map() -> None:
    with pytest.raises(ImproperlyConfigured, match="LDAP_USER_SEARCH_BASE is required"):
        signin_settings({"LDAP_SERVER_URI": "ldap://127.0.0.1:389"})
    with pytest.raises(ImproperlyConfigured, match="is not a URL"):
        signin_settings({"LDAP_SERVER_URI": "https://directory.example"})
    with pytest.raises(ImproperlyConfigured, match="set but LDAP_SERVER_URI is not"):
        signin_settings({"LDAP_ROLE_MAP": "reader=cn=r,dc=example,dc=org"})
