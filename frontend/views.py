"""Server-rendered pages: home (each person's studies by role) and the health check."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from readerstudy.accounts.models import Reader, User
from readerstudy.reading.console import study_console
from readerstudy.reading.models import ReadingSession
from readerstudy.reading.selectors import reader_rounds
from readerstudy.studies.manifest import FEATURE_CHOICES
from readerstudy.studies.selectors import (
    study_list_coordinated,
    study_list_visible,
    study_role_of,
)


@login_required
@never_cache
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    studies = [
        {"study": study, "role": study_role_of(user=user, study=study)}
        for study in study_list_visible(user=user)
    ]
    is_reader = Reader.objects.filter(user=user).exists()
    return render(request, "frontend/home.html", {"studies": studies, "is_reader": is_reader})


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and the demo's start-up wait."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def _reader_or_403(request: HttpRequest) -> Reader:
    reader = Reader.objects.filter(user__pk=request.user.pk or 0).first()
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
    reader = _reader_or_403(request)
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
            "feature_choices": FEATURE_CHOICES if study.collect_features else {},
        },
    )


@login_required
@never_cache
def study_console_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The coordinator console: one page to run a study."""
    user = request.user
    assert isinstance(user, User)
    study = study_list_coordinated(user=user).filter(slug=slug).first()
    if study is None:
        raise Http404("No such study.")
    return render(request, "frontend/console.html", study_console(study=study))
