"""The reads the report's paired analysis uses (the fully crossed part of an unfinished study)
and the core's analysis of them, shared by the report's numbers and its charts."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.errors import AnalysisInputError
from analysis.mrmc import mrmc
from analysis.reads import ReadsData, natural_key, reads_from_frame
from analysis.study import StudyResults, analyse_study

# How the AI model is named beside the readers in the report's tables and charts.
MODEL = "AI model"


def modality_conditions(reads: pd.DataFrame) -> dict[str, bool] | None:
    """Whether each modality is an assisted condition, from the reads' ``assisted`` flag (the
    AI shown or not, as each design decided per read); None when there is no such column or a
    modality mixes both (it is then not one condition)."""
    if "assisted" not in reads.columns or reads.empty:
        return None
    flags: dict[str, set[bool]] = {}
    for modality, assisted in zip(reads["modality"], reads["assisted"], strict=True):
        flags.setdefault(str(modality), set()).add(bool(assisted))
    if any(len(v) != 1 for v in flags.values()):
        return None
    return {m: next(iter(v)) for m, v in flags.items()}


def condition_order(modalities: list[str], conditions: dict[str, bool] | None) -> list[str]:
    """Unassisted conditions before assisted ones (each by label), so that every comparison is
    assisted − unassisted whatever the rounds' numbers; by label alone without conditions."""
    return sorted(
        modalities,
        key=lambda m: (conditions.get(m, False) if conditions else False, natural_key(m)),
    )


def crossed_reads(reads: pd.DataFrame, notes: list[str]) -> ReadsData | None:
    """The fully crossed part of the study: the readers who have read every case in every
    condition so far (or, failing any, in the first alone), on those cases. Conditions are in
    `condition_order`: the unassisted first."""
    if reads.empty:
        return None
    cases = reads["case"].nunique()
    covered = reads.groupby(["modality", "reader"])["case"].nunique()
    readers = sorted(reads["reader"].unique(), key=natural_key)
    rounds = condition_order(list(reads["modality"].unique()), modality_conditions(reads))
    for chosen in (rounds, rounds[:1]):
        complete = [r for r in readers if all(covered.get((m, r), 0) == cases for m in chosen)]
        if complete:
            break
    if not complete:
        notes.append(
            f"No reader has read all {cases} cases of a round yet: the change between rounds, "
            "the MRMC analysis, the model against the readers and the charts wait for one."
        )
        return None
    if len(chosen) < len(rounds):
        notes.append(
            f"No reader has read every case in every round yet: the paired analysis uses "
            f"{chosen[0]} only."
        )
    waiting = [r for r in readers if r not in complete]
    if waiting:
        notes.append(
            "Not yet in the paired analysis (not every case read in every round): "
            + ", ".join(waiting)
            + "."
        )
    subset = reads[reads["reader"].isin(complete) & reads["modality"].isin(chosen)]
    try:
        return reads_from_frame(
            subset[["reader", "modality", "case", "truth", "score", "decision"]], order=chosen
        )
    except AnalysisInputError as exc:
        notes.append(f"No paired analysis: {exc.message}.")
        return None


def analyse_crossed(
    data: ReadsData | None, notes: list[str], *, jackknife: bool = True
) -> tuple[StudyResults | None, Any]:
    """The CLI's analysis (DeLong) plus the MRMC with jackknife covariance; None when the
    data cannot be analysed, with the core's reason in the notes."""
    if data is None:
        return None, None
    try:
        results = analyse_study(data=data, covariance="delong")
        jackknifed = (
            mrmc(
                truth=data.truth,
                ratings=data.scores,
                modalities=data.modalities,
                readers=data.readers,
                covariance="jackknife",
            )
            if results.mrmc is not None and jackknife
            else None
        )
    except AnalysisInputError as exc:
        notes.append(f"No paired analysis: {exc.message}.")
        return None, None
    notes.extend(results.notes)
    return results, jackknifed
