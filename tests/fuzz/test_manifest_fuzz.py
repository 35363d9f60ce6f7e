"""Fuzzing the manifest parser: whatever the CSV, it returns rows or errors naming where."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readerstudy.studies.manifest import (
    CASE_COLUMNS,
    FEATURE_CHOICES,
    MAX_LENGTHS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    Manifest,
    manifest_parse,
)

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "sample" / "manifest.csv"
COLUMNS = [*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS]
FILE_LEVEL = re.compile(
    r"^(the manifest |missing columns: |unknown columns: |repeated columns: |region columns )"
)
ROW_LEVEL = re.compile(r"^row \d+: ")


def sample_rows() -> tuple[list[str], list[list[str]]]:
    with SAMPLE.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:6]


HEADER, ROWS = sample_rows()

odd_text = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "\ufeff",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "Infinity",
            "sNaN",
            "-1",
            "0",
            "1e9999",
            "1e-9999",
            "0.01",
            "999.96",
            "9" * 5000,
            "1_0",
            "١٢",
            "0x10",
            " 7 ",
            '"',
            '""',
            "a\r\nb",
            "\r",
            "\n",
            "malignant ",
            "MALIGNANT",
            "train",
            "TRAIN",
            "x" * 300,
            "ünïcødé",
            "\u202e",
            ",",
            "y" * 140_000,
        ]
    ),
)


@st.composite
def manifests(draw: st.DrawFn) -> bytes:
    header = list(HEADER)
    rows = [list(row) for row in draw(st.lists(st.sampled_from(ROWS), min_size=0, max_size=6))]
    for _ in range(draw(st.integers(0, 6))):
        action = draw(
            st.sampled_from(["cell", "drop_col", "add_col", "dup_col", "dup_row", "short", "long"])
        )
        if action == "cell" and any(rows):
            row = draw(st.sampled_from([row for row in rows if row]))
            row[draw(st.integers(0, len(row) - 1))] = draw(odd_text)
        elif action == "drop_col" and len(header) > 1:
            index = draw(st.integers(0, len(header) - 1))
            del header[index]
            for row in rows:
                if index < len(row):
                    del row[index]
        elif action == "add_col":
            header.append(draw(st.one_of(st.sampled_from(COLUMNS), st.text(max_size=8))))
            for row in rows:
                row.append(draw(odd_text))
        elif action == "dup_col":
            header.append(draw(st.sampled_from(header)))
        elif action == "dup_row" and rows:
            rows.append(list(draw(st.sampled_from(rows))))
        elif action == "short" and any(rows):
            row = draw(st.sampled_from([row for row in rows if row]))
            del row[draw(st.integers(0, len(row) - 1)) :]
        elif action == "long" and rows:
            draw(st.sampled_from(rows)).append(draw(odd_text))
    buffer = io.StringIO(newline="")
    terminator = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    quote_all = draw(st.booleans())
    writer = csv.writer(
        buffer, lineterminator=terminator, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    )
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    if draw(st.booleans()):  # a raw edit anywhere: a stray quote, NUL, blank line, mixed endings
        at = draw(st.integers(0, len(text)))
        text = (
            text[:at]
            + draw(st.sampled_from(['"', "\x00", "\n\n", "\r", ",", "\ufeff"]))
            + text[at:]
        )
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]))
    return text.encode(encoding, errors="replace")


def check(manifest: Manifest) -> None:
    for message in manifest.errors:
        assert isinstance(message, str)
        assert ROW_LEVEL.match(message) or FILE_LEVEL.match(message), message
    if manifest.errors:
        return
    for case in manifest.cases.values():
        # what is accepted must fit the database columns it is written to
        assert case.truth_malignant in (True, False)
        assert len(case.case_id) <= 64
        assert "\x00" not in case.case_id + case.patient_id
        for name in CASE_COLUMNS:
            assert "\x00" not in case.values[name]
            assert len(case.values[name]) <= MAX_LENGTHS[name]
        diameter = case.features.get("max_diameter_mm")
        if diameter is not None:
            assert isinstance(diameter, Decimal)
            assert diameter == diameter.quantize(Decimal("0.1"))
            assert Decimal(0) < diameter < Decimal(1000)
        for name, choices in FEATURE_CHOICES.items():
            assert case.features.get(name, choices[0]) in choices
        for image in case.images:
            assert min(image.roi[2:]) >= 1
            assert min(image.roi[:2]) >= 0
            assert "\x00" not in image.file
            assert len(image.file) <= MAX_LENGTHS["file"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifests())
def test_any_mutated_manifest_gives_rows_or_located_errors(data: bytes) -> None:
    check(manifest_parse(data))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_give_rows_or_located_errors(data: bytes) -> None:
    check(manifest_parse(data))


def _one_row(**cells: str) -> bytes:
    row = dict(zip(HEADER, ROWS[0], strict=True)) | cells
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=HEADER, lineterminator="\n")
    writer.writeheader()
    writer.writerow(row)
    return buffer.getvalue().encode()


# Regressions: each was a hypothesis find, as a plain example.


def test_a_field_longer_than_the_csv_limit_is_an_error_on_its_row() -> None:
    manifest = manifest_parse(_one_row(site="x" * 200_000))
    assert manifest.errors == ["row 2: not readable as CSV: field larger than field limit (131072)"]


def test_a_nul_byte_in_a_cell_is_an_error_on_its_row() -> None:
    manifest = manifest_parse(_one_row(site="a\x00b"))
    assert manifest.errors == ["row 2: site contains a NUL character"]


def test_a_diameter_that_rounds_to_zero_is_refused() -> None:
    manifest = manifest_parse(_one_row(max_diameter_mm="0.01"))
    assert [e for e in manifest.errors if "max_diameter_mm" in e]


def test_a_diameter_is_rounded_to_the_columns_one_decimal() -> None:
    manifest = manifest_parse(_one_row(max_diameter_mm="12.34"))
    assert manifest.errors == []
    (case,) = manifest.cases.values()
    assert case.features["max_diameter_mm"] == Decimal("12.3")


def test_a_value_longer_than_its_column_is_an_error_on_its_row() -> None:
    manifest = manifest_parse(_one_row(site="s" * 65, case_id="c" * 65))
    assert manifest.errors == [
        "row 2: case_id is longer than 64 characters",
        "row 2: site is longer than 64 characters",
    ]
