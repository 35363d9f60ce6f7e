"""Middleware of our own: Server-Timing (how long the server spent, for benchmarks and
browser dev tools: the figure a reader's network cannot distort), Permissions-Policy, idle logout."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest
from django.http.response import HttpResponseBase


class ServerTimingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response


# Browser features no page of ours uses are switched off; fullscreen stays for the viewer.
PERMISSIONS_POLICY = ", ".join(
    [
        "camera=()",
        "microphone=()",
        "geolocation=()",
        "payment=()",
        "usb=()",
        "serial=()",
        "fullscreen=(self)",
    ]
)


class PermissionsPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


IDLE_KEY = "_last_activity"
IDLE_TOUCH_SECONDS = 60  # the session row is written at most once a minute, not per request


class IdleTimeoutMiddleware:
    """Log out a user idle for longer than SESSION_IDLE_MINUTES.

    Nothing of a reader's work is lost: reads are stored as they are submitted, and the session
    resumes at the first unread case after the next login. The last activity is kept in the
    session and rewritten at most once a minute, so a busy reader costs no extra writes.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        # Logged in, as the session says: asking `request.user` would load the user row on every
        # request, the images' too, which need nothing else from the database.
        session = getattr(request, "session", None)
        if session is not None and session.get(SESSION_KEY) is not None:
            now = time.time()
            last = request.session.get(IDLE_KEY)
            if isinstance(last, int | float) and now - last > settings.SESSION_IDLE_MINUTES * 60:
                logout(request)  # the next request is anonymous: login page or 401/403
            elif not isinstance(last, int | float) or now - last > IDLE_TOUCH_SECONDS:
                request.session[IDLE_KEY] = now
        return self.get_response(request)
