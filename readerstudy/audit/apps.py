from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "readerstudy.audit"
    label = "audit"
    verbose_name = "Audit"
