"""Every URL × persona × own/other study × method against one expectation table.

The URL patterns come from the resolver at run time (the admin's included), so an endpoint
added anywhere is requested here, and one missing from `EXPECTED` fails the test: nothing new
escapes. The rule the table encodes: anything not the persona's answers 404 (never 200, 403 or
500); the few 403s are where the persona legitimately sees the thing but may not act, each
with its reason in `REASONS_403`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RegexPattern
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.views import APIView

from analysis.web.exports import EXPORTS
from analysis.web.report import report_get
from readerstudy.reading.labels import case_label
from tests.conftest import Personas
from tests.security.world import PERSONAS, StudyWorld, World, world_build

UNSAFE = ("post", "put", "patch", "delete")
# These change who is signed in: each request gets a client of its own.
SIGN_IN_OUT = {"login", "logout", "admin:login", "admin:logout"}

# ---------------------------------------------------------------------------------------------
# Relations: how a persona stands to the study whose objects fill the URL.
#   anon, nobody, reader, coordinator, statistician, superuser        (own study, or no study)
#   other_reader, other_coordinator, other_statistician              (a role in the other study)
# Classes: ok (2xx, or 3xx not to a login page), login (302 to a login page), bad (400/409),
#          401, 403, 404, 405.
# ---------------------------------------------------------------------------------------------
ROLES = ("reader", "coordinator", "statistician")


def rule(
    *,
    anon: str,
    nobody: str = "404",
    reader: str = "404",
    coordinator: str = "404",
    statistician: str = "404",
    superuser: str = "ok",
    other: str = "404",
    **others: str,
) -> dict[str, str]:
    """Expected classes by relation; a role in the other study gets `other` unless named."""
    table = {
        "anon": anon,
        "nobody": nobody,
        "reader": reader,
        "coordinator": coordinator,
        "statistician": statistician,
        "superuser": superuser,
    }
    for role in ROLES:
        table[f"other_{role}"] = others.get(f"other_{role}", other)
    return table


def api(**kwargs: str) -> dict[str, str]:
    return rule(anon="401", **kwargs)


def page(**kwargs: str) -> dict[str, str]:
    return rule(anon="login", **kwargs)


def everyone(cls: str) -> dict[str, str]:
    return rule(
        anon=cls, nobody=cls, reader=cls, coordinator=cls, statistician=cls, superuser=cls,
        other=cls,
    )  # fmt: skip


ANALYSTS = {"coordinator": "ok", "statistician": "ok"}
# A GET-only page refuses another method (405) before it looks anything up: the answer is the
# same for every object, and for none, so it tells nothing.
NOT_GET_PAGE = page(nobody="405", reader="405", coordinator="405", statistician="405",
                    superuser="405", other="405")  # fmt: skip

PLATFORM_COORDINATORS = page(nobody="403", reader="403", coordinator="ok", statistician="403")

# One's own second-factor pages: any signed-in user, nothing of a study.
SIGNED_IN_OK = page(nobody="ok", reader="ok", coordinator="ok", statistician="ok", other="ok")

EXPECTED: dict[tuple[str, str], dict[str, str]] = {
    # --- site -----------------------------------------------------------------------------
    ("healthz", "get"): everyone("ok"),
    ("healthz", "post"): everyone("405"),
    ("login", "get"): everyone("ok"),  # signed in: redirected home
    ("login", "post"): rule(
        anon="ok", nobody="ok", reader="ok", coordinator="ok", statistician="ok", other="ok"
    ),
    ("logout", "get"): everyone("ok"),  # a page asking to confirm; signing out is a POST
    # An invitation link: anyone may open one; a wrong token shows the refusal page.
    ("invitation-accept", "get"): everyone("ok"),
    ("invitation-accept", "post"): everyone("ok"),
    ("logout", "post"): everyone("login"),  # back to the login page
    ("favicon", "get"): everyone("ok"),
    ("favicon", "post"): everyone("405"),
    # --- pages ----------------------------------------------------------------------------
    ("home", "get"): page(nobody="ok", reader="ok", coordinator="ok", statistician="ok"),
    ("home", "post"): page(nobody="ok", reader="ok", coordinator="ok", statistician="ok"),
    ("reader-home", "get"): page(
        nobody="403", reader="ok", coordinator="403", statistician="403", superuser="403"
    ),
    ("reader-home", "post"): page(
        nobody="403", reader="ok", coordinator="403", statistician="403", superuser="403"
    ),
    ("reading-screen", "get"): page(reader="ok", superuser="404"),
    ("reading-screen", "post"): page(reader="ok", superuser="404"),
    ("practice-screen", "get"): page(reader="ok", superuser="404"),
    ("practice-screen", "post"): NOT_GET_PAGE,
    ("study-console", "get"): page(coordinator="ok"),
    ("study-console", "post"): page(coordinator="ok"),
    ("study-audit", "get"): page(**ANALYSTS),
    ("study-audit", "post"): NOT_GET_PAGE,
    # Creating a study: platform coordinators (and superusers), named by no object.
    ("study-create", "get"): PLATFORM_COORDINATORS,
    ("study-create", "post"): PLATFORM_COORDINATORS,
    ("study-settings", "get"): page(coordinator="ok"),
    ("study-settings", "post"): page(coordinator="ok"),  # an empty form: shown with its errors
    ("study-people", "get"): page(coordinator="ok"),
    ("study-people", "post"): page(coordinator="ok"),
    ("study-member-remove", "get"): NOT_GET_PAGE,
    ("study-member-remove", "post"): page(coordinator="ok"),  # refused: back with a message
    ("study-close", "get"): NOT_GET_PAGE,
    ("study-close", "post"): page(coordinator="ok"),  # not confirmed: back with a message
    ("reading-file", "get"): rule(anon="404", reader="ok", superuser="404"),
    ("reading-file", "post"): everyone("405"),
    ("analysis:report", "get"): page(**ANALYSTS),
    ("analysis:report", "post"): NOT_GET_PAGE,
    ("analysis:report-chart", "get"): page(**ANALYSTS),
    ("analysis:report-chart", "post"): NOT_GET_PAGE,
    ("analysis:export", "get"): page(**ANALYSTS),
    ("analysis:export", "post"): NOT_GET_PAGE,
    # --- API ------------------------------------------------------------------------------
    ("api:schema", "get"): everyone("ok"),
    ("api:docs", "get"): everyone("ok"),
    ("api:study-list", "get"): api(nobody="ok", reader="ok", coordinator="ok", statistician="ok"),
    ("api:study-list", "post"): api(
        nobody="403", reader="403", coordinator="bad", statistician="403", superuser="bad"
    ),
    ("api:study-detail", "get"): api(reader="ok", coordinator="ok", statistician="ok"),
    ("api:study-close", "post"): api(coordinator="ok"),
    ("api:study-members", "get"): api(coordinator="ok"),
    ("api:study-members", "post"): api(coordinator="bad", superuser="bad"),
    # The reader named has read: they stay (409).
    ("api:study-member", "delete"): api(coordinator="bad", superuser="bad"),
    ("api:import-create", "post"): api(coordinator="bad", superuser="bad"),
    ("api:import-detail", "get"): api(coordinator="ok"),
    ("api:pacs-import-create", "post"): api(coordinator="bad", superuser="bad"),
    # AI results into the PACS reveal the AI: never a reader's, nor a statistician's
    ("api:case-ai-dicom", "post"): api(coordinator="bad", superuser="bad"),
    ("api:image-region", "post"): api(coordinator="bad", superuser="bad"),
    ("api:reader-rounds", "get"): api(
        nobody="403", reader="ok", coordinator="403", statistician="403", superuser="403"
    ),
    ("api:session-start", "post"): api(reader="ok", superuser="404"),  # resumes
    ("api:session-current", "get"): api(reader="ok", superuser="404"),
    ("api:session-case", "get"): api(reader="403", superuser="404"),  # no going back
    ("api:session-reads", "get"): api(reader="ok", superuser="404"),  # my reads, to go back from
    ("api:read-submit", "post"): api(reader="bad", superuser="404"),
    ("api:read-revise", "post"): api(reader="bad", superuser="404"),
    # Practice cases: the reader's own practice (started or resumed); a bare submit is refused.
    ("api:practice-start", "post"): api(reader="ok", superuser="404"),
    ("api:practice-current", "get"): api(reader="ok", superuser="404"),
    ("api:practice-submit", "post"): api(reader="bad", superuser="404"),
    # A round's questionnaires: coordinators configure them; an empty body is refused.
    ("api:round-questionnaires", "get"): api(coordinator="ok"),
    ("api:round-questionnaires", "put"): api(coordinator="bad", superuser="bad"),
    # The reader's questionnaire page: their own session, not complete yet in this world (409).
    ("questionnaire", "get"): page(reader="bad", superuser="404"),
    ("questionnaire", "post"): page(reader="bad", superuser="404"),
    ("api:study-console", "get"): api(coordinator="ok"),
    ("api:round-open", "post"): api(coordinator="ok"),
    ("api:round-close", "post"): api(coordinator="bad", superuser="bad"),  # not open
    ("api:washout-override", "post"): api(coordinator="bad", superuser="bad"),
    ("api:precompute-create", "post"): api(coordinator="bad", superuser="bad"),
    ("api:model-list", "get"): api(
        nobody="404", reader="404", coordinator="ok", statistician="404", other_coordinator="ok"
    ),
    ("api:precompute-detail", "get"): api(coordinator="ok"),
    ("api:training-detail", "get"): api(coordinator="ok"),
    ("analysis:api-report", "get"): api(**ANALYSTS),
    ("analysis:api-reporting", "get"): api(**ANALYSTS),
    ("api:audit-verify", "get"): api(
        nobody="403",
        reader="403",
        coordinator="ok",
        statistician="403",
        other_reader="403",
        other_coordinator="ok",
        other_statistician="403",
    ),
    # Everyone's own tokens: the list and a new one for any signed-in user, revoking only one's own.
    ("api:token-list", "get"): api(
        nobody="ok", reader="ok", coordinator="ok", statistician="ok", other="ok"
    ),
    ("api:token-list", "post"): api(
        nobody="ok", reader="ok", coordinator="ok", statistician="ok", other="ok"
    ),
    ("api:token-revoke", "delete"): api(reader="ok", superuser="404"),
    # --- signing in: single sign-on is off here (404); the second factor's pages ----------
    ("sso-start", "get"): everyone("404"),
    ("sso-start", "post"): everyone("405"),
    ("sso-callback", "get"): everyone("404"),
    ("sso-callback", "post"): everyone("405"),
    ("sso-refused", "get"): everyone("403"),  # the page that says a sign-in was refused
    ("sso-refused", "post"): everyone("405"),
    ("otp-setup", "get"): SIGNED_IN_OK,
    ("otp-setup", "post"): SIGNED_IN_OK,
    ("otp-setup-qr", "get"): SIGNED_IN_OK,
    ("otp-setup-qr", "post"): page(
        nobody="405",
        reader="405",
        coordinator="405",
        statistician="405",
        superuser="405",
        other="405",
    ),
    ("otp-verify", "get"): SIGNED_IN_OK,
    ("otp-verify", "post"): SIGNED_IN_OK,
    # A pilot of one reader has no variance components to plan from: 409.
    ("analysis:api-plan", "get"): api(coordinator="bad", statistician="bad", superuser="bad"),
}

# Where a 403 is kept: the persona sees the thing (or no object is named at all) but may not act.
REASONS_403 = {
    "reader-home": "the reader's own page, named by no object: others are told it is for readers",
    "api:reader-rounds": "the reader's own list, named by no object: a non-reader is refused",
    "api:session-case": "the reader's own session, in a study that allows no going back",
    "api:audit-verify": "names no object: only superusers and coordinators verify the chain",
    "study-create": "names no object: only platform coordinators create studies",
    "api:study-list": "POST names no object: only platform coordinators create studies",
    "sso-refused": "the page that tells a user their sign-in was refused (no mapped role)",
    "admin:add": "a read-only model (reads, sessions, AI output, audit): nobody adds, superusers too",
    "admin:change": "POST: a read-only row of the coordinator's own study: visible, never changed",
    "admin:delete": "a read-only row of the coordinator's own study: visible, never deletable",
    "admin:studies_caseimage_delete": "POST: deleting would cascade to read-only AI predictions",
    "admin:superuser-only": "a model only superusers administer, before any object is named",
}

# --- the admin: every registered ModelAdmin, by how it is scoped --------------------------------
ADMIN_KINDS = {
    # coordinators administer their own studies' rows
    "studies.study": "coordinated",
    "studies.case": "coordinated",
    "studies.caseimage": "coordinated",
    "reading.round": "coordinated",
    "accounts.reader": "coordinated",
    "inference.modelversion": "coordinated",
    # coordinators see their own studies' rows, never change them
    "reading.readingsession": "read_only",
    "reading.read": "read_only",
    "reading.washoutoverride": "read_only",
    "inference.prediction": "read_only",
    "inference.caseprediction": "read_only",
    "inference.precomputejob": "read_only",
    "audit.auditevent": "read_only",
    # superusers only
    "accounts.user": "superuser_only",
    "auth.group": "superuser_only",
}


def _admin(**kwargs: str) -> dict[str, str]:
    # The admin sends everyone who is not staff to its login page, whatever they ask for.
    return rule(anon="login", nobody="login", reader="login", statistician="login",
                other_reader="login", other_statistician="login", **kwargs)  # fmt: skip


def _admin_expected() -> dict[tuple[str, str], dict[str, str]]:
    table: dict[tuple[str, str], dict[str, str]] = {}
    for label, kind in ADMIN_KINDS.items():
        prefix = "admin:" + label.replace(".", "_")
        own = {"coordinated": "ok", "read_only": "ok", "superuser_only": "403"}[kind]
        add = {"coordinated": "ok", "read_only": "403", "superuser_only": "403"}[kind]
        delete = {"coordinated": "ok", "read_only": "403", "superuser_only": "404"}[kind]
        change = own if kind != "superuser_only" else "404"
        change_post = {"coordinated": "ok", "read_only": "403", "superuser_only": "404"}[kind]
        root = "403" if kind == "read_only" else "ok"  # read-only for superusers too
        # Not object-specific: the coordinator gets their own list, whichever study fills the URL.
        table[(f"{prefix}_changelist", "get")] = _admin(coordinator=own, other_coordinator=own)
        table[(f"{prefix}_changelist", "post")] = _admin(coordinator=own, other_coordinator=own)
        for method in ("get", "post"):
            table[(f"{prefix}_add", method)] = _admin(
                coordinator=add, other_coordinator=add, superuser=root
            )
            table[(f"{prefix}_history", method)] = _admin(coordinator=change)
            table[(f"{prefix}_delete", method)] = _admin(coordinator=delete, superuser=root)
        table[(f"{prefix}_change", "get")] = _admin(coordinator=change)
        table[(f"{prefix}_change", "post")] = _admin(coordinator=change_post, superuser=root)
        # The old-style URL redirects to the change page (which answers as above).
        table[(f"{prefix}_legacy", "get")] = _admin(coordinator="ok", other_coordinator="ok")
        table[(f"{prefix}_legacy", "post")] = _admin(coordinator="ok", other_coordinator="ok")
    # The user admin's own extra view: a password is set by a superuser only.
    for method in ("get", "post"):
        table[("admin:auth_user_password_change", method)] = _admin(coordinator="404")
    staff = {"coordinator": "ok", "other_coordinator": "ok"}
    for name in (
        "admin:index",
        "admin:app_list",
        "admin:jsi18n",
        "admin:password_change",  # their own password
        "admin:password_change_done",
    ):
        table[(name, "get")] = _admin(**staff)
        table[(name, "post")] = _admin(**staff)
    for name in ("admin:jsi18n", "admin:password_change_done"):
        table[(name, "post")] = _admin(coordinator="405", other_coordinator="405", superuser="405")
    # An image's deletion would take its AI predictions with it, and those are read-only.
    table[("admin:studies_caseimage_delete", "post")] = _admin(coordinator="403", superuser="403")
    table[("admin:autocomplete", "get")] = _admin(
        coordinator="403", other_coordinator="403", superuser="403"
    )
    table[("admin:autocomplete", "post")] = _admin(
        coordinator="405", other_coordinator="405", superuser="405"
    )
    table[("admin:view_on_site", "get")] = _admin(coordinator="404", superuser="404")
    table[("admin:view_on_site", "post")] = table[("admin:view_on_site", "get")]
    table[("admin:catch_all", "get")] = _admin(coordinator="404", other_coordinator="404",
                                                superuser="404")  # fmt: skip
    table[("admin:catch_all", "post")] = table[("admin:catch_all", "get")]
    login = everyone("ok")
    table[("admin:login", "get")] = login
    table[("admin:login", "post")] = login
    # Django's own: signing out is a POST; a GET by someone not staff goes to the site's login.
    table[("admin:logout", "get")] = rule(
        anon="ok", nobody="ok", reader="ok", statistician="ok", coordinator="405",
        superuser="405", other="ok", other_coordinator="405",
    )  # fmt: skip
    table[("admin:logout", "post")] = rule(
        anon="ok", nobody="ok", reader="ok", statistician="ok", coordinator="login",
        superuser="login", other="ok", other_coordinator="login",
    )  # fmt: skip
    return table


EXPECTED.update(_admin_expected())


# ---------------------------------------------------------------------------------------------
# Enumerating the URL map
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Endpoint:
    key: str  # the URL name with its namespace, or a stable name for an unnamed admin pattern
    route: str
    name: str | None
    kwargs: tuple[str, ...]
    methods: tuple[str, ...]


def _patterns(
    resolver: URLResolver, prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str, URLPattern]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _patterns(entry, prefix + str(entry.pattern), inner)
        else:
            yield prefix + str(entry.pattern), namespace, entry


def _methods(pattern: URLPattern) -> tuple[str, ...]:
    view_class = getattr(pattern.callback, "view_class", None)
    if view_class is not None and issubclass(view_class, APIView):
        return tuple(m for m in ("get", *UNSAFE) if hasattr(view_class, m))
    return ("get", "post")  # pages and the admin: both, and the table says what each answers


def endpoints() -> list[Endpoint]:
    found = []
    admin_prefixes = {
        f"admin/{model._meta.app_label}/{model._meta.model_name}/": model._meta.label_lower
        for model in admin.site._registry
    }
    for route, namespace, pattern in _patterns(get_resolver()):
        kwargs = tuple(pattern.pattern.regex.groupindex)
        if pattern.name:
            key = namespace + pattern.name
        elif isinstance(pattern.pattern, RegexPattern) and route.startswith("admin/"):
            key = "admin:catch_all"
        elif route.removesuffix("<path:object_id>/") in admin_prefixes:
            label = admin_prefixes[route.removesuffix("<path:object_id>/")]
            key = "admin:" + label.replace(".", "_") + "_legacy"
        else:
            key = route  # unnamed and unknown: the table cannot hold it, so the test fails
        found.append(Endpoint(key, route, pattern.name and namespace + pattern.name, kwargs,
                              _methods(pattern)))  # fmt: skip
    return found


# URL kwargs named `pk` mean a different object per URL.
PK_OF = {
    "api:import-detail": "import_job",
    "api:image-region": "image",
    "api:case-ai-dicom": "case",
    "api:precompute-detail": "precompute_job",
    "api:training-detail": "training_job",
}


def _values(endpoint: Endpoint, kwarg: str, world: StudyWorld, chart: str) -> list[str]:
    """The values a URL kwarg takes in one study's world; an unknown kwarg fails the test."""
    if kwarg == "pk":
        assert endpoint.key in PK_OF, f"{endpoint.key}: which object does its `pk` name?"
        return [str(getattr(world, PK_OF[endpoint.key]).pk)]
    label = endpoint.key.removeprefix("admin:").rsplit("_", 1)[0].replace("_", ".", 1)
    simple = {
        "slug": world.study.slug,
        "round_pk": str(world.round.pk),
        "session_pk": str(world.session.pk),
        "practice_pk": str(world.practice.pk),
        "label": case_label(seed=world.session.seed, case_id=world.case.pk),
        "token_key": world.token_key,
        "token": world.token,
        "name": chart,
        "app_label": "studies",
        "url": "no-such-page/",
        "content_type_id": str(ContentType.objects.get_for_model(world.study).pk),
        "user_pk": str(world.reader.user.pk),
        "uidb64": urlsafe_base64_encode(force_bytes(world.reader.user.pk)),
    }
    if kwarg == "kind":
        return list(EXPORTS)
    if kwarg == "id" and endpoint.key.endswith("_password_change"):
        return [str(world.admin_objects["accounts.user"].pk)]
    if kwarg == "object_id":
        if endpoint.key == "admin:view_on_site":
            return [str(world.study.pk)]
        assert label in world.admin_objects, f"{endpoint.key}: no admin object of {label}"
        return [str(world.admin_objects[label].pk)]
    assert kwarg in simple, f"{endpoint.key}: no value for the URL kwarg {kwarg!r}"
    return [simple[kwarg]]


