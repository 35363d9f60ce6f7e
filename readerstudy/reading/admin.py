from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from readerstudy.admin_scoping import ReadOnlyAdmin, StudyScopedAdmin
from readerstudy.reading.models import Read, ReadingSession, Round, RoundStatus, WashoutOverride


@admin.register(Round)
class RoundAdmin(StudyScopedAdmin):
    """Rounds open and close on the console (`round_open` checks what opening needs); a round
    readers have seen keeps its study, number and assistance."""

    list_display = ("study", "index", "assisted", "status", "opened_at", "closed_at")
    list_filter = ("study", "status")
    readonly_fields = ("status", "opened_at", "closed_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if isinstance(obj, Round) and (obj.status != RoundStatus.PLANNED or obj.sessions.exists()):
            readonly += ["study", "index", "assisted"]
        return readonly


@admin.register(ReadingSession)
class ReadingSessionAdmin(ReadOnlyAdmin):
    study_path = "round__study"
    list_display = ("reader", "round", "started_at", "completed_at")


@admin.register(Read)
class ReadAdmin(ReadOnlyAdmin):
    study_path = "session__round__study"
    list_display = ("session", "case", "decision", "confidence", "revision", "submitted_at")
    list_filter = ("decision", "revision")


@admin.register(WashoutOverride)
class WashoutOverrideAdmin(ReadOnlyAdmin):
    study_path = "round__study"
    list_display = ("round", "reader", "granted_by", "granted_at", "reason")
