"""The application's errors: one small hierarchy, rendered by the API as {"message", "extra"}.

Services raise these; views never build error responses by hand.
"""

from __future__ import annotations

import logging
import math
import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """An error the user can act on; `extra` carries machine-readable details."""

    status_code: ClassVar[int] = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class NotPermitted(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN


class NotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND


class Conflict(ApplicationError):
    status_code = status.HTTP_409_CONFLICT


class RoundClosed(Conflict):
    """The round is not open for reading."""


class WashoutNotOver(Conflict):
    """A reader asked for the next round before their washout ended."""


class PracticeRequired(Conflict):
    """The study asks for the practice cases before a reader's first session."""


class ReadLocked(Conflict):
    """A sequential read's unassisted step is locked once submitted."""


class ImportRejected(ApplicationError):
    """An import failed validation; `extra["errors"]` lists every problem with its row."""


DATABASE_UNAVAILABLE = "The database could not be reached; please try again in a moment."


def _database_unavailable(exc: Exception) -> Response:
    """A lost or refused database connection (or a deadlock, a timeout): transient, so the client
    may send the same request again (a read's submit is idempotent by its nonce). Django drops
    the broken connection when the next request starts; the details stay in the server's log."""
    logger.warning("API request failed on the database: %s", type(exc).__name__, exc_info=exc)
    response = Response(
        {"message": DATABASE_UNAVAILABLE, "extra": {}}, status=status.HTTP_503_SERVICE_UNAVAILABLE
    )
    response["Retry-After"] = "1"
    return response


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render application, Django and DRF errors in one shape: {"message": ..., "extra": {...}}."""
    if isinstance(exc, ApplicationError):
        return Response({"message": exc.message, "extra": exc.extra}, status=exc.status_code)
    if isinstance(exc, OperationalError | InterfaceError):
        return _database_unavailable(exc)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return _unexpected(exc, context)
    if isinstance(exc, exceptions.Throttled):
        wait = math.ceil(getattr(exc, "wait", None) or 1)
        response["Retry-After"] = str(wait)
        response.data = {
            "message": f"Too many requests: try again in {wait} seconds.",
            "extra": {"retry_after_seconds": wait},
        }
        return response
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"message": "The request is not valid.", "extra": {"fields": response.data}}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        response.data = {"message": str(detail) or "Request failed.", "extra": {}}
    return response


def _unexpected(exc: Exception, context: dict[str, Any]) -> Response | None:
    """A bug: the traceback goes to the log under an id; the user gets the id, never the trace."""
    if settings.DEBUG:
        return None  # Django's debug page, on a developer's machine only
    error_id = uuid.uuid4().hex
    view = context.get("view")
    logger.error(
        "Unexpected error %s in %s", error_id, type(view).__name__ if view else "?", exc_info=exc
    )
    set_rollback()
    return Response(
        {
            "message": "Something went wrong on our side. It has been logged; "
            "quote the error id if you report it.",
            "extra": {"id": error_id},
        },
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 for a URL that matches no pattern: under /api/ in the API's one shape (a
    client of the API never gets an HTML page), elsewhere the site's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"message": "Not found.", "extra": {}}, status=404)
    return defaults.page_not_found(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A 403: JSON under /api/, else the site's page with a way back."""
    if request.path.startswith("/api/"):
        return JsonResponse({"message": "You may not do this.", "extra": {}}, status=403)
    return defaults.permission_denied(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """A 500 outside DRF (whose handler answers its own): JSON under /api/, else the site's page,
    rendered without the request's context (the database may be what failed)."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"message": "Something went wrong on our side. It has been logged.", "extra": {}},
            status=500,
        )
    return defaults.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused form (an expired or missing CSRF token): the site's page, or JSON for the API."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"message": "CSRF check failed: reload the page and try again.", "extra": {}},
            status=403,
        )
    return render(request, "403_csrf.html", status=403)
