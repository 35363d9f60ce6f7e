"""CSV exports: columns and rows, all revisions with the current one marked, spreadsheet-safe
text, numbers left alone, streamed with a file name."""

from __future__ import annotations

import csv
import io

import pytest
from django.http import StreamingHttpResponse

from analysis.web.exports import (
    AUDIT_COLUMNS,
    CASE_COLUMNS,
    CASE_PREDICTION_COLUMNS,
    IMAGE_PREDICTION_COLUMNS,
    READ_COLUMNS,
    csv_chunks,
    spreadsheet_safe,
)
from readerstudy.audit.models import AuditEvent
from readerstudy.reading.models import Read
from tests.analysis_adapter.conftest import BuiltStudy, client_for, read_revise
from tests.conftest import Personas


def _download(url: str, username: str = "sam") -> tuple[StreamingHttpResponse, list[list[str]]]:
    response = client_for(username).get(url)
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    return response, list(csv.reader(io.StringIO(text)))


def test_the_reads_export_has_every_revision_and_marks_the_current_one(
    crossed: BuiltStudy,
) -> None:
    read = Read.objects.get(session=crossed.sessions[(1, 0)], case=crossed.cases[0])
    read_revise(
        read=read,
        confidence=80,
        reason="second look at the margin",
        features={"margin": "unclear", "max_diameter_mm": 12.5},
    )
    response, rows = _download("/studies/s/exports/reads.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="s-reads.csv"'
    header, body = rows[0], rows[1:]
    assert tuple(header) == READ_COLUMNS
    assert len(body) == 3 * 2 * 30 + 1
    column = {name: i for i, name in enumerate(header)}
    chain = [
        row
        for row in body
        if (row[column["case"]], row[column["reader"]], row[column["round"]])
        == ("case-001", "bob", "1")
    ]
    assert [
        (r[column["revision"]], r[column["is_current"]], r[column["confidence"]]) for r in chain
    ] == [
        ("1", "0", str(crossed.confidence[0, 0, 0])),
        ("2", "1", "80"),
    ]
    assert chain[1][column["supersedes"]] == chain[0][column["read_id"]]
    assert chain[1][column["revision_reason"]] == "second look at the margin"
    assert (chain[1][column["margin"]], chain[1][column["max_diameter_mm"]]) == ("unclear", "12.5")
    assert (chain[0][column["margin"]], chain[0][column["shape"]]) == ("", "")
    assert chain[0][column["modality"]] == "round 1 (unassisted)"
    assert {row[column["decision"]] for row in body} == {"benign", "malignant"}


def test_formula_text_is_neutralised_and_numbers_are_left_alone(crossed: BuiltStudy) -> None:
    read = Read.objects.get(session=crossed.sessions[(2, 1)], case=crossed.cases[2])
    hyperlink = '=HYPERLINK("http://evil.example","click")'
    read_revise(read=read, confidence=10, reason="@SUM(A1:A9)", comment=hyperlink)
    _, rows = _download("/studies/s/exports/reads.csv")
    column = {name: i for i, name in enumerate(rows[0])}
    revised = next(row for row in rows[1:] if row[column["revision"]] == "2")
    assert revised[column["comment"]] == "'" + hyperlink
    assert revised[column["revision_reason"]] == "'@SUM(A1:A9)"
    assert all(not value.startswith(("=", "+", "@")) for row in rows for value in row)
    _, changes = _download("/studies/s/exports/changes.csv")
    cells = [value for row in changes[1:] for value in row]
    negative = [value for value in cells if value.startswith("-")]
    assert negative, "a lower confidence bound or a z below zero"
    assert all(float(value) < 0 for value in negative), "negative numbers stay numbers"
    assert not [value for value in cells if value.startswith("'")]


def test_spreadsheet_safe_prefixes_only_formula_starts() -> None:
    assert spreadsheet_safe('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    for start in ("+", "-", "@", "\t", "\r"):
        assert spreadsheet_safe(f"{start}1") == f"'{start}1"
    assert spreadsheet_safe("benign") == "benign"
    text = "".join(csv_chunks(header=["a", "b"], rows=[[-0.25, "-x"], [None, float("nan")]]))
    assert text.splitlines() == ["a,b", "-0.25,'-x", ","]


def test_the_cases_and_prediction_exports_have_one_row_each(crossed: BuiltStudy) -> None:
    _, cases = _download("/studies/s/exports/cases.csv")
    assert tuple(cases[0]) == CASE_COLUMNS
    assert len(cases) == 31
    column = {name: i for i, name in enumerate(cases[0])}
    first = cases[1]
    assert first[column["case"]] == "case-001"
    assert first[column["truth"]] == "1"
    assert first[column["image_count"]] == "1"
    assert first[column["max_diameter_mm"]] == "10.0"
    _, images = _download("/studies/s/exports/image_predictions.csv")
    assert tuple(images[0]) == IMAGE_PREDICTION_COLUMNS
    assert len(images) == 31
    assert {row[-1] for row in images[1:]} == {"cpu bf16+channels_last"}
    _, predicted = _download("/studies/s/exports/case_predictions.csv")
    assert tuple(predicted[0]) == CASE_PREDICTION_COLUMNS
    assert len(predicted) == 31
    assert {row[0] for row in predicted[1:]} == {"resnet18-test"}


def test_the_analysis_exports_hold_the_reports_numbers(crossed: BuiltStudy) -> None:
    _, metrics = _download("/studies/s/exports/reader_metrics.csv")
    assert metrics[0][:3] == ["reader", "seniority", "round"]
    assert {"auc", "auc_ci_low", "auc_ci_high", "sensitivity_ci_low", "kappa"} <= set(metrics[0])
    assert len(metrics) == 1 + 3 * 2
    _, mrmc = _download("/studies/s/exports/mrmc.csv")
    column = mrmc[0].index("covariance")
    assert {row[column] for row in mrmc[1:]} == {"delong", "jackknife"}
    _, components = _download("/studies/s/exports/mrmc_variance_components.csv")
    assert len(components) == 3
    _, changes = _download("/studies/s/exports/changes.csv")
    assert len(changes) == 1 + 3


def test_each_download_is_audited_and_the_audit_log_exports(crossed: BuiltStudy) -> None:
    _download("/studies/s/exports/cases.csv", username="alice")
    _, audit = _download("/studies/s/exports/audit.csv")
    assert tuple(audit[0]) == AUDIT_COLUMNS
    actions = [(row[2], row[3]) for row in audit[1:]]
    assert ("alice", "analysis.exported") in actions
    assert AuditEvent.objects.filter(action="analysis.exported", study=crossed.study).count() == 2


def test_the_exports_of_a_study_without_reads_have_headers_only(personas: Personas) -> None:
    _, reads = _download("/studies/s/exports/reads.csv")
    assert reads == [list(READ_COLUMNS)]
    _, metrics = _download("/studies/s/exports/reader_metrics.csv", username="alice")
    assert metrics == [], "no reads, no metrics: an empty file"


def test_the_reads_export_feeds_the_cli_as_downloaded(crossed: BuiltStudy, tmp_path) -> None:
    import json

    from analysis.cli import main
    from analysis.roc import delong_paired_test

    read = Read.objects.get(session=crossed.sessions[(1, 0)], case=crossed.cases[0])
    read_revise(read=read, confidence=int(crossed.confidence[1, 0, 0]), reason="same call")
    _, rows = _download("/studies/s/exports/reads.csv")
    header, body = rows[0], rows[1:]
    column = {name: i for i, name in enumerate(header)}
    # Eve has not finished round 2: one of her reads is missing from the file.
    missing = next(
        i for i, r in enumerate(body) if r[column["reader"]] == "eve" and r[column["round"]] == "2"
    )
    path = tmp_path / "s-reads.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *body[:missing], *body[missing + 1 :]])

    out = tmp_path / "out"
    assert main(["--reads", str(path), "--out", str(out), "--no-figures"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["input"]["readers"] == ["bob", "dora"]
    assert results["input"]["modalities"] == ["round 1 (unassisted)", "round 2 (assisted)"]
    assert results["input"]["modality_order"] == "round column of the reads export"
    assert results["input"]["decisions"] is True
    assert any("eve" in note for note in results["notes"])
    assert any("superseded" in note for note in results["notes"])
    bob = next(c for c in results["comparisons"] if c["reader"] == "bob")
    expected = delong_paired_test(
        truth=crossed.truth, scores_a=crossed.confidence[1, 0], scores_b=crossed.confidence[0, 0]
    )
    # The study's current reads (the fixture already holds a correction of a round-1 read).
    current = {
        (r[column["round"]], r[column["case"]]): float(r[column["confidence"]])
        for r in body
        if r[column["reader"]] == "bob" and r[column["is_current"]] == "1"
    }
    cases = [case.key for case in crossed.cases]
    expected = delong_paired_test(
        truth=crossed.truth,
        scores_a=[current["2", c] for c in cases],
        scores_b=[current["1", c] for c in cases],
    )
    assert bob["diff"] == pytest.approx(expected.diff, abs=1e-12)
    assert bob["ci"] == pytest.approx(list(expected.ci), abs=1e-12)
    assert results["mrmc"] is not None