def _urls(endpoint: Endpoint, world: StudyWorld, chart: str) -> list[str]:
    combos: list[dict[str, str]] = [{}]
    for kwarg in endpoint.kwargs:
        combos = [{**c, kwarg: v} for c in combos for v in _values(endpoint, kwarg, world, chart)]
    urls = []
    for kwargs in combos:
        if endpoint.name:
            urls.append(reverse(endpoint.name, kwargs=kwargs))
        else:
            path = endpoint.route
            if endpoint.key == "admin:catch_all":
                path = "admin/" + kwargs["url"]
            for kwarg, value in kwargs.items():
                path = re.sub(rf"<(?:\w+:)?{kwarg}>", value, path)
            urls.append("/" + path)
    return urls


# ---------------------------------------------------------------------------------------------
# Asking
# ---------------------------------------------------------------------------------------------
def _relation(persona: str, world: str | None) -> str:
    if persona in ("anonymous", "nobody", "superuser"):
        return {"anonymous": "anon"}.get(persona, persona)
    role, study = persona.rsplit("_", 1)
    return role if world is None or study == world else f"other_{role}"


def classify(response: Any) -> str:
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        return "login" if "login" in response.get("Location", "") else "ok"
    if 200 <= status < 300:
        return "ok"
    if status in (400, 409):
        return "bad"
    return str(status)


