"""The audit API: whether the hash chain holds (under /api/, namespace "api")."""

from __future__ import annotations

from django.urls import path

from readerstudy.audit.apis import AuditVerifyApi

api_patterns = [
    path("audit/verify/", AuditVerifyApi.as_view(), name="audit-verify"),
]
