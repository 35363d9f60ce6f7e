"""The study report through the adapter: the same numbers as the core, cached per data version,
and what it says when data are missing."""

from __future__ import annotations

from typing import Any

import pytest

import analysis.web.report
from analysis.metrics import binary_metrics, mcnemar_paired
from analysis.roc import auc_delong, delong_paired_test
from analysis.web.models import StudyReport
from analysis.web.report import report_charts, report_data_version, report_get
from readerstudy.reading.models import Decision, Read
from tests.analysis_adapter.conftest import (
    BuiltStudy,
    read_revise,
    study_build,
    three_readers,
)
from tests.conftest import Personas
from tests.factories import ReaderFactory, ReadFactory, ReadingSessionFactory, UserFactory


def _row(payload: dict[str, Any], reader: str, round_index: int) -> dict[str, Any]:
    rows = [
        r for r in payload["reader_metrics"] if r["reader"] == reader and r["round"] == round_index
    ]
    assert len(rows) == 1
    return rows[0]


def test_each_readers_auc_equals_the_core_on_the_same_numbers(crossed: BuiltStudy) -> None:
    payload = report_get(study=crossed.study).payload
    for t in range(2):
        for r, reader in enumerate(crossed.readers):
            scores = crossed.confidence[t, r]
            expected = auc_delong(truth=crossed.truth, scores=scores)
            calls = binary_metrics(truth=crossed.truth, decision=(scores >= 50).astype(float))
            row = _row(payload, reader.user.username, t + 1)
            assert row["auc"] == pytest.approx(expected.auc, abs=1e-12)
            assert row["auc_ci"] == pytest.approx(list(expected.ci), abs=1e-12)
            assert row["sensitivity"] == pytest.approx(calls.sensitivity.estimate)
            assert row["sensitivity_ci"] == pytest.approx(list(calls.sensitivity.ci))
            assert row["kappa"] == pytest.approx(calls.kappa.kappa)
            assert row["n"] == 30
            assert row["modality"] == ("round 2 (assisted)" if t else "round 1 (unassisted)")


def test_the_change_between_rounds_is_later_minus_earlier(crossed: BuiltStudy) -> None:
    payload = report_get(study=crossed.study).payload
    bob = next(c for c in payload["changes"] if c["reader"] == "bob")
    expected = delong_paired_test(
        truth=crossed.truth, scores_a=crossed.confidence[1, 0], scores_b=crossed.confidence[0, 0]
    )
    assert bob["delta_auc"] == pytest.approx(expected.diff, abs=1e-12)
    assert bob["delta_auc_ci"] == pytest.approx(list(expected.ci), abs=1e-12)
    assert bob["p"] == pytest.approx(expected.p)
    positive = crossed.truth == 1
    before = crossed.confidence[0, 0, positive] >= 50
    after = crossed.confidence[1, 0, positive] >= 50
    assert bob["delta_sensitivity"] == pytest.approx(after.mean() - before.mean())
    test = mcnemar_paired(correct_before=before, correct_after=after)
    assert bob["sensitivity_p"] == pytest.approx(test.p)


def test_the_report_holds_mrmc_model_seniority_and_tables(crossed: BuiltStudy) -> None:
    report = report_get(study=crossed.study)
    payload = report.payload
    assert set(payload["mrmc"]) == {"delong", "jackknife"}
    for block in payload["mrmc"].values():
        assert block["modalities"] == ["round 1 (unassisted)", "round 2 (assisted)"]
        assert {"f", "df1", "df2", "p"} <= set(block["rrrc"])
    assert {row["seniority"] for row in payload["seniority"]} == {
        "junior",
        "intermediate",
        "senior",
    }
    model = payload["model"]
    assert {(r["cohort"], r["level"]) for r in model["table2"]} == {
        (cohort, level)
        for cohort in ("internal_test", "external_test")
        for level in ("image", "case")
    }
    assert crossed.probability is not None
    assert model["on_read_cases"]["auc"] == pytest.approx(
        auc_delong(truth=crossed.truth, scores=crossed.probability).auc
    )
    assert len(model["vs_readers"]) == 6
    assert [block["cohort"] for block in payload["table1"]] == ["internal_test", "external_test"]
    assert payload["table4"]["cases"], "some case is misjudged by someone"
    assert payload["notes"] == []


