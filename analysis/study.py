"""The whole analysis of a fully crossed reader study, from validated reads to one result object.

Shared by the CLI and the web adapter so that both report the same numbers: per-reader AUCs,
paired comparisons between modalities (DeLong; McNemar for sensitivity and specificity when
binary calls exist), binary metrics, and the OR MRMC analysis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError
from analysis.metrics import (
    CI_METHODS,
    MCNEMAR_METHODS,
    CiMethod,
    binary_metrics,
    mcnemar_paired,
    metrics_row,
    wald_auc,
)
from analysis.mrmc import Analysis, Covariance, Fom, MrmcResult, mrmc
from analysis.paired import PAIRED_METHODS, PairedMethod, paired_difference
from analysis.reads import ReadsData
from analysis.roc import (
    DelongComponents,
    auc_notes,
    delong_components,
    normal_ci,
    paired_from_components,
)
from analysis.serialize import jsonable

METHODS = {
    "auc": "empirical (Mann-Whitney) AUC, ties count one half",
    "auc_se": "DeLong et al. 1988, Sun & Xu 2014 algorithm",
    "auc_ci": "normal (Wald) interval on the DeLong SE, clipped to [0, 1] (pROC)",
    "comparison": (
        "paired DeLong test, two-sided; diff = modality_b - modality_a (later - earlier)"
    ),
    "proportion_ci": CI_METHODS["wilson"],
    "kappa_ci": "Wald interval on the Fleiss-Cohen-Everitt SE, truncated to [-1, 1]",
    "comparison_ci": "Wald interval on the paired DeLong SE",
    "mrmc_ci": (
        "t intervals with Hillis df (RRRC, RRFC), normal intervals (FRRC), "
        "on the OR standard errors"
    ),
    "mcnemar": MCNEMAR_METHODS["mid-p"] + "; exact, asymptotic, asymptotic-cc by name",
    "kappa_se": "Fleiss, Cohen & Everitt 1969",
    "delta_proportion": (
        "delta_x = x_b - x_a (later - earlier); CI per delta_x_method (analysis.paired); "
        "p: McNemar mid-p (Fagerland et al. 2013)"
    ),
    "mrmc": (
        "Obuchowski-Rockette, Hillis 2007 denominator df and max(Cov2 - Cov3, 0) constraints; "
        "pairwise diff = modality_b - modality_a (later - earlier)"
    ),
}


@dataclass
class StudyResults:
    """Frames for CSV export plus the MRMC result; ``as_json`` gives results.json."""

    data: ReadsData
    readers: pd.DataFrame
    comparisons: pd.DataFrame
    mrmc: MrmcResult | None
    notes: list[str] = field(default_factory=list)
    methods: dict[str, str] = field(default_factory=lambda: dict(METHODS))

    def as_json(self) -> dict[str, Any]:
        return jsonable(
            {
                "input": {
                    "readers": self.data.readers,
                    "modalities": self.data.modalities,
                    "modality_order": self.data.modality_order,
                    "direction": "later - earlier (modality_b - modality_a)",
                    "cases": len(self.data.cases),
                    "positive": self.data.n_positive,
                    "negative": self.data.n_negative,
                    "decisions": self.data.decisions is not None,
                },
                "methods": self.methods,
                "readers": _records_with_ci(self.readers),
                "comparisons": _records_with_ci(self.comparisons),
                "mrmc": mrmc_json(self.mrmc) if self.mrmc is not None else None,
                "notes": self.notes,
            }
        )


def _records_with_ci(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with every ``x_ci_low``/``x_ci_high`` pair folded into ``x_ci: [low, high]``."""
    records = []
    for row in frame.to_dict(orient="records"):
        out: dict[str, Any] = {}
        for name, value in row.items():
            key = str(name)
            if key == "ci_high" or key.endswith("_ci_high"):
                continue
            if key == "ci_low" or key.endswith("_ci_low"):
                stem = key[: -len("_low")]
                out[stem] = [value, row[f"{stem}_high"]]
            else:
                out[key] = value
        records.append(out)
    return records


def _analysis_json(analysis: Analysis, kind: str, two: bool) -> dict[str, Any]:
    test = analysis.test
    out: dict[str, Any] = (
        {"chi2": test.statistic, "df": test.df1, "p": test.p}
        if kind == "frrc"
        else {"f": test.statistic, "df1": test.df1, "df2": test.df2, "p": test.p}
    )
    first = analysis.pairs[0]
    out["diff"] = first.diff if two else None
    out["se"] = first.se if two else None
    out["ci"] = list(first.ci) if two else None
    out["pairs"] = analysis.pairs
    return out


