from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from readerstudy.accounts.models import Reader, User
from readerstudy.admin_scoping import PEOPLE_PATHS, AuditedAdmin, people_scoped


def _superusers_only(request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
    """Everything for a superuser, nothing for anyone else: their objects answer 404."""
    user = request.user
    return queryset if isinstance(user, User) and user.is_superuser else queryset.none()


@admin.register(User)
class AuditedUserAdmin(UserAdmin, AuditedAdmin):
    """Users and their permissions: superusers only (coordinators have no permission here)."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return _superusers_only(request, super().get_queryset(request))


admin.site.unregister(Group)


@admin.register(Group)
class AuditedGroupAdmin(GroupAdmin, AuditedAdmin):
    """The role groups and their permissions: superusers only, like users."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return _superusers_only(request, super().get_queryset(request))


@admin.register(Reader)
class ReaderAdmin(AuditedAdmin):
    """Readers of the coordinator's studies, and readers not yet in any study. Whose profile it
    is never changes: moving a profile to another user would hand over that reader's reads."""

    list_display = ("user", "seniority", "years_experience")
    list_filter = ("seniority",)
    search_fields = ("user__username",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        user = request.user
        assert isinstance(user, User)
        if user.is_superuser:
            return queryset
        return people_scoped(queryset, user=user, paths=PEOPLE_PATHS["accounts.reader"])

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "user"] if obj is not None else readonly
