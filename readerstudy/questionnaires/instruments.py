"""The standard instruments a round may ask after its session, and their scoring. No Django.

- System Usability Scale (Brooke 1996): ten items, 1 (strongly disagree) to 5 (strongly agree);
  odd items score x − 1, even items 5 − x, the sum × 2.5 gives 0–100.
- NASA-TLX, raw (Hart 2006, "NASA-TLX: 20 years later"): six subscales 0–100 in steps of 5,
  unweighted; the raw TLX is their mean. Performance runs from 0 = perfect to 100 = failure,
  so higher is more workload on every subscale.
- Trust in the AI: Likert items the coordinator edits (the default five are adapted from
  Jian, Bisantz & Drury 2000), 1–7; reverse-keyed items score 8 − x; the score is the mean.
Hand-written: each is a formula of a few lines, and no maintained library scores them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SUS = "sus"
NASA_TLX = "nasa_tlx"
TRUST = "trust"
INSTRUMENTS = (SUS, NASA_TLX, TRUST)
TITLES = {
    SUS: "System Usability Scale",
    NASA_TLX: "NASA Task Load Index (raw)",
    TRUST: "Trust in the AI",
}

SUS_ITEMS = (
    "I think that I would like to use this system frequently.",
    "I found the system unnecessarily complex.",
    "I thought the system was easy to use.",
    "I think that I would need the support of a technical person to be able to use this system.",
    "I found the various functions in this system were well integrated.",
    "I thought there was too much inconsistency in this system.",
    "I would imagine that most people would learn to use this system very quickly.",
    "I found the system very cumbersome to use.",
    "I felt very confident using the system.",
    "I needed to learn a lot of things before I could get going with this system.",
)
TLX_SUBSCALES = (
    ("mental", "Mental demand: how mentally demanding was the task?"),
    ("physical", "Physical demand: how physically demanding was the task?"),
    ("temporal", "Temporal demand: how hurried or rushed was the pace of the task?"),
    ("performance", "Performance: how successful were you? (0 = perfect, 100 = failure)"),
    ("effort", "Effort: how hard did you have to work to accomplish your level of performance?"),
    (
        "frustration",
        "Frustration: how insecure, discouraged, irritated, stressed and annoyed were you?",
    ),
)
TRUST_POINTS = 7
DEFAULT_TRUST_ITEMS: tuple[dict[str, Any], ...] = (
    {"text": "The AI's output is reliable.", "reverse": False},
    {"text": "I can trust the AI's output.", "reverse": False},
    {"text": "I am confident in the AI's output.", "reverse": False},
    {"text": "I am wary of the AI's output.", "reverse": True},
    {"text": "The AI's output can lead to a wrong diagnosis.", "reverse": True},
)


class InstrumentError(ValueError):
    """Answers or items that do not fit the instrument."""


@dataclass(frozen=True)
class Item:
    key: str
    text: str
    low: int
    high: int
    step: int = 1
    reverse: bool = False


def instrument_items(instrument: str, trust_items: Sequence[Mapping[str, Any]] = ()) -> list[Item]:
    """The items of an instrument, in order (for trust: the coordinator's items)."""
    if instrument == SUS:
        return [Item(f"q{i}", text, 1, 5) for i, text in enumerate(SUS_ITEMS, 1)]
    if instrument == NASA_TLX:
        return [Item(key, text, 0, 100, 5) for key, text in TLX_SUBSCALES]
    if instrument == TRUST:
        items = trust_items_clean(trust_items or DEFAULT_TRUST_ITEMS)
        return [
            Item(f"q{i}", item["text"], 1, TRUST_POINTS, reverse=item["reverse"])
            for i, item in enumerate(items, 1)
        ]
    raise InstrumentError(f"Unknown instrument {instrument!r}: one of {', '.join(INSTRUMENTS)}.")


def trust_items_clean(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The coordinator's trust items checked: 1–20 items, each a text and a reverse flag."""
    if not 1 <= len(items) <= 20:
        raise InstrumentError("A trust scale has between 1 and 20 items.")
    clean = []
    for i, item in enumerate(items, 1):
        text = str(item.get("text", "")).strip() if isinstance(item, Mapping) else ""
        if not text or len(text) > 300:
            raise InstrumentError(f"Trust item {i} needs a text of at most 300 characters.")
        clean.append({"text": text, "reverse": bool(item.get("reverse", False))})
    return clean


def answers_clean(items: Sequence[Item], answers: Mapping[str, Any]) -> dict[str, int]:
    """Every item answered with an integer on its scale, nothing else; errors name the item."""
    keys = {item.key for item in items}
    unknown = sorted(set(answers) - keys)
    if unknown:
        raise InstrumentError(f"Unknown items: {', '.join(unknown)}.")
    clean: dict[str, int] = {}
    for item in items:
        value = answers.get(item.key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InstrumentError(f"Item {item.key} needs an answer.")
        if not item.low <= value <= item.high or (value - item.low) % item.step:
            raise InstrumentError(
                f"Item {item.key}: {value} is not on its scale ({item.low}–{item.high}"
                f"{f' in steps of {item.step}' if item.step > 1 else ''})."
            )
        clean[item.key] = value
    return clean


def sus_score(answers: Mapping[str, int]) -> float:
    """The SUS score 0–100 from the ten answers q1…q10 (1–5)."""
    total = sum(answers[f"q{i}"] - 1 if i % 2 else 5 - answers[f"q{i}"] for i in range(1, 11))
    return total * 2.5


def tlx_raw(answers: Mapping[str, int]) -> dict[str, float]:
    """The six subscales and their unweighted mean (the raw TLX)."""
    scores = {key: float(answers[key]) for key, _ in TLX_SUBSCALES}
    scores["raw_tlx"] = sum(scores.values()) / len(TLX_SUBSCALES)
    return scores


def likert_mean(items: Sequence[Item], answers: Mapping[str, int]) -> float:
    """Mean of the items, reverse-keyed ones as (low + high − x)."""
    values = [
        item.low + item.high - answers[item.key] if item.reverse else answers[item.key]
        for item in items
    ]
    return sum(values) / len(values)


def instrument_score(
    items: Sequence[Item], instrument: str, answers: Mapping[str, int]
) -> dict[str, float]:
    """The instrument's scores: {"score": …} plus the subscales for NASA-TLX."""
    if instrument == SUS:
        return {"score": sus_score(answers)}
    if instrument == NASA_TLX:
        scores = tlx_raw(answers)
        return {"score": scores.pop("raw_tlx"), **scores}
    return {"score": likert_mean(items, answers)}
