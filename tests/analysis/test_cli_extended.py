"""The CLI's optional blocks: paired deltas, agreement, reading time, reliance, seniority."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def _study(seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    cases = 40
    truth = np.r_[np.ones(20, dtype=int), np.zeros(20, dtype=int)]
    ai = np.clip(truth * 0.5 + rng.uniform(0, 0.5, cases) + rng.normal(0, 0.15, cases), 0, 1)
    rows = []
    for r, seniority in enumerate(["junior", "junior", "senior", "senior", "senior"]):
        for modality, help_ in (("unassisted", 0.0), ("assisted", 1.0)):
            score = 100 * np.clip(
                truth * 0.4 + 0.3 + rng.normal(0, 0.2, cases) + help_ * 0.3 * (ai - 0.5), 0, 1
            )
            for c in range(cases):
                rows.append(
                    {
                        "reader": f"R{r}",
                        "modality": modality,
                        "case": f"c{c}",
                        "truth": truth[c],
                        "score": round(score[c], 1),
                        "decision": int(score[c] > 50),
                        "time": round(float(np.exp(3.5 - 0.2 * help_ + rng.normal(0, 0.3))), 1),
                        "seniority": seniority,
                    }
                )
    return pd.DataFrame(rows), pd.DataFrame(
        {"case": [f"c{c}" for c in range(cases)], "probability": ai}
    )


def test_cli_adds_every_optional_block(run_cli, tmp_path):
    reads, ai = _study()
    ai_path = tmp_path / "ai.csv"
    ai.to_csv(ai_path, index=False)
    run = run_cli(reads, "--ai", str(ai_path), "--ai-threshold", "0.5", "--no-figures")
    assert run.status == 0, run.stderr
    results = run.results
    row = results["comparisons"][0]
    for name in ("sensitivity", "specificity"):
        assert row[f"delta_{name}"] == pytest.approx(row[f"{name}_b"] - row[f"{name}_a"])
        low, high = row[f"delta_{name}_ci"]
        assert low <= row[f"delta_{name}"] <= high
        assert "Newcombe" in row[f"delta_{name}_method"]
    assert [block["modality"] for block in results["agreement"]] == [
        "unassisted",
        "assisted",
    ]  # file order: earlier first
    assert len(results["reading_time"]["paired"]) == 5
    ratio = results["reading_time"]["mixed_model"]["ratios"][0]
    assert ratio["ci"][0] < ratio["ratio"] < ratio["ci"][1]
    reliance = results["reliance"]
    assert reliance["before"] == "unassisted"
    assert reliance["after"] == "assisted"
    assert len(reliance["readers"]) == 5
    pooled = reliance["pooled"]
    assert pooled["cases"] == 200
    for key in ("switch_to_ai_when_ai_right", "switch_to_ai_when_ai_wrong", "rair", "rsr"):
        assert set(pooled[key]) == {"count", "of", "rate"}
    assert set(results["seniority"]) == {"junior", "senior"}
    senior = results["seniority"]["senior"]["mrmc"]
    assert senior["modalities"] == ["unassisted", "assisted"]
    assert "rrrc" in senior["modality_fom"]["assisted"]


def test_cli_tango_option_and_no_optional_inputs(run_cli):
    reads, _ = _study()
    run = run_cli(reads.drop(columns=["time", "seniority"]), "--paired-ci", "tango", "--no-figures")
    assert run.status == 0, run.stderr
    results = run.results
    assert "Tango" in results["comparisons"][0]["delta_sensitivity_method"]
    assert results["reading_time"] is None
    assert results["reliance"] is None
    assert results["seniority"] is None


def test_cli_rejects_an_ai_file_missing_cases(run_cli, tmp_path):
    reads, ai = _study()
    ai_path = tmp_path / "ai.csv"
    ai.iloc[:-1].to_csv(ai_path, index=False)
    run = run_cli(reads, "--ai", str(ai_path), "--no-figures")
    assert run.status == 2
    assert "c39" in run.stderr


def test_cli_order_picks_the_unassisted_modality_for_reliance_and_adds_the_model(run_cli, tmp_path):
    from analysis.roc import auc_delong

    reads, ai = _study()
    ai_path = tmp_path / "ai.csv"
    ai.to_csv(ai_path, index=False)
    flipped = run_cli(reads, "--ai", str(ai_path), "--order", "assisted,unassisted", "--no-figures")
    assert flipped.status == 0, flipped.stderr
    reliance = flipped.results["reliance"]
    assert (reliance["before"], reliance["after"]) == ("assisted", "unassisted")
    usual = run_cli(reads, "--ai", str(ai_path), "--no-figures", name="usual").results
    swapped = usual["reliance"]["pooled"]
    # Swapping the rounds swaps agreement before and after.
    assert reliance["pooled"]["agreement_before"] == swapped["agreement_after"]
    model = usual["model"]
    truth = reads.drop_duplicates("case").set_index("case")["truth"].reindex(ai["case"])
    assert model["auc"] == pytest.approx(
        auc_delong(truth=truth.to_numpy() == 1, scores=ai["probability"].to_numpy()).auc
    )
    assert len(model["vs_readers"]) == 10  # 5 readers × 2 modalities
    first = model["vs_readers"][0]
    assert first["diff"] == pytest.approx(first["auc_model"] - first["auc_reader"])
