"""``python -m analysis``: the references end to end, outputs, invariants and bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.analysis.conftest import asah_reads, vandyke_reads

ROOT = Path(__file__).resolve().parents[2]


def only(rows, **match):
    chosen = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(chosen) == 1, chosen
    return chosen[0]


def test_cli_reproduces_proc_delong_on_asah(run_cli):
    run = run_cli(asah_reads(), "--no-figures", "--order", "s100b,wfns")

    assert run.status == 0, run.stderr
    results = run.results
    assert only(results["readers"], modality="wfns")["auc"] == pytest.approx(0.8237, abs=5e-5)
    assert only(results["readers"], modality="s100b")["auc"] == pytest.approx(0.7314, abs=5e-5)
    # --order s100b,wfns: diff = later − earlier = wfns − s100b, pROC's roc.test(wfns, s100b).
    test = only(results["comparisons"], modality_a="s100b", modality_b="wfns")
    assert test["z"] == pytest.approx(2.209, abs=5e-4)
    assert test["p"] == pytest.approx(0.02718, abs=5e-6)
    assert test["ci"] == pytest.approx([0.01041, 0.17421], abs=5e-6)
    assert results["input"]["modality_order"] == "--order"
    assert results["mrmc"] is None
    assert any("two readers" in note for note in results["notes"])


def test_cli_reproduces_or_delong_on_van_dyke(run_cli):
    run = run_cli(vandyke_reads(), "--no-figures")

    assert run.status == 0, run.stderr
    mrmc = run.results["mrmc"]
    assert mrmc["covariance"] == "delong"
    assert mrmc["modality_fom"]["1"]["estimate"] == pytest.approx(0.8970, abs=5e-5)
    assert mrmc["modality_fom"]["2"]["estimate"] == pytest.approx(0.9408, abs=5e-5)
    assert mrmc["rrrc"]["f"] == pytest.approx(4.4849, abs=5e-5)
    assert mrmc["rrrc"]["df1"] == 1
    assert mrmc["rrrc"]["df2"] == pytest.approx(15.066, abs=5e-4)
    assert mrmc["rrrc"]["p"] == pytest.approx(0.05123, abs=5e-6)
    assert set(mrmc["var_components"]) == {"var_r", "var_tr", "cov1", "cov2", "cov3", "var_error"}
    assert len(run.results["comparisons"]) == 5


def test_cli_jackknife_matches_rjafroc_on_van_dyke(run_cli):
    run = run_cli(vandyke_reads(), "--no-figures", "--covariance", "jackknife")

    assert run.status == 0, run.stderr
    mrmc = run.results["mrmc"]
    assert mrmc["rrrc"]["f"] == pytest.approx(4.4563187, rel=1e-6)
    assert mrmc["rrrc"]["df2"] == pytest.approx(15.259675, rel=1e-6)
    assert mrmc["rrrc"]["p"] == pytest.approx(0.051665686, rel=1e-6)
    # RJafroc reports 1 − 2; the CLI reports later − earlier, 2 − 1: the CI negated.
    assert mrmc["rrrc"]["ci"] == pytest.approx([-0.00035885444, 0.087959499], rel=1e-6)
    assert mrmc["frrc"]["chi2"] == pytest.approx(5.4759532, rel=1e-6)
    assert mrmc["frrc"]["p"] == pytest.approx(0.019279843, rel=1e-6)
    assert mrmc["frrc"]["ci"] == pytest.approx([0.0071147303, 0.080485914], rel=1e-6)
    assert mrmc["rrfc"]["f"] == pytest.approx(8.704, rel=1e-6)
    assert mrmc["rrfc"]["df2"] == 4
    assert mrmc["rrfc"]["p"] == pytest.approx(0.041958752, rel=1e-6)
    assert mrmc["rrfc"]["ci"] == pytest.approx([0.0025804202, 0.085020224], rel=1e-6)


def test_cli_writes_csvs_figures_and_strict_json(run_cli):
    reads = vandyke_reads()
    reads["decision"] = (reads["score"].astype(int) >= 3).astype(int)

    run = run_cli(reads, "--fom", "sensitivity")

    assert run.status == 0, run.stderr
    names = {p.name for p in run.out.iterdir()}
    assert {"results.json", "readers.csv", "comparisons.csv", "mrmc.csv"} <= names
    assert {"roc.png", "roc.svg", "radar.png", "forest_delta_auc.svg", "confusion.png"} <= names
    results = run.results  # parses with NaN refused
    assert results["mrmc"]["fom"] == "sensitivity"
    assert "accuracy_ci" in results["readers"][0]
    assert "sensitivity_p" in results["comparisons"][0]
    readers = pd.read_csv(run.out / "readers.csv")
    assert {"reader", "modality", "auc", "kappa", "ci_method"} <= set(readers.columns)


def test_cli_relabelling_readers_cases_and_row_order_changes_nothing(run_cli):
    reads = vandyke_reads()
    renamed = reads.assign(
        reader="dr " + reads["reader"].map({"1": "e", "2": "a", "3": "d", "4": "b", "5": "c"}),
        case="x" + (1000 - reads["case"].astype(int)).astype(str),
    ).sample(frac=1.0, random_state=4)

    before = run_cli(reads, "--no-figures", "--order", "1,2", name="before").results
    after = run_cli(renamed, "--no-figures", "--order", "1,2", name="after").results

    for key in ("f", "df2", "p", "diff", "se"):
        assert after["mrmc"]["rrrc"][key] == pytest.approx(before["mrmc"]["rrrc"][key], rel=1e-10)
    assert after["mrmc"]["rrrc"]["ci"] == pytest.approx(before["mrmc"]["rrrc"]["ci"], rel=1e-10)
    assert after["mrmc"]["var_components"] == pytest.approx(
        before["mrmc"]["var_components"], rel=1e-10
    )
    assert sorted(r["auc"] for r in after["readers"]) == pytest.approx(
        sorted(r["auc"] for r in before["readers"]), rel=1e-12
    )


def test_cli_compares_every_pair_of_three_modalities(run_cli):
    reads = vandyke_reads()
    third = reads[reads["modality"] == "2"].assign(modality="3")
    third["score"] = (6 - third["score"].astype(int)).astype(str)

    run = run_cli(pd.concat([reads, third]), "--no-figures")

    assert run.status == 0, run.stderr
    mrmc = run.results["mrmc"]
    assert mrmc["rrrc"]["df1"] == 2
    assert mrmc["rrrc"]["diff"] is None
    assert len(mrmc["rrrc"]["pairs"]) == 3
    assert len(run.results["comparisons"]) == 15


def test_cli_keeps_labels_as_text(run_cli):
    reads = vandyke_reads()
    reads["reader"] = "0" + reads["reader"]

    run = run_cli(reads, "--no-figures")

    assert run.results["input"]["readers"] == ["01", "02", "03", "04", "05"]


def test_cli_runs_as_a_module(tmp_path):
    source = tmp_path / "reads.csv"
    asah_reads().to_csv(source, index=False)

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "--reads",
            str(source),
            "--out",
            str(tmp_path / "o"),
            "--no-figures",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "o" / "results.json").exists()


def _bad(reads: pd.DataFrame, row: int, column: str, value: str) -> pd.DataFrame:
    reads = reads.copy()
    reads.loc[row, column] = value
    return reads


BAD_INPUTS = {
    "missing column": (lambda r: r.drop(columns=["truth"]), "missing column(s): truth"),
    "case with two truths": (lambda r: _bad(r, 0, "truth", "1"), "two different truths: 1"),
    "reader missing a modality": (
        lambda r: r[~((r["reader"] == "3") & (r["modality"] == "2"))],
        "reader '3' has no reads in modality '2'",
    ),
    "reader missing some cases": (
        lambda r: r.drop(index=[0]),
        "lacks reads for 1 case(s): 1",
    ),
    "non-numeric score": (lambda r: _bad(r, 5, "score", "high"), "'score' must be numeric"),
    "missing score": (lambda r: _bad(r, 5, "score", ""), "CSV line(s) 7"),
    "truth not 0/1": (
        lambda r: r.assign(truth=r["truth"].replace("1", "2")),
        "'truth' must be 0 or 1",
    ),
    "a class with no cases": (lambda r: r.assign(truth="0"), "0 positive (truth 1) case(s)"),
    "duplicate read": (lambda r: pd.concat([r, r.iloc[[0]]]), "more than once"),
    "blank reader": (lambda r: _bad(r, 2, "reader", " "), "'reader' is blank"),
}


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_cli_rejects_bad_input_with_a_clear_message_and_status_2(run_cli, kind):
    corrupt, message = BAD_INPUTS[kind]

    run = run_cli(corrupt(vandyke_reads()), "--no-figures")

    assert run.status == 2
    assert run.stderr.startswith("error: ")
    assert message in run.stderr
    assert not (run.out / "results.json").exists()


def test_cli_rejects_a_binary_figure_of_merit_without_decisions(run_cli):
    run = run_cli(vandyke_reads(), "--no-figures", "--fom", "specificity")

    assert run.status == 2
    assert "needs a 'decision' column" in run.stderr


def test_cli_rejects_a_decision_that_is_not_0_or_1(run_cli):
    run = run_cli(vandyke_reads().assign(decision="yes"), "--no-figures")

    assert run.status == 2
    assert "'decision' must be 0 or 1" in run.stderr


def test_cli_rejects_a_missing_or_empty_file(run_cli, tmp_path, capsys):
    from analysis.cli import main

    assert main(["--reads", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "not found" in capsys.readouterr().err
    run = run_cli("")
    assert run.status == 2
    assert "cannot read" in run.stderr


def test_cli_rejects_a_class_of_one_case(run_cli):
    rows = [
        {"reader": r, "modality": m, "case": c, "truth": int(c == 0), "score": (c * 7 + k) % 5}
        for k, (r, m) in enumerate([("a", "1"), ("a", "2"), ("b", "1"), ("b", "2")])
        for c in range(6)
    ]

    run = run_cli(pd.DataFrame(rows), "--no-figures")

    assert run.status == 2
    assert "at least two cases of each class" in run.stderr


def test_cli_reports_undefined_statistics_as_null_with_notes(run_cli):
    # Identical modalities: no difference, no error term; perfect separation for reader a.
    rows = [
        {
            "reader": r,
            "modality": m,
            "case": c,
            "truth": int(c < 3),
            "score": (10 + c) if r == "a" and c < 3 else (c * 7 + k) % 5,
        }
        for k, r in enumerate(["a", "b"])
        for m in ("1", "2")
        for c in range(8)
    ]

    run = run_cli(pd.DataFrame(rows), "--no-figures")

    assert run.status == 0, run.stderr
    results = run.results
    perfect = next(row for row in results["readers"] if row["reader"] == "a")
    assert perfect["auc"] == 1.0
    assert perfect["auc_se"] == 0.0
    assert results["mrmc"]["rrrc"]["f"] is None
    comparison = next(row for row in results["comparisons"] if row["reader"] == "a")
    assert (comparison["z"], comparison["p"]) == (0.0, 1.0)
    notes = " | ".join(results["notes"])
    assert "perfect separation" in notes
    assert "both AUCs are 1" in notes
    assert "identical ROC results" in notes
    assert "MRMC RRRC: test undefined" in notes


def test_cli_states_ci_methods_and_covariance_scope(run_cli):
    reads = vandyke_reads()
    run = run_cli(reads, "--no-figures", "--ci", "wald", "--covariance", "jackknife")

    assert run.status == 0, run.stderr
    methods = run.results["methods"]
    assert "AUC(1 - AUC)/n" in methods["auc_ci"]
    assert "Wald" in methods["proportion_ci"]
    assert {"kappa_ci", "comparison_ci", "mrmc_ci"} <= set(methods)
    assert any("--covariance jackknife" in note for note in run.results["notes"])
    row = run.results["readers"][0]
    n = row["n_cases"]
    half = 1.959963984540054 * (row["auc"] * (1 - row["auc"]) / n) ** 0.5
    assert row["auc_ci"] == pytest.approx([row["auc"] - half, row["auc"] + half], abs=1e-12)
