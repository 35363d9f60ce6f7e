"""The optional blocks of results.json that need more than the reads' required columns:
agreement (needs ``decision``), reading time (``time``), AI reliance and the model against the
readers (an AI file; reliance also ``decision``), and per-seniority MRMC (``seniority``).

Kept apart from ``analysis.study`` so that the core analysis stays as it is; the CLI adds these
blocks to its payload. Only bookkeeping here: the statistics are in the modules named below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from analysis.agreement import agreement_json
from analysis.errors import AnalysisInputError
from analysis.metrics import metrics_row
from analysis.model import model_metrics, model_vs_readers
from analysis.mrmc import Covariance, Fom, mrmc
from analysis.reading_time import reading_time_json
from analysis.reads import ReadsData, natural_key
from analysis.reliance import reliance_json
from analysis.study import _records_with_ci, mrmc_json


@dataclass(frozen=True)
class Extras:
    """Optional inputs aligned with a ``ReadsData``: ``times[t, r, c]``, a seniority per
    reader, an AI probability per case, and the modality order (unassisted first)."""

    times: NDArray[np.float64] | None
    seniority: dict[str, str] | None
    ai_probability: NDArray[np.float64] | None
    order: list[str]


def extras_from_frames(*, data: ReadsData, reads: pd.DataFrame, ai: pd.DataFrame | None) -> Extras:
    """Read the optional ``time`` and ``seniority`` columns of the reads frame and the AI
    frame (``case, probability``), checking them against the validated reads."""
    frame = reads.copy()
    for column in ("reader", "modality", "case"):
        frame[column] = frame[column].astype(str).str.strip()
    order = list(data.modalities)  # study order (--order, else first appearance): unassisted first
    times = None
    if "time" in frame.columns:
        values = pd.to_numeric(frame["time"], errors="coerce")
        if values.isna().any() or (values <= 0).any():
            raise AnalysisInputError("column 'time' must be a positive number of seconds")
        frame["time"] = values.astype(float)
        index = pd.MultiIndex.from_product([data.modalities, data.readers, data.cases])
        ordered = frame.set_index(["modality", "reader", "case"])["time"].reindex(index)
        times = ordered.to_numpy(dtype=np.float64).reshape(data.scores.shape)
    seniority = None
    if "seniority" in frame.columns:
        levels = frame.groupby("reader")["seniority"].agg(lambda s: sorted(set(s.str.strip())))
        mixed = [r for r, v in levels.items() if len(v) != 1 or v[0] == ""]
        if mixed:
            raise AnalysisInputError(
                f"reader(s) with no or more than one seniority: {', '.join(map(str, mixed))}"
            )
        seniority = {str(r): v[0] for r, v in levels.items()}
    probability = None
    if ai is not None:
        if not {"case", "probability"} <= set(ai.columns):
            raise AnalysisInputError("the AI file needs columns case, probability")
        values = pd.to_numeric(ai["probability"], errors="coerce")
        by_case = pd.Series(values.to_numpy(), index=ai["case"].astype(str).str.strip())
        by_case = by_case[~by_case.index.duplicated()].reindex(data.cases)
        missing = [c for c, v in by_case.items() if pd.isna(v)]
        if missing:
            raise AnalysisInputError(
                "the AI file lacks a numeric probability for case(s): "
                + ", ".join(map(str, missing[:5]))
            )
        probability = by_case.to_numpy(dtype=np.float64)
    return Extras(times=times, seniority=seniority, ai_probability=probability, order=order)


def seniority_json(
    *, data: ReadsData, seniority: dict[str, str], covariance: Covariance, fom: Fom, level: float
) -> dict[str, Any]:
    """OR MRMC within each seniority group of ≥ 2 readers (reader-averaged FOM per modality
    with its RRRC/FRRC/RRFC intervals in ``modality_fom``); smaller groups are listed, skipped."""
    groups: dict[str, list[int]] = {}
    for j, reader in enumerate(data.readers):
        groups.setdefault(seniority[reader], []).append(j)
    out: dict[str, Any] = {}
    for level_name in sorted(groups, key=natural_key):
        idx = groups[level_name]
        readers = [data.readers[j] for j in idx]
        entry: dict[str, Any] = {"readers": readers, "mrmc": None, "note": None}
        ratings = data.scores if fom == "auc" else data.decisions
        if len(idx) < 2 or len(data.modalities) < 2 or ratings is None:
            entry["note"] = "MRMC needs at least two readers and two modalities"
        else:
            result = mrmc(
                truth=data.truth,
                ratings=ratings[:, idx],
                modalities=data.modalities,
                readers=readers,
                fom=fom,
                covariance=covariance,
                level=level,
            )
            entry["mrmc"] = mrmc_json(result)
        out[level_name] = entry
    return out


def model_json(
    *, data: ReadsData, probability: NDArray[np.float64], threshold: float, level: float
) -> dict[str, Any]:
    """The AI model alone on the cases read (DeLong AUC; Wilson-interval metrics of
    probability > threshold) and against each reader in each modality (paired DeLong, model −
    reader)."""
    alone = model_metrics(
        truth=data.truth, probability=probability, threshold=threshold, level=level
    )
    vs_readers = []
    for i, modality in enumerate(data.modalities):
        tests = model_vs_readers(
            truth=data.truth,
            model_scores=probability,
            reader_scores={reader: data.scores[i, j] for j, reader in enumerate(data.readers)},
            level=level,
        )
        vs_readers += [
            {
                "reader": reader,
                "modality": modality,
                "auc_model": test.auc_a,
                "auc_reader": test.auc_b,
                "diff": test.diff,
                "se": test.se,
                "z": test.z,
                "p": test.p,
                "ci": list(test.ci),
            }
            for reader, test in tests.items()
        ]
    return {
        "threshold": threshold,
        "auc": alone.auc.auc,
        "auc_ci": list(alone.auc.ci),
        "metrics": _records_with_ci(pd.DataFrame([metrics_row(alone.metrics)]))[0],
        "vs_readers": vs_readers,
    }


def extended_json(
    *,
    data: ReadsData,
    extras: Extras,
    threshold: float,
    covariance: Covariance,
    fom: Fom,
    level: float = 0.95,
) -> tuple[dict[str, Any], list[str]]:
    """The optional blocks (``agreement``, ``reading_time``, ``reliance``, ``model``,
    ``seniority``; each None when its input is absent) and notes saying why a block is missing."""
    notes: list[str] = []
    blocks: dict[str, Any] = {
        "agreement": None,
        "reading_time": None,
        "reliance": None,
        "model": None,
        "seniority": None,
    }
    if data.decisions is not None and len(data.readers) >= 2:
        blocks["agreement"] = agreement_json(
            decisions=data.decisions, modalities=data.modalities, readers=data.readers, level=level
        )
    if extras.times is not None:
        blocks["reading_time"] = reading_time_json(
            times=extras.times,
            modalities=data.modalities,
            readers=data.readers,
            cases=data.cases,
            level=level,
        )
    if extras.ai_probability is not None:
        blocks["model"] = model_json(
            data=data, probability=extras.ai_probability, threshold=threshold, level=level
        )
        if data.decisions is None or len(data.modalities) < 2:
            notes.append("reliance omitted: it needs a 'decision' column and two modalities")
        else:
            before = data.modalities.index(extras.order[0])
            after = data.modalities.index(extras.order[1])
            blocks["reliance"] = {
                "before": extras.order[0],
                "after": extras.order[1],
                **reliance_json(
                    truth=data.truth,
                    scores=data.scores,
                    decisions=data.decisions,
                    readers=data.readers,
                    ai_probability=extras.ai_probability,
                    threshold=threshold,
                    before=before,
                    after=after,
                ),
            }
    if extras.seniority is not None:
        blocks["seniority"] = seniority_json(
            data=data, seniority=extras.seniority, covariance=covariance, fom=fom, level=level
        )
    return blocks, notes
