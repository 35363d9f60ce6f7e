"""Rounds, washout overrides, reading sessions and reads."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q


class RoundStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Round(models.Model):
    """One pass of every reader over every case: round 1 unassisted, round 2 with the AI."""

    study = models.ForeignKey("studies.Study", on_delete=models.CASCADE, related_name="rounds")
    index = models.PositiveSmallIntegerField()
    assisted = models.BooleanField()
    status = models.CharField(
        max_length=16, choices=RoundStatus.choices, default=RoundStatus.PLANNED
    )
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["study", "index"]
        constraints = [
            models.UniqueConstraint(fields=["study", "index"], name="round_index_unique"),
            models.CheckConstraint(condition=Q(index__gte=1), name="round_index_from_one"),
            models.CheckConstraint(
                condition=Q(status__in=RoundStatus.values), name="round_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study.slug} round {self.index} ({'assisted' if self.assisted else 'unassisted'})"


class WashoutOverride(models.Model):
    """A coordinator's audited permission for one reader to start a round before the washout ends."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="washout_overrides")
    reader = models.ForeignKey("accounts.Reader", on_delete=models.PROTECT, related_name="+")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "reader"], name="washout_override_once"),
            models.CheckConstraint(condition=~Q(reason=""), name="washout_override_has_reason"),
        ]

    def __str__(self) -> str:
        return f"washout override for {self.reader} in {self.round}"


class ReadingSession(models.Model):
    """One reader in one round: a stored random order of the cases and the reader's progress."""

    reader = models.ForeignKey("accounts.Reader", on_delete=models.PROTECT, related_name="sessions")
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="sessions")
    # 128 bits from a CSPRNG, as hex: stored so the order can be audited, never recomputed.
    seed = models.CharField(max_length=64)
    permutation = models.JSONField(help_text="Case primary keys in reading order.")
    # What the study's design assigned this session, derived from stored seeds at its start and
    # kept so it is audited, never recomputed: crossover {"arm", "block_of", "assisted"},
    # sequential {"control"} (the bias-control cases). Empty for independent rounds.
    assignment = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Not columns: what `read_submit` learns with the session it locks. When the case being read
    # was first shown (an annotation of the lock's query), and the cases finished once the read
    # is in, so the next case is found without counting them again.
    case_shown_at: datetime | None = None
    finished_cases: frozenset[int] | None = None

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reader", "round"], name="session_once_per_round"),
            models.CheckConstraint(condition=~Q(seed=""), name="session_has_seed"),
            models.CheckConstraint(
                condition=Q(completed_at__isnull=True)
                | (Q(started_at__isnull=False) & Q(completed_at__gte=models.F("started_at"))),
                name="session_completed_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reader.user.get_username()} · {self.round}"

    @property
    def is_complete(self) -> bool:
        return self.completed_at is not None


class CaseView(models.Model):
    """When the server first showed a case in a session: the start of the time on case."""

    session = models.ForeignKey(ReadingSession, on_delete=models.CASCADE, related_name="views")
    case = models.ForeignKey("studies.Case", on_delete=models.PROTECT, related_name="+")
    first_shown_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "case"], name="case_view_once"),
        ]

    def __str__(self) -> str:
        return f"{self.session} saw {self.case_id} at {self.first_shown_at:%Y-%m-%d %H:%M:%S}"


class Decision(models.TextChoices):
    BENIGN = "benign", "Benign"
    MALIGNANT = "malignant", "Malignant"


class Phase(models.TextChoices):
    """Which read of a case in its session: the only one, or a sequential read's two steps."""

    SINGLE = "single", "Single read"
    LOCKED = "locked", "Unassisted read, locked (sequential)"
    FINAL = "final", "Final read after the lock (sequential)"


