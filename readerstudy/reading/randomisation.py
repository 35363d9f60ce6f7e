"""The randomisation of a study described for its reporting pack: method, seeds, blocks and arms,
and the evidence that reading orders differ between readers and between a reader's sessions."""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from typing import Any

import numpy as np

from readerstudy.reading import crossover, sequential
from readerstudy.reading.models import ReadingSession
from readerstudy.studies.models import Case, Study, StudyDesign

ORDER_METHOD = (
    "Each session's order is a uniform random permutation of the cases (numpy PCG64 seeded "
    "with 128 bits from the operating system's CSPRNG), stored with its seed; an order already "
    "used by another reader in the round or by the same reader in another round is redrawn."
)
INDEPENDENT_METHOD = (
    "Independent rounds: every reader reads every case without the AI in round 1 and, after "
    "the washout, with the AI in round 2."
)


def _spearman(a: list[int], b: list[int]) -> float | None:
    """Spearman's rank correlation of two orders over their common cases."""
    common = [pk for pk in a if pk in set(b)]
    if len(common) < 3:
        return None
    rank_a = {pk: i for i, pk in enumerate(pk for pk in a if pk in set(common))}
    rank_b = {pk: i for i, pk in enumerate(pk for pk in b if pk in set(common))}
    x = np.array([rank_a[pk] for pk in common], dtype=float)
    y = np.array([rank_b[pk] for pk in common], dtype=float)
    return float(np.corrcoef(x, y)[0, 1])


def _pairs_summary(pairs: list[tuple[list[int], list[int]]]) -> dict[str, Any]:
    rhos = [r for r in (_spearman(a, b) for a, b in pairs) if r is not None]
    return {
        "pairs": len(pairs),
        "identical_pairs": sum(a == b for a, b in pairs),
        "spearman_mean": float(np.mean(rhos)) if rhos else None,
        "spearman_max_abs": float(np.max(np.abs(rhos))) if rhos else None,
    }


def randomisation_describe(*, study: Study) -> dict[str, Any]:
    """The study's randomisation, as plain JSON for the report's reporting pack."""
    sessions = list(
        ReadingSession.objects.filter(round__study=study)
        .select_related("reader__user", "round")
        .order_by("round__index", "reader__user__username")
    )
    design = study.design
    methods: dict[str, str] = {
        StudyDesign.CROSSOVER: crossover.METHOD,
        StudyDesign.SEQUENTIAL: sequential.METHOD,
    }
    method = methods.get(design, INDEPENDENT_METHOD)
    described: dict[str, Any] = {
        "design": design,
        "method": method,
        "order_method": ORDER_METHOD,
        "sessions": [
            {
                "reader": s.reader.user.get_username(),
                "round": s.round.index,
                "seed": s.seed,
                "cases": len(s.permutation),
                **({"arm": s.assignment["arm"]} if "arm" in s.assignment else {}),
                **(
                    {"bias_control_cases": len(s.assignment["control"])}
                    if "control" in s.assignment
                    else {}
                ),
            }
            for s in sessions
        ],
    }
    by_round: dict[int, list[ReadingSession]] = {}
    by_reader: dict[int, list[ReadingSession]] = {}
    for s in sessions:
        by_round.setdefault(s.round.index, []).append(s)
        by_reader.setdefault(s.reader_id, []).append(s)
    described["between_readers"] = {
        str(index): _pairs_summary(
            [(a.permutation, b.permutation) for a, b in combinations(group, 2)]
        )
        for index, group in sorted(by_round.items())
    }
    described["within_reader"] = _pairs_summary(
        [(a.permutation, b.permutation) for group in by_reader.values()
         for a, b in combinations(group, 2)]
    )  # fmt: skip
    if design == StudyDesign.CROSSOVER:
        described["design_seed"] = study.design_seed
        described.update(_crossover_blocks(study=study, sessions=sessions))
    if design == StudyDesign.SEQUENTIAL:
        described["bias_control_fraction"] = study.bias_control_fraction
    return described


def _crossover_blocks(*, study: Study, sessions: list[ReadingSession]) -> dict[str, Any]:
    """The blocks by truth and cohort (from the first session's stored assignment, which the
    design seed reproduces) and the readers of each arm."""
    first = next((s for s in sessions if "block_of" in s.assignment), None)
    if first is None:
        return {"blocks": [], "arms": {}}
    block_of = {int(pk): block for pk, block in first.assignment["block_of"].items()}
    counts: Counter[tuple[int, bool, str]] = Counter()
    for pk, truth, cohort in Case.objects.filter(pk__in=block_of).values_list(
        "pk", "truth_malignant", "cohort"
    ):
        counts[(block_of[pk], truth, cohort)] += 1
    arms: dict[str, list[str]] = {arm: [] for arm in crossover.ARMS}
    for s in sessions:
        name = s.reader.user.get_username()
        if s.round.index == 1 and name not in arms[s.assignment["arm"]]:
            arms[s.assignment["arm"]].append(name)
    return {
        "blocks": [
            {
                "block": block,
                "truth": "malignant" if truth else "benign",
                "cohort": cohort,
                "cases": n,
            }
            for (block, truth, cohort), n in sorted(counts.items())
        ],
        "arms": arms,
    }
