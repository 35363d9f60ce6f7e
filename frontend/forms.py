"""The console's forms: a study's settings, inviting a person, closing a study. They parse and
validate input (the model's own checks included); the services decide and save, and their
refusals land next to the field they concern."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator

from readerstudy.accounts.models import Role, Seniority
from readerstudy.errors import ApplicationError
from readerstudy.studies.models import Cohort, Study


class StudyForm(forms.ModelForm):
    reading_cohorts = forms.MultipleChoiceField(
        choices=Cohort.choices,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "checkboxes"}),
        help_text="Readers read the cases of these cohorts (the model's test cohorts, usually).",
    )

    class Meta:
        model = Study
        fields = (
            "title", "slug", "description", "design", "washout_days", "reading_cohorts",
            "ai_threshold", "collect_features", "allow_revisions",
        )  # fmt: skip
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        labels = {"ai_threshold": "AI threshold", "collect_features": "Ask the ultrasound features"}
        help_texts = {
            "slug": "The study's short name in addresses and exports: letters, digits, - and _.",
            "ai_threshold": "Above this probability the AI calls a case malignant (0 to 1).",
        }

    def __init__(self, *args: Any, frozen: dict[str, str] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if not self.instance.pk:
            self.fields["reading_cohorts"].initial = Study._meta.get_field(
                "reading_cohorts"
            ).get_default()
        self.fields["ai_threshold"].widget.attrs.update(min="0.01", max="0.99", step="0.01")
        # The database holds the year's limit; said here, next to the field, before it is hit.
        self.fields["washout_days"].validators.append(MaxValueValidator(365))
        self.fields["washout_days"].widget.attrs["max"] = "365"
        if self.instance.pk:
            del self.fields["slug"]  # addresses, exports and audit events name it
        for name, reason in (frozen or {}).items():
            if name in self.fields:
                self.fields[name].disabled = True
                self.fields[name].help_text = reason


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-mail address")
    name = forms.CharField(max_length=200, required=False, label="Full name")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.READER)
    seniority = forms.ChoiceField(
        choices=[("", "—"), *Seniority.choices], required=False, help_text="Readers only."
    )
    years_of_experience = forms.IntegerField(
        min_value=0, max_value=60, required=False, help_text="Readers only."
    )


class CloseForm(forms.Form):
    confirm = forms.BooleanField(
        label="I understand: no reads will be accepted any more (the report and exports stay).",
        error_messages={"required": "Tick this box to close the study."},
    )


def errors_onto(form: forms.BaseForm, error: ValidationError | ApplicationError) -> None:
    """Put a service's refusal on the form: each field's message next to that field, the rest
    at the top."""
    if isinstance(error, ValidationError):
        fields: dict[str, Any] = error.message_dict if hasattr(error, "error_dict") else {}
        message = "" if fields else " ".join(error.messages)
    else:
        fields = error.extra.get("fields", {})
        message = error.message
    for name, messages in fields.items():
        for text in messages if isinstance(messages, list) else [messages]:
            form.add_error(name if name in form.fields else None, text)
    if message and not fields:
        form.add_error(None, message)
