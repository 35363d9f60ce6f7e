"""The one error the analysis core raises for data it cannot analyse (the CLI turns it into exit 2)."""

from __future__ import annotations

from typing import Any


class AnalysisInputError(ValueError):
    """Input that no analysis can be computed from: missing columns, conflicting truth, gaps.

    ``extra`` carries machine-readable detail (e.g. the offending case labels) so that a web
    adapter can render ``{"message": ..., "extra": {...}}`` without parsing the message.
    """

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra: dict[str, Any] = extra or {}
