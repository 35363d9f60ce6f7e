"""Analysis API: the study report as strict JSON, and the planning of the next study's size."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analysis.web.exports import EXPORTS
from analysis.web.report import report_get, report_plan
from analysis.web.reporting import reporting_pack
from readerstudy.accounts import access
from readerstudy.accounts.access import ANALYSE
from readerstudy.accounts.models import User
from readerstudy.audit.services import audit_record
from readerstudy.studies.models import Study


def _study(request: Request, slug: str) -> Study:
    # Readers and strangers get the answer a missing study gets: nothing leaks.
    return access.get_or_404(
        Study.objects, user=request.user, roles=ANALYSE, path="", what="study", slug=slug
    )


class LinkOutput(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    url = serializers.CharField()


class ReportOutput(serializers.Serializer):
    """The report's sections; nested numbers keep the core's names (see README, Exports)."""

    data_version = serializers.CharField()
    computed_at = serializers.DateTimeField()
    compute_seconds = serializers.FloatField()
    study = serializers.JSONField()
    input = serializers.JSONField(help_text="What was analysed: readers, rounds, paired cases.")
    notes = serializers.ListField(
        child=serializers.CharField(), help_text="What is missing or left out, and why."
    )
    methods = serializers.JSONField()
    reader_metrics = serializers.JSONField(help_text="One row per reader and round.")
    changes = serializers.JSONField(help_text="Per reader, later − earlier round.")
    seniority = serializers.JSONField()
    model = serializers.JSONField(allow_null=True)
    mrmc = serializers.JSONField(allow_null=True, help_text="{delong: …, jackknife: …}")
    table1 = serializers.JSONField()
    table4 = serializers.JSONField()
    agreement = serializers.JSONField(
        allow_null=True, help_text="Per round: Fleiss' kappa with CI, pairwise Cohen's kappa."
    )
    reading_time = serializers.JSONField(
        allow_null=True, help_text="Per reader Wilcoxon/Hodges–Lehmann; mixed model of log time."
    )
    reliance = serializers.JSONField(
        allow_null=True, help_text="Per reader and pooled reliance on the AI (README)."
    )
    seniority_mrmc = serializers.JSONField(
        allow_null=True, help_text="OR MRMC within each seniority group of ≥ 2 readers."
    )
    bias_control = serializers.JSONField(
        help_text="Sequential studies: per reader, locked → final on the bias-control cases "
        "and on the cases with the AI, apart."
    )
    charts = LinkOutput(many=True)
    exports = LinkOutput(many=True)


class StudyReportApi(APIView):
    throttle_scope = "report"

    @extend_schema(responses=ReportOutput)
    def get(self, request: Request, slug: str) -> Response:
        study = _study(request, slug)
        report = report_get(study=study)
        audit_record(
            actor=request.user if isinstance(request.user, User) else None,
            action="report.viewed",
            study=study,
            data={"data_version": report.data_version[:12], "via": "api"},
        )
        payload: dict[str, Any] = {k: v for k, v in report.payload.items() if k != "csv"}
        payload["computed_at"] = report.computed_at
        payload["compute_seconds"] = report.compute_seconds
        payload["charts"] = [
            {
                **chart,
                "url": reverse(
                    "analysis:report-chart", kwargs={"slug": slug, "name": chart["name"]}
                ),
            }
            for chart in payload["charts"]
        ]
        payload["exports"] = [
            {
                "name": e.kind,
                "title": e.title,
                "url": reverse("analysis:export", kwargs={"slug": slug, "kind": e.kind}),
            }
            for e in EXPORTS.values()
        ]
        return Response(ReportOutput(payload).data)


class ReportingOutput(serializers.Serializer):
    """What the platform knows for STARD-AI, CLAIM and DECIDE-AI (README, Reporting pack)."""

    study = serializers.JSONField()
    guidelines = serializers.JSONField()
    flow = serializers.JSONField(help_text="Cases and readers: who read what, when; washout.")
    flow_svg = serializers.CharField(help_text="The flow diagram, an SVG document.")
    randomisation = serializers.JSONField()
    visibility = serializers.JSONField(help_text="What readers could see in each round.")
    software = serializers.JSONField(help_text="Platform and model versions, from metadata.")
    deidentification = serializers.JSONField()
    statistics = serializers.JSONField(help_text="Methods, references, validation tests.")
    data_access = serializers.JSONField(help_text="A summary of the study's audit log.")
    checklist = serializers.JSONField(help_text="Each topic: from the platform or to fill in.")


class StudyReportingApi(APIView):
    throttle_scope = "report"

    @extend_schema(responses=ReportingOutput)
    def get(self, request: Request, slug: str) -> Response:
        study = _study(request, slug)
        pack = reporting_pack(study=study)
        audit_record(
            actor=request.user if isinstance(request.user, User) else None,
            action="report.viewed",
            study=study,
            data={"via": "reporting"},
        )
        return Response(ReportingOutput(pack).data)


class PlanInput(serializers.Serializer):
    effect = serializers.FloatField(
        min_value=0.005, max_value=0.5, default=0.05, help_text="ΔAUC to detect."
    )
    power = serializers.FloatField(min_value=0.5, max_value=0.99, default=0.8)
    alpha = serializers.FloatField(min_value=0.001, max_value=0.2, default=0.05)


class CasesNeededOutput(serializers.Serializer):
    readers = serializers.IntegerField()
    cases = serializers.IntegerField(
        allow_null=True, help_text="null: more than 10,000 cases would still fall short."
    )
    suggestion = serializers.CharField(
        allow_null=True,
        required=False,
        help_text="When cases is null: the ΔAUC, or the number of readers, that would reach it.",
    )
    power = serializers.FloatField()


class PowerRowOutput(serializers.Serializer):
    readers = serializers.IntegerField()
    power = serializers.ListField(child=serializers.FloatField())


class PowerGridOutput(serializers.Serializer):
    cases = serializers.ListField(child=serializers.IntegerField())
    rows = PowerRowOutput(many=True)


class PlanOutput(serializers.Serializer):
    effect = serializers.FloatField()
    power = serializers.FloatField()
    alpha = serializers.FloatField()
    pilot = serializers.JSONField(help_text="This study: readers, cases, OR variance components.")
    cases_needed = CasesNeededOutput(many=True)
    power_grid = PowerGridOutput()


class StudyPlanApi(APIView):
    """Readers × cases for the next study, from this study's own variance components."""

    throttle_scope = "report"

    @extend_schema(parameters=[PlanInput], responses=PlanOutput)
    def get(self, request: Request, slug: str) -> Response:
        study = _study(request, slug)
        data = PlanInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        plan = report_plan(report=report_get(study=study), **data.validated_data)
        return Response(PlanOutput(plan).data)
