"""Audit events for logins, logouts, failed logins and changes of a user's permissions.

Thin receivers of Django's signals, connected in `AuditConfig.ready`; each calls `audit_record`.
Permission changes are recorded from the models' signals, so a change made anywhere (admin, shell,
a service) is caught; they carry no actor (a signal does not know the request), but a change made
in the admin is also the admin's own event, with its actor, in the same transaction.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.http import HttpRequest

from readerstudy.accounts.client_address import client_address
from readerstudy.accounts.models import User
from readerstudy.audit.services import audit_record

USERNAME_KEPT = 150  # a failed login's attempted username is kept up to this length (User's own)
FLAGS = ("is_staff", "is_superuser")
_BEFORE = "_audit_flags_before"


def on_logged_in(*, request: HttpRequest | None, user: Any, **_: Any) -> None:
    actor = user if isinstance(user, User) else None
    audit_record(
        actor=actor, action="auth.login", target=actor, data={"ip": client_address(request)}
    )


def on_logged_out(*, request: HttpRequest | None, user: Any, **_: Any) -> None:
    if not isinstance(user, User):
        return  # nobody was logged in
    audit_record(
        actor=user, action="auth.logout", target=user, data={"ip": client_address(request)}
    )


def on_login_failed(
    *, credentials: dict[str, Any], request: HttpRequest | None = None, **_: Any
) -> None:
    # Only the username: Django masks the password in `credentials`, but keep none of the rest.
    username = str(credentials.get(User.USERNAME_FIELD, credentials.get("username", "")))
    audit_record(
        actor=None,
        action="auth.login_failed",
        data={"username": username[:USERNAME_KEPT], "ip": client_address(request)},
    )


def on_user_pre_save(
    *, instance: User, update_fields: Any = None, raw: bool = False, **_: Any
) -> None:
    """Remember the flags as stored, unless this save cannot change them (e.g. `last_login`)."""
    if (
        raw
        or instance.pk is None
        or (update_fields is not None and not set(FLAGS) & set(update_fields))
    ):
        return
    stored = User.objects.filter(pk=instance.pk).values(*FLAGS).first()
    setattr(instance, _BEFORE, stored)


def on_user_post_save(*, instance: User, created: bool, raw: bool = False, **_: Any) -> None:
    before = getattr(instance, _BEFORE, None)
    if raw or (before is None and not created):
        return
    if hasattr(instance, _BEFORE):
        delattr(instance, _BEFORE)
    before = before or dict.fromkeys(FLAGS, False)
    changes = {
        flag: [before[flag], getattr(instance, flag)]
        for flag in FLAGS
        if before[flag] != getattr(instance, flag)
    }
    if changes:
        audit_record(
            actor=None, action="accounts.permissions_changed", target=instance, data=changes
        )


def _names(model: type[Group | Permission], pks: set[int]) -> list[str]:
    if model is Group:
        return sorted(Group.objects.filter(pk__in=pks).values_list("name", flat=True))
    return sorted(
        f"{app}.{codename}"
        for app, codename in Permission.objects.filter(pk__in=pks).values_list(
            "content_type__app_label", "codename"
        )
    )


def _m2m_changed(relation: str, model: type[Group | Permission]) -> Any:
    """A receiver for User.groups or User.user_permissions, changed from either side."""
    key = "_audit_cleared_" + relation

    def receiver(
        *, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **_: Any
    ) -> None:
        if action == "pre_clear":
            # After the clear nothing says what was there: note it now.
            if reverse:
                setattr(instance, key, set(instance.user_set.values_list("pk", flat=True)))
            else:
                setattr(
                    instance, key, set(getattr(instance, relation).values_list("pk", flat=True))
                )
            return
        if action not in {"post_add", "post_remove", "post_clear"}:
            return
        if action == "post_clear":
            pk_set = getattr(instance, key, set())
        if not pk_set:
            return
        verb = "added" if action == "post_add" else "removed"
        if reverse:  # group.user_set.add(...) or permission.user_set.remove(...)
            name = _names(model, {instance.pk})
            for user in User.objects.filter(pk__in=pk_set):
                audit_record(
                    actor=None,
                    action="accounts.permissions_changed",
                    target=user,
                    data={relation: {verb: name}},
                )
        else:
            audit_record(
                actor=None,
                action="accounts.permissions_changed",
                target=instance,
                data={relation: {verb: _names(model, pk_set)}},
            )

    return receiver


on_groups_changed = _m2m_changed("groups", Group)
on_user_permissions_changed = _m2m_changed("user_permissions", Permission)
