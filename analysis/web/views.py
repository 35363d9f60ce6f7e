"""Statistician pages: the printable study report, its charts and the CSV exports.

Only a study's coordinators and statisticians get them; everyone else gets 404, the same answer
as for a study that does not exist. Numbers are formatted here, computed in ``analysis.web.report``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from analysis.web.exports import EXPORTS, export_chunks, export_filename
from analysis.web.models import StudyReport
from analysis.web.report import report_charts, report_get, report_plan
from readerstudy.accounts import access
from readerstudy.accounts.access import ANALYSE
from readerstudy.accounts.models import User
from readerstudy.audit.services import audit_record
from readerstudy.errors import ApplicationError
from readerstudy.studies.models import Study

DASH = "–"


def _study_or_404(request: HttpRequest, slug: str) -> tuple[User, Study]:
    user = request.user
    assert isinstance(user, User)
    study = access.scoped(Study.objects.all(), user=user, roles=ANALYSE, path="")
    found = study.filter(slug=slug).first()
    if found is None:
        raise Http404("No such study.")
    return user, found


# --- formatting -------------------------------------------------------------------------------


def _num(value: Any, digits: int = 3) -> str:
    if value is None or value == "":
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ci(value: Any, ci: Any, digits: int = 3) -> str:
    if value is None:
        return DASH
    if not ci or ci[0] is None or ci[1] is None:
        return _num(value, digits)
    return f"{_num(value, digits)} ({_num(ci[0], digits)} to {_num(ci[1], digits)})"


def _p(value: Any) -> str:
    if value is None:
        return DASH
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _classification_cells(row: dict[str, Any]) -> list[str]:
    """ACC, SE, SP, PPV, NPV, F1 and kappa, with their 95% CIs: the columns that the readers'
    table and the model's table share."""
    proportions = ("accuracy", "sensitivity", "specificity", "ppv", "npv")
    return [
        *(_ci(row[name], row[f"{name}_ci"]) for name in proportions),
        _num(row["f1"]),
        _ci(row["kappa"], row["kappa_ci"]),
    ]


def _table(title: str, columns: list[str], rows: list[list[str]], note: str = "") -> dict[str, Any]:
    return {"title": title, "columns": columns, "rows": rows, "note": note}


def _raw_table(title: str, block: dict[str, Any], note: str = "") -> dict[str, Any]:
    """A table the core laid out (Table 1, Table 4 summaries): p-values formatted, rest as is."""
    columns = [c for c in block["columns"] if c != "test"]
    position = {c: i for i, c in enumerate(block["columns"])}
    rows = []
    for row in block["rows"]:
        cells = []
        for column in columns:
            value = row[position[column]]
            if column == "p_value":
                test = row[position["test"]] if "test" in position else ""
                cells.append(f"{_p(value)} {test}".strip() if value is not None else "")
            else:
                cells.append(_num(value, 2) if isinstance(value, float) else (value or ""))
        rows.append(cells)
    return _table(title, columns, rows, note)


# --- the report's sections ----------------------------------------------------------------------


def _reader_table(payload: dict[str, Any]) -> dict[str, Any]:
    rows = [
        [
            r["reader"],
            r["seniority"],
            r["modality"],
            _num(r["n"]),
            _ci(r.get("auc"), r.get("auc_ci")),
            _ci(r["binary_auc"], r["binary_auc_ci"]),
            *_classification_cells(r),
            _num(r["time_mean"], 1),
            _num(r["active_time_mean"], 1),
        ]
        for r in payload["reader_metrics"]
    ]
    columns = ["Reader", "Seniority", "Round", "Cases", "AUC (confidence)", "Binary AUC"]
    columns += ["ACC", "SE", "SP", "PPV", "NPV", "F1", "Kappa", "Time (s)", "Active (s)"]
    return _table(
        "Each reader per round",
        columns,
        rows,
        "AUC from the 0–100 confidence with DeLong 95% CI; binary AUC = (SE + SP)/2; "
        "proportions with Wilson 95% CIs; times are means per case.",
    )


