"""Study planning from a report's variance components: readers × cases for the next study.

Imported on the first planning request: it loads scipy.
"""

from __future__ import annotations

from typing import Any

from analysis.errors import AnalysisInputError
from analysis.mrmc import VarianceComponents
from analysis.power import cases_for_power, power_grid
from analysis.serialize import jsonable
from analysis.web.models import StudyReport
from readerstudy.errors import Conflict

PLAN_READERS = tuple(range(2, 16))
PLAN_GRID_READERS = (3, 4, 5, 6, 8, 10, 12, 15)
PLAN_GRID_CASES = (50, 100, 150, 200, 300, 400, 500, 750, 1000)


def plan_compute(
    *, report: StudyReport, effect: float, power: float, alpha: float
) -> dict[str, Any]:
    """Readers × cases for the next study, from this study's OR variance components (DeLong)."""
    block = report.payload.get("mrmc")
    pilot_cases = int(report.payload["input"]["paired_cases"])
    if not block:
        raise Conflict(
            "Planning needs this study's variance components: at least two readers who have "
            "read every case in two rounds.",
            extra={"paired_readers": report.payload["input"]["paired_readers"]},
        )
    raw = block["delong"]["var_components"]
    if any(value is None for value in raw.values()):
        raise Conflict("This study's variance components are undefined.", extra={"components": raw})
    components = VarianceComponents(**raw)
    try:
        needed = cases_for_power(
            components=components,
            pilot_cases=pilot_cases,
            readers=PLAN_READERS,
            effect=effect,
            power=power,
            alpha=alpha,
        )
        grid = power_grid(
            components=components,
            pilot_cases=pilot_cases,
            readers=PLAN_GRID_READERS,
            cases=PLAN_GRID_CASES,
            effect=effect,
            alpha=alpha,
        )
    except AnalysisInputError as exc:
        raise Conflict(exc.message, extra=exc.extra) from exc
    table = grid.pivot(index="readers", columns="cases", values="power")
    return jsonable(
        {
            "effect": effect,
            "power": power,
            "alpha": alpha,
            "pilot": {
                "readers": len(report.payload["input"]["paired_readers"]),
                "cases": pilot_cases,
                "var_components": raw,
            },
            "cases_needed": needed.to_dict(orient="records"),
            "power_grid": {
                "cases": list(PLAN_GRID_CASES),
                "rows": [{"readers": int(r), "power": table.loc[r].tolist()} for r in table.index],
            },
        }
    )
