"""OR MRMC against OR-DBM MRMC 2.51 printouts (jackknife covariance, trapezoidal AUC).

Franken (RJafroc ``dataset03``): github:dpc10ster/RJafroc
``tests/testthat/goodValues361/Iowa/Franken1.txt``; there Cov2 < Cov3, so every Hillis
max(Cov2 − Cov3, 0) constraint is active. Federica (RJafroc ``dataset04`` as ROC, 5
modalities): github:dpc10ster/RJafroc ``inst/Iowa/FedRoc.txt``. Printout precision: statistics
and p to the printed digits, differences and CIs to 5 decimals.
"""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.mrmc import MrmcResult, mrmc
from analysis.reads import reads_from_frame
from tests.analysis.conftest import DATA


def analyse(name: str) -> MrmcResult:
    data = reads_from_frame(pd.read_csv(DATA / f"{name}.csv", dtype=str))
    return mrmc(
        truth=data.truth,
        ratings=data.scores,
        modalities=data.modalities,
        readers=data.readers,
        covariance="jackknife",
    )


@pytest.fixture(scope="module")
def franken() -> MrmcResult:
    return analyse("franken")


@pytest.fixture(scope="module")
def federica() -> MrmcResult:
    return analyse("federica_roc")


def test_franken_covariances_have_cov2_below_cov3(franken):
    vc = franken.var_components
    # Franken1.txt: COV1 0.00079168, COV2 0.00048364, COV3 0.00051251, Var(Error) 0.00152578.
    assert (vc.cov1, vc.cov2, vc.cov3, vc.var_error) == pytest.approx(
        (0.00079168, 0.00048364, 0.00051251, 0.00152578), abs=5e-9
    )
    assert vc.var_tr == pytest.approx(-0.00071276, abs=5e-9)


def test_franken_frrc_uses_the_constrained_error_term(franken):
    # Franken1.txt, Analysis 2: X2 0.32101, df 1, p 0.5710; 1 − 2: 0.01085, SE 0.01916,
    # z 0.57, CI (−0.02670, 0.04840); single treatments SE 0.02710939, 0.02744860.
    frrc = franken.frrc
    assert frrc.test.statistic == pytest.approx(0.32101, abs=5e-6)
    assert frrc.test.p == pytest.approx(0.5710, abs=5e-5)
    pair = frrc.pairs[0]
    assert pair.se == pytest.approx(0.01916, abs=5e-6)
    assert pair.ci == pytest.approx((-0.04840, 0.02670), abs=5e-6)
    assert frrc.modality_fom["T1"].se == pytest.approx(0.02710939, abs=5e-9)
    assert frrc.modality_fom["T2"].ci == pytest.approx((0.78309680, 0.89069334), abs=5e-9)


def test_franken_rrrc_and_rrfc(franken):
    # Franken1.txt, Analyses 1 and 3: F 4.69, df 1/3.00, p 0.1188; SE 0.00501,
    # CI (−0.00509, 0.02680); single treatments (RRRC) df 70.12 and 253.64.
    for analysis in (franken.rrrc, franken.rrfc):
        assert analysis.test.statistic == pytest.approx(4.69, abs=5e-3)
        assert analysis.test.df2 == pytest.approx(3.00, abs=5e-3)
        assert analysis.test.p == pytest.approx(0.1188, abs=5e-5)
        assert analysis.pairs[0].ci == pytest.approx((-0.02680, 0.00509), abs=5e-6)
    assert franken.rrrc.modality_fom["T1"].df == pytest.approx(70.12, abs=5e-3)
    assert franken.rrrc.modality_fom["T2"].ci == pytest.approx((0.79048429, 0.88330585), abs=5e-9)
    assert franken.rrfc.modality_fom["T1"].ci == pytest.approx((0.81243106, 0.88306871), abs=5e-9)


