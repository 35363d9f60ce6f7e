"""Rate limits on the expensive endpoints (report, exports, imports), for the API and plain views.

The counts live in the "throttle" cache (Redis when REDIS_URL is set). A throttle whose cache
fails lets the request through and logs why: a study's report never depends on Redis being up.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from functools import wraps
from types import SimpleNamespace
from typing import Any, TypeVar

from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

logger = logging.getLogger(__name__)

V = TypeVar("V", bound=Callable[..., HttpResponseBase])


class ScopedThrottle(ScopedRateThrottle):
    """DRF's per-user scoped throttle that fails open when its cache is unreachable."""

    def __init__(self) -> None:
        super().__init__()
        # Looked up per request (DRF makes one throttle per request), not at import as DRF does,
        # so the rates and the cache are those of the settings in force.
        self.cache = caches["throttle"]
        self.THROTTLE_RATES = dict(api_settings.DEFAULT_THROTTLE_RATES)  # type: ignore[arg-type]

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except ImproperlyConfigured:
            raise  # a scope without a rate is a deployment error, not an outage
        except Exception:  # any cache failure: Redis down, timeouts, a full disk
            logger.warning(
                "Throttle cache unavailable for scope %r; request let through.",
                getattr(view, "throttle_scope", None),
                exc_info=True,
            )
            return True


def throttle(scope: str) -> Callable[[V], V]:
    """The same throttle on a plain Django view: 429 with Retry-After once the rate is spent."""

    def decorator(view_func: V) -> V:
        view = SimpleNamespace(throttle_scope=scope)

        @wraps(view_func)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            limiter = ScopedThrottle()
            if limiter.allow_request(request, view):
                return view_func(request, *args, **kwargs)
            wait = math.ceil(limiter.wait() or 1)
            response = HttpResponse(
                f"Too many requests: try again in {wait} seconds.\n",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(wait)
            return response

        return wrapper  # type: ignore[return-value]

    return decorator
