"""Validate a frame of reads (one row per reader × modality × case) and lay it out as arrays.

Every analysis of a fully crossed reader study starts here, so every input error is caught once,
with a message that names the offending rows, readers or cases. pandas does the parsing; the
checks are specific to reader studies, which is why they are written by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from analysis.errors import AnalysisInputError

REQUIRED_COLUMNS = ("reader", "modality", "case", "truth", "score")
LABEL_COLUMNS = ("reader", "modality", "case")
_SHOWN = 5


@dataclass(frozen=True)
class ReadsData:
    """A fully crossed study: ``scores[t, r, c]`` is modality t, reader r, case c.

    ``modalities`` are in study order (earlier first): every difference is later − earlier.
    ``modality_order`` says where that order came from; ``notes`` what was dropped on input.
    """

    modalities: list[str]
    readers: list[str]
    cases: list[str]
    truth: NDArray[np.bool_]
    scores: NDArray[np.float64]
    decisions: NDArray[np.float64] | None
    modality_order: str = "given"
    notes: tuple[str, ...] = ()

    @property
    def n_positive(self) -> int:
        return int(self.truth.sum())

    @property
    def n_negative(self) -> int:
        return int((~self.truth).sum())


def natural_key(label: str) -> tuple[int, float, str]:
    """Sort numeric labels numerically ("2" before "10") and other labels alphabetically."""
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def _shown(values: list[str]) -> str:
    more = f" and {len(values) - _SHOWN} more" if len(values) > _SHOWN else ""
    return ", ".join(values[:_SHOWN]) + more


def _lines(mask: pd.Series) -> list[str]:
    # Line numbers as an editor shows them: the header is line 1.
    return [str(int(i) + 2) for i in np.flatnonzero(mask.to_numpy())]


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() | ~np.isfinite(values.astype(float))
    if bad.any():
        raise AnalysisInputError(
            f"column '{column}' must be numeric on every row; bad values on CSV line(s) "
            f"{_shown(_lines(bad))}",
            extra={"column": column, "lines": _lines(bad)},
        )
    return values.astype(float)


def _binary(frame: pd.DataFrame, column: str) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = ~values.isin([0.0, 1.0])
    if bad.any():
        raise AnalysisInputError(
            f"column '{column}' must be 0 or 1 on every row; bad values on CSV line(s) "
            f"{_shown(_lines(bad))}",
            extra={"column": column, "lines": _lines(bad)},
        )
    return values.astype(float)


def _modality_order(found: list[str], order: Sequence[str] | None) -> tuple[list[str], str]:
    """The modalities in study order: ``order`` when given (it must name each exactly once),
    else their order of first appearance in the file; and a phrase saying which."""
    if order is None:
        return found, "order of first appearance in the file"
    wanted = [str(m).strip() for m in order]
    if sorted(wanted) != sorted(found):
        raise AnalysisInputError(
            f"--order names {', '.join(wanted) or 'nothing'} but the reads have modalities "
            f"{', '.join(found)}: name each modality exactly once",
            extra={"order": wanted, "modalities": found},
        )
    return wanted, "--order"


def reads_from_frame(frame: pd.DataFrame, *, order: Sequence[str] | None = None) -> ReadsData:
    """Check a reads frame and return it as arrays: modalities in study order (``order``, else
    first appearance; differences are later − earlier), readers and cases in natural order.

    Raises ``AnalysisInputError`` for missing columns, blank labels, non-numeric scores, truth
    or decision other than 0/1, a case with two truths, a class with no cases, duplicate reads,
    or a reader lacking a modality's reads (the design must be fully crossed).

    Long because it is a sequence of independent checks, each with its own error message.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise AnalysisInputError(
            f"missing column(s): {', '.join(missing)} (need {', '.join(REQUIRED_COLUMNS)})",
            extra={"missing": missing},
        )
    if frame.empty:
        raise AnalysisInputError("the reads file has no rows")
    frame = frame.reset_index(drop=True)
    labels = frame[list(LABEL_COLUMNS)].astype("string").apply(lambda s: s.str.strip())
    for column in LABEL_COLUMNS:
        blank = labels[column].isna() | (labels[column] == "")
        if blank.any():
            raise AnalysisInputError(
                f"column '{column}' is blank on CSV line(s) {_shown(_lines(blank))}",
                extra={"column": column, "lines": _lines(blank)},
            )
    score = _numeric(frame, "score")
    truth = _binary(frame, "truth")
    decision = _binary(frame, "decision") if "decision" in frame.columns else None
    data = pd.DataFrame(
        {
            "reader": labels["reader"].astype(str),
            "modality": labels["modality"].astype(str),
            "case": labels["case"].astype(str),
            "truth": truth,
            "score": score,
        }
    )
    if decision is not None:
        data["decision"] = decision

    truths = data.groupby("case", sort=False)["truth"].nunique()
    conflicting = sorted(truths.index[truths > 1], key=natural_key)
    if conflicting:
        raise AnalysisInputError(
            f"case(s) with two different truths: {_shown(conflicting)}",
            extra={"cases": conflicting},
        )
    duplicated = data.duplicated(subset=list(LABEL_COLUMNS), keep=False)
    if duplicated.any():
        raise AnalysisInputError(
            "the same reader, modality and case appear more than once on CSV line(s) "
            f"{_shown(_lines(duplicated))}",
            extra={"lines": _lines(duplicated)},
        )

    modalities, order_source = _modality_order(list(data["modality"].unique()), order)
    readers = sorted(data["reader"].unique(), key=natural_key)
    cases = sorted(data["case"].unique(), key=natural_key)
    case_truth = data.groupby("case")["truth"].first().reindex(cases).to_numpy() == 1.0
    for label, count in (
        ("positive (truth 1)", int(case_truth.sum())),
        ("negative (truth 0)", int((~case_truth).sum())),
    ):
        if count < 2:
            raise AnalysisInputError(
                f"{count} {label} case(s): ROC analysis needs at least two cases of each class "
                "(with fewer, no variance can be estimated)",
                extra={"class": label, "cases": count},
            )

    present = data.groupby(["reader", "modality"]).size()
    for reader in readers:
        for modality in modalities:
            count = int(present.get((reader, modality), 0))
            if count == 0:
                raise AnalysisInputError(
                    f"reader '{reader}' has no reads in modality '{modality}'",
                    extra={"reader": reader, "modality": modality},
                )
            if count < len(cases):
                read = set(data.loc[(data.reader == reader) & (data.modality == modality), "case"])
                lacking = [c for c in cases if c not in read]
                raise AnalysisInputError(
                    f"reader '{reader}' in modality '{modality}' lacks reads for "
                    f"{len(lacking)} case(s): {_shown(lacking)} (every reader must read every "
                    "case in every modality)",
                    extra={"reader": reader, "modality": modality, "cases": lacking},
                )

    index = pd.MultiIndex.from_product([modalities, readers, cases])
    ordered = data.set_index(["modality", "reader", "case"]).reindex(index)
    shape = (len(modalities), len(readers), len(cases))
    scores = ordered["score"].to_numpy(dtype=np.float64).reshape(shape)
    decisions = (
        ordered["decision"].to_numpy(dtype=np.float64).reshape(shape)
        if decision is not None
        else None
    )
    return ReadsData(
        modalities=modalities,
        readers=readers,
        cases=cases,
        truth=np.asarray(case_truth, dtype=np.bool_),
        scores=scores,
        decisions=decisions,
        modality_order=order_source,
    )
