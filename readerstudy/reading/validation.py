"""The optional ultrasound features a reader may record, checked against design.md's list."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from readerstudy.errors import Conflict
from readerstudy.studies.models import Echo, Location, Margin, Presence, Shape

_CHOICES: dict[str, set[str]] = {
    "location": set(Location.values),
    "shape": set(Shape.values),
    "margin": set(Margin.values),
    "echo": set(Echo.values),
    "cystic_areas": set(Presence.values),
    "posterior_enhancement": set(Presence.values),
    "calcification": set(Presence.values),
}


def read_features_clean(features: dict[str, Any]) -> dict[str, Any]:
    """Keep recorded features, drop empty ones; an unknown name or value is a clear error."""
    clean: dict[str, Any] = {}
    for name, value in features.items():
        if value in (None, ""):
            continue
        if name == "max_diameter_mm":
            try:
                if isinstance(value, bool) or not isinstance(value, int | float | str):
                    raise InvalidOperation
                diameter = Decimal(str(value))
                if not diameter.is_finite():  # NaN, sNaN, Infinity compare as errors or lies
                    raise InvalidOperation
            except InvalidOperation:
                raise Conflict(
                    "max_diameter_mm must be a number.", extra={"value": str(value)[:100]}
                ) from None
            if not Decimal(0) < diameter < Decimal(1000):
                raise Conflict("max_diameter_mm must be between 0 and 1000.")
            clean[name] = float(diameter)
        elif name in _CHOICES:
            if not isinstance(value, str) or value not in _CHOICES[name]:
                raise Conflict(
                    f"{name} must be one of {sorted(_CHOICES[name])}.",
                    extra={"value": str(value)[:100]},
                )
            clean[name] = value
        else:
            raise Conflict(
                f"Unknown feature {name!r}.", extra={"known": ["max_diameter_mm", *_CHOICES]}
            )
    return clean
