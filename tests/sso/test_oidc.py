"""Single sign-on against a real OpenID provider (django-oauth-toolkit) in its own process:
the whole authorization-code flow, PKCE and nonce included, through the provider's login form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from readerstudy.accounts.models import Role, User
from readerstudy.audit.models import AuditEvent
from readerstudy.signin_config import signin_settings
from tests.sso.provider.people import PASSWORD
from tests.sso.servers import process_stop, provider_start

CLIENT_ID = "readerstudy-test"
CLIENT_SECRET = "a-client-secret-for-tests-only"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def provider(live_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("provider")
    process, base = provider_start(
        directory=directory,
        redirect_uri=f"{live_server.url}/accounts/sso/callback/",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    yield base
    process_stop(process)


@pytest.fixture
def oidc(provider: str, settings: Any, tmp_path: Path) -> None:
    """Our settings exactly as start-up builds them from this environment."""
    secret_file = tmp_path / "client_secret"
    secret_file.write_text(CLIENT_SECRET + "\n")
    environ = {
        "OIDC_RP_CLIENT_ID": CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET_FILE": str(secret_file),
        "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{provider}/o/authorize/",
        "OIDC_OP_TOKEN_ENDPOINT": f"{provider}/o/token/",
        "OIDC_OP_USER_ENDPOINT": f"{provider}/o/userinfo/",
        "OIDC_OP_JWKS_ENDPOINT": f"{provider}/o/.well-known/jwks.json",
        "OIDC_RP_SIGN_ALGO": "RS256",
        "OIDC_ROLE_MAP": "coordinator=rs-coordinators,reader=rs-readers,statistician=rs-stats",
    }
    for name, value in signin_settings(environ).items():
        setattr(settings, name, value)


def _sign_in(base: str, username: str) -> requests.Response:
    """Click our SSO button, sign in at the provider's form, follow every redirect back."""
    browser = requests.Session()
    login_page = browser.get(f"{base}/accounts/login/", timeout=10)
    assert 'href="/accounts/sso/start/"' in login_page.text
    provider_form = browser.get(f"{base}/accounts/sso/start/", timeout=10)
    assert provider_form.status_code == 200, provider_form.text[:500]
    assert "/login/" in provider_form.url
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', provider_form.text)
    next_field = re.search(r'name="next" value="([^"]+)"', provider_form.text)
    assert token
    assert next_field
    return browser.post(
        provider_form.url,
        data={
            "csrfmiddlewaretoken": token.group(1),
            "username": username,
            "password": PASSWORD,
            "next": next_field.group(1).replace("&amp;", "&"),
        },
        timeout=30,
    )


def test_hospital_user_signs_in_with_the_mapped_role(
    oidc: None, live_server: Any, transactional_db: None
) -> None:
    home = _sign_in(live_server.url, "rita")

    assert home.status_code == 200, home.text[:500]
    assert home.url == f"{live_server.url}/"
    assert "rita" in home.text  # the top bar names who is logged in
    rita = User.objects.get(username="rita")
    assert rita.email == "rita@hospital.example"
    assert set(rita.groups.values_list("name", flat=True)) == {Role.READER.value}
    assert not rita.has_usable_password()
    assert not rita.is_staff
    event = AuditEvent.objects.get(action="account.created_by_sign_in")
    assert event.data == {"username": "rita", "source": "oidc", "roles": ["reader"]}


def test_hospital_user_in_no_mapped_group_is_refused_with_a_reason(
    oidc: None, live_server: Any, transactional_db: None
) -> None:
    refused = _sign_in(live_server.url, "nora")

    assert refused.status_code == 403
    assert refused.url == f"{live_server.url}/accounts/sso/refused/"
    assert "none of the groups that give a role" in refused.text
    assert not User.objects.filter(username="nora").exists()


def test_single_sign_on_is_absent_unless_configured(client: Any, db: None) -> None:
    assert "sso" not in client.get("/accounts/login/").content.decode()
    assert client.get("/accounts/sso/start/").status_code == 404
    assert client.get("/accounts/sso/callback/?code=x&state=y").status_code == 404
