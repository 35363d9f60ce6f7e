"""The API against its own OpenAPI schema, fuzzed by schemathesis for every persona: no 5xx, and
every answer (status, content type, body) is one the schema declares.

The schema is loaded from the running Django app at collection time, so an endpoint added to
the API is fuzzed here with no change to this file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from readerstudy.accounts.models import Role, User
from readerstudy.accounts.services import user_create
from readerstudy.studies.models import StaffRole, StudyMembership
from tests.conftest import PASSWORD, Personas
from tests.factories import UserFactory
from tests.security.world import PERSONAS

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(autouse=True)
def _test_connection_kept() -> Iterator[None]:
    """schemathesis calls the WSGI app itself, not through Django's test client, so Django's
    end-of-request hook would close the connection that holds the test's transaction. The test
    client disconnects that hook the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def people(personas: Personas) -> dict[str, User | None]:
    """The personas of the permission matrix, without its (slower) world of objects."""
    tess = user_create(username="tess", password=PASSWORD, role=Role.COORDINATOR)
    StudyMembership.objects.create(
        study=personas.other_study, user=tess, role=StaffRole.COORDINATOR
    )
    tom = user_create(username="tom", password=PASSWORD, role=Role.STATISTICIAN)
    StudyMembership.objects.create(
        study=personas.other_study, user=tom, role=StaffRole.STATISTICIAN
    )
    return {
        "anonymous": None,
        "nobody": UserFactory.create(username="nora"),
        "reader_a": personas.bob.user,
        "coordinator_a": personas.alice,
        "statistician_a": personas.sam,
        "reader_b": personas.carol.user,
        "coordinator_b": tess,
        "statistician_b": tom,
        "superuser": User.objects.create_superuser(username="root", password=PASSWORD, email=""),
    }


def _credentials(user: User | None) -> tuple[dict[str, str], dict[str, str]]:
    """Cookies and headers of a signed-in browser: the session, and CSRF for unsafe methods."""
    token = _get_new_csrf_string()
    cookies = {"csrftoken": token}
    if user is not None:
        client = Client()
        client.force_login(user)
        cookies["sessionid"] = client.cookies["sessionid"].value
    return cookies, {"X-CSRFToken": token}


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_api_answer_conforms_to_the_schema_for_every_persona(
    case: Any, people: dict[str, User | None]
) -> None:
    for persona in PERSONAS:
        cookies, headers = _credentials(people[persona])
        case.call_and_validate(cookies=cookies, headers=headers, checks=CHECKS)
