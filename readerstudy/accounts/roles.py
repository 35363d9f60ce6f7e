"""The platform roles as Django groups, with the model permissions the admin needs."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

from readerstudy.accounts.models import Role

# Coordinators run studies through the admin; reads and the audit log are never editable there.
_COORDINATOR_PERMISSIONS = {
    "studies": {"study", "case", "caseimage", "enrolment", "studymembership"},
    "reading": {"round"},
    "inference": {"modelversion"},
    "accounts": {"reader"},
}
_VIEW_ONLY = {
    "reading": {"read", "readingsession", "washoutoverride"},
    "audit": {"auditevent"},
    "inference": {"prediction", "caseprediction", "precomputejob"},
}


def roles_ensure() -> dict[Role, Group]:
    """Create the three groups and give coordinators their admin permissions (idempotent)."""
    groups = {role: Group.objects.get_or_create(name=role.value)[0] for role in Role}
    wanted = Permission.objects.none()
    for app_label, models in _COORDINATOR_PERMISSIONS.items():
        wanted |= Permission.objects.filter(
            content_type__app_label=app_label, content_type__model__in=models
        )
    for app_label, models in _VIEW_ONLY.items():
        wanted |= Permission.objects.filter(
            content_type__app_label=app_label,
            content_type__model__in=models,
            codename__startswith="view_",
        )
    groups[Role.COORDINATOR].permissions.set(wanted)
    return groups