def test_franken_per_reader_fixed_reader_differences(franken):
    # Franken1.txt, Analysis 2 d): SE 0.04279, 0.04007, 0.03499, 0.03481.
    ses = [tests[0].se for tests in franken.reader_differences.values()]
    assert ses == pytest.approx([0.04279, 0.04007, 0.03499, 0.03481], abs=5e-6)


def test_federica_per_reader_se_is_the_same_for_every_pair(federica):
    # FedRoc.txt, Analysis 2 d): StdErr = sqrt[2*(Var(error) − Cov1)] = 0.03080, 0.03092,
    # 0.03619, 0.02721 for readers 1–4, for every one of the 10 pairs; reader 1, 1 − 3:
    # 0.09130, p 0.0030, CI (0.03094, 0.15166).
    expected = {"R1": 0.03080, "R2": 0.03092, "R3": 0.03619, "R4": 0.02721}
    for reader, se in expected.items():
        tests = federica.reader_differences[reader]
        assert len(tests) == 10
        assert [t.se for t in tests] == pytest.approx([se] * 10, abs=5e-6)
    one_three = federica.reader_differences["R1"][1]
    assert (one_three.modality_a, one_three.modality_b) == ("T1", "T3")
    assert one_three.p == pytest.approx(0.0030, abs=5e-5)
    assert one_three.ci == pytest.approx((-0.15166, -0.03094), abs=5e-6)


def test_federica_global_tests(federica):
    # FedRoc.txt: RRRC F 3.47, df 4/16.80, p 0.0305; FRRC X2 13.60126, p 0.0087;
    # RRFC F 4.10, df 4/12, p 0.0253; RRRC 3 − 4: −0.04074, CI (−0.07566, −0.00582).
    assert federica.rrrc.test.statistic == pytest.approx(3.47, abs=5e-3)
    assert federica.rrrc.test.df2 == pytest.approx(16.80, abs=5e-3)
    assert federica.rrrc.test.p == pytest.approx(0.0305, abs=5e-5)
    assert federica.frrc.test.statistic == pytest.approx(13.60126, abs=5e-6)
    assert federica.frrc.test.p == pytest.approx(0.0087, abs=5e-5)
    assert federica.rrfc.test.p == pytest.approx(0.0253, abs=5e-5)
    three_four = federica.rrrc.pairs[7]
    assert (three_four.modality_a, three_four.modality_b) == ("T3", "T4")
    assert three_four.ci == pytest.approx((0.00582, 0.07566), abs=5e-6)


def test_binary_sensitivity_jackknife_matches_mrmcaov_on_van_dyke():
    # MRMCaov's manual, github:brian-j-smith/MRMCaov docs/jss/MRMCaov.tex (binary_sens of
    # rating >= 3 on VanDyke, jackknife): Error 0.0023681257, Cov1 0.0009943883,
    # Cov2 0.0010145903, Cov3 0.0006604938; F 6.689493, df2 15.71732, p 0.02008822;
    # 1 − 2: −0.09777778, CI (−0.1780371, −0.0175185).
    from tests.analysis.conftest import vandyke_reads

    data = reads_from_frame(vandyke_reads())
    result = mrmc(
        truth=data.truth,
        ratings=(data.scores >= 3).astype(float),
        modalities=data.modalities,
        readers=data.readers,
        covariance="jackknife",
        fom="sensitivity",
    )
    vc = result.var_components
    assert (vc.var_error, vc.cov1, vc.cov2, vc.cov3) == pytest.approx(
        (0.0023681257, 0.0009943883, 0.0010145903, 0.0006604938), rel=1e-7
    )
    assert result.rrrc.test.statistic == pytest.approx(6.689493, rel=1e-6)
    assert result.rrrc.test.df2 == pytest.approx(15.71732, rel=1e-6)
    assert result.rrrc.test.p == pytest.approx(0.02008822, rel=1e-6)
    assert result.rrrc.pairs[0].diff == pytest.approx(0.09777778, rel=1e-6)
    assert result.rrrc.pairs[0].ci == pytest.approx((0.0175185, 0.1780371), rel=1e-6)


