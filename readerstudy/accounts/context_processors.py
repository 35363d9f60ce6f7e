"""What the login page needs to know about the sign-in options configured."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def signin(request: HttpRequest) -> dict[str, object]:
    return {"oidc_enabled": settings.OIDC_ENABLED, "oidc_login_label": settings.OIDC_LOGIN_LABEL}
