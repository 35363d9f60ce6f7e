"""Accept the web app's reads export (README "Exports", kind ``reads``) as CLI input unchanged.

The export has one row per read revision with ``confidence`` (0–100), ``decision``
(``benign``/``malignant``), ``is_current``, ``round`` and ``modality``, and spreadsheet-safe
text (a leading ``'`` before ``=``, ``+``, ``-``, ``@``, tab or carriage return). This module
turns it into the CLI's reads (reader, modality, case, truth, score, decision): current
revisions only, confidence as the score, decisions as 0/1, modalities ordered by round, and
only the readers who read every case in every modality (the design must be fully crossed),
saying in notes who was left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.errors import AnalysisInputError
from analysis.reads import natural_key

EXPORT_MARKERS = ("confidence", "is_current")
_DECISIONS = {"benign": "0", "malignant": "1", "0": "0", "1": "1"}
_UNSAFE_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class PreparedReads:
    """Reads in the CLI's columns, the modality order they imply (None: the caller's), notes."""

    frame: pd.DataFrame
    order: list[str] | None
    notes: list[str]


def is_reads_export(frame: pd.DataFrame) -> bool:
    """True for the web app's reads export (it has confidence and is_current, and no score)."""
    return all(c in frame.columns for c in EXPORT_MARKERS) and "score" not in frame.columns


def _unquote(value: str) -> str:
    """Undo the export's spreadsheet-safe prefix (``'=x`` back to ``=x``)."""
    if len(value) > 1 and value[0] == "'" and value[1:].startswith(_UNSAFE_STARTS):
        return value[1:]
    return value


def prepare_reads(frame: pd.DataFrame) -> PreparedReads:
    """The CLI's reads from ``frame``: unchanged unless it is a reads export (see module doc)."""
    if not is_reads_export(frame):
        return PreparedReads(frame, None, [])
    missing = [c for c in ("reader", "modality", "case", "truth", "decision") if c not in frame]
    if missing:
        raise AnalysisInputError(f"reads export lacks column(s): {', '.join(missing)}")
    notes: list[str] = []
    current = frame[frame["is_current"].astype(str).str.strip() == "1"]
    if len(current) < len(frame):
        notes.append(
            f"reads export: {len(frame) - len(current)} superseded revision(s) left out "
            "(only is_current = 1 is analysed)"
        )
    decision = current["decision"].astype(str).str.strip().str.lower().map(_DECISIONS)
    if decision.isna().any():
        raise AnalysisInputError("reads export: decision must be benign or malignant")
    reads = pd.DataFrame(
        {
            "reader": current["reader"].astype(str).map(_unquote),
            "modality": current["modality"].astype(str).map(_unquote),
            "case": current["case"].astype(str).map(_unquote),
            "truth": current["truth"].astype(str),
            "score": current["confidence"].astype(str),
            "decision": decision,
        }
    ).reset_index(drop=True)
    order = None
    if "round" in current:
        rounds = (
            pd.DataFrame({"modality": reads["modality"], "round": current["round"].to_numpy()})
            .drop_duplicates("modality")
            .sort_values("round", key=lambda s: s.map(natural_key))
        )
        order = list(rounds["modality"])
    cases = reads["case"].nunique()
    modalities = reads["modality"].nunique()
    covered = reads.groupby("reader")[["modality", "case"]].apply(
        lambda g: len(g.drop_duplicates())
    )
    complete = covered[covered == cases * modalities].index
    dropped = sorted(set(reads["reader"]) - set(complete), key=natural_key)
    if dropped:
        notes.append(
            "reads export: left out reader(s) who did not read every case in every modality: "
            + ", ".join(dropped)
        )
    reads = reads[reads["reader"].isin(complete)]
    if reads.empty:
        raise AnalysisInputError(
            f"reads export: no reader has read all {cases} cases in all {modalities} modalities"
        )
    return PreparedReads(reads.reset_index(drop=True), order, notes)