def _client(user: Any) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    token = _get_new_csrf_string()
    client.cookies["csrftoken"] = token
    return client, token


def _ask(client: Client, token: str, method: str, url: str) -> Any:
    if method == "get":
        return client.get(url)
    # Unsafe requests change the world: each runs in a savepoint that is rolled back.
    sid = transaction.savepoint()
    try:
        if method == "post":
            return client.post(url, {"csrfmiddlewaretoken": token}, HTTP_X_CSRFTOKEN=token)
        return getattr(client, method)(
            url, "{}", content_type="application/json", HTTP_X_CSRFTOKEN=token
        )
    finally:
        transaction.savepoint_rollback(sid)


@pytest.fixture
def world(personas: Personas, settings: Any) -> World:
    # The table is about permissions: thousands of requests must not meet the rate limits.
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = dict.fromkeys(rest["DEFAULT_THROTTLE_RATES"], "100000/min")
    settings.REST_FRAMEWORK = rest
    return world_build(personas)


def test_every_endpoint_answers_each_persona_as_the_table_says(world: World) -> None:
    found = endpoints()
    missing = sorted(
        {f"{e.key} {m.upper()}" for e in found for m in e.methods if (e.key, m) not in EXPECTED}
    )
    charts = {
        tag: report_get(study=w.study).payload["charts"][0]["name"]
        for tag, w in (("a", world.a), ("b", world.b))
    }
    clients = {persona: _client(world.users[persona]) for persona in PERSONAS}
    wrong: list[str] = []
    asked = 0
    for endpoint in found:
        worlds = (("a", world.a), ("b", world.b)) if endpoint.kwargs else ((None, world.a),)
        for tag, study_world in worlds:
            for url in _urls(endpoint, study_world, charts[tag or "a"]):
                for method in endpoint.methods:
                    expected = EXPECTED.get((endpoint.key, method))
                    for persona in PERSONAS:
                        client, token = (
                            _client(world.users[persona])
                            if endpoint.key in SIGN_IN_OUT
                            else clients[persona]
                        )
                        response = _ask(client, token, method, url)
                        asked += 1
                        got = classify(response)
                        want = None if expected is None else expected[_relation(persona, tag)]
                        if response.status_code >= 500 or (want is not None and got != want):
                            wrong.append(
                                f"{endpoint.key} {method.upper()} {url} as {persona}: "
                                f"{response.status_code} ({got}), expected {want}"
                            )
    print(f"asked {asked} requests over {len(found)} patterns")
    assert not missing, "endpoints missing from the expectation table:\n" + "\n".join(missing)
    assert not wrong, f"{len(wrong)} answers differ from the table:\n" + "\n".join(wrong)


def test_the_table_names_no_endpoint_that_is_gone() -> None:
    keys = {(e.key, m) for e in endpoints() for m in e.methods}
    assert not sorted(set(EXPECTED) - keys)
