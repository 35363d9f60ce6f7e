"""Signing in through the login form with a password the hospital directory checks: Debian's
slapd, started here on loopback with a throwaway database."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from readerstudy.accounts.models import Role, User
from readerstudy.audit.models import AuditEvent
from readerstudy.signin_config import signin_settings
from tests.sso.servers import free_port, port_open, process_stop, wait_until

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
BASE = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{BASE}"
ADMIN_PASSWORD = "directory admin password"
USER_PASSWORD = "lena's directory password"

pytestmark = pytest.mark.slow

_CONFIG = """
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile {dir}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "{base}"
rootdn "{admin}"
rootpw "{password}"
directory {dir}/data
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
"""

_PEOPLE = [("lena", "Lena", "Berg"), ("rob", "Rob", "Stone"), ("nina", "Nina", "Holt")]
_GROUPS = {"rs-coordinators": ["lena"], "rs-readers": ["rob", "lena"], "staff": ["nina", "rob"]}


def _ldif() -> str:
    entries = [
        f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\no: Example Hospital\ndc: example",
        f"dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people",
        f"dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups",
    ]
    for uid, given, surname in _PEOPLE:
        entries.append(
            f"dn: uid={uid},ou=people,{BASE}\nobjectClass: inetOrgPerson\nuid: {uid}\n"
            f"cn: {given} {surname}\ngivenName: {given}\nsn: {surname}\n"
            f"mail: {uid}@hospital.example\nuserPassword: {USER_PASSWORD}"
        )
    for name, members in _GROUPS.items():
        lines = "\n".join(f"member: uid={uid},ou=people,{BASE}" for uid in members)
        entries.append(
            f"dn: cn={name},ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: {name}\n{lines}"
        )
    return "\n\n".join(entries) + "\n"


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if importlib.util.find_spec("django_auth_ldap") is None:
        if os.environ.get("CI"):
            pytest.fail("django-auth-ldap is missing: .ci/run installs the `ldap` extra")
        pytest.skip("LDAP sign-in is an extra: make PIP_EXTRAS=dev,ldap (needs libldap2-dev)")
    if not Path(SLAPD).exists():
        if os.environ.get("CI"):
            pytest.fail(f"slapd is missing at {SLAPD}: .ci/run installs Debian's slapd")
        pytest.skip("no slapd here (apt-get install slapd ldap-utils to run the LDAP tests)")
    folder = tmp_path_factory.mktemp("slapd")
    (folder / "data").mkdir()
    config = folder / "slapd.conf"
    config.write_text(
        _CONFIG.format(dir=folder, base=BASE, admin=ADMIN_DN, password=ADMIN_PASSWORD)
    )
    # slaptest names a bad configuration line; slapd itself would only exit with 1.
    subprocess.run(
        [SLAPD, "-Tt", "-u", "-f", str(config)], check=True, timeout=30, capture_output=True
    )
    port = free_port()
    uri = f"ldap://127.0.0.1:{port}"
    log = (folder / "slapd.log").open("wb")
    # -d keeps slapd in the foreground, so the fixture owns the process and stops it.
    process = subprocess.Popen(
        [SLAPD, "-h", f"{uri}/", "-f", str(config), "-d", "0"], stdout=log, stderr=log
    )
    try:
        wait_until(lambda: port_open(port), what="slapd", process=process)
        subprocess.run(
            ["ldapadd", "-x", "-H", uri, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD],
            input=_ldif().encode(),
            check=True,
            timeout=30,
            capture_output=True,
        )
        yield uri
    finally:
        process_stop(process)


@pytest.fixture
def ldap_signin(directory: str, settings: Any, tmp_path: Path) -> None:
    password_file = tmp_path / "bind_password"
    password_file.write_text(ADMIN_PASSWORD)
    environ = {
        "LDAP_SERVER_URI": directory,
        "LDAP_BIND_DN": ADMIN_DN,
        "LDAP_BIND_PASSWORD_FILE": str(password_file),
        "LDAP_USER_SEARCH_BASE": f"ou=people,{BASE}",
        "LDAP_GROUP_SEARCH_BASE": f"ou=groups,{BASE}",
        "LDAP_GROUP_TYPE": "groupOfNames",
        "LDAP_ROLE_MAP": (
            f"coordinator=cn=rs-coordinators,ou=groups,{BASE};"
            f"reader=CN=rs-readers,ou=groups,{BASE};"
            f"statistician=cn=rs-stats,ou=groups,{BASE}"
        ),
    }
    for name, value in signin_settings(environ).items():
        setattr(settings, name, value)


def _log_in(client: Any, username: str, password: str) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_directory_user_logs_in_through_the_form_with_mapped_roles(
    ldap_signin: None, client: Any, db: None
) -> None:
    response = _log_in(client, "lena", USER_PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    lena = User.objects.get(username="lena")
    assert set(lena.groups.values_list("name", flat=True)) == {
        Role.COORDINATOR.value,
        Role.READER.value,
    }
    assert lena.is_staff  # coordinators run studies through the admin
    assert (lena.email, lena.first_name, lena.last_name) == (
        "lena@hospital.example",
        "Lena",
        "Berg",
    )
    assert not lena.has_usable_password()
    event = AuditEvent.objects.get(action="account.created_by_sign_in")
    assert event.data["source"] == "ldap"
    assert event.data["roles"] == ["coordinator", "reader"]


def test_roles_follow_the_directory_at_every_login(
    ldap_signin: None, client: Any, db: None
) -> None:
    rob = User.objects.create_user(username="rob")
    from readerstudy.accounts.services import user_roles_set

    user_roles_set(user=rob, roles={Role.STATISTICIAN})

    assert _log_in(client, "rob", USER_PASSWORD).status_code == 302
    assert set(rob.groups.values_list("name", flat=True)) == {Role.READER.value}
    # The directory's other groups ("staff") never become Django groups.
    assert not User.objects.filter(groups__name="staff").exists()


def test_wrong_directory_password_fails(ldap_signin: None, client: Any, db: None) -> None:
    response = _log_in(client, "lena", "not her password")

    assert response.status_code == 200
    assert b"did not match" in response.content
    assert not User.objects.filter(username="lena").exists()


def test_directory_user_in_no_mapped_group_is_refused(
    ldap_signin: None, client: Any, db: None
) -> None:
    response = _log_in(client, "nina", USER_PASSWORD)

    assert response.status_code == 200
    assert not User.objects.filter(username="nina").exists()


def test_local_passwords_still_work_beside_the_directory(
    ldap_signin: None, client: Any, personas: Any
) -> None:
    from tests.conftest import PASSWORD

    assert _log_in(client, "alice", PASSWORD).status_code == 302
