"""Questionnaires a round asks after a session, and readers' answers."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from readerstudy.questionnaires.instruments import INSTRUMENTS, TITLES


class Instrument(models.TextChoices):
    SUS = "sus", TITLES["sus"]
    NASA_TLX = "nasa_tlx", TITLES["nasa_tlx"]
    TRUST = "trust", TITLES["trust"]


assert tuple(Instrument.values) == INSTRUMENTS


class RoundQuestionnaire(models.Model):
    """An instrument a round asks each reader after their session (trust: with its items)."""

    round = models.ForeignKey(
        "reading.Round", on_delete=models.CASCADE, related_name="questionnaires"
    )
    instrument = models.CharField(max_length=16, choices=Instrument.choices)
    position = models.PositiveSmallIntegerField(default=0)
    items = models.JSONField(
        default=list, blank=True, help_text="Trust scale only: [{text, reverse}] (empty: default)."
    )

    class Meta:
        ordering = ["round", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["round", "instrument"], name="questionnaire_once"),
            models.CheckConstraint(
                condition=Q(instrument__in=Instrument.values), name="questionnaire_instrument_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} after {self.round}"


class QuestionnaireResponse(models.Model):
    """A reader's answers to one instrument after one session, with its scores. Never changed."""

    session = models.ForeignKey(
        "reading.ReadingSession", on_delete=models.PROTECT, related_name="questionnaire_responses"
    )
    instrument = models.CharField(max_length=16, choices=Instrument.choices)
    items = models.JSONField(help_text="The items as asked: [{key, text, low, high, reverse}].")
    answers = models.JSONField()
    scores = models.JSONField()
    submitted_at = models.DateTimeField()

    class Meta:
        ordering = ["session", "instrument"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "instrument"], name="questionnaire_answered_once"
            ),
            models.CheckConstraint(
                condition=Q(instrument__in=Instrument.values), name="questionnaire_response_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} by session {self.session_id}"
