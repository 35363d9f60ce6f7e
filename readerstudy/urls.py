"""URL map: the pages, the admin, the API and its schema, and a health check."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from frontend import views as pages
from inference.worker.apis import ModelVersionListApi, PrecomputeDetailApi
from readerstudy.accounts.apis import TokenListCreateApi, TokenRevokeApi
from readerstudy.reading.apis import (
    ReaderRoundsApi,
    ReadingImageApi,
    ReadSubmitApi,
    SessionCaseApi,
    SessionCurrentCaseApi,
    SessionStartApi,
)
from readerstudy.reading.coordinator_apis import (
    PrecomputeCreateApi,
    RoundCloseApi,
    RoundOpenApi,
    StudyConsoleApi,
    WashoutOverrideApi,
)
from readerstudy.reading.files import reading_file
from readerstudy.studies.apis import (
    ImageRegionSetApi,
    ImportCreateApi,
    ImportDetailApi,
    StudyDetailApi,
    StudyListApi,
)

admin.site.site_header = "readerstudy administration"
admin.site.site_title = "readerstudy"

api_patterns = [
    path("studies/", StudyListApi.as_view(), name="study-list"),
    path("studies/<slug:slug>/", StudyDetailApi.as_view(), name="study-detail"),
    path("studies/<slug:slug>/imports/", ImportCreateApi.as_view(), name="import-create"),
    path("imports/<int:pk>/", ImportDetailApi.as_view(), name="import-detail"),
    path("images/<int:pk>/region/", ImageRegionSetApi.as_view(), name="image-region"),
    path("reading/rounds/", ReaderRoundsApi.as_view(), name="reader-rounds"),
    path("reading/rounds/<int:round_pk>/start/", SessionStartApi.as_view(), name="session-start"),
    path(
        "reading/sessions/<int:session_pk>/current/",
        SessionCurrentCaseApi.as_view(),
        name="session-current",
    ),
    path(
        "reading/sessions/<int:session_pk>/cases/<str:label>/",
        SessionCaseApi.as_view(),
        name="session-case",
    ),
    path("reading/sessions/<int:session_pk>/reads/", ReadSubmitApi.as_view(), name="read-submit"),
    path("studies/<slug:slug>/console/", StudyConsoleApi.as_view(), name="study-console"),
    path("rounds/<int:round_pk>/open/", RoundOpenApi.as_view(), name="round-open"),
    path("rounds/<int:round_pk>/close/", RoundCloseApi.as_view(), name="round-close"),
    path(
        "rounds/<int:round_pk>/washout-overrides/",
        WashoutOverrideApi.as_view(),
        name="washout-override",
    ),
    path("models/", ModelVersionListApi.as_view(), name="model-list"),
    path(
        "studies/<slug:slug>/precompute/", PrecomputeCreateApi.as_view(), name="precompute-create"
    ),
    path(
        "studies/<slug:slug>/precompute/<int:pk>/",
        PrecomputeDetailApi.as_view(),
        name="precompute-detail",
    ),
    path("tokens/", TokenListCreateApi.as_view(), name="token-list"),
    path("tokens/<str:token_key>/", TokenRevokeApi.as_view(), name="token-revoke"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]

urlpatterns = [
    path("", pages.home, name="home"),
    path("healthz", pages.healthz, name="healthz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="frontend/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include((api_patterns, "api"))),
    path("", include("analysis.web.urls")),
    path(
        "reading/sessions/<int:session_pk>/images/<str:token>/<str:kind>",
        ReadingImageApi.as_view(),
        name="reading-image",
    ),
    path("reading/files/<str:token>", reading_file, name="reading-file"),
    path("reading/", pages.reader_home, name="reader-home"),
    path("studies/<slug:slug>/console/", pages.study_console_page, name="study-console"),
    path("reading/sessions/<int:session_pk>/", pages.reading_screen, name="reading-screen"),
]
