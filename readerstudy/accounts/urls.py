"""Signing in beyond the password form: single sign-on and the second factor."""

from __future__ import annotations

from django.urls import path

from readerstudy.accounts import views

urlpatterns = [
    path("sso/start/", views.sso_start, name="sso-start"),
    path("sso/callback/", views.sso_callback, name="sso-callback"),
    path("sso/refused/", views.sso_refused, name="sso-refused"),
    path("otp/setup/", views.otp_setup, name="otp-setup"),
    path("otp/setup/qr.svg", views.otp_setup_qr, name="otp-setup-qr"),
    path("otp/verify/", views.otp_verify, name="otp-verify"),
]
