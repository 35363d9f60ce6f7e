"""Server-rendered pages: home (each person's studies by role) and the health check."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from readerstudy.accounts.models import User
from readerstudy.studies.selectors import study_list_visible, study_role_of


@login_required
@never_cache
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    studies = [
        {"study": study, "role": study_role_of(user=user, study=study)}
        for study in study_list_visible(user=user)
    ]
    return render(request, "frontend/home.html", {"studies": studies})


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and the demo's start-up wait."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
