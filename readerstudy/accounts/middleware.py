"""A second factor for coordinators: when OTP_REQUIRED_FOR_COORDINATORS is on, a coordinator who
has not entered a TOTP code in this session reaches only the pages that set one up or ask for it."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import Resolver404, resolve, reverse
from django_otp import user_has_device

from readerstudy.accounts.models import Role

# Pages an unverified coordinator may still reach: the second factor's own, and leaving.
_OPEN_URL_NAMES = {"otp-setup", "otp-setup-qr", "otp-verify", "logout", "healthz"}


def second_factor_missing(user: object) -> bool:
    """True for a coordinator who has not passed the second factor in this session."""
    if not settings.OTP_REQUIRED_FOR_COORDINATORS:
        return False
    if not getattr(user, "is_authenticated", False):
        return False
    is_verified = getattr(user, "is_verified", None)
    if is_verified is not None and is_verified():
        return False
    return bool(user.has_role(Role.COORDINATOR))  # type: ignore[attr-defined]


class SecondFactorMiddleware:
    """After django_otp's OTPMiddleware: pages redirect to set-up or verification, the API
    answers 401 with {"message", "extra"}."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if second_factor_missing(request.user) and not self._open(request):
            target = "otp-verify" if user_has_device(request.user, confirmed=True) else "otp-setup"
            url = reverse(target)
            if request.path_info.startswith("/api/"):
                return JsonResponse(
                    {
                        "message": "Enter the code from your authenticator app first.",
                        "extra": {"second_factor": url},
                    },
                    status=401,
                )
            return HttpResponseRedirect(f"{url}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    @staticmethod
    def _open(request: HttpRequest) -> bool:
        if request.path_info.startswith(f"/{settings.STATIC_URL.lstrip('/')}"):
            return True
        try:
            return resolve(request.path_info).url_name in _OPEN_URL_NAMES
        except Resolver404:
            return False
