"""Server-rendered pages: home (each person's studies by role) and the health check."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from readerstudy.accounts import access
from readerstudy.accounts.access import COORDINATE
from readerstudy.accounts.models import Reader, User
from readerstudy.reading.console import study_console
from readerstudy.reading.models import ReadingSession
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
    return render(request, "frontend/home.html", {"studies": studies, "is_reader": is_reader})


def _reader_or_403(request: HttpRequest) -> Reader:
    reader = access.reader_for(request.user)
    if reader is None:
        raise PermissionDenied("Only readers read cases.")
    return reader


@login_required
@never_cache
def reader_home(request: HttpRequest) -> HttpResponse:
    """My rounds: progress, resume buttons, and the date each later round opens for me."""
    reader = _reader_or_403(request)
    return render(
        request,
        "frontend/reader_home.html",
        {"rounds": reader_rounds(reader=reader), "now": timezone.now()},
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
def study_console_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The coordinator console: one page to run a study."""
    study = access.scoped(Study.objects.all(), user=request.user, roles=COORDINATE, path="")
    found = study.filter(slug=slug).first()
    if found is None:
        raise Http404("No such study.")
    return render(request, "frontend/console.html", study_console(study=found))


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico where a page names no icon (the admin, JSON): send ours."""
    return redirect(static("frontend/favicon.svg"), permanent=True)
