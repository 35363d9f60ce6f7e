"""The URL map: it only includes each app's own URLs, plus the admin, login and the API's schema.

The API lives under /api/ in one namespace, "api", gathered from each app's `api_patterns`.
"""

from __future__ import annotations

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django_otp.plugins.otp_totp.models import TOTPDevice
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from knox.models import AuthToken

from inference.worker import urls as inference_urls
from readerstudy.accounts import urls as accounts_urls
from readerstudy.accounts.invitations import InvitationAcceptView
from readerstudy.accounts.views import LogoutConfirmView
from readerstudy.audit import urls as audit_urls
from readerstudy.errors import page_not_found, permission_denied, server_error
from readerstudy.health import healthz
from readerstudy.questionnaires import urls as questionnaires_urls
from readerstudy.reading import urls as reading_urls
from readerstudy.studies import urls as studies_urls

admin.site.site_header = "readerstudy administration"
admin.site.site_title = "readerstudy"
# Libraries' own admins (API tokens, login lockouts, TOTP devices) go through none of our scoping
# or auditing: they are managed through our API (`/api/tokens/`), `manage.py axes_reset` and the
# second-factor pages instead.
for _model in (AuthToken, AccessAttempt, AccessFailureLog, AccessLog, TOTPDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)

api_patterns = [
    *studies_urls.api_patterns,
    *reading_urls.api_patterns,
    *questionnaires_urls.api_patterns,
    *inference_urls.api_patterns,
    *audit_urls.api_patterns,
    *accounts_urls.api_patterns,
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script from its own URL (?script), not inline,
    # and our template keeps its styles in a file: the docs page holds to the strict CSP too.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema", template_name="frontend/api_docs.html"
        ),
        name="docs",
    ),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="frontend/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", LogoutConfirmView.as_view(), name="logout"),
    path(
        "accounts/invitation/<uidb64>/<token>/",
        InvitationAcceptView.as_view(),
        name="invitation-accept",
    ),
    path("accounts/", include("readerstudy.accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/", include((api_patterns, "api"))),
    path("", include("analysis.web.urls")),
    path("", include(reading_urls.urlpatterns)),
    path("", include(questionnaires_urls.urlpatterns)),
    path("", include("frontend.urls")),
]

# A URL under /api/ that matches nothing answers in the API's JSON shape, not an HTML page.
handler404 = page_not_found
handler403 = permission_denied
handler500 = server_error