def test_binary_jackknife_ignores_the_other_class():
    # Specificity is computed from the negatives only: adding positive cases (whatever their
    # calls) must not change its jackknife covariance.
    import numpy as np

    from analysis.fom import fom_components, fom_covariance

    calls = np.array([[0, 0, 1, 0, 1, 0, 0, 1], [0, 1, 1, 0, 0, 0, 1, 1]], dtype=float)
    truth = np.zeros(8, dtype=bool)
    truth[:2] = True
    more = np.concatenate([truth, np.ones(20, dtype=bool)])
    more_calls = np.concatenate([calls, np.ones((2, 20))], axis=1)
    small = fom_covariance(
        components=fom_components(truth=truth, ratings=calls, fom="specificity"),
        method="jackknife",
    )
    large = fom_covariance(
        components=fom_components(truth=more, ratings=more_calls, fom="specificity"),
        method="jackknife",
    )
    np.testing.assert_allclose(small, large, rtol=1e-12)


def test_cli_matches_the_franken_printout(run_cli):
    # Franken1.txt (jackknife): RRRC F 4.69, df 1/3.00, p 0.1188, CI (−0.00509, 0.02680);
    # FRRC X2 0.32101, p 0.5710, CI (−0.02670, 0.04840); RRFC F 4.69, df 1/3, p 0.1188,
    # CI (−0.00509, 0.02680). The CLI gives T2 − T1, so the CIs are negated.
    reads = pd.read_csv(DATA / "franken.csv", dtype=str)
    run = run_cli(reads, "--no-figures", "--covariance", "jackknife")

    assert run.status == 0, run.stderr
    mrmc_json = run.results["mrmc"]
    assert run.results["input"]["modalities"] == ["T1", "T2"]
    rrrc, frrc, rrfc = mrmc_json["rrrc"], mrmc_json["frrc"], mrmc_json["rrfc"]
    for test in (rrrc, rrfc):
        assert test["f"] == pytest.approx(4.69, abs=5e-3)
        assert (test["df1"], test["df2"]) == pytest.approx((1, 3.00), abs=5e-3)
        assert test["p"] == pytest.approx(0.1188, abs=5e-5)
        assert test["diff"] == pytest.approx(-0.01085, abs=5e-6)
        assert test["ci"] == pytest.approx([-0.02680, 0.00509], abs=5e-6)
    assert frrc["chi2"] == pytest.approx(0.32101, abs=5e-6)
    assert frrc["df"] == 1
    assert frrc["p"] == pytest.approx(0.5710, abs=5e-5)
    assert frrc["ci"] == pytest.approx([-0.04840, 0.02670], abs=5e-6)
    assert "order of first appearance" in run.stdout


def test_cli_orders_modalities_by_order_not_by_label(run_cli):
    reads = pd.read_csv(DATA / "franken.csv", dtype=str)
    relabelled = reads.assign(modality=reads["modality"].map({"T1": "b", "T2": "a"}))
    run = run_cli(relabelled, "--no-figures", "--covariance", "jackknife", name="first")
    # First appearance: "b" (was T1) comes first, so the difference is a − b = T2 − T1.
    assert run.results["input"]["modalities"] == ["b", "a"]
    assert run.results["mrmc"]["frrc"]["diff"] == pytest.approx(-0.01085, abs=5e-6)
    flipped = run_cli(relabelled, "--no-figures", "--order", "a,b", name="flipped")
    assert flipped.results["mrmc"]["frrc"]["diff"] == pytest.approx(0.01085, abs=5e-6)
    assert flipped.results["comparisons"][0]["diff"] > 0 > run.results["comparisons"][0]["diff"]
    assert flipped.results["input"]["modality_order"] == "--order"
    bad = run_cli(relabelled, "--no-figures", "--order", "a,c", name="bad")
    assert bad.status == 2
    assert "--order" in bad.stderr
