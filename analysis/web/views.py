"""Statistician pages: the printable study report, its charts and the CSV exports.

Only a study's coordinators and statisticians get them; everyone else gets 404, the same answer
as for a study that does not exist. Numbers are computed in ``analysis.web.report`` and formatted
in the template, by ``analysis.web.templatetags.report_format``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from analysis.web.exports import EXPORTS, audit_chunks, export_chunks, export_filename
from analysis.web.models import StudyReport
from analysis.web.report import report_charts, report_get, report_plan
from analysis.web.reporting import reporting_pack
from readerstudy.accounts import access
from readerstudy.accounts.access import ANALYSE
from readerstudy.accounts.models import User
from readerstudy.audit.forms import AuditFilterForm
from readerstudy.audit.selectors import study_audit_actions
from readerstudy.audit.services import audit_record
from readerstudy.errors import ApplicationError
from readerstudy.studies.models import Study
from readerstudy.throttling import throttle


def _study_or_404(request: HttpRequest, slug: str) -> tuple[User, Study]:
    user = request.user
    assert isinstance(user, User)
    study = access.scoped(Study.objects.all(), user=user, roles=ANALYSE, path="")
    found = study.filter(slug=slug).first()
    if found is None:
        raise Http404("No such study.")
    return user, found


# --- planning form ------------------------------------------------------------------------------


class PlanForm(forms.Form):
    effect = forms.FloatField(min_value=0.005, max_value=0.5, initial=0.05, label="ΔAUC to detect")
    power = forms.FloatField(min_value=0.5, max_value=0.99, initial=0.8)
    alpha = forms.FloatField(min_value=0.001, max_value=0.2, initial=0.05)


def _plan(request: HttpRequest, report: StudyReport) -> tuple[PlanForm, dict[str, Any] | None, str]:
    if "effect" not in request.GET:
        return PlanForm(), None, ""
    form = PlanForm(request.GET)
    if not form.is_valid():
        return form, None, ""
    try:
        return form, report_plan(report=report, **form.cleaned_data), ""
    except ApplicationError as exc:
        return form, None, exc.message


# --- views --------------------------------------------------------------------------------------


@login_required
@never_cache
@require_GET
def report_page(request: HttpRequest, slug: str) -> HttpResponse:
    user, study = _study_or_404(request, slug)
    report = report_get(study=study)
    payload = report.payload
    audit_record(
        actor=user,
        action="report.viewed",
        study=study,
        data={"data_version": report.data_version[:12], "via": "page"},
    )
    # Drawn now, once per data version, so that the page's image requests find them ready.
    report_charts(report=report)
    form, plan, plan_error = _plan(request, report)
    charts = [
        {
            **chart,
            "url": reverse("analysis:report-chart", kwargs={"slug": slug, "name": chart["name"]})
            + f"?v={report.data_version[:12]}",
        }
        for chart in payload["charts"]
    ]
    exports = [
        {
            "title": e.title,
            "url": reverse("analysis:export", kwargs={"slug": slug, "kind": e.kind}),
            "name": export_filename(study=study, kind=e.kind),
        }
        for e in EXPORTS.values()
    ]
    context = {
        "study": study,
        "report": report,
        "payload": payload,
        "charts": charts,
        "exports": exports,
        "plan_form": form,
        "plan": plan,
        "plan_error": plan_error,
        "reporting": reporting_pack(study=study),
    }
    return render(request, "analysis/report.html", context)


@login_required
@never_cache
@require_GET
def report_chart(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    _, study = _study_or_404(request, slug)
    report = report_get(study=study)
    if name not in {chart["name"] for chart in report.payload["charts"]}:
        raise Http404("No such chart.")
    svg = report_charts(report=report).get(name)
    if svg is None:
        raise Http404("No such chart.")
    response = HttpResponse(svg, content_type="image/svg+xml")
    # Served from our origin: no script may run even if the SVG is opened on its own.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@login_required
@throttle("export")
@never_cache
@require_GET
def export_csv(request: HttpRequest, slug: str, kind: str) -> HttpResponseBase:
    user, study = _study_or_404(request, slug)
    if kind not in EXPORTS:
        raise Http404("No such export.")
    data: dict[str, Any] = {"kind": kind}
    if kind == "audit" and request.GET:
        # The console's audit page links here with its filter: export the rows it lists.
        form = AuditFilterForm(request.GET, actions=study_audit_actions(study_id=study.pk))
        if not form.is_valid():
            problems = "; ".join(
                f"{name}: {' '.join(str(e) for e in errs)}" for name, errs in form.errors.items()
            )
            return HttpResponseBadRequest(
                f"The audit filter is not valid: {problems}", content_type="text/plain"
            )
        where = form.audit_filter()
        chunks = audit_chunks(study=study, where=where)
        data["filter"] = {key: str(value) for key, value in form.cleaned_data.items() if value}
    else:
        chunks = export_chunks(study=study, kind=kind)
    # Who took which data out of the platform is accountable (the exports hold the truth).
    audit_record(actor=user, action="analysis.exported", study=study, data=data)
    response = StreamingHttpResponse(chunks, content_type=EXPORTS[kind].content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="{export_filename(study=study, kind=kind)}"'
    )
    return response
