"""Every persona's pages, crawled: no link, form action or data URL leads to a 404 or a 500, and
no page carries what a strict Content-Security-Policy would block (inline scripts and styles)."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.test import Client
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

from readerstudy.reading.models import Round, RoundStatus
from tests.analysis_adapter.conftest import client_for, study_build, three_readers
from tests.conftest import Personas
from tests.factories import CaseFactory, CaseImageFactory, RoundFactory

# A data attribute holding a URL: data-url, data-something-url, or a URL template whose id the
# page fills in (data-something-url-template, rendered by {% url %} with 0 for the id).
DATA_URL = re.compile(r"^data-(?:[a-z0-9-]+-)?url(-template)?$")
# Not crawled: leaving (logout), and the admin, which is Django's own interface and not ours.
SKIPPED = ("/accounts/logout/", "/admin/")


@dataclass
class Found:
    """What one HTML page links to, and what it carries that CSP would block."""

    links: list[str] = field(default_factory=list)  # <a href>, GET <form action>: crawled
    post_actions: list[str] = field(default_factory=list)  # resolved only, never posted
    data_urls: list[str] = field(default_factory=list)  # resolved and fetched
    url_templates: list[str] = field(default_factory=list)  # resolved only: the id is a stand-in
    assets: list[str] = field(default_factory=list)  # scripts, stylesheets, images
    blocked: list[str] = field(default_factory=list)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = Found()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        f = self.found
        if "style" in a:
            f.blocked.append(f"style= on <{tag}>")
        f.blocked.extend(
            f"inline handler {name}= on <{tag}>" for name in a if name.startswith("on")
        )
        if tag == "style":
            f.blocked.append("<style> block")
        if tag == "script":
            if "src" in a:
                f.assets.append(a["src"])
            elif a.get("type") != "application/json":
                f.blocked.append("inline <script>")
        if tag == "a" and "href" in a:
            if a["href"].startswith("javascript:"):
                f.blocked.append(f"javascript: link {a['href']}")
            else:
                f.links.append(a["href"])
        if tag == "form":
            action = a.get("action", "")
            if a.get("method", "get").lower() == "post":
                f.post_actions.append(action)
            elif action:
                f.links.append(action)
        if tag == "link" and "href" in a:
            f.assets.append(a["href"])
        if tag == "img" and a.get("src"):
            f.assets.append(a["src"])
        for name, value in a.items():
            match = DATA_URL.match(name)
            if match and value:
                (f.url_templates if match.group(1) else f.data_urls).append(value)


def page_parse(html: str) -> Found:
    parser = _PageParser()
    parser.feed(html)
    return parser.found


def _on_site(base: str, href: str) -> str | None:
    """The site path (with query) that ``href`` on page ``base`` points to; None if elsewhere."""
    if not href or href.startswith(("#", "mailto:", "tel:", "data:")):
        return None
    parts = urlsplit(urljoin(f"http://testserver{base}", href))
    if parts.scheme not in ("http", "https") or parts.netloc != "testserver":
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _resolves(path: str) -> bool:
    try:
        resolve(urlsplit(path).path)
    except Resolver404:
        return False
    return True


def site_crawl(client: Client, starts: list[str]) -> tuple[set[str], list[str]]:
    """Visit every page reachable from ``starts``; the pages seen and the problems found."""
    problems: list[str] = []
    seen: set[str] = set()
    queue = deque((start, "start") for start in starts)

    def check(path: str, referrer: str, *, follow: bool) -> None:
        if path in seen:
            return
        seen.add(path)
        response = client.get(path)
        if response.status_code == 404 or response.status_code >= 500:
            problems.append(f"{path} (from {referrer}): HTTP {response.status_code}")
            return
        if 300 <= response.status_code < 400:
            target = _on_site(path, response["Location"])
            if target and not target.startswith(SKIPPED):
                queue.append((target, path))
            return
        if follow and response.get("Content-Type", "").startswith("text/html"):
            page(path, response.content.decode())

    def page(path: str, html: str) -> None:
        found = page_parse(html)
        problems.extend(f"{path}: {what}" for what in found.blocked)
        for href in found.links:
            target = _on_site(path, href)
            if target is None:
                continue
            if target.startswith(SKIPPED):
                if not _resolves(target):
                    problems.append(f"{target} (from {path}): does not resolve")
                continue
            queue.append((target, path))
        for href in found.post_actions + found.url_templates:
            target = _on_site(path, href or path)
            if target is None or not _resolves(target):
                problems.append(f"{href!r} (from {path}): does not resolve")
        for href in found.data_urls + found.assets:
            target = _on_site(path, href)
            if target is None:
                problems.append(f"{href!r} (from {path}): not on this site")
            # A POST-only endpoint answers a GET with 405, which still shows it exists.
            else:
                check(target, path, follow=False)

    while queue:
        path, referrer = queue.popleft()
        check(path, referrer, follow=True)
    return seen, problems


@pytest.fixture
def study(personas: Personas) -> Personas:
    """Study S mid-way: round 1 open and read by three readers (Bob still reading), round 2
    planned with Dora in her washout; an image held back for review. Carol may start study T."""
    p = personas
    built = study_build(
        study=p.study, readers=three_readers(p), rounds=2, read_rounds=1, with_model=True
    )
    now = timezone.now()
    Round.objects.filter(pk=built.rounds[0].pk).update(status=RoundStatus.OPEN, opened_at=now)
    dora = built.sessions[(1, 1)]
    dora.started_at, dora.completed_at = now - timedelta(days=2), now - timedelta(days=1)
    dora.save(update_fields=["started_at", "completed_at"])
    CaseImageFactory.create(case=built.cases[0], position=1, needs_review=True)
    RoundFactory.create(study=p.other_study, index=1, status=RoundStatus.OPEN, opened_at=now)
    CaseFactory.create(study=p.other_study, key="t-001")
    return p


START_PAGES = {
    "anonymous": ["home", "login"],
    "alice": ["home"],
    "bob": ["home", "reader-home"],
    "sam": ["home"],
    "carol": ["home", "reader-home"],
}
# Pages each persona must reach by following links alone: the crawl really walked the site.
MUST_REACH = {
    "anonymous": ["/accounts/login/"],
    "alice": ["/studies/s/console/", "/studies/s/report/", "/api/docs/"],
    "bob": ["/reading/", "/api/docs/"],
    "sam": ["/studies/s/report/", "/studies/s/exports/reads.csv"],
    "carol": ["/reading/"],
}


@pytest.mark.parametrize("persona", list(START_PAGES))
def test_every_link_form_and_data_url_of_a_personas_pages_leads_somewhere(
    study: Personas, persona: str
) -> None:
    client = Client() if persona == "anonymous" else client_for(persona)
    seen, problems = site_crawl(client, [reverse(name) for name in START_PAGES[persona]])
    assert not problems, "\n".join(problems)
    assert set(MUST_REACH[persona]) <= seen
    if persona == "bob":
        session = study.bob.sessions.get(round__index=1)
        assert reverse("reading-screen", args=[session.pk]) in seen


def test_the_crawler_sees_what_a_strict_csp_blocks() -> None:
    found = page_parse(
        '<script>alert(1)</script><script type="application/json" id="d">{}</script>'
        '<script type="module" src="/static/x.js"></script><p style="color: red">'
        '<button onclick="go()">go</button><style>p {}</style><a href="javascript:go()">x</a>'
    )
    assert found.blocked == [
        "inline <script>",
        "style= on <p>",
        "inline handler onclick= on <button>",
        "<style> block",
        "javascript: link javascript:go()",
    ]
    assert found.assets == ["/static/x.js"]
