"""The admin is an interface like any other: its lists, filters, dropdowns and saves go through the
access rules (`readerstudy.accounts.access`), what readers saw cannot change once reading started,
and every change is audited.

- Lists: a coordinator sees only rows of the studies they coordinate (`study_path` leads from the
  model to its study). An object outside them answers 404, as a missing one (Django's admin
  would redirect to its index with a message instead: `AuditedAdmin.get_object`).
- Dropdowns: every foreign key to a study-owned model offers only the coordinator's rows, so a
  forged POST naming another study's row fails validation like any bad choice. People (users,
  readers) are offered when they belong to the coordinator's studies or to no study yet.
- Filters on a relation list only the values present in the scoped list.
- Frozen once reading started (a reading session exists in the study): `frozen_once_reading`.
- Audit: each admin addition, change and deletion is also an audit event of its study.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

from django.contrib import admin
from django.db.models import ForeignKey, Model, Q, QuerySet
from django.forms import ModelChoiceField
from django.http import Http404, HttpRequest

from readerstudy.accounts import access
from readerstudy.accounts.access import COORDINATE
from readerstudy.accounts.models import User
from readerstudy.audit.services import audit_record

# From each study-owned model (app label, model name) to its study, for dropdowns and audit.
STUDY_PATHS: dict[str, str] = {
    "studies.study": "",
    "studies.case": "study",
    "studies.caseimage": "case__study",
    "studies.enrolment": "study",
    "studies.studymembership": "study",
    "studies.importjob": "study",
    "reading.round": "study",
    "reading.readingsession": "round__study",
    "reading.read": "session__round__study",
    "reading.washoutoverride": "round__study",
    "inference.prediction": "image__case__study",
    "inference.caseprediction": "case__study",
    "inference.precomputejob": "study",
    "audit.auditevent": "study",
}
# People belong to studies through these paths; a person in no study yet can be enrolled.
PEOPLE_PATHS: dict[str, tuple[str, ...]] = {
    "accounts.user": ("study_memberships__study", "reader__enrolments__study"),
    "accounts.reader": ("enrolments__study",),
}


def _coordinator(request: HttpRequest) -> User | None:
    """The user when the admin must scope for them; None for a superuser (who sees everything)."""
    user = request.user
    if isinstance(user, User) and user.is_superuser:
        return None
    assert isinstance(user, User)
    return user


def people_scoped(queryset: QuerySet[Any], *, user: User, paths: tuple[str, ...]) -> QuerySet[Any]:
    """People in the user's coordinated studies, or in no study at all."""
    coordinated = access.scoped(
        queryset.model._default_manager.all(), user=user, roles=COORDINATE, path=paths[0]
    ).values("pk")
    nowhere = reduce(lambda q, path: q & Q(**{f"{path}__isnull": True}), paths, Q())
    ours = Q(pk__in=coordinated)
    for path in paths[1:]:
        ours |= Q(
            pk__in=access.scoped(
                queryset.model._default_manager.all(), user=user, roles=COORDINATE, path=path
            ).values("pk")
        )
    return queryset.filter(ours | nowhere).distinct()


def rows_for(queryset: QuerySet[Any], *, user: User | None) -> QuerySet[Any]:
    """The rows of a related model a coordinator may pick (all for a superuser)."""
    if user is None:
        return queryset
    label = queryset.model._meta.label_lower
    if label in STUDY_PATHS:
        return access.scoped(queryset, user=user, roles=COORDINATE, path=STUDY_PATHS[label])
    if label in PEOPLE_PATHS:
        return people_scoped(queryset, user=user, paths=PEOPLE_PATHS[label])
    return queryset


def study_of(obj: Model) -> Model | None:
    """The study an object belongs to, by its path; None for objects of no study."""
    path = STUDY_PATHS.get(obj._meta.label_lower)
    if path is None:
        return None
    found: Any = obj
    for step in filter(None, path.split("__")):
        found = getattr(found, step, None)
        if found is None:
            return None
    return found


def reading_started(study: Model | None) -> bool:
    """Whether any reader has started a session in the study: what readers saw is then fixed."""
    return (
        study is not None
        and type(study)
        ._default_manager.filter(pk=study.pk, rounds__sessions__isnull=False)
        .exists()
    )


class ScopedFormFieldsMixin:
    """Dropdowns of foreign keys offer only the coordinator's rows (inlines use it too)."""

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]
        if field is not None:
            field.queryset = rows_for(field.queryset, user=_coordinator(request))
        return field


class AuditedAdmin(ScopedFormFieldsMixin, admin.ModelAdmin):
    """Every admin addition, change and deletion is an audit event of the object's study.

    An object outside the (scoped) queryset is 404: the change, history, delete and password
    views all fetch through `get_object`, before they check permissions, so neither a missing
    object nor another study's answers anything else.
    """

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such object.")
        return obj

    def _audit(self, request: HttpRequest, obj: Model, verb: str, message: Any) -> None:
        user = request.user
        audit_record(
            actor=user if isinstance(user, User) else None,
            action=f"admin.{verb}",
            target=obj,
            study=study_of(obj),
            data={"model": obj._meta.label_lower, "object": str(obj), "change": message},
        )

    def log_addition(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        self._audit(request, obj, "added", message)
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        self._audit(request, obj, "changed", message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        for obj in queryset:
            self._audit(request, obj, "deleted", "")
        return super().log_deletions(request, queryset)


class StudyScopedAdmin(AuditedAdmin):
    """Limits the change list to rows of studies the user coordinates, and freezes what readers
    saw once reading started.

    `study_path` is the lookup from the model to its study ("" for Study itself);
    `frozen_once_reading` names the fields that become read-only once a reader started a session.
    """

    study_path: str = "study"
    frozen_once_reading: tuple[str, ...] = ()

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return access.scoped(
            super().get_queryset(request), user=request.user, roles=COORDINATE, path=self.study_path
        )

    def get_list_filter(self, request: HttpRequest) -> Any:
        # A filter on a relation lists only the values in the (scoped) list, never other studies'.
        return [
            (name, admin.RelatedOnlyFieldListFilter)
            if isinstance(name, str) and self._is_relation(name)
            else name
            for name in super().get_list_filter(request)
        ]

    def _is_relation(self, name: str) -> bool:
        try:
            field = self.model._meta.get_field(name)
        except Exception:  # a lookup through relations, or not a field: leave it as it is
            return False
        return bool(field.is_relation)

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and reading_started(study_of(obj)):
            readonly += [name for name in self.frozen_once_reading if name not in readonly]
        return readonly


class ReadOnlyAdmin(StudyScopedAdmin):
    """Visible, never editable: reads, sessions, predictions and the audit log."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
