"""The report's analysis per design on hand-computable reads: which conditions are compared
(assisted − unassisted, by the reads' `assisted` flag and step, not the round numbers) and the
reliance measures for every design, with a sequential study's bias-control cases apart.

Two readers, four paired cases c1–c4 (truth 1 1 0 0), the AI's probabilities 0.9 0.2 0.8 0.1
(calls 1 0 1 0: right on c1 and c4, wrong on c2 and c3).
- r1 calls 0 1 0 0 without the AI and 1 1 1 0 with it: it differed from the AI on c1 (AI
  right: switched), c2 (AI wrong: kept) and c3 (AI wrong: switched).
- r2 calls 1 0 0 1 both times: it differed on c3 (AI wrong) and c4 (AI right), kept both.
So the switches to the AI are 1/1 (AI right) and 1/2 (AI wrong) for r1, 0/1 and 0/1 for r2,
pooled 1/2 and 1/3; agreement with the AI before 1/4 (r1) and 2/4 (r2), after 3/4 and 2/4.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.crossed import crossed_reads
from analysis.web.frames import READ_COLUMNS, paired_reads
from analysis.web.report.sections import extended_section
from analysis.web.selectors import (
    CONTROL_FINAL,
    CONTROL_LOCKED,
    CROSSOVER_ASSISTED,
    CROSSOVER_UNASSISTED,
    SEQUENTIAL_FINAL,
    SEQUENTIAL_LOCKED,
)

TRUTH = {"c1": 1, "c2": 1, "c3": 0, "c4": 0, "c5": 0, "c6": 1}
AI = pd.Series({"c1": 0.9, "c2": 0.2, "c3": 0.8, "c4": 0.1, "c5": 0.7, "c6": 0.3})
CALLS = {
    ("r1", False): [0, 1, 0, 0],
    ("r1", True): [1, 1, 1, 0],
    ("r2", False): [1, 0, 0, 1],
    ("r2", True): [1, 0, 0, 1],
}
CASES = ["c1", "c2", "c3", "c4"]


def _read(
    reader: str, case: str, *, assisted: bool, modality: str, round: int, decision: int,
    phase: str = "single",
) -> tuple[Any, ...]:  # fmt: skip
    # Confidence follows the call, a little apart per case so the AUCs have no ties.
    score = (70.0 if decision else 30.0) + int(case[1:])
    return (reader, "senior", round, assisted, modality, case, TRUTH[case], score, decision,
            30.0 + int(case[1:]), 25.0, phase)  # fmt: skip


def _frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows, columns=list(READ_COLUMNS))


def _report(reads: pd.DataFrame) -> tuple[dict[str, Any], list[str], list[str]]:
    notes: list[str] = []
    data = crossed_reads(paired_reads(reads, notes), notes)
    assert data is not None
    blocks = extended_section(reads, data, AI, notes, threshold=0.5)
    return blocks, notes, list(data.modalities)


def _rounds(labels: dict[int, tuple[str, bool]]) -> pd.DataFrame:
    """Independent rounds: every case in every round, `labels` round → (modality, assisted)."""
    rows = []
    for index, (modality, assisted) in labels.items():
        for reader in ("r1", "r2"):
            for case, call in zip(CASES, CALLS[(reader, assisted)], strict=True):
                rows.append(_read(reader, case, assisted=assisted, modality=modality,
                                  round=index, decision=call))  # fmt: skip
    return _frame(rows)


def _assert_hand_counts(block: dict[str, Any]) -> None:
    r1, r2 = block["readers"]
    assert (r1["reader"], r2["reader"]) == ("r1", "r2")
    assert r1["switch_to_ai_when_ai_right"] == {"count": 1, "of": 1, "rate": 1.0}
    assert r1["switch_to_ai_when_ai_wrong"] == {"count": 1, "of": 2, "rate": 0.5}
    assert r2["switch_to_ai_when_ai_right"] == {"count": 0, "of": 1, "rate": 0.0}
    assert r2["switch_to_ai_when_ai_wrong"] == {"count": 0, "of": 1, "rate": 0.0}
    counts = [(r[f"agreement_{w}"]["count"]) for r in (r1, r2) for w in ("before", "after")]
    assert counts == [1, 3, 2, 2]
    pooled = block["pooled"]
    assert pooled["cases"] == 8
    assert pooled["switch_to_ai_when_ai_right"] == {"count": 1, "of": 2, "rate": 0.5}
    wrong = pooled["switch_to_ai_when_ai_wrong"]
    assert (wrong["count"], wrong["of"]) == (1, 3)
    # RAIR: initially wrong with the AI right: r1 on c1 (corrected), r2 on c4 (not).
    assert pooled["rair"] == {"count": 1, "of": 2, "rate": 0.5}
    # RSR: initially right with the AI wrong: r1 on c2 (kept) and c3 (switched), r2 on c3
    # (kept).
    assert (pooled["rsr"]["count"], pooled["rsr"]["of"]) == (2, 3)


def test_independent_rounds_compare_round_two_assisted_with_round_one():
    reads = _rounds({1: ("round 1 (unassisted)", False), 2: ("round 2 (assisted)", True)})
    blocks, _, modalities = _report(reads)
    assert modalities == ["round 1 (unassisted)", "round 2 (assisted)"]
    block = blocks["reliance"]
    assert (block["before"], block["after"]) == ("round 1 (unassisted)", "round 2 (assisted)")
    _assert_hand_counts(block)
    assert block["bias_control"] is None


def test_the_assisted_flag_not_the_round_number_says_which_condition_is_before():
    # A study whose first round shows the AI and whose second does not: reliance still goes
    # from the unassisted reads to the assisted ones, and the paired comparison is assisted −
    # unassisted.
    reads = _rounds({1: ("round 1 (assisted)", True), 2: ("round 2 (unassisted)", False)})
    blocks, _, modalities = _report(reads)
    assert modalities == ["round 2 (unassisted)", "round 1 (assisted)"]
    block = blocks["reliance"]
    assert (block["before"], block["after"]) == ("round 2 (unassisted)", "round 1 (assisted)")
    _assert_hand_counts(block)


def test_a_third_round_is_named_as_left_out_of_reliance():
    reads = _rounds(
        {
            1: ("round 1 (unassisted)", False),
            2: ("round 2 (assisted)", True),
            3: ("round 3 (assisted)", True),
        }
    )
    blocks, notes, modalities = _report(reads)
    assert modalities == ["round 1 (unassisted)", "round 2 (assisted)", "round 3 (assisted)"]
    assert blocks["reliance"]["after"] == "round 2 (assisted)"
    _assert_hand_counts(blocks["reliance"])
    assert any("round 3 (assisted) is not in it" in n for n in notes)


def test_crossover_pairs_each_case_across_sessions_by_its_assisted_flag():
    # r1 (arm A) reads c1, c2 with the AI in session 1 and c3, c4 with it in session 2; r2
    # (arm B) the opposite. Each case's unassisted read comes from one session and its
    # assisted read from the other; reliance pairs them whatever the session.
    rows = []
    for reader, first_assisted in (("r1", {"c1", "c2"}), ("r2", {"c3", "c4"})):
        for index in (1, 2):
            for i, case in enumerate(CASES):
                assisted = (case in first_assisted) == (index == 1)
                modality = CROSSOVER_ASSISTED if assisted else CROSSOVER_UNASSISTED
                rows.append(_read(reader, case, assisted=assisted, modality=modality,
                                  round=index, decision=CALLS[(reader, assisted)][i]))  # fmt: skip
    blocks, _, modalities = _report(_frame(rows))
    assert modalities == [CROSSOVER_UNASSISTED, CROSSOVER_ASSISTED]
    block = blocks["reliance"]
    assert (block["before"], block["after"]) == (CROSSOVER_UNASSISTED, CROSSOVER_ASSISTED)
    _assert_hand_counts(block)


def test_sequential_compares_locked_with_final_and_reports_bias_control_apart():
    # c1–c4 as above, locked then final with the AI; r1 keeps c5 and r2 keeps c6 as bias
    # control (final read without the AI). r1 changed c5 from 0 to 1 (the unseen AI says 1 at
    # 0.7 and is wrong: a "switch to the AI" of a re-read), r2 kept c6 at 1 (the unseen AI
    # says 0 at 0.3, wrong: differed, kept).
    rows = []
    for reader in ("r1", "r2"):
        for case, before, after in zip(CASES, CALLS[(reader, False)], CALLS[(reader, True)],
                                       strict=True):  # fmt: skip
            rows.append(_read(reader, case, assisted=False, modality=SEQUENTIAL_LOCKED,
                              round=1, decision=before, phase="locked"))  # fmt: skip
            rows.append(_read(reader, case, assisted=True, modality=SEQUENTIAL_FINAL,
                              round=1, decision=after, phase="final"))  # fmt: skip
    for reader, case, before, after in (("r1", "c5", 0, 1), ("r2", "c6", 1, 1)):
        rows.append(_read(reader, case, assisted=False, modality=CONTROL_LOCKED, round=1,
                          decision=before, phase="locked"))  # fmt: skip
        rows.append(_read(reader, case, assisted=False, modality=CONTROL_FINAL, round=1,
                          decision=after, phase="final"))  # fmt: skip
    blocks, notes, modalities = _report(_frame(rows))
    assert modalities == [SEQUENTIAL_LOCKED, SEQUENTIAL_FINAL]
    assert any("2 of 6 cases are some reader's bias-control case" in n for n in notes)
    block = blocks["reliance"]
    assert (block["before"], block["after"]) == (SEQUENTIAL_LOCKED, SEQUENTIAL_FINAL)
    _assert_hand_counts(block)  # c5 and c6 are not in it
    control = block["bias_control"]
    assert (control["before"], control["after"]) == (CONTROL_LOCKED, CONTROL_FINAL)
    r1, r2 = control["readers"]
    assert (r1["reader"], r1["cases"], r2["reader"], r2["cases"]) == ("r1", 1, "r2", 1)
    assert r1["switch_to_ai_when_ai_wrong"] == {"count": 1, "of": 1, "rate": 1.0}
    assert r2["switch_to_ai_when_ai_wrong"] == {"count": 0, "of": 1, "rate": 0.0}
    assert control["pooled"]["switch_to_ai_when_ai_wrong"] == {"count": 1, "of": 2, "rate": 0.5}
    assert control["pooled"]["switch_to_ai_when_ai_right"]["of"] == 0


def test_a_condition_mixing_reads_with_and_without_the_ai_gets_no_reliance():
    reads = _rounds({1: ("round 1 (unassisted)", False), 2: ("round 2 (assisted)", True)})
    reads.loc[(reads["round"] == 2) & (reads["case"] == "c1"), "assisted"] = False
    blocks, notes, _ = _report(reads)
    assert blocks["reliance"] is None
    assert any("mixes reads with and without the AI" in n for n in notes)


def test_no_assisted_condition_gets_no_reliance_and_says_why():
    reads = _rounds({1: ("round 1 (unassisted)", False), 2: ("round 2 (unassisted)", False)})
    blocks, notes, _ = _report(reads)
    assert blocks["reliance"] is None
    assert any("without and with the AI" in n for n in notes)


def test_reliance_needs_the_ai_for_every_paired_case():
    reads = _rounds({1: ("round 1 (unassisted)", False), 2: ("round 2 (assisted)", True)})
    notes: list[str] = []
    data = crossed_reads(paired_reads(reads, notes), notes)
    blocks = extended_section(reads, data, AI.drop("c3"), notes, threshold=0.5)
    assert blocks["reliance"] is None
    assert any("no case prediction for every case" in n for n in notes)