class Read(models.Model):
    """A reader's answer to a case in a session. Never updated: a correction is a new revision.

    Revisions form a chain through `supersedes` (one-to-one, so a read is superseded at most once);
    with at most one first revision per session and case, the chain has exactly one current read:
    the one nothing supersedes.
    """

    session = models.ForeignKey(ReadingSession, on_delete=models.PROTECT, related_name="reads")
    case = models.ForeignKey("studies.Case", on_delete=models.PROTECT, related_name="reads")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    confidence = models.PositiveSmallIntegerField(help_text="Confidence of malignancy, 0–100.")
    features = models.JSONField(default=dict, blank=True)
    comment = models.TextField(blank=True)
    nonce = models.UUIDField(default=uuid.uuid4, help_text="The client's id of this submission.")
    started_at = models.DateTimeField(help_text="When the server first showed the case.")
    submitted_at = models.DateTimeField()
    active_ms = models.PositiveIntegerField(help_text="Client-measured time with the tab visible.")
    revision = models.PositiveSmallIntegerField(default=1)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    revision_reason = models.TextField(blank=True)
    phase = models.CharField(max_length=8, choices=Phase.choices, default=Phase.SINGLE)
    assisted = models.BooleanField(
        default=False, help_text="The AI's output was shown when this read was made."
    )

    class Meta:
        ordering = ["session", "submitted_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__gte=0) & Q(confidence__lte=100),
                name="read_confidence_0_100",
            ),
            models.CheckConstraint(
                condition=Q(decision__in=Decision.values), name="read_decision_valid"
            ),
            models.UniqueConstraint(
                fields=["session", "nonce"], name="read_nonce_unique_in_session"
            ),
            models.UniqueConstraint(
                fields=["session", "case", "phase"],
                condition=Q(supersedes__isnull=True),
                name="read_one_first_revision_per_phase",
            ),
            models.UniqueConstraint(
                fields=["session", "case", "phase", "revision"],
                name="read_revision_unique_per_phase",
            ),
            models.CheckConstraint(condition=Q(phase__in=Phase.values), name="read_phase_valid"),
            # The locked step of a sequential read is unassisted by definition.
            models.CheckConstraint(
                condition=~Q(phase=Phase.LOCKED) | Q(assisted=False),
                name="read_locked_unassisted",
            ),
            models.CheckConstraint(
                condition=(Q(supersedes__isnull=True) & Q(revision=1))
                | (Q(supersedes__isnull=False) & Q(revision__gt=1) & ~Q(revision_reason="")),
                name="read_revision_chain",
            ),
            models.CheckConstraint(
                condition=Q(submitted_at__gte=models.F("started_at")),
                name="read_submitted_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"read {self.pk} r{self.revision}: {self.decision} {self.confidence}"

    @property
    def is_current(self) -> bool:
        return not hasattr(self, "superseded_by")


class ReadMeasurement(models.Model):
    """A caliper distance a reader drew with a read: endpoints in the original image's pixels.

    `length_mm` is the server's, from the image's stored pixel spacing; null where the image has
    none (the reader saw pixels only).
    """

    read = models.ForeignKey(Read, on_delete=models.CASCADE, related_name="measurements")
    image = models.ForeignKey("studies.CaseImage", on_delete=models.PROTECT, related_name="+")
    frame = models.PositiveIntegerField(default=0)
    x0 = models.FloatField()
    y0 = models.FloatField()
    x1 = models.FloatField()
    y1 = models.FloatField()
    length_px = models.FloatField()
    length_mm = models.FloatField(null=True, blank=True)
    fills_max_diameter = models.BooleanField(default=False)

    class Meta:
        ordering = ["read", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(x0__gte=0) & Q(y0__gte=0) & Q(x1__gte=0) & Q(y1__gte=0),
                name="measurement_inside_image",
            ),
            models.CheckConstraint(condition=Q(length_px__gte=0), name="measurement_length_px"),
        ]

    def __str__(self) -> str:
        length = (
            f"{self.length_mm:.1f} mm" if self.length_mm is not None else f"{self.length_px:.0f} px"
        )
        return f"measurement {self.pk} of read {self.read_id}: {length}"


class PracticeSession(models.Model):
    """A reader's pass over the study's practice cases, before their first session."""

    reader = models.ForeignKey("accounts.Reader", on_delete=models.PROTECT, related_name="+")
    study = models.ForeignKey("studies.Study", on_delete=models.CASCADE, related_name="+")
    seed = models.CharField(max_length=64)
    permutation = models.JSONField(help_text="Practice case primary keys in reading order.")
    assisted = models.BooleanField(help_text="The AI's output is shown (assisted practice).")
    started_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reader", "study"], name="practice_once_per_study"),
            models.CheckConstraint(condition=~Q(seed=""), name="practice_has_seed"),
        ]

    def __str__(self) -> str:
        return f"practice of {self.reader} in {self.study}"


class PracticeRead(models.Model):
    """An answer to a practice case: stored and exported apart, never analysed."""

    session = models.ForeignKey(PracticeSession, on_delete=models.PROTECT, related_name="reads")
    case = models.ForeignKey("studies.Case", on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    confidence = models.PositiveSmallIntegerField()
    nonce = models.UUIDField()
    started_at = models.DateTimeField()
    submitted_at = models.DateTimeField()
    active_ms = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "case"], name="practice_read_once"),
            models.UniqueConstraint(fields=["session", "nonce"], name="practice_read_nonce"),
            models.CheckConstraint(
                condition=Q(confidence__gte=0) & Q(confidence__lte=100),
                name="practice_read_confidence_0_100",
            ),
        ]

    def __str__(self) -> str:
        return f"practice read {self.pk}: {self.decision} {self.confidence}"
