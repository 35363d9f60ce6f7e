"""The one function that records an audit event."""

from __future__ import annotations

from typing import Any

from django.db import models

from readerstudy.accounts.models import User
from readerstudy.audit.models import AuditEvent


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    study: Any | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event. Call inside the transaction of the change it records, so both or neither land."""
    return AuditEvent.objects.create(
        actor=actor,
        action=action,
        study=study,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        data=data or {},
    )
