"""Signing in beyond the password form (single sign-on, the second factor) and a user's own API
tokens (`api_patterns`, under /api/, namespace "api")."""

from __future__ import annotations

from django.urls import path

from readerstudy.accounts import views
from readerstudy.accounts.apis import TokenListCreateApi, TokenRevokeApi

urlpatterns = [
    path("sso/start/", views.sso_start, name="sso-start"),
    path("sso/callback/", views.sso_callback, name="sso-callback"),
    path("sso/refused/", views.sso_refused, name="sso-refused"),
    path("otp/setup/", views.otp_setup, name="otp-setup"),
    path("otp/setup/qr.svg", views.otp_setup_qr, name="otp-setup-qr"),
    path("otp/verify/", views.otp_verify, name="otp-verify"),
]

api_patterns = [
    path("tokens/", TokenListCreateApi.as_view(), name="token-list"),
    path("tokens/<str:token_key>/", TokenRevokeApi.as_view(), name="token-revoke"),
]
