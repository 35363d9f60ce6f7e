"""Calipers stored with a read, and the answer-consistency rule: the checks a read's answer
passes beyond its own fields.

A measurement arrives in the original image's pixels with the session's opaque image id; its
length in millimetres is computed here from the image's stored spacing, never taken from the
client (the screen shows the same arithmetic, but the record must not depend on it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

from readerstudy.errors import Conflict
from readerstudy.reading.labels import image_name
from readerstudy.reading.models import Decision, Read, ReadingSession, ReadMeasurement
from readerstudy.studies.models import Case, CaseImage, ConsistencyRule, Study

MAX_MEASUREMENTS = 20


@dataclass(frozen=True)
class Caliper:
    image: CaseImage
    frame: int
    x0: float
    y0: float
    x1: float
    y1: float
    fills_max_diameter: bool

    @property
    def length_px(self) -> float:
        return math.hypot(self.x1 - self.x0, self.y1 - self.y0)

    @property
    def length_mm(self) -> float | None:
        if self.image.spacing_x_mm is None or self.image.spacing_y_mm is None:
            return None
        return math.hypot(
            (self.x1 - self.x0) * self.image.spacing_x_mm,
            (self.y1 - self.y0) * self.image.spacing_y_mm,
        )


def measurements_clean(
    *, session: ReadingSession, case: Case, items: list[dict[str, Any]]
) -> list[Caliper]:
    """Check calipers against the case's images: a known image id, endpoints inside it, a frame
    it has. Any fault refuses the whole read (nothing half-stored)."""
    if len(items) > MAX_MEASUREMENTS:
        raise Conflict(f"At most {MAX_MEASUREMENTS} measurements a read.")
    if not items:
        return []  # most reads: no query for the case's images
    images = {
        image_name(seed=session.seed, image_id=image.pk): image
        for image in case.images.filter(needs_review=False)
    }
    calipers = []
    for index, item in enumerate(items):
        image = images.get(str(item.get("image", "")))
        if image is None:
            raise Conflict(
                "A measurement names an image that is not in this case.", extra={"index": index}
            )
        points = [item.get(name) for name in ("x0", "y0", "x1", "y1")]
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in points
        ):
            raise Conflict("A measurement's endpoints must be numbers.", extra={"index": index})
        x0, y0, x1, y1 = (float(cast(float, v)) for v in points)
        if not (
            min(x0, x1) >= 0
            and max(x0, x1) <= image.width
            and min(y0, y1) >= 0
            and max(y0, y1) <= image.height
        ):
            raise Conflict(
                f"A measurement lies outside the {image.width}×{image.height} image.",
                extra={"index": index},
            )
        frame = item.get("frame", image.frame)
        if (
            not isinstance(frame, int)
            or isinstance(frame, bool)
            or not 0 <= frame < max(1, len(image.frames))
        ):
            raise Conflict(
                "A measurement names a frame the image does not have.", extra={"index": index}
            )
        calipers.append(
            Caliper(image, frame, x0, y0, x1, y1, bool(item.get("fills_max_diameter", False)))
        )
    if sum(c.fills_max_diameter for c in calipers) > 1:
        raise Conflict("Only one measurement can fill the max diameter.")
    return calipers


def measurements_store(*, read: Read, calipers: list[Caliper]) -> None:
    ReadMeasurement.objects.bulk_create(
        ReadMeasurement(
            read=read,
            image=c.image,
            frame=c.frame,
            x0=c.x0,
            y0=c.y0,
            x1=c.x1,
            y1=c.y1,
            length_px=c.length_px,
            length_mm=c.length_mm,
            fills_max_diameter=c.fills_max_diameter,
        )
        for c in calipers
    )


def answer_is_consistent(*, study: Study, decision: Decision, confidence: int) -> bool:
    """Benign with a confidence of malignancy above the study's threshold, or malignant below
    it, is inconsistent (the threshold in per cent: 0.5 → 50; on the threshold is consistent)."""
    threshold = study.ai_threshold * 100
    if decision == Decision.BENIGN:
        return confidence <= threshold
    return confidence >= threshold


def answer_consistency_check(*, study: Study, decision: Decision, confidence: int) -> None:
    """Refuse an inconsistent answer where the study makes consistency a hard rule."""
    if study.consistency_rule != ConsistencyRule.REQUIRE:
        return
    if not answer_is_consistent(study=study, decision=decision, confidence=confidence):
        threshold = round(study.ai_threshold * 100)
        raise Conflict(
            f"Your decision and confidence disagree: this study requires benign at or below "
            f"{threshold} and malignant at or above it.",
            extra={
                "fields": {
                    "confidence": [f"{'≤' if decision == Decision.BENIGN else '≥'} {threshold}"]
                }
            },
        )
