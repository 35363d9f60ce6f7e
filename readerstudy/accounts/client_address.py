"""The client's address, for login throttling, the audit log and rate limits.

Behind a reverse proxy ``REMOTE_ADDR`` is the proxy's address: every reader would share one
address, and django-axes (which counts failed logins per username *and* address) would let one
attacker lock a user out for everyone. ``X-Forwarded-For`` cannot simply be believed either: the
client writes its left part. With ``TRUSTED_PROXY_COUNT = N`` proxies in front of us, each
appending the address it was connected from, the N-th address from the right is the one our
outermost proxy saw, and nothing to its left is trusted — the same rule as DRF's ``NUM_PROXIES``
(which the settings set to the same number, so rate limits count the same addresses) and
werkzeug's ProxyFix. Hand-written because django-ipware's ``proxy_count`` counts the proxies'
own addresses inside the header and answers None for the common case of one nginx in front.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    remote = request.META.get("REMOTE_ADDR")
    proxies: int = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded.strip():
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return hops[-min(proxies, len(hops))] if hops else remote
