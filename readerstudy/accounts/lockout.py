"""The answer to a login refused by django-axes: 429, when to retry, as a page or as JSON."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    # Every attempt during a lockout restarts the cool-off (settings), so it runs from now.
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    minutes = math.ceil(seconds / 60)
    message = (
        f"Too many failed logins for this username from this address. "
        f"Try again in {minutes} minutes, or ask an administrator to unlock the account."
    )
    if (
        "application/json" in request.headers.get("Accept", "")
        or request.headers.get("X-Requested-With") == "XMLHttpRequest"
    ):
        response: HttpResponse = JsonResponse(
            {"message": message, "extra": {"retry_after_seconds": seconds}}, status=429
        )
    else:
        response = render(request, "accounts/locked_out.html", {"message": message}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def lockout_username(request: Any, credentials: dict[str, Any] | None) -> str:
    """The username axes counts failures against, cut to what a username can be (150): a hostile
    5,000-character name must be refused like any wrong one, not overflow axes' own column."""
    raw = (credentials or {}).get("username")
    if raw is None and request is not None:
        raw = getattr(request, "POST", {}).get("username", "")
    return str(raw or "")[:150]