def _change_table(payload: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for c in payload["changes"]:
        rows.append(
            [
                c["reader"],
                f"{c['from']} → {c['to']}",
                _num(c["auc_from"]),
                _num(c["auc_to"]),
                _ci(c["delta_auc"], c["delta_auc_ci"]),
                _p(c["p"]),
                f"{_num(c.get('delta_sensitivity'))} (p {_p(c.get('sensitivity_p'))})",
                f"{_num(c.get('delta_specificity'))} (p {_p(c.get('specificity_p'))})",
            ]
        )
    columns = ["Reader", "Rounds", "AUC before", "AUC after", "ΔAUC (95% CI)", "p (DeLong)"]
    columns += ["ΔSE (McNemar)", "ΔSP (McNemar)"]
    return _table("Change between rounds (later − earlier)", columns, rows)


def _seniority_table(payload: dict[str, Any]) -> dict[str, Any]:
    names = ["auc", "binary_auc", "accuracy", "sensitivity", "specificity", "ppv", "npv"]
    names += ["f1", "kappa"]
    rows = [
        [r["seniority"], r["modality"], _num(r["n_readers"]), *(_num(r.get(n)) for n in names)]
        for r in payload["seniority"]
    ]
    columns = ["Seniority", "Round", "Readers", "AUC", "Binary AUC", "ACC", "SE", "SP", "PPV"]
    columns += ["NPV", "F1", "Kappa"]
    return _table("Means per seniority group", columns, rows)


def _mrmc_tables(payload: dict[str, Any]) -> list[dict[str, Any]]:
    block = payload["mrmc"]
    if not block:
        return []
    tables = []
    for method, result in block.items():
        rows = []
        for name in ("rrrc", "frrc", "rrfc"):
            test = result[name]
            statistic = (
                f"χ² {_num(test['chi2'])}, df {_num(test['df'], 1)}"
                if name == "frrc"
                else f"F {_num(test['f'])}, df {_num(test['df1'], 1)}/{_num(test['df2'], 1)}"
            )
            estimates = "; ".join(
                f"{m}: {_ci(f[name]['estimate'], f[name]['ci'])}"
                for m, f in result["modality_fom"].items()
            )
            rows.append(
                [
                    name.upper(),
                    estimates,
                    _ci(test["diff"], test["ci"]),
                    statistic,
                    _p(test["p"]),
                ]
            )
        v = result["var_components"]
        note = "Variance components: " + ", ".join(f"{k} {_num(x, 6)}" for k, x in v.items())
        tables.append(
            _table(
                f"MRMC, Obuchowski–Rockette with {method} covariance (FOM {result['fom']})",
                [
                    "Analysis",
                    "AUC per round (95% CI)",
                    "Later − earlier round (95% CI)",
                    "Test",
                    "p",
                ],
                rows,
                note,
            )
        )
    return tables


def _model_tables(payload: dict[str, Any]) -> list[dict[str, Any]]:
    model = payload["model"]
    if not model:
        return []
    rows = [
        [
            r["cohort"],
            r["level"],
            _num(r["n"]),
            _ci(r["auc"], r["auc_ci"]),
            *_classification_cells(r),
        ]
        for r in model["table2"]
    ]
    columns = ["Cohort", "Level", "n", "AUC", "ACC", "SE", "SP", "PPV", "NPV", "F1", "Kappa"]
    tables = [
        _table(
            f"The AI model alone ({model['name']}, threshold {model['threshold']})",
            columns,
            rows,
            "Case level = soft vote (mean probability over the case's images).",
        )
    ]
    if model["vs_readers"]:
        tables.append(
            _table(
                "The AI model against each reader (cases read; paired DeLong)",
                ["Reader", "Round", "AUC model", "AUC reader", "Model − reader (95% CI)", "p"],
                [
                    [
                        r["reader"],
                        r["modality"],
                        _num(r["auc_model"]),
                        _num(r["auc_reader"]),
                        _ci(r["diff"], r["ci"]),
                        _p(r["p"]),
                    ]
                    for r in model["vs_readers"]
                ],
            )
        )
    return tables


def _table4_tables(payload: dict[str, Any]) -> list[dict[str, Any]]:
    block = payload["table4"]
    tables = []
    if block["cases"]:
        columns = ["case", "cohort", "truth", "histology", "error", "n_wrong", "wrong_by"]
        tables.append(
            _table(
                "Table 4: misjudged cases",
                columns,
                [
                    [_num(r.get(c)) if c == "truth" else (r.get(c) or "") for c in columns]
                    for r in block["cases"]
                ],
                "Features of each case are in the cases export.",
            )
        )
    for summary in block["summaries"]:
        tables.append(_raw_table(f"Features of the errors: {summary['who']}", summary))
    return tables


def _sections(payload: dict[str, Any]) -> list[dict[str, Any]]:
    tables: list[dict[str, Any]] = []
    if payload["reader_metrics"]:
        tables.append(_reader_table(payload))
    if payload["changes"]:
        tables.append(_change_table(payload))
    if payload["seniority"]:
        tables.append(_seniority_table(payload))
    tables += _mrmc_tables(payload)
    tables += _model_tables(payload)
    for block in payload["table1"]:
        title = (
            f"Table 1, {block['cohort']} cohort: {block['cases']} cases "
            f"({block['malignant']} malignant, {block['benign']} benign)"
        )
        tables.append(_raw_table(title, block, "Median (Q1, Q3) or count (%)."))
    tables += _table4_tables(payload)
    return tables


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
    _, study = _study_or_404(request, slug)
    report = report_get(study=study)
    payload = report.payload
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
        "tables": _sections(payload),
        "charts": charts,
        "exports": exports,
        "plan_form": form,
        "plan": plan,
        "plan_error": plan_error,
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
@never_cache
@require_GET
def export_csv(request: HttpRequest, slug: str, kind: str) -> StreamingHttpResponse:
    user, study = _study_or_404(request, slug)
    if kind not in EXPORTS:
        raise Http404("No such export.")
    chunks = export_chunks(study=study, kind=kind)
    # Who took which data out of the platform is accountable (the exports hold the truth).
    audit_record(actor=user, action="analysis.exported", study=study, data={"kind": kind})
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{export_filename(study=study, kind=kind)}"'
    )
    return response
