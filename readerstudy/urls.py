"""URL map: the pages, the admin, the API and its schema, and a health check."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from frontend import views as pages
from readerstudy.studies.apis import (
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
]
