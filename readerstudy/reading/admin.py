from __future__ import annotations

from django.contrib import admin

from readerstudy.admin_scoping import ReadOnlyAdmin, StudyScopedAdmin
from readerstudy.reading.models import Read, ReadingSession, Round, WashoutOverride


@admin.register(Round)
class RoundAdmin(StudyScopedAdmin):
    list_display = ("study", "index", "assisted", "status", "opened_at", "closed_at")
    list_filter = ("study", "status")


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