def mrmc_json(result: MrmcResult) -> dict[str, Any]:
    """The ``mrmc`` block of results.json."""
    two = len(result.modalities) == 2
    modality_fom = {
        name: {
            "estimate": result.rrrc.modality_fom[name].estimate,
            "rrrc": result.rrrc.modality_fom[name],
            "frrc": result.frrc.modality_fom[name],
            "rrfc": result.rrfc.modality_fom[name],
        }
        for name in result.modalities
    }
    return {
        "covariance": result.covariance,
        "fom": result.fom_name,
        "modalities": result.modalities,
        "modality_fom": modality_fom,
        "reader_fom": [
            {"reader": reader, "modality": modality, "fom": result.fom[i, j]}
            for i, modality in enumerate(result.modalities)
            for j, reader in enumerate(result.readers)
        ],
        "var_components": result.var_components,
        "rrrc": _analysis_json(result.rrrc, "rrrc", two),
        "frrc": _analysis_json(result.frrc, "frrc", two),
        "rrfc": _analysis_json(result.rrfc, "rrfc", two),
        "reader_differences": [
            {"reader": reader, **jsonable(test)}
            for reader, tests in result.reader_differences.items()
            for test in tests
        ],
    }


def _reader_rows(
    *,
    data: ReadsData,
    components: DelongComponents,
    level: float,
    notes: list[str],
    ci_method: CiMethod = "wilson",
) -> list[dict[str, Any]]:
    """A row per (modality, reader): the DeLong AUC with its CI, and the binary metrics."""
    _, r, c = data.scores.shape
    truth = data.truth
    cov = components.covariance
    reader_rows: list[dict[str, Any]] = []
    for i, modality in enumerate(data.modalities):
        for j, reader in enumerate(data.readers):
            k = i * r + j
            se = float(np.sqrt(cov[k, k]))
            auc = float(components.auc[k])
            low, high = (
                wald_auc(auc=auc, n=c, level=level)
                if ci_method == "wald"
                else normal_ci(estimate=auc, se=se, level=level)
            )
            notes += [
                f"reader {reader}, {modality}: {n}"
                for n in auc_notes(components=components, index=k)
            ]
            row: dict[str, Any] = {
                "reader": reader,
                "modality": modality,
                "auc": auc,
                "auc_se": se,
                "auc_ci_low": low,
                "auc_ci_high": high,
                "n_cases": c,
            }
            if data.decisions is not None:
                row.update(
                    metrics_row(
                        binary_metrics(
                            truth=truth,
                            decision=data.decisions[i, j],
                            level=level,
                            ci_method=ci_method,
                        )
                    )
                )
            reader_rows.append(row)

    return reader_rows


def _comparison_rows(
    *,
    data: ReadsData,
    components: DelongComponents,
    level: float,
    notes: list[str],
    paired_method: PairedMethod = "newcombe",
) -> list[dict[str, Any]]:
    """A row per pair of modalities and reader: paired DeLong, and McNemar on the calls."""
    t, r, _ = data.scores.shape
    truth = data.truth
    comparison_rows: list[dict[str, Any]] = []
    for a, b in combinations(range(t), 2):
        for j, reader in enumerate(data.readers):
            # Later − earlier: the test's "a" is the later modality b.
            test = paired_from_components(
                components=components, index_a=b * r + j, index_b=a * r + j, level=level
            )
            notes += [
                f"reader {reader}, {data.modalities[b]} - {data.modalities[a]}: {n}"
                for n in test.notes
            ]
            row = {
                "reader": reader,
                "modality_a": data.modalities[a],
                "modality_b": data.modalities[b],
                "auc_a": test.auc_b,
                "auc_b": test.auc_a,
                "diff": test.diff,
                "se": test.se,
                "z": test.z,
                "p": test.p,
                "ci_low": test.ci[0],
                "ci_high": test.ci[1],
            }
            if data.decisions is not None:
                for name, mask in (("sensitivity", truth), ("specificity", ~truth)):
                    right_a = data.decisions[a, j, mask] == (1.0 if name == "sensitivity" else 0.0)
                    right_b = data.decisions[b, j, mask] == (1.0 if name == "sensitivity" else 0.0)
                    mc = mcnemar_paired(correct_before=right_a, correct_after=right_b)
                    row[f"{name}_a"] = float(right_a.mean())
                    row[f"{name}_b"] = float(right_b.mean())
                    row[f"{name}_diff"] = float(right_b.mean() - right_a.mean())
                    row[f"{name}_p"] = mc.p
                    row[f"{name}_test"] = mc.method
                    delta = paired_difference(
                        success_a=right_a, success_b=right_b, method=paired_method, level=level
                    )
                    row[f"delta_{name}"] = delta.estimate
                    row[f"delta_{name}_ci_low"], row[f"delta_{name}_ci_high"] = delta.ci
                    row[f"delta_{name}_p"] = delta.p
                    row[f"delta_{name}_method"] = PAIRED_METHODS[paired_method]
            comparison_rows.append(row)

    return comparison_rows


