"""Pages for signing in beyond the password form: single sign-on's start, callback and refusal,
and the coordinators' second factor (set-up with a QR code drawn here, and the code prompt)."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from readerstudy.accounts.models import User
from readerstudy.accounts.sso import REFUSAL_SESSION_KEY

_REFUSALS = {
    "no_role": (
        "Your hospital account signed in, but it is in none of the groups that give a role "
        "here (coordinator, reader or statistician). Ask the study team to add you to one."
    ),
    "no_username": "Your hospital account did not say who you are (no preferred_username).",
}


def _oidc_or_404() -> None:
    if not settings.OIDC_ENABLED:
        raise Http404("Single sign-on is not configured.")


@require_GET
def sso_start(request: HttpRequest) -> HttpResponse:
    _oidc_or_404()
    return OIDCAuthenticationRequestView.as_view()(request)


@require_GET
def sso_callback(request: HttpRequest) -> HttpResponse:
    _oidc_or_404()
    return OIDCAuthenticationCallbackView.as_view()(request)


@require_GET
@never_cache
def sso_refused(request: HttpRequest) -> HttpResponse:
    reason = request.session.pop(REFUSAL_SESSION_KEY, "")
    message = _REFUSALS.get(reason, "Signing in with your hospital account did not succeed.")
    return render(request, "accounts/sso_refused.html", {"message": message}, status=403)


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _pending_device(user: User) -> TOTPDevice:
    """The one unconfirmed authenticator a user is setting up (made on first visit)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def otp_setup(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if any(devices_for_user(user, confirmed=True)):
        # A second authenticator is added by an administrator, never past the first one.
        return HttpResponseRedirect(
            f"{resolve_url('otp-verify')}?{urlencode({'next': _next_url(request)})}"
        )
    device = _pending_device(user)
    error = ""
    if request.method == "POST":
        if device.verify_token(request.POST.get("token", "").strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            return HttpResponseRedirect(_next_url(request))
        error = "That code did not match. Enter the current six digits from your app."
    return render(
        request,
        "accounts/otp_setup.html",
        {"config_url": device.config_url, "error": error, "next": _next_url(request)},
    )


@login_required
@never_cache
@require_GET
def otp_setup_qr(request: HttpRequest) -> HttpResponse:
    """The authenticator's otpauth:// URI as an SVG QR code, drawn here (no third party sees it)."""
    device = TOTPDevice.objects.filter(user=_user(request), confirmed=False).order_by("pk").first()
    if device is None:
        raise Http404("No authenticator is being set up.")
    svg = io.BytesIO()
    segno.make(device.config_url, error="m").save(svg, kind="svg", scale=5, border=2)
    return HttpResponse(svg.getvalue(), content_type="image/svg+xml")


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    devices = list(devices_for_user(user, confirmed=True))
    if not devices:
        return HttpResponseRedirect(
            f"{resolve_url('otp-setup')}?{urlencode({'next': _next_url(request)})}"
        )
    error = ""
    if request.method == "POST":
        token = request.POST.get("token", "").strip()
        for device in devices:
            if device.verify_token(token):
                otp_login(request, device)
                return HttpResponseRedirect(_next_url(request))
        error = "That code did not match. Enter the current six digits from your app."
    return render(request, "accounts/otp_verify.html", {"error": error, "next": _next_url(request)})


class LogoutConfirmView(auth_views.LogoutView):
    """Signing out is a POST (a link must not sign anyone out); a GET asks to confirm."""

    http_method_names = ["get", "post", "options"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return render(request, "frontend/logout.html")
