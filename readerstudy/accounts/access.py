"""The one place that decides what a user may see and do in a study.

A user's roles in a study are its staff memberships (coordinator, statistician) and its reader
enrolments; a superuser holds every role everywhere. Pages, the API, the admin and the exports
all ask here, and anything that is not the user's answers as a missing object would (`NotFound`),
so nothing leaks that it exists.

The rules work on any queryset through the lookup path from its model to the study ("" for a
study itself, "study" for a round, "case__study" for an image), reaching the memberships from the
user's side. So this module imports no other app: accounts stays the bottom layer.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any, TypeVar

from django.db.models import Manager, Model, Q, QuerySet

from readerstudy.accounts.models import Reader, Role, User
from readerstudy.errors import NotFound, NotPermitted

if TYPE_CHECKING:
    from readerstudy.studies.models import Study

M = TypeVar("M", bound=Model)

COORDINATE: frozenset[Role] = frozenset({Role.COORDINATOR})
# The report and the exports reveal the truth and every reader's reads: never to a reader.
ANALYSE: frozenset[Role] = frozenset({Role.COORDINATOR, Role.STATISTICIAN})
TAKE_PART: frozenset[Role] = frozenset(Role)
_PRECEDENCE = (Role.COORDINATOR, Role.STATISTICIAN, Role.READER)


def _study_ids(*, user: User, roles: Collection[Role]) -> list[QuerySet[Any]]:
    """Subqueries of the ids of the studies where the user holds one of `roles`."""
    ids: list[QuerySet[Any]] = []
    staff = [role.value for role in roles if role != Role.READER]
    if staff:
        ids.append(user.study_memberships.filter(role__in=staff).values("study"))
    if Role.READER in roles:
        ids.append(Reader.objects.filter(user=user).values("enrolments__study"))
    return ids


def scoped(
    rows: QuerySet[M] | Manager[M],
    *,
    user: Any,
    roles: Collection[Role] = TAKE_PART,
    path: str = "study",
) -> QuerySet[M]:
    """The rows that belong to studies where the user holds one of `roles`."""
    queryset = rows.all()
    if not isinstance(user, User) or not user.is_authenticated:
        return queryset.none()
    if user.is_superuser:
        return queryset
    key = f"{path}__in" if path else "pk__in"
    condition = Q(pk__in=[])
    for ids in _study_ids(user=user, roles=roles):
        condition |= Q(**{key: ids})
    return queryset.filter(condition)


def get_or_404(
    rows: QuerySet[M] | Manager[M],
    *,
    user: Any,
    roles: Collection[Role] = TAKE_PART,
    path: str = "study",
    what: str = "object",
    **lookup: Any,
) -> M:
    """The one row matching `lookup` among the user's; `NotFound` whether missing or not theirs."""
    found = scoped(rows, user=user, roles=roles, path=path).filter(**lookup).first()
    if found is None:
        raise NotFound(f"No such {what}.", extra={key: str(value) for key, value in lookup.items()})
    return found


def study_role(*, user: Any, study: Study) -> Role | None:
    """The user's strongest role in the study (coordinator, statistician, reader) or None."""
    if not isinstance(user, User) or not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.COORDINATOR
    held = set(study.memberships.filter(user=user).values_list("role", flat=True))
    if study.enrolments.filter(reader__user=user).exists():
        held.add(Role.READER.value)
    return next((role for role in _PRECEDENCE if role.value in held), None)


def study_require(*, user: Any, study: Study, roles: Collection[Role] = COORDINATE) -> None:
    """Refuse (`NotPermitted`) a service call by a user without one of `roles` in the study.

    Views have already answered 404 for a study that is not the user's; this is the services'
    own guard, so no caller can skip the rule.
    """
    if study_role(user=user, study=study) not in roles:
        names = " or ".join(sorted(role.value for role in roles))
        raise NotPermitted(f"Only a {names} of this study may do this.")


def reader_for(user: Any) -> Reader | None:
    """The user's reader profile, or None when they are not a radiologist reader."""
    if not isinstance(user, User) or not user.is_authenticated:
        return None
    reader = Reader.objects.filter(user=user).order_by("pk").first()
    if reader is not None:
        reader.user = user  # the request's user: no second load, no join
    return reader


def reader_or_404(user: Any, *, what: str = "object") -> Reader:
    """The user's reader profile; `NotFound` for anyone else, for a URL naming a reader's own
    session or round: to a non-reader it answers as a missing one would, so nothing leaks."""
    reader = reader_for(user)
    if reader is None:
        raise NotFound(f"No such {what}.")
    return reader


def reader_require(user: Any) -> Reader:
    """The user's reader profile; `NotPermitted` for anyone else (reading is for readers)."""
    if not isinstance(user, User) or not user.is_authenticated:
        raise NotPermitted("Log in as a reader.")
    reader = reader_for(user)
    if reader is None:
        raise NotPermitted("Only readers read cases.")
    return reader
