"""The append-only audit log. Rows are written only by `readerstudy.audit.services.audit_record`.

Each event is a link of a hash chain (`readerstudy.audit.chain`): it carries its place in the
chain (`sequence`), its predecessor's hash and its own. The database keeps the chain from forking
(one event per sequence number, one successor per hash) and refuses updates (migrations 0003, 0004).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEvent(models.Model):
    """Something that happened and must be accountable later: who, what, on which object, when."""

    # Set before saving (not auto_now_add) because the hash covers it.
    at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
        help_text="Empty for events of the system itself (workers, commands).",
    )
    action = models.CharField(max_length=64, db_index=True)
    study = models.ForeignKey(
        "studies.Study",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
    )
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    sequence = models.PositiveBigIntegerField(
        unique=True, editable=False, help_text="Place in the hash chain: 1, 2, 3, … without gaps."
    )
    previous_hash = models.CharField(
        max_length=64, unique=True, editable=False, help_text="The preceding event's hash."
    )
    hash = models.CharField(
        max_length=64,
        unique=True,
        editable=False,
        help_text="SHA-256 of this event's content and the preceding event's hash.",
    )

    class Meta:
        ordering = ["sequence"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(action=""), name="audit_action_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.target_type}:{self.target_id}"
