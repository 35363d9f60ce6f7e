"""Which reads the report's reliance measures compare, for every design, from the condition each
read was made in (its ``assisted`` flag and, in a sequential study, its step), not from round
numbers: the unassisted condition against the assisted one, and in a sequential study the
bias-control cases (no AI after the lock) apart, as the baseline of a re-read without the AI."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.crossed import modality_conditions
from analysis.reads import natural_key
from analysis.reliance import ReaderPairs, reliance_readers_json
from analysis.web.selectors import CONTROL_FINAL, CONTROL_LOCKED


def reliance_conditions(
    reads: pd.DataFrame, modalities: list[str], notes: list[str]
) -> tuple[str, str] | None:
    """The (unassisted, assisted) pair of `modalities` that reliance compares: the first of
    each by the reads' ``assisted`` flag. None, with a note, when there is no such pair."""
    conditions = modality_conditions(reads[reads["modality"].isin(modalities)])
    if conditions is None:
        notes.append(
            "AI reliance omitted: a condition of the paired analysis mixes reads with and "
            "without the AI."
        )
        return None
    unassisted = [m for m in modalities if not conditions[m]]
    assisted = [m for m in modalities if conditions[m]]
    if not unassisted or not assisted:
        notes.append(
            "AI reliance omitted: it needs reads of the same cases without and with the AI."
        )
        return None
    left_out = unassisted[1:] + assisted[1:]
    if left_out:
        notes.append(
            f"AI reliance compares {unassisted[0]} with {assisted[0]}; "
            f"{', '.join(left_out)} {'is' if len(left_out) == 1 else 'are'} not in it."
        )
    return unassisted[0], assisted[0]


def bias_control_reliance(
    reads: pd.DataFrame, probability: pd.Series | None, threshold: float
) -> dict[str, Any] | None:
    """Sequential studies: the reliance measures on each reader's bias-control cases, locked
    read → final read with no AI shown. A switch "to the AI" there is the re-read's own rate,
    the baseline the assisted cases' switches are to be read against. None without such cases
    or without the AI's probability for each."""
    part = reads[reads["modality"].isin([CONTROL_LOCKED, CONTROL_FINAL])]
    if part.empty or probability is None:
        return None
    wide = part.pivot_table(
        index=["reader", "case"], columns="modality", values=["score", "decision", "truth"]
    ).dropna()
    if wide.empty:
        return None
    readers = []
    for reader in sorted(wide.index.get_level_values("reader").unique(), key=natural_key):
        rows = wide.xs(reader, level="reader")
        ai = probability.reindex(rows.index)
        if ai.isna().any():
            return None
        readers.append(
            ReaderPairs(
                reader=str(reader),
                truth=rows[("truth", CONTROL_LOCKED)].to_numpy() == 1,
                before=rows[("decision", CONTROL_LOCKED)].to_numpy() == 1,
                after=rows[("decision", CONTROL_FINAL)].to_numpy() == 1,
                initial=rows[("score", CONTROL_LOCKED)].to_numpy(dtype=np.float64),
                final=rows[("score", CONTROL_FINAL)].to_numpy(dtype=np.float64),
                ai_probability=ai.to_numpy(dtype=np.float64),
            )
        )
    return {
        "before": CONTROL_LOCKED,
        "after": CONTROL_FINAL,
        **reliance_readers_json(readers=readers, threshold=threshold),
    }
