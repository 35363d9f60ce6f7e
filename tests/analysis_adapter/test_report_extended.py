"""The report's second-pass blocks (agreement, reading time, reliance, per-seniority MRMC and
the paired Δsensitivity/Δspecificity CIs) equal the core's on the same reads, and the page shows
them."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.agreement import agreement_json
from analysis.paired import paired_difference
from analysis.reliance import reliance_json
from analysis.web.report import report_get
from tests.analysis_adapter.conftest import BuiltStudy, client_for


def test_extended_blocks_equal_the_core(four: BuiltStudy) -> None:
    payload = report_get(study=four.study).payload
    names = [r.user.username for r in four.readers]
    order = np.argsort(names)  # the report orders readers by name
    calls = (four.confidence >= 50).astype(float)[:, order]
    modalities = ["round 1 (unassisted)", "round 2 (assisted)"]
    expected = agreement_json(
        decisions=calls, modalities=modalities, readers=sorted(names), level=0.95
    )
    for got, want in zip(payload["agreement"], expected, strict=True):
        assert got["fleiss_kappa"] == pytest.approx(want["fleiss_kappa"])
        assert got["fleiss_kappa_ci"] == pytest.approx(want["fleiss_kappa_ci"])
        assert np.allclose(got["cohen_kappa"], want["cohen_kappa"])
    assert four.probability is not None
    reliance = reliance_json(
        truth=four.truth == 1,
        scores=four.confidence.astype(float)[:, order],
        decisions=calls,
        readers=sorted(names),
        ai_probability=four.probability,
        threshold=four.study.ai_threshold,
    )
    got = payload["reliance"]
    assert (got["before"], got["after"]) == tuple(modalities)
    assert got["pooled"]["rair"] == reliance["pooled"]["rair"]
    assert got["pooled"]["rsr"] == reliance["pooled"]["rsr"]
    assert got["readers"][0]["weight_of_advice_mean"] == pytest.approx(
        reliance["readers"][0]["weight_of_advice_mean"]
    )
    # Reading time: every round-2 read is 8 s faster, give or take the jitter.
    paired = payload["reading_time"]["paired"]
    assert len(paired) == 4
    assert all(-11 <= row["hodges_lehmann"] <= -5 for row in paired)
    assert payload["reading_time"]["mixed_model"]["ratios"][0]["ratio"] < 1
    groups = payload["seniority_mrmc"]
    assert set(groups) == {"junior", "senior"}
    assert groups["senior"]["readers"] == ["bob", "fay"]
    assert "rrrc" in groups["senior"]["mrmc"]


def test_paired_delta_cis_per_reader_are_newcombe_by_default(four: BuiltStudy) -> None:
    payload = report_get(study=four.study).payload
    bob = next(c for c in payload["changes"] if c["reader"] == "bob")
    positive = four.truth == 1
    expected = paired_difference(
        success_a=four.confidence[0, 0, positive] >= 50,
        success_b=four.confidence[1, 0, positive] >= 50,
    )
    assert bob["delta_sensitivity_ci"] == pytest.approx(list(expected.ci))
    assert "Newcombe" in bob["delta_sensitivity_method"]
    assert "delta_specificity_ci" in bob


def test_the_page_and_the_api_show_the_new_blocks(four: BuiltStudy) -> None:
    client = client_for("alice")
    page = client.get(f"/studies/{four.study.slug}/report/").content.decode()
    for title in (
        "Fleiss&#x27; kappa per round",
        "Cohen&#x27;s kappa between pairs of readers",
        "Reading time per case",
        "Reading time: mixed model",
        "Reliance on the AI",
        "MRMC per seniority group",
        "Which method each interval and test uses",
        "ΔSE (95% CI), p",
    ):
        assert title in page, title
    body = client.get(f"/api/studies/{four.study.slug}/report/").json()
    for key in ("agreement", "reading_time", "reliance", "seniority_mrmc"):
        assert body[key], key
