"""The import manifest: one CSV row per image, checked completely before anything is written.

Every problem is collected with its row number (the header is row 1), so a coordinator fixes the
whole file at once instead of one error per attempt.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from readerstudy.studies.models import (
    Case,
    CaseImage,
    Cohort,
    Echo,
    Location,
    Margin,
    Plane,
    Presence,
    Shape,
)

REQUIRED_COLUMNS = (
    "patient_id", "case_id", "file", "truth", "cohort", "roi_x", "roi_y", "roi_w", "roi_h",
)  # fmt: skip
CASE_COLUMNS = ("histology", "site", "lesion_label")
REGION_COLUMNS = ("region_x", "region_y", "region_w", "region_h")
FEATURE_CHOICES: dict[str, tuple[str, ...]] = {
    "location": tuple(Location.values),
    "shape": tuple(Shape.values),
    "margin": tuple(Margin.values),
    "echo": tuple(Echo.values),
    "cystic_areas": tuple(Presence.values),
    "posterior_enhancement": tuple(Presence.values),
    "calcification": tuple(Presence.values),
}
FEATURE_COLUMNS = ("max_diameter_mm", *FEATURE_CHOICES)
OPTIONAL_COLUMNS = (*CASE_COLUMNS, "plane", *REGION_COLUMNS, *FEATURE_COLUMNS)
TRUTHS = {"benign": False, "malignant": True}
# the text columns' limits are the database's: a longer value must fail here, not at the write
MAX_LENGTHS: dict[str, int] = {
    "case_id": int(getattr(Case._meta.get_field("key"), "max_length", 0)),
    "file": int(getattr(CaseImage._meta.get_field("source_name"), "max_length", 0)),
    **{name: int(getattr(Case._meta.get_field(name), "max_length", 0)) for name in CASE_COLUMNS},
}
MAX_ROWS = 50_000


@dataclass
class ImageRow:
    row: int
    file: str
    roi: tuple[int, int, int, int]
    plane: str
    region: tuple[int, int, int, int] | None


@dataclass
class CaseRows:
    """A case as the manifest describes it; case-level values must agree across its rows."""

    case_id: str
    patient_id: str
    truth_malignant: bool
    cohort: str
    values: dict[str, str]
    features: dict[str, str | Decimal]
    images: list[ImageRow] = field(default_factory=list)


@dataclass
class Manifest:
    cases: dict[str, CaseRows]
    errors: list[str]

    @property
    def files(self) -> set[str]:
        return {image.file for case in self.cases.values() for image in case.images}


def _int(value: str, *, name: str, row: int, errors: list[str], minimum: int) -> int | None:
    try:
        number = int(value)
    except ValueError:
        errors.append(f"row {row}: {name} must be a whole number of pixels, not {value!r}")
        return None
    if number < minimum:
        errors.append(f"row {row}: {name} must be at least {minimum}, not {number}")
        return None
    return number


def _box(
    record: dict[str, str], names: tuple[str, ...], *, row: int, errors: list[str]
) -> tuple[int, int, int, int] | None:
    minimums = (0, 0, 1, 1)
    values = [
        _int(record[name], name=name, row=row, errors=errors, minimum=minimum)
        for name, minimum in zip(names, minimums, strict=True)
    ]
    if any(value is None for value in values):
        return None
    x, y, w, h = (int(v) for v in values)  # type: ignore[arg-type]
    return x, y, w, h


def _features(record: dict[str, str], *, row: int, errors: list[str]) -> dict[str, str | Decimal]:
    features: dict[str, str | Decimal] = {}
    diameter: str = record.get("max_diameter_mm", "")
    if diameter:
        try:
            # stored with one decimal: round first, so 0.01 cannot become a stored 0.0
            value = Decimal(diameter).quantize(Decimal("0.1"))
            if not Decimal(0) < value < Decimal(1000):
                raise InvalidOperation
            features["max_diameter_mm"] = value
        except InvalidOperation:
            errors.append(f"row {row}: max_diameter_mm must be a number of mm, not {diameter!r}")
    for name, choices in FEATURE_CHOICES.items():
        choice = record.get(name, "")
        if not choice:
            continue
        if choice not in choices:
            errors.append(f"row {row}: {name} must be one of {', '.join(choices)}, not {choice!r}")
        else:
            features[name] = choice
    return features


def _records(
    reader: csv.DictReader[str], errors: list[str]
) -> Iterator[tuple[int, dict[str | Any, str | Any]]]:
    """The rows with their numbers; a row the csv module refuses (a field over its size limit)
    ends the file with an error on that row."""
    row = 1
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            errors.append(f"row {row + 1}: not readable as CSV: {error}")
            return
        row += 1
        yield row, raw


def manifest_parse(data: bytes) -> Manifest:
    """Parse and check a manifest; `errors` lists every problem found (empty when it is valid).

    Long because it is one pass of row checks that collects every error.
    """
    errors: list[str] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Manifest({}, ["the manifest is not UTF-8 text"])
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in reader.fieldnames or []]
    except csv.Error as error:
        return Manifest({}, [f"the manifest's header is not readable CSV: {error}"])
    if not header:
        return Manifest({}, ["the manifest is empty"])
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    unknown = [name for name in header if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if missing:
        errors.append(f"missing columns: {', '.join(missing)}")
    if unknown:
        errors.append(
            f"unknown columns: {', '.join(unknown)} (allowed optional columns: "
            f"{', '.join(OPTIONAL_COLUMNS)})"
        )
    if duplicated:
        errors.append(f"repeated columns: {', '.join(duplicated)}")
    if errors:
        return Manifest({}, errors)
    reader.fieldnames = header
    has_region = any(name in header for name in REGION_COLUMNS)
    if has_region and not all(name in header for name in REGION_COLUMNS):
        errors.append(f"region columns come together: {', '.join(REGION_COLUMNS)}")
        has_region = False

    cases: dict[str, CaseRows] = {}
    patient_cohort: dict[str, tuple[str, int]] = {}
    seen_files: dict[tuple[str, str], int] = {}
    for row, raw in _records(reader, errors):
        if row - 1 > MAX_ROWS:
            errors.append(f"the manifest has more than {MAX_ROWS} rows")
            break
        if None in raw:
            errors.append(f"row {row}: more values than columns")
            continue
        record = {key: (value or "").strip() for key, value in raw.items()}
        blank = [name for name in REQUIRED_COLUMNS if not record[name]]
        if blank:
            errors.append(f"row {row}: empty {', '.join(blank)}")
            continue
        unstorable = [
            f"row {row}: {name} contains a NUL character"
            for name, value in record.items()
            if "\x00" in value
        ] + [
            f"row {row}: {name} is longer than {limit} characters"
            for name, limit in MAX_LENGTHS.items()
            if len(record.get(name, "")) > limit
        ]
        if unstorable:
            errors += unstorable
            continue
        truth = record["truth"].lower()
        if truth not in TRUTHS:
            errors.append(f"row {row}: truth must be benign or malignant, not {record['truth']!r}")
        cohort = record["cohort"]
        if cohort not in Cohort.values:
            errors.append(
                f"row {row}: cohort must be one of {', '.join(Cohort.values)}, not {cohort!r}"
            )
        plane = record.get("plane", "")
        if plane and plane not in Plane.values:
            errors.append(
                f"row {row}: plane must be one of {', '.join(Plane.values)}, not {plane!r}"
            )
        roi = _box(record, ("roi_x", "roi_y", "roi_w", "roi_h"), row=row, errors=errors)
        region = None
        if has_region and any(record[name] for name in REGION_COLUMNS):
            region = _box(record, REGION_COLUMNS, row=row, errors=errors)
        features = _features(record, row=row, errors=errors)
        key = (record["case_id"], record["file"])
        if key in seen_files:
            errors.append(
                f"row {row}: case {record['case_id']} lists file {record['file']} again "
                f"(first on row {seen_files[key]})"
            )
            continue
        seen_files[key] = row
        patient = record["patient_id"]
        if cohort in Cohort.values:
            first = patient_cohort.setdefault(patient, (cohort, row))
            if first[0] != cohort:
                errors.append(
                    f"row {row}: patient {patient} is in cohort {cohort} but in {first[0]} on row "
                    f"{first[1]} (cohorts are split by patient)"
                )
        values = {name: record.get(name, "") for name in CASE_COLUMNS}
        case = cases.get(record["case_id"])
        if case is None:
            case = CaseRows(
                case_id=record["case_id"],
                patient_id=patient,
                truth_malignant=TRUTHS.get(truth, False),
                cohort=cohort,
                values=values,
                features=features,
            )
            cases[case.case_id] = case
        else:
            first_row = case.images[0].row if case.images else row
            if case.patient_id != patient:
                errors.append(
                    f"row {row}: case {case.case_id} belongs to patient {case.patient_id} on row "
                    f"{first_row}, not {patient}"
                )
            if truth in TRUTHS and case.truth_malignant != TRUTHS[truth]:
                errors.append(
                    f"row {row}: case {case.case_id} has two truths (see row {first_row})"
                )
            for name, value in {**values, **features}.items():
                known = case.values.get(name, case.features.get(name))
                if value and known and value != known:
                    errors.append(
                        f"row {row}: case {case.case_id} has {name} {value!s} here but {known!s} "
                        f"on row {first_row}"
                    )
        if roi is not None:
            case.images.append(
                ImageRow(row=row, file=record["file"], roi=roi, plane=plane, region=region)
            )
    if not cases and not errors:
        errors.append("the manifest lists no images")
    return Manifest(cases, errors)
