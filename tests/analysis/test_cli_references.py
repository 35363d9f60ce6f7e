"""``python -m analysis`` itself, run as a process on the reference data files, against the
published outputs (the "done when" of issue 14):

- Franken (RJafroc ``dataset03``, ``tests/analysis/data/franken.csv``): OR-DBM MRMC 2.51's
  printout ``tests/testthat/goodValues361/Iowa/Franken1.txt`` in github:dpc10ster/RJafroc,
  jackknife covariance, RRRC, FRRC and RRFC;
- Federica (RJafroc ``dataset04`` as ROC, ``federica_roc.csv``): ``inst/Iowa/FedRoc.txt`` in
  github:dpc10ster/RJafroc, the three analyses and the per-reader FRRC differences;
- Van Dyke (``vandyke.csv``), sensitivity of rating ≥ 3 with the jackknife: MRMCaov's
  ``binary_sens`` example, github:brian-j-smith/MRMCaov ``docs/jss/MRMCaov.tex``;
- the paired-proportion CIs on Cavo et al. (2012) as a one-reader study: the ``cavo_2012`` data
  and expected intervals of github:ocbe-uio/contingencytables (``R/datasets.R``,
  ``tests/testthat/test-ch8.R``; Fagerland, Lydersen & Laake 2017, ch. 8).

Printout precision: statistics and p to the printed digits, differences and CIs to 5 decimals.
The CLI reports later − earlier (T2 − T1), the printouts T1 − T2: the signs are flipped here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.analysis.conftest import DATA

ROOT = Path(__file__).resolve().parents[2]


def python_m_analysis(reads: Path, out: Path, *options: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "--reads", str(reads), "--out", str(out), *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


def test_python_m_analysis_matches_or_dbm_mrmc_on_franken(tmp_path):
    mrmc = python_m_analysis(
        DATA / "franken.csv", tmp_path / "out", "--no-figures", "--covariance", "jackknife"
    )["mrmc"]
    # Franken1.txt: RRRC F 4.69, df 1/3.00, p 0.1188, T1 − T2 CI (−0.00509, 0.02680);
    # FRRC X2 0.32101, p 0.5710, CI (−0.02670, 0.04840); RRFC F 4.69, df 1/3, p 0.1188.
    for name in ("rrrc", "rrfc"):
        test = mrmc[name]
        assert test["f"] == pytest.approx(4.69, abs=5e-3)
        assert test["df2"] == pytest.approx(3.00, abs=5e-3)
        assert test["p"] == pytest.approx(0.1188, abs=5e-5)
        assert test["ci"] == pytest.approx([-0.02680, 0.00509], abs=5e-6)
    assert mrmc["frrc"]["chi2"] == pytest.approx(0.32101, abs=5e-6)
    assert mrmc["frrc"]["p"] == pytest.approx(0.5710, abs=5e-5)
    assert mrmc["frrc"]["ci"] == pytest.approx([-0.04840, 0.02670], abs=5e-6)


def test_python_m_analysis_matches_or_dbm_mrmc_on_federica(tmp_path):
    mrmc = python_m_analysis(
        DATA / "federica_roc.csv", tmp_path / "out", "--no-figures", "--covariance", "jackknife"
    )["mrmc"]
    # FedRoc.txt: RRRC F 3.47, df 4/16.80, p 0.0305, T3 − T4 −0.04074 (−0.07566, −0.00582);
    # FRRC X2 13.60126, df 4, p 0.0087; RRFC F 4.10, df 4/12, p 0.0253.
    assert mrmc["rrrc"]["f"] == pytest.approx(3.47, abs=5e-3)
    assert (mrmc["rrrc"]["df1"], mrmc["rrrc"]["df2"]) == pytest.approx((4, 16.80), abs=5e-3)
    assert mrmc["rrrc"]["p"] == pytest.approx(0.0305, abs=5e-5)
    three_four = next(
        p for p in mrmc["rrrc"]["pairs"] if (p["modality_a"], p["modality_b"]) == ("T3", "T4")
    )
    assert three_four["diff"] == pytest.approx(0.04074, abs=5e-6)
    assert three_four["ci"] == pytest.approx([0.00582, 0.07566], abs=5e-6)
    assert mrmc["frrc"]["chi2"] == pytest.approx(13.60126, abs=5e-6)
    assert mrmc["frrc"]["df"] == 4
    assert mrmc["frrc"]["p"] == pytest.approx(0.0087, abs=5e-5)
    assert mrmc["rrfc"]["f"] == pytest.approx(4.10, abs=5e-3)
    assert (mrmc["rrfc"]["df1"], mrmc["rrfc"]["df2"]) == pytest.approx((4, 12))
    assert mrmc["rrfc"]["p"] == pytest.approx(0.0253, abs=5e-5)
    # Analysis 2 d): each reader's StdErr is the same for all 10 pairs; reader 1, T1 − T3
    # 0.09130, p 0.0030, CI (0.03094, 0.15166).
    expected = {"R1": 0.03080, "R2": 0.03092, "R3": 0.03619, "R4": 0.02721}
    for reader, se in expected.items():
        rows = [d for d in mrmc["reader_differences"] if d["reader"] == reader]
        assert [d["se"] for d in rows] == pytest.approx([se] * 10, abs=5e-6)
    one_three = next(
        d
        for d in mrmc["reader_differences"]
        if (d["reader"], d["modality_a"], d["modality_b"]) == ("R1", "T1", "T3")
    )
    assert one_three["p"] == pytest.approx(0.0030, abs=5e-5)
    assert one_three["ci"] == pytest.approx([-0.15166, -0.03094], abs=5e-6)


def test_python_m_analysis_matches_mrmcaov_binary_sens_on_van_dyke(tmp_path):
    frame = pd.read_csv(DATA / "vandyke.csv", dtype=str)
    reads = frame.rename(columns={"treatment": "modality", "rating": "score"})
    reads["decision"] = (reads["score"].astype(int) >= 3).astype(int)
    path = tmp_path / "vandyke_calls.csv"
    reads.to_csv(path, index=False)
    mrmc = python_m_analysis(
        path,
        tmp_path / "out",
        "--no-figures",
        "--covariance",
        "jackknife",
        "--fom",
        "sensitivity",
    )["mrmc"]
    # MRMCaov.tex, binary_sens(truth, rating >= 3), jackknife: Error 0.0023681257,
    # Cov1 0.0009943883, Cov2 0.0010145903, Cov3 0.0006604938; F 6.689493, df2 15.71732,
    # p 0.02008822; 1 − 2: −0.09777778, CI (−0.1780371, −0.0175185).
    vc = mrmc["var_components"]
    assert (vc["var_error"], vc["cov1"], vc["cov2"], vc["cov3"]) == pytest.approx(
        (0.0023681257, 0.0009943883, 0.0010145903, 0.0006604938), rel=1e-7
    )
    assert mrmc["rrrc"]["f"] == pytest.approx(6.689493, rel=1e-6)
    assert mrmc["rrrc"]["df2"] == pytest.approx(15.71732, rel=1e-6)
    assert mrmc["rrrc"]["p"] == pytest.approx(0.02008822, rel=1e-6)
    assert mrmc["rrrc"]["diff"] == pytest.approx(0.09777778, rel=1e-6)
    assert mrmc["rrrc"]["ci"] == pytest.approx([0.0175185, 0.1780371], rel=1e-6)


def _cavo_reads() -> pd.DataFrame:
    # cavo_2012 = rbind(c(59, 6), c(16, 80)): rows the earlier call (correct yes/no), columns
    # the later; 161 positive cases, plus two negative cases the calls leave alone (the
    # sensitivity is over the positives only).
    cells = [(1, 1, 59), (1, 0, 6), (0, 1, 16), (0, 0, 80)]
    rows = []
    case = 0
    for earlier, later, count in cells:
        for _ in range(count):
            case += 1
            for modality, call in (("before", earlier), ("after", later)):
                rows.append(("lab", modality, f"p{case}", 1, 100 * call, call))
    for n in (1, 2):
        for modality in ("before", "after"):
            rows.append(("lab", modality, f"n{n}", 0, 10 * n, 0))
    return pd.DataFrame(rows, columns=["reader", "modality", "case", "truth", "score", "decision"])


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        # test-ch8.R on cavo_2012 gives p1+ − p+1 (earlier − later): Newcombe (−0.1186,
        # −0.0046), Tango (−0.1240, −0.0054), Agresti–Min (−0.1182, −0.0045).
        ("newcombe", (0.0046, 0.1186)),
        ("tango", (0.0054, 0.1240)),
        ("agresti_min", (0.0045, 0.1182)),
    ],
)
def test_python_m_analysis_gives_the_published_paired_proportion_cis(tmp_path, method, expected):
    path = tmp_path / "cavo.csv"
    _cavo_reads().to_csv(path, index=False)
    row = python_m_analysis(
        path, tmp_path / "out", "--no-figures", "--paired-ci", method, "--order", "before,after"
    )["comparisons"][0]
    assert row["delta_sensitivity"] == pytest.approx(10 / 161)
    assert row["delta_sensitivity_ci"] == pytest.approx(list(expected), abs=5e-5)
    # McNemar mid-p on the 6 and 16 discordant pairs: 0.034690 (test-ch8.R).
    assert row["delta_sensitivity_p"] == pytest.approx(0.034690, abs=5e-7)
