"""Server-rendered pages: home (each person's studies by role) and the health check."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from readerstudy.accounts import access
from readerstudy.accounts.access import ANALYSE, COORDINATE
from readerstudy.accounts.models import Reader, Role, User
from readerstudy.audit.forms import AuditFilterForm
from readerstudy.audit.models import AuditEvent
from readerstudy.audit.selectors import (
    AuditFilter,
    audit_chain_verify,
    study_audit_actions,
    study_audit_events,
)
from readerstudy.questionnaires.selectors import sessions_with_questionnaires_pending
from readerstudy.reading.console import study_console
from readerstudy.reading.models import PracticeSession, ReadingSession
from readerstudy.reading.practice import practice_states
from readerstudy.reading.selectors import reader_rounds
from readerstudy.studies.manifest import FEATURE_CHOICES
from readerstudy.studies.models import Study


@login_required
@never_cache
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    studies = [
        {"study": study, "role": access.study_role(user=user, study=study)}
        for study in access.scoped(Study.objects.all(), user=user, path="")
    ]
    is_reader = access.reader_for(user) is not None
    can_create = user.is_superuser or user.has_role(Role.COORDINATOR)
    return render(
        request,
        "frontend/home.html",
        {"studies": studies, "is_reader": is_reader, "can_create": can_create},
    )


def _reader_or_403(request: HttpRequest) -> Reader:
    reader = access.reader_for(request.user)
    if reader is None:
        raise PermissionDenied("Only readers read cases.")
    return reader


@login_required
@never_cache
def reader_home(request: HttpRequest) -> HttpResponse:
    """My rounds: progress, resume buttons, and the date each later round opens for me; the
    practice cases of my studies; the questionnaires my finished sessions still wait for."""
    reader = _reader_or_403(request)
    return render(
        request,
        "frontend/reader_home.html",
        {
            "rounds": reader_rounds(reader=reader),
            "practice": practice_states(reader=reader),
            "questionnaires_pending": sessions_with_questionnaires_pending(reader=reader),
            "now": timezone.now(),
        },
    )


@login_required
@never_cache
def reading_screen(request: HttpRequest, session_pk: int) -> HttpResponse:
    # A URL naming a session: to a non-reader it answers as a missing session would.
    reader = access.reader_for(request.user)
    if reader is None:
        raise Http404("No such reading session.")
    session = (
        ReadingSession.objects.select_related("round__study")
        .filter(pk=session_pk, reader=reader)
        .first()
    )
    if session is None:
        raise Http404("No such reading session.")
    study = session.round.study
    return render(
        request,
        "frontend/reading.html",
        {
            "session": session,
            "study": study,
            "assisted": session.round.assisted,
            # (name, label, choices): "cystic_areas" reads "Cystic areas" on screen
            "features": [
                (name, name.replace("_", " ").capitalize(), choices)
                for name, choices in FEATURE_CHOICES.items()
            ]
            if study.collect_features
            else [],
            "consistency_threshold": round(study.ai_threshold * 100),
        },
    )


@login_required
@never_cache
@require_GET
def practice_screen(request: HttpRequest, practice_pk: int) -> HttpResponse:
    """The practice cases on the reading screen: its viewer and answer form, and after each
    answer the pathology (and in assisted practice the AI's output) before the next case."""
    reader = access.reader_for(request.user)
    if reader is None:
        raise Http404("No such practice session.")
    practice = (
        PracticeSession.objects.select_related("study")
        .filter(pk=practice_pk, reader=reader)
        .first()
    )
    if practice is None:
        raise Http404("No such practice session.")
    study = practice.study
    return render(
        request,
        "frontend/reading.html",
        {
            "practice": practice,
            "study": study,
            "assisted": practice.assisted,
            # Practice reads keep the decision and the confidence only: no features or comment
            # to fill in that would not be stored.
            "features": [],
            "consistency_threshold": round(study.ai_threshold * 100),
        },
    )


@login_required
@never_cache
def study_console_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The coordinator console: one page to run a study."""
    study = access.scoped(Study.objects.all(), user=request.user, roles=COORDINATE, path="")
    found = study.filter(slug=slug).first()
    if found is None:
        raise Http404("No such study.")
    return render(request, "frontend/console.html", study_console(study=found))


AUDIT_PAGE_SIZE = 100


@login_required
@never_cache
@require_GET
def study_audit_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A study's audit log, filtered by action, user and dates, newest first, with its CSV."""
    found = (
        access.scoped(Study.objects.all(), user=request.user, roles=ANALYSE, path="")
        .filter(slug=slug)
        .first()
    )
    if found is None:
        raise Http404("No such study.")
    form = AuditFilterForm(request.GET or None, actions=study_audit_actions(study_id=found.pk))
    where = form.audit_filter() if form.is_bound and form.is_valid() else AuditFilter()
    if form.is_bound and not form.is_valid():
        events = AuditEvent.objects.none()
    else:
        events = study_audit_events(study_id=found.pk, where=where).select_related("actor")
    page = Paginator(events.reverse(), AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(event, json.dumps(event.data, ensure_ascii=False, sort_keys=True)) for event in page]
    query = request.GET.copy()
    query.pop("page", None)
    # The chain runs through every study: a coordinator learns whether it holds, not where it broke.
    chain = audit_chain_verify()
    return render(
        request,
        "frontend/audit.html",
        {
            "study": found,
            "form": form,
            "page": page,
            "rows": rows,
            "filtered": where.active,
            "query": query.urlencode(),
            "chain": chain,
            "chain_study_count": chain.study_counts.get(found.pk, 0),
        },
    )


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico where a page names no icon (the admin, JSON): send ours."""
    return redirect(static("frontend/favicon.svg"), permanent=True)
