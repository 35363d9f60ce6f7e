"""Our DeLong against R's pROC itself on random data (ties included), where R and pROC are
installed (.ci/run installs Debian's r-cran-proc)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from analysis.roc import auc_delong, delong_paired_test

R_SCRIPT = r"""
suppressMessages(library(pROC))
d <- read.csv(commandArgs(TRUE)[1])
a <- roc(d$truth, d$a, levels = c(0, 1), direction = "<", quiet = TRUE)
b <- roc(d$truth, d$b, levels = c(0, 1), direction = "<", quiet = TRUE)
t <- roc.test(a, b, method = "delong", paired = TRUE)
ci <- ci.auc(a, method = "delong")
cat(sprintf('{"auc_a": %.12f, "auc_b": %.12f, "var_a": %.15g, "ci_low": %.12f, "ci_high": %.12f, "z": %.12f, "p": %.15g}',
    auc(a), auc(b), var(a, method = "delong"), ci[1], ci[3], t$statistic, t$p.value))
"""


@pytest.mark.skipif(
    shutil.which("Rscript") is None, reason="R is not installed (apt-get install r-cran-proc)"
)
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_delong_matches_proc_on_random_data_with_ties(seed: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 200))
    truth = rng.random(n) < rng.uniform(0.2, 0.6)
    truth[:2] = [True, False]
    a = np.round(rng.normal(truth * rng.uniform(0.3, 1.5), 1.0), 1)  # rounding makes ties
    b = np.round(a + rng.normal(0, 0.8, n), 0)
    data = tmp_path / "d.csv"
    data.write_text(
        "truth,a,b\n" + "\n".join(f"{int(t)},{x},{y}" for t, x, y in zip(truth, a, b, strict=True))
    )
    script = tmp_path / "proc.R"
    script.write_text(R_SCRIPT)
    run = subprocess.run(
        ["Rscript", str(script), str(data)], capture_output=True, text=True, timeout=120
    )
    if run.returncode != 0 and "pROC" in run.stderr:
        pytest.skip("R is installed without pROC")
    assert run.returncode == 0, run.stderr
    reference = json.loads(run.stdout)
    ours = auc_delong(truth=truth, scores=a)
    paired = delong_paired_test(truth=truth, scores_a=a, scores_b=b)
    assert ours.auc == pytest.approx(reference["auc_a"], abs=1e-10)
    assert ours.se**2 == pytest.approx(reference["var_a"], rel=1e-8)
    assert ours.ci == pytest.approx((reference["ci_low"], reference["ci_high"]), abs=1e-8)
    assert paired.auc_b == pytest.approx(reference["auc_b"], abs=1e-10)
    assert paired.z == pytest.approx(reference["z"], rel=1e-7)
    assert paired.p == pytest.approx(reference["p"], rel=1e-6)
