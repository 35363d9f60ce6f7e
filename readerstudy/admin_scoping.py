"""Admin base classes: coordinators see only their own studies' rows; some models are read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from readerstudy.accounts import access
from readerstudy.accounts.access import COORDINATE


class StudyScopedAdmin(admin.ModelAdmin):
    """Limits the change list to rows of studies the user coordinates.

    `study_path` is the lookup from the model to its study ("" for Study itself).
    """

    study_path: str = "study"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return access.scoped(
            super().get_queryset(request), user=request.user, roles=COORDINATE, path=self.study_path
        )


class ReadOnlyAdmin(StudyScopedAdmin):
    """Visible, never editable: reads, sessions, predictions and the audit log."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
