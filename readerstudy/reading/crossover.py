"""The crossover design: two balanced case blocks, two reader arms, two sessions.

Session 1: arm A reads block 1 with the AI and block 2 without, arm B the opposite; after the
washout each reader reads every case again in the other condition, so every reader reads every
case once per condition. Blocks are stratified by truth and cohort and arms are permuted blocks
of two, both drawn from the study's stored 128-bit seed, so the allocation can be recomputed and
audited from the seed and the (ordered) case and enrolment lists. Hand-written because it is a
few lines over numpy's seeded generator; no library allocates this design.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from readerstudy.reading.plans import RoundPlan

ARMS = ("A", "B")
_BLOCKS_STREAM = 1  # independent streams of one seed (numpy SeedSequence entropy)
_ARMS_STREAM = 2

METHOD = (
    "Cases are stratified by truth and cohort; within each stratum they are shuffled and dealt "
    "alternately to block 1 and block 2, the block that takes an odd stratum's extra case "
    "alternating between strata, so counts by truth and cohort differ by at most one. Readers, "
    "in order of enrolment, are allocated to arms A and B in permuted blocks of two. Session 1: "
    "arm A reads block 1 assisted and block 2 unassisted, arm B the opposite; after the washout "
    "each reader reads every case in the other condition. numpy PCG64 streams of the study's "
    "stored 128-bit seed."
)


def round_plan(*, washout_days: int) -> list[RoundPlan]:
    """The rounds a crossover study derives. Both show the AI (for half the cases each)."""
    return [
        RoundPlan(index=1, assisted=True, washout_days_before=0),
        RoundPlan(index=2, assisted=True, washout_days_before=washout_days),
    ]


def _rng(seed: str, stream: int, *more: int) -> np.random.Generator:
    return np.random.default_rng([int(seed, 16), stream, *more])


def crossover_blocks(*, seed: str, cases: Iterable[tuple[int, bool, str]]) -> dict[int, int]:
    """Block 1 or 2 for each case, from (case pk, truth malignant, cohort) triples."""
    strata: dict[tuple[bool, str], list[int]] = defaultdict(list)
    for pk, truth, cohort in cases:
        strata[(bool(truth), str(cohort))].append(int(pk))
    rng = _rng(seed, _BLOCKS_STREAM)
    blocks: dict[int, int] = {}
    extra_to = 1
    for key in sorted(strata):
        members = [int(pk) for pk in rng.permutation(np.asarray(sorted(strata[key])))]
        first = extra_to
        for i, pk in enumerate(members):
            blocks[pk] = first if i % 2 == 0 else 3 - first
        if len(members) % 2:
            extra_to = 3 - extra_to
    return blocks


def crossover_arm(*, seed: str, rank: int) -> str:
    """The arm of the reader enrolled `rank`-th (from 0): permuted blocks of two."""
    pair = [str(a) for a in _rng(seed, _ARMS_STREAM, rank // 2).permutation(np.asarray(ARMS))]
    return pair[rank % 2]


def crossover_assisted(*, arm: str, block: int, round_index: int) -> bool:
    """Whether the case is read with the AI: arm A reads block 1 assisted in odd sessions."""
    first_session = round_index % 2 == 1
    return ((block == 1) == (arm == "A")) == first_session


def crossover_assignment(
    *,
    seed: str,
    rank: int,
    round_index: int,
    cases: Iterable[tuple[int, bool, str]],
    arm: str | None = None,
) -> dict[str, object]:
    """What a reader's session in a crossover round stores: arm, blocks, the assisted cases.
    `arm`: the reader's arm from an earlier session (else dealt by `rank`)."""
    blocks = crossover_blocks(seed=seed, cases=cases)
    arm = arm or crossover_arm(seed=seed, rank=rank)
    assisted = sorted(
        pk for pk, block in blocks.items() if crossover_assisted(arm=arm, block=block,
                                                                 round_index=round_index)
    )  # fmt: skip
    return {
        "arm": arm,
        "block_of": {str(pk): block for pk, block in sorted(blocks.items())},
        "assisted": assisted,
    }