def test_the_charts_are_drawn_once_and_match_the_names_the_report_gives(
    crossed: BuiltStudy,
) -> None:
    report = report_get(study=crossed.study)
    assert report.charts is None, "the numbers alone do not draw charts"
    charts = report_charts(report=report)
    assert list(charts) == [chart["name"] for chart in report.payload["charts"]]
    assert list(charts) == [
        "forest_delta_auc",
        "radar",
        "roc",
        "model_roc",
        "confusion",
        "model_confusion",
    ]
    assert all(svg.lstrip().startswith("<?xml") for svg in charts.values())
    assert "bob" in charts["radar"]
    assert StudyReport.objects.get(pk=report.pk).charts == charts


def test_a_second_load_does_not_recompute(
    crossed: BuiltStudy, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    compute = analysis.web.report.report_compute

    def counting(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return compute(**kwargs)

    monkeypatch.setattr(analysis.web.report, "report_compute", counting)
    first = report_get(study=crossed.study)
    second = report_get(study=crossed.study)
    assert len(calls) == 1
    assert second.pk == first.pk
    assert second.data_version == first.data_version


def test_a_new_read_changes_the_data_version_and_is_analysed(
    crossed: BuiltStudy, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = report_get(study=crossed.study)
    read = Read.objects.get(session=crossed.sessions[(1, 0)], case=crossed.cases[0])
    read_revise(read=read, confidence=99, reason="misclicked")
    assert report_data_version(study=crossed.study) != first.data_version
    second = report_get(study=crossed.study)
    assert second.pk != first.pk
    scores = crossed.confidence[0, 0].copy()
    scores[0] = 99
    expected = auc_delong(truth=crossed.truth, scores=scores).auc
    assert _row(second.payload, "bob", 1)["auc"] == pytest.approx(expected, abs=1e-12)
    assert list(StudyReport.objects.filter(study=crossed.study)) == [second], "old one dropped"


def test_changing_a_case_truth_changes_the_data_version(crossed: BuiltStudy) -> None:
    before = report_data_version(study=crossed.study)
    case = crossed.cases[1]
    case.truth_malignant = not case.truth_malignant
    case.save(update_fields=["truth_malignant"])
    assert report_data_version(study=crossed.study) != before


def test_with_no_reads_the_report_says_what_is_missing(personas: Personas) -> None:
    study_build(study=personas.study, readers=[personas.bob], cases=6, read_rounds=0)
    payload = report_get(study=personas.study).payload
    assert payload["reader_metrics"] == []
    assert payload["mrmc"] is None
    assert any(note.startswith("No reads yet") for note in payload["notes"])
    assert any("No AI model" in note for note in payload["notes"])
    assert payload["table1"], "the cases are still described"


def test_with_one_round_only_there_are_metrics_but_no_comparison(personas: Personas) -> None:
    readers = three_readers(personas)
    study_build(study=personas.study, readers=readers, cases=12, read_rounds=1)
    report = report_get(study=personas.study)
    payload = report.payload
    assert len(payload["reader_metrics"]) == 3
    assert payload["changes"] == []
    assert payload["mrmc"] is None
    assert any("one modality only" in note for note in payload["notes"])
    assert [chart["name"] for chart in payload["charts"]] == ["radar", "roc", "confusion"]


def test_a_reader_still_reading_is_left_out_of_the_paired_analysis(
    crossed: BuiltStudy,
) -> None:
    frank = ReaderFactory.create(user=UserFactory.create(username="frank"))
    session = ReadingSessionFactory.create(reader=frank, round=crossed.rounds[0])
    for case in crossed.cases[:4]:  # cases 1 and 4 are malignant, 2 and 3 benign
        ReadFactory.create(session=session, case=case, confidence=70, decision=Decision.MALIGNANT)
    payload = report_get(study=crossed.study).payload
    assert payload["input"]["paired_readers"] == ["bob", "dora", "eve"]
    assert payload["input"]["paired_cases"] == 30
    assert any("frank" in note for note in payload["notes"])
    assert _row(payload, "frank", 1)["n"] == 4
