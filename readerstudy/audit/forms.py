"""The audit log's filter, shared by the console's audit page and the audit CSV export.

Both read the same query string (``?action=…&actor=…&since=YYYY-MM-DD&until=YYYY-MM-DD``), so the
"Download these as CSV" link exports exactly the rows the page lists.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django import forms
from django.utils import timezone

from readerstudy.audit.selectors import AuditFilter


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(required=False, label="Action")
    actor = forms.CharField(required=False, max_length=150, label="User")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput({"type": "date"}))
    until = forms.DateField(
        required=False, label="To (inclusive)", widget=forms.DateInput({"type": "date"})
    )

    def __init__(self, *args: object, actions: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["action"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "any action"), *((action, action) for action in actions)]

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if isinstance(since, date) and isinstance(until, date) and until < since:
            self.add_error("until", "The end date is before the start date.")
        return cleaned

    def audit_filter(self) -> AuditFilter:
        """The filter of a valid form (dates as the local day's bounds; the end day included)."""
        data = self.cleaned_data
        since, until = data.get("since"), data.get("until")
        return AuditFilter(
            action=data.get("action") or "",
            actor=(data.get("actor") or "").strip(),
            since=_day_start(since) if since else None,
            until=_day_start(until + timedelta(days=1)) if until else None,
        )