def analyse_study(
    *,
    data: ReadsData,
    covariance: Covariance = "delong",
    fom: Fom = "auc",
    level: float = 0.95,
    paired_method: PairedMethod = "newcombe",
    ci_method: CiMethod = "wilson",
) -> StudyResults:
    """Per-reader AUCs and binary metrics, paired comparisons and (≥ 2 readers) the MRMC analysis.

    ``ci_method="wald"`` gives the seed paper's intervals: AUC ± z·√(AUC(1 − AUC)/n) and
    p ± z·√(p(1 − p)/n), not truncated; the default is DeLong (AUC) and Wilson (proportions).
    """
    t, r, c = data.scores.shape
    truth = data.truth
    if fom != "auc" and data.decisions is None:
        raise AnalysisInputError(f"--fom {fom} needs a 'decision' column (0/1) in the reads")
    components = delong_components(truth=truth, scores=data.scores.reshape(t * r, c))
    notes: list[str] = list(data.notes)
    reader_rows = _reader_rows(
        data=data, components=components, level=level, notes=notes, ci_method=ci_method
    )
    methods = dict(METHODS)
    if ci_method == "wald":
        methods["auc_ci"] = "Wald interval AUC +- z*sqrt(AUC(1 - AUC)/n), not truncated (seed)"
        methods["proportion_ci"] = CI_METHODS["wald"]
    if covariance != "delong" and (t >= 2 or r < 2):
        notes.append(
            f"--covariance {covariance} applies to the MRMC analysis (its per-reader FRRC "
            "differences included); the per-reader comparisons table uses the paired DeLong "
            "test, which needs no resampling"
            + ("; with one reader there is no MRMC analysis" if r < 2 else "")
        )
    comparison_rows = _comparison_rows(
        data=data, components=components, level=level, notes=notes, paired_method=paired_method
    )
    result = None
    if t < 2:
        notes.append("one modality only: no comparisons and no MRMC analysis")
    elif r < 2:
        notes.append("MRMC analysis omitted: it needs at least two readers (one reader given)")
    else:
        ratings = data.scores if fom == "auc" else data.decisions
        assert ratings is not None  # guarded above: binary FOMs need decisions
        result = mrmc(
            truth=truth,
            ratings=ratings,
            modalities=data.modalities,
            readers=data.readers,
            fom=fom,
            covariance=covariance,
            level=level,
        )
        notes += _mrmc_notes(result)
    return StudyResults(
        data=data,
        readers=pd.DataFrame(reader_rows),
        comparisons=pd.DataFrame(comparison_rows),
        mrmc=result,
        notes=notes,
        methods=methods,
    )


def _mrmc_notes(result: MrmcResult) -> list[str]:
    """Say which MRMC tests are undefined (a zero error term: e.g. identical modalities)."""
    notes = []
    for name in ("rrrc", "frrc", "rrfc"):
        test = getattr(result, name).test
        if not np.isfinite(test.statistic):
            notes.append(
                f"MRMC {name.upper()}: test undefined (error term 0 or negative: identical "
                "modalities, or no case-sampling variance)"
            )
    return notes


def mrmc_frames(result: MrmcResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long CSV frames: every test, difference and interval; and the variance components.

    Long because it flattens each kind of result into rows with its own columns.
    """
    rows: list[dict[str, Any]] = []
    for name in ("rrrc", "frrc", "rrfc"):
        analysis: Analysis = getattr(result, name)
        rows.append(
            {
                "analysis": name,
                "kind": "overall",
                "statistic": analysis.test.statistic,
                "df1": analysis.test.df1,
                "df2": analysis.test.df2,
                "p": analysis.test.p,
            }
        )
        for pair in analysis.pairs:
            rows.append(
                {
                    "analysis": name,
                    "kind": "pair",
                    "modality_a": pair.modality_a,
                    "modality_b": pair.modality_b,
                    "estimate": pair.diff,
                    "se": pair.se,
                    "df2": pair.df,
                    "statistic": pair.statistic,
                    "p": pair.p,
                    "ci_low": pair.ci[0],
                    "ci_high": pair.ci[1],
                }
            )
        for modality, interval in analysis.modality_fom.items():
            rows.append(
                {
                    "analysis": name,
                    "kind": "modality",
                    "modality_a": modality,
                    "estimate": interval.estimate,
                    "se": interval.se,
                    "df2": interval.df,
                    "ci_low": interval.ci[0],
                    "ci_high": interval.ci[1],
                }
            )
    for reader, tests in result.reader_differences.items():
        for pair in tests:
            rows.append(
                {
                    "analysis": "frrc",
                    "kind": "reader",
                    "reader": reader,
                    "modality_a": pair.modality_a,
                    "modality_b": pair.modality_b,
                    "estimate": pair.diff,
                    "se": pair.se,
                    "statistic": pair.statistic,
                    "p": pair.p,
                    "ci_low": pair.ci[0],
                    "ci_high": pair.ci[1],
                }
            )
    frame = pd.DataFrame(rows).assign(covariance=result.covariance, fom=result.fom_name)
    components = pd.DataFrame([jsonable(result.var_components)]).assign(
        covariance=result.covariance, fom=result.fom_name
    )
    return frame, components
