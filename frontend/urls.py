"""The pages people open: home, my reading, the reading screen, the coordinator console."""

from __future__ import annotations

from django.urls import path

from frontend import views

urlpatterns = [
    path("", views.home, name="home"),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin, JSON): send ours.
    path("favicon.ico", views.favicon, name="favicon"),
    path("reading/", views.reader_home, name="reader-home"),
    path("studies/<slug:slug>/console/", views.study_console_page, name="study-console"),
    path("studies/<slug:slug>/audit/", views.study_audit_page, name="study-audit"),
    path("reading/sessions/<int:session_pk>/", views.reading_screen, name="reading-screen"),
]
