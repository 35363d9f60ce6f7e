from __future__ import annotations

from django.contrib import admin

from readerstudy.admin_scoping import ReadOnlyAdmin
from readerstudy.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "action", "study", "target_type", "target_id")
    list_filter = ("action",)
    search_fields = ("action", "target_id")
