"""The questionnaire page's form, built from the instruments the round asks."""

from __future__ import annotations

from typing import Any

from django import forms

from readerstudy.questionnaires.instruments import NASA_TLX, SUS
from readerstudy.questionnaires.selectors import Asked

_SUS_LABELS = {1: "1 strongly disagree", 2: "2", 3: "3", 4: "4", 5: "5 strongly agree"}


class QuestionnaireForm(forms.Form):
    """One field per item, named `<instrument>-<item>`; `answers()` groups them back."""

    def __init__(self, *args: Any, asked: list[Asked], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked = asked
        for entry in asked:
            instrument = entry.questionnaire.instrument
            for item in entry.items:
                name = f"{instrument}-{item.key}"
                if instrument == NASA_TLX:
                    self.fields[name] = forms.IntegerField(
                        label=item.text,
                        min_value=item.low,
                        max_value=item.high,
                        step_size=item.step,
                        widget=forms.NumberInput(attrs={"step": item.step}),
                        help_text=f"From {item.low} to {item.high}, in steps of {item.step}.",
                    )
                else:
                    labels = _SUS_LABELS if instrument == SUS else {}
                    choices = [(v, labels.get(v, str(v))) for v in range(item.low, item.high + 1)]
                    self.fields[name] = forms.TypedChoiceField(
                        label=item.text, choices=choices, coerce=int, widget=forms.RadioSelect
                    )

    def answers(self) -> dict[str, dict[str, int]]:
        grouped: dict[str, dict[str, int]] = {}
        for name, value in self.cleaned_data.items():
            instrument, key = name.split("-", 1)
            grouped.setdefault(instrument, {})[key] = int(value)
        return grouped
