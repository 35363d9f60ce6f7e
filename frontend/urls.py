"""The pages people open: home, my reading, the reading screen, the coordinator console."""

from __future__ import annotations

from django.urls import path

from frontend import study_views, views

urlpatterns = [
    path("", views.home, name="home"),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin, JSON): send ours.
    path("favicon.ico", views.favicon, name="favicon"),
    path("reading/", views.reader_home, name="reader-home"),
    path("studies/new/", study_views.study_create_page, name="study-create"),
    path("studies/<slug:slug>/console/", views.study_console_page, name="study-console"),
    path("studies/<slug:slug>/audit/", views.study_audit_page, name="study-audit"),
    path("studies/<slug:slug>/settings/", study_views.study_settings_page, name="study-settings"),
    path("studies/<slug:slug>/people/", study_views.study_people_page, name="study-people"),
    path(
        "studies/<slug:slug>/people/<int:user_pk>/remove/",
        study_views.study_member_remove,
        name="study-member-remove",
    ),
    path("studies/<slug:slug>/close/", study_views.study_close_page, name="study-close"),
    path("reading/sessions/<int:session_pk>/", views.reading_screen, name="reading-screen"),
    path("reading/practice/<int:practice_pk>/", views.practice_screen, name="practice-screen"),
]
