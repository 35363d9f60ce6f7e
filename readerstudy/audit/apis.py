"""`GET /api/audit/verify/`: does the audit log's hash chain hold?"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.accounts.models import Role, User
from readerstudy.audit.selectors import audit_chain_verify
from readerstudy.errors import NotPermitted


def _coordinated(user: User) -> list[tuple[int, str]]:
    """(id, slug) of the studies the user coordinates."""
    return list(
        user.study_memberships.filter(role=Role.COORDINATOR.value)
        .order_by("study__slug")
        .values_list("study_id", "study__slug")
    )


class ChainBreakOutput(serializers.Serializer[dict[str, Any]]):
    event_id = serializers.IntegerField()
    sequence = serializers.IntegerField()
    study_id = serializers.IntegerField(allow_null=True)
    kind = serializers.CharField()
    detail = serializers.CharField()


class StudyCountOutput(serializers.Serializer[dict[str, Any]]):
    slug = serializers.CharField()
    count = serializers.IntegerField()


class AuditChainOutput(serializers.Serializer[dict[str, Any]]):
    """The whole report, for superusers."""

    ok = serializers.BooleanField()
    count = serializers.IntegerField()
    head_sequence = serializers.IntegerField(allow_null=True)
    head_hash = serializers.CharField()
    first_break = ChainBreakOutput(allow_null=True)
    study_counts = serializers.DictField(child=serializers.IntegerField())


class AuditStudiesOutput(serializers.Serializer[dict[str, Any]]):
    """For coordinators: whether the chain holds, and their studies' event counts."""

    ok = serializers.BooleanField()
    studies = StudyCountOutput(many=True)


class AuditVerifyApi(APIView):
    """Superusers get the whole report; coordinators whether the chain holds and the number of
    events of each study they coordinate (the break itself may be in someone else's study)."""

    @extend_schema(
        responses=PolymorphicProxySerializer(
            component_name="AuditVerify",
            serializers=[AuditChainOutput, AuditStudiesOutput],
            resource_type_field_name=None,
        )
    )
    def get(self, request: Request) -> Response:
        user = request.user
        if not isinstance(user, User):
            raise NotPermitted("Log in to verify the audit log.")
        studies = [] if user.is_superuser else _coordinated(user)
        if not user.is_superuser and not studies and not user.has_role(Role.COORDINATOR):
            raise NotPermitted("Only superusers and coordinators may verify the audit log.")
        report = audit_chain_verify()
        body: dict[str, Any] = {"ok": report.ok}
        if user.is_superuser:
            broken = report.first_break
            body |= {
                "count": report.count,
                "head_sequence": report.head_sequence,
                "head_hash": report.head_hash,
                "first_break": None if broken is None else asdict(broken),
                "study_counts": {str(pk): n for pk, n in sorted(report.study_counts.items())},
            }
        else:
            body["studies"] = [
                {"slug": slug, "count": report.study_counts.get(pk, 0)} for pk, slug in studies
            ]
        output = AuditChainOutput if user.is_superuser else AuditStudiesOutput
        return Response(output(body).data)
