"""The analysis pages, exports and API, included at the site root by ``readerstudy.urls``."""

from __future__ import annotations

from django.urls import path

from analysis.web import apis, views

app_name = "analysis"

urlpatterns = [
    path("studies/<slug:slug>/report/", views.report_page, name="report"),
    path(
        "studies/<slug:slug>/report/charts/<slug:name>.svg",
        views.report_chart,
        name="report-chart",
    ),
    path("studies/<slug:slug>/exports/<slug:kind>.csv", views.export_csv, name="export"),
    path("api/studies/<slug:slug>/report/", apis.StudyReportApi.as_view(), name="api-report"),
    path(
        "api/studies/<slug:slug>/report/reporting/",
        apis.StudyReportingApi.as_view(),
        name="api-reporting",
    ),
    path("api/studies/<slug:slug>/plan/", apis.StudyPlanApi.as_view(), name="api-plan"),
]
