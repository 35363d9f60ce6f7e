"""The display rendition's size, as plain arithmetic: the reading API places lesion boxes and
heatmaps with it, so it imports nothing heavy (no OpenCV, no pydicom)."""

from __future__ import annotations

DISPLAY_LONG_SIDE = 2048


def display_geometry(
    width: int, height: int, long_side: int = DISPLAY_LONG_SIDE
) -> tuple[float, int, int]:
    """The display rendition's scale and size (width, height) for an image of width × height:
    shrunk to `long_side`, never enlarged. Readers' lesion boxes and heatmaps use the same."""
    factor = long_side / max(height, width)
    if factor >= 1.0:
        return 1.0, width, height
    return factor, max(1, round(width * factor)), max(1, round(height * factor))
