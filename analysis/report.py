"""The study report: computed from the database once per data version and cached in StudyReport.

Every number comes from the framework-free core (``analysis.study`` as the CLI uses it, plus
``metrics``, ``model``, ``tables``, ``charts`` and ``power``); this module only chooses the data
(current reads, the fully crossed part of an unfinished study), lays the results out and says
what is still missing instead of failing.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.db import IntegrityError, transaction

from analysis.cli import write_figures
from analysis.errors import AnalysisInputError
from analysis.metrics import metrics_row, reader_metrics_frame, seniority_means
from analysis.model import model_metrics, model_table, model_vs_readers
from analysis.models import StudyReport
from analysis.mrmc import VarianceComponents, mrmc
from analysis.power import cases_for_power, power_grid
from analysis.reads import ReadsData, natural_key, reads_from_frame
from analysis.selectors import (
    study_case_predictions_frame,
    study_cases_frame,
    study_data_fingerprint,
    study_image_predictions_frame,
    study_reads_frame,
)
from analysis.serialize import jsonable
from analysis.study import METHODS, StudyResults, _records_with_ci, analyse_study, mrmc_json
from analysis.study import mrmc_frames as core_mrmc_frames
from analysis.tables import baseline_table, misjudged_cases, misjudged_summary
from readerstudy.errors import Conflict
from readerstudy.studies.models import (
    FEATURE_FIELDS,
    Cohort,
    Echo,
    Location,
    Margin,
    Presence,
    Shape,
    Study,
)

# Part of the data version: bump it when the report's content changes, so cached reports go.
REPORT_FORMAT = 1
MODEL = "AI model"
CHART_TITLES = {
    "forest_delta_auc": "Change in each reader's AUC between rounds (paired DeLong, 95% CI)",
    "radar": "Each reader's metrics per round",
    "roc": "Readers' ROC curves from the confidence, with their binary calls as points",
    "model_roc": "The AI model's ROC on the cases read, with the readers' operating points",
    "confusion": "Confusion matrices, readers pooled per round",
    "model_confusion": "Confusion matrix of the AI model on the cases read",
}
FEATURE_LEVELS: dict[str, list[str]] = {
    "location": list(Location.values),
    "shape": list(Shape.values),
    "margin": list(Margin.values),
    "echo": list(Echo.values),
    "cystic_areas": list(Presence.values),
    "posterior_enhancement": list(Presence.values),
    "calcification": list(Presence.values),
}
METRIC_COLUMNS = (
    "auc",
    "binary_auc",
    "accuracy",
    "sensitivity",
    "specificity",
    "ppv",
    "npv",
    "f1",
    "kappa",
    "time_mean",
)
PLAN_READERS = tuple(range(2, 16))
PLAN_GRID_READERS = (3, 4, 5, 6, 8, 10, 12, 15)
PLAN_GRID_CASES = (50, 100, 150, 200, 300, 400, 500, 750, 1000)


# --- caching --------------------------------------------------------------------------------


def report_data_version(*, study: Study) -> str:
    """A hash of everything the report reads; equal versions give equal reports."""
    fingerprint = {"format": REPORT_FORMAT, **study_data_fingerprint(study=study)}
    text = json.dumps(fingerprint, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def report_get(*, study: Study) -> StudyReport:
    """The report for the study's current data: from the cache, or computed once and stored.

    The version is taken before the data are read, so a read landing during the computation
    makes the next load see a newer version and recompute: a report is never stale for long.
    """
    version = report_data_version(study=study)
    cached = StudyReport.objects.filter(study=study, data_version=version).first()
    if cached is not None:
        return cached
    started = time.perf_counter()
    payload = report_compute(study=study)
    seconds = time.perf_counter() - started
    payload["data_version"] = version
    try:
        with transaction.atomic():
            report = StudyReport.objects.create(
                study=study,
                data_version=version,
                payload=payload,
                compute_seconds=seconds,
            )
    except IntegrityError:  # a concurrent request stored the same version first
        return StudyReport.objects.get(study=study, data_version=version)
    StudyReport.objects.filter(study=study).exclude(pk=report.pk).delete()
    return report


# --- the computation --------------------------------------------------------------------------


def report_charts(*, report: StudyReport) -> dict[str, str]:
    """The report's charts (name → SVG text), drawn on the first call for its data version.

    Drawn from the database again (the numbers are not enough to draw ROC curves); callers get
    the report from ``report_get`` just before, so the data are those of its version.
    """
    if report.charts is not None:
        return dict(report.charts)
    charts = _charts_compute(study=report.study)
    StudyReport.objects.filter(pk=report.pk, charts__isnull=True).update(charts=charts)
    report.charts = charts
    return charts


def report_compute(*, study: Study) -> dict[str, Any]:
    """The report's numbers as strict JSON, with the names of the charts it will have."""
    reads = study_reads_frame(study=study)
    cases = study_cases_frame(study=study)
    notes: list[str] = []
    if cases.empty:
        notes.append("No cases have been imported yet.")
    if reads.empty:
        notes.append(
            "No reads yet: reader metrics, the change between rounds and the MRMC analysis "
            "appear once readers submit reads."
        )
    metrics = _reader_metrics(reads, notes)
    data = _crossed(reads, notes)
    results, jackknife = _analyse(data, notes)
    model = _model_section(study, data, results, notes)
    payload: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "study": {"slug": study.slug, "title": study.title, "ai_threshold": study.ai_threshold},
        "input": _input_summary(reads, cases, data),
        "notes": notes,
        "methods": METHODS,
        "reader_metrics": _records_with_ci(metrics),
        "changes": _changes(results) if results is not None else [],
        "seniority": _seniority(metrics),
        "model": model["json"],
        "mrmc": (
            {"delong": mrmc_json(results.mrmc), "jackknife": mrmc_json(jackknife)}
            if results is not None and results.mrmc is not None and jackknife is not None
            else None
        ),
        "table1": _table1(cases),
        "table4": _table4(reads, cases, data, model["case_probability"], study.ai_threshold),
        "csv": _csv_frames(metrics, results, jackknife),
    }
    names = _chart_names(
        results, model_compared=bool(model["json"] and model["json"]["vs_readers"])
    )
    payload["charts"] = [{"name": name, "title": CHART_TITLES[name]} for name in names]
    return dict(jsonable(payload))


def _analyse(
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


def _input_summary(
    reads: pd.DataFrame, cases: pd.DataFrame, data: ReadsData | None
) -> dict[str, Any]:
    return {
        "cases": len(cases),
        "current_reads": len(reads),
        "readers": sorted(reads["reader"].unique(), key=natural_key),
        "rounds": sorted(reads["modality"].unique(), key=natural_key),
        "paired_readers": data.readers if data is not None else [],
        "paired_rounds": data.modalities if data is not None else [],
        "paired_cases": len(data.cases) if data is not None else 0,
        "positive": data.n_positive if data is not None else None,
        "negative": data.n_negative if data is not None else None,
    }


def _reader_metrics(reads: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Each reader's metrics per round on every case they have read so far."""
    rows = []
    for (reader, modality), group in reads.groupby(["reader", "modality"], sort=False):
        try:
            frame = reader_metrics_frame(reads=group)
        except AnalysisInputError as exc:
            notes.append(f"{reader}, {modality}: no metrics yet ({exc.message}).")
            continue
        first = group.iloc[0]
        frame.insert(1, "seniority", first["seniority"])
        frame.insert(2, "round", int(first["round"]))
        frame.insert(3, "assisted", bool(first["assisted"]))
        frame["active_time_mean"] = float(group["active_seconds"].mean())
        frame["active_time_median"] = float(group["active_seconds"].median())
        rows.append(frame)
    if not rows:
        return pd.DataFrame()
    table = pd.concat(rows, ignore_index=True)
    order = sorted(
        range(len(table)),
        key=lambda i: (int(table["round"].iloc[i]), natural_key(str(table["reader"].iloc[i]))),
    )
    return table.iloc[order].reset_index(drop=True)


def _crossed(reads: pd.DataFrame, notes: list[str]) -> ReadsData | None:
    """The fully crossed part of the study: the readers who have read every case in every round
    so far (or, failing any, in round 1 alone), on those cases."""
    if reads.empty:
        return None
    cases = reads["case"].nunique()
    covered = reads.groupby(["modality", "reader"])["case"].nunique()
    readers = sorted(reads["reader"].unique(), key=natural_key)
    rounds = sorted(reads["modality"].unique(), key=natural_key)
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
            subset[["reader", "modality", "case", "truth", "score", "decision"]]
        )
    except AnalysisInputError as exc:
        notes.append(f"No paired analysis: {exc.message}.")
        return None


def _minus(value: float) -> float:
    """−value, with 0 staying 0 rather than becoming −0.0 (which prints as "-0.0")."""
    return 0.0 - value


def _changes(results: StudyResults) -> list[dict[str, Any]]:
    """Each reader's change between rounds as later − earlier (the core reports a − b with a
    the earlier round), so that an improvement with assistance is positive."""
    changes = []
    for row in results.comparisons.to_dict(orient="records"):
        change: dict[str, Any] = {
            "reader": row["reader"],
            "from": row["modality_a"],
            "to": row["modality_b"],
            "auc_from": row["auc_a"],
            "auc_to": row["auc_b"],
            "delta_auc": _minus(row["diff"]),
            "delta_auc_se": row["se"],
            "delta_auc_ci": [_minus(row["ci_high"]), _minus(row["ci_low"])],
            "z": _minus(row["z"]),
            "p": row["p"],
        }
        for name in ("sensitivity", "specificity"):
            if f"{name}_a" in row:
                change[f"{name}_from"] = row[f"{name}_a"]
                change[f"{name}_to"] = row[f"{name}_b"]
                change[f"delta_{name}"] = _minus(row[f"{name}_diff"])
                change[f"{name}_p"] = row[f"{name}_p"]
                change[f"{name}_test"] = row[f"{name}_test"]
        changes.append(change)
    return changes


def _seniority(metrics: pd.DataFrame) -> list[dict[str, Any]]:
    if metrics.empty:
        return []
    columns = ["reader", "modality", *(c for c in METRIC_COLUMNS if c in metrics)]
    seniority = dict(zip(metrics["reader"], metrics["seniority"], strict=True))
    means = seniority_means(metrics=metrics[columns], seniority=seniority)
    return [{str(k): v for k, v in row.items()} for row in means.to_dict(orient="records")]


def _model_section(
    study: Study, data: ReadsData | None, results: StudyResults | None, notes: list[str]
) -> dict[str, Any]:
    """Table 2 (the model alone per cohort) and the model against each reader."""
    empty: dict[str, Any] = {"json": None, "case_probability": None}
    model = study.ai_model
    if model is None:
        notes.append("No AI model is set for the study: the model's results are omitted.")
        return empty
    images = study_image_predictions_frame(study=study, model=model)
    case_predictions = study_case_predictions_frame(study=study, model=model)
    if images.empty and case_predictions.empty:
        notes.append(f"The AI model {model.name} has no predictions yet.")
        return empty
    table2: list[pd.DataFrame] = []
    for cohort in [c for c in Cohort.values if c in set(case_predictions["cohort"])]:
        part = images[images["cohort"] == cohort]
        try:
            if not part.empty:
                rows = model_table(images=part, threshold=study.ai_threshold)
            else:
                cases = case_predictions[case_predictions["cohort"] == cohort]
                result = model_metrics(
                    truth=cases["truth"],
                    probability=cases["probability"],
                    threshold=study.ai_threshold,
                )
                rows = pd.DataFrame(
                    [
                        {
                            "level": "case",
                            "auc": result.auc.auc,
                            "auc_ci_low": result.auc.ci[0],
                            "auc_ci_high": result.auc.ci[1],
                            **metrics_row(result.metrics),
                        }
                    ]
                )
        except AnalysisInputError as exc:
            notes.append(f"The AI model on the {cohort} cohort: {exc.message}.")
            continue
        rows.insert(0, "cohort", cohort)
        table2.append(rows)
    out: dict[str, Any] = {
        "name": model.name,
        "architecture": model.architecture,
        "threshold": study.ai_threshold,
        "table2": _records_with_ci(pd.concat(table2, ignore_index=True)) if table2 else [],
        "on_read_cases": None,
        "vs_readers": [],
    }
    probability = case_predictions.set_index("case")["probability"]
    if data is None or results is None:
        return {"json": out, "case_probability": probability}
    aligned = probability.reindex(data.cases)
    if aligned.isna().any():
        notes.append(
            f"The AI model has no case prediction for {int(aligned.isna().sum())} of the cases "
            "read: the model is not compared with the readers."
        )
        return {"json": out, "case_probability": probability}
    scores = aligned.to_numpy(dtype=np.float64)
    alone = model_metrics(truth=data.truth, probability=scores, threshold=study.ai_threshold)
    out["on_read_cases"] = {
        "auc": alone.auc.auc,
        "auc_ci": list(alone.auc.ci),
        **_records_with_ci(pd.DataFrame([metrics_row(alone.metrics)]))[0],
    }
    labels = {
        f"{reader} · {modality}": (reader, modality)
        for modality in data.modalities
        for reader in data.readers
    }
    index = {
        (r, m): (i, j) for i, m in enumerate(data.modalities) for j, r in enumerate(data.readers)
    }
    tests = model_vs_readers(
        truth=data.truth,
        model_scores=scores,
        reader_scores={label: data.scores[index[key]] for label, key in labels.items()},
    )
    out["vs_readers"] = [
        {
            "reader": labels[label][0],
            "modality": labels[label][1],
            "auc_model": test.auc_a,
            "auc_reader": test.auc_b,
            "diff": test.diff,
            "se": test.se,
            "z": test.z,
            "p": test.p,
            "ci": list(test.ci),
        }
        for label, test in tests.items()
    ]
    return {"json": out, "case_probability": probability}


def _table1(cases: pd.DataFrame) -> list[dict[str, Any]]:
    """Seed Table 1: per cohort, the features of benign against malignant cases, with p-values."""
    if cases.empty:
        return []
    frame = cases.assign(pathology=np.where(cases["truth"] == 1, "Malignant", "Benign"))
    continuous = ["max_diameter_mm"] if frame["max_diameter_mm"].notna().any() else []
    categorical = [f for f in FEATURE_FIELDS[1:] if frame[f].notna().any()]
    blocks = []
    for cohort in [c for c in Cohort.values if c in set(frame["cohort"])]:
        part = frame[frame["cohort"] == cohort]
        block: dict[str, Any] = {
            "cohort": cohort,
            "cases": len(part),
            "malignant": int(part["truth"].sum()),
            "benign": int((part["truth"] == 0).sum()),
            "columns": [],
            "rows": [],
        }
        if continuous or categorical:
            table = baseline_table(
                frame=part,
                group="pathology",
                continuous=continuous,
                categorical=categorical,
                levels={"pathology": ["Benign", "Malignant"], **FEATURE_LEVELS},
            )
            block["columns"] = [str(c) for c in table.columns]
            block["rows"] = table.to_numpy().tolist()
        blocks.append(block)
    return blocks


def _table4(
    reads: pd.DataFrame,
    cases: pd.DataFrame,
    data: ReadsData | None,
    probability: pd.Series | None,
    threshold: float,
) -> dict[str, Any]:
    """Seed Table 4: the misjudged cases with their features, and the features of the errors
    by true class for the model and for each round (readers pooled, one count per read)."""
    out: dict[str, Any] = {"cases": [], "summaries": []}
    if data is None:
        return out
    features = cases.set_index("case").reindex(data.cases).reset_index()
    wide = features.copy()
    predictors = []
    if probability is not None and probability.reindex(data.cases).notna().all():
        wide[MODEL] = (probability.reindex(data.cases).to_numpy() > threshold).astype(int)
        predictors.append(MODEL)
    assert data.decisions is not None  # the selectors always give decisions
    for i, modality in enumerate(data.modalities):
        for j, reader in enumerate(data.readers):
            label = f"{reader} · {modality}"
            wide[label] = data.decisions[i, j].astype(int)
            predictors.append(label)
    wrong = misjudged_cases(frame=wide, truth="truth", predictions=predictors, case="case")
    keep = ["case", "cohort", "truth", "histology", "error", "wrong_by", *FEATURE_FIELDS]
    wrong = wrong.assign(n_wrong=wrong["wrong_by"].str.count(",") + 1)
    out["cases"] = list(wrong[[*keep[:5], "n_wrong", *keep[5:]]].to_dict(orient="records"))
    categorical = [f for f in FEATURE_FIELDS[1:] if cases[f].notna().any()]
    if not categorical:
        return out
    summaries: list[tuple[str, pd.DataFrame]] = []
    if MODEL in wide:
        summaries.append((MODEL, wide.rename(columns={MODEL: "decision"})))
    paired = reads[reads["reader"].isin(data.readers) & reads["modality"].isin(data.modalities)]
    long = paired[["case", "modality", "decision", "truth"]].merge(
        cases.drop(columns=["truth"]), on="case"
    )
    summaries += [(str(m), group) for m, group in long.groupby("modality", sort=True)]
    for name, frame in summaries:
        if (frame["decision"].astype(int) == frame["truth"].astype(int)).all():
            continue
        table = misjudged_summary(
            frame=frame, categorical=categorical, levels=FEATURE_LEVELS, prediction="decision"
        )
        out["summaries"].append(
            {
                "who": name,
                "columns": [str(c) for c in table.columns],
                "rows": table.to_numpy().tolist(),
            }
        )
    return out


def _frame_json(frame: pd.DataFrame) -> dict[str, Any]:
    return {"columns": [str(c) for c in frame.columns], "rows": frame.to_numpy().tolist()}


def _csv_frames(
    metrics: pd.DataFrame, results: StudyResults | None, jackknife: Any
) -> dict[str, Any]:
    """The flat tables the per-reader and MRMC CSV exports stream (ci_low/ci_high columns)."""
    frames: dict[str, Any] = {"reader_metrics": _frame_json(metrics)}
    flat = []
    for change in _changes(results) if results is not None else []:
        row: dict[str, Any] = {}
        for key, value in change.items():
            if key == "delta_auc_ci":
                row["delta_auc_ci_low"], row["delta_auc_ci_high"] = value
            else:
                row[key] = value
        flat.append(row)
    changes = pd.DataFrame(flat)
    frames["changes"] = _frame_json(changes)
    if results is not None and results.mrmc is not None and jackknife is not None:
        parts = [core_mrmc_frames(results.mrmc), core_mrmc_frames(jackknife)]
        frames["mrmc"] = _frame_json(pd.concat([p[0] for p in parts], ignore_index=True))
        frames["mrmc_variance_components"] = _frame_json(
            pd.concat([p[1] for p in parts], ignore_index=True)
        )
    else:
        frames["mrmc"] = frames["mrmc_variance_components"] = _frame_json(pd.DataFrame())
    return frames


def _chart_names(results: StudyResults | None, *, model_compared: bool) -> list[str]:
    """The charts ``_charts`` draws for these results, in the order of the page."""
    if results is None:
        return []
    names = ["forest_delta_auc"] if not results.comparisons.empty else []
    names += ["radar", "roc", "model_roc"] if model_compared else ["radar", "roc"]
    return names + (["confusion", "model_confusion"] if model_compared else ["confusion"])


def _charts_compute(*, study: Study) -> dict[str, str]:
    reads = study_reads_frame(study=study)
    data = _crossed(reads, [])
    if data is None:
        return {}
    probability = None
    if study.ai_model is not None:
        predictions = study_case_predictions_frame(study=study, model=study.ai_model)
        probability = predictions.set_index("case")["probability"]
    results, _ = _analyse(data, [], jackknife=False)
    return _charts(data, results, probability, study.ai_threshold)


def _charts(
    data: ReadsData | None,
    results: StudyResults | None,
    probability: pd.Series | None,
    threshold: float,
) -> dict[str, str]:
    """The CLI's figures (forest, ROC, radar, confusion) plus the model's ROC with the readers'
    operating points, as SVG text; the order is the order of the page."""
    if data is None or results is None:
        return {}
    from analysis import charts  # matplotlib is imported only when figures are drawn
    from analysis.metrics import confusion
    from analysis.roc import roc_curve_points

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        written = write_figures(data=data, results=results, out=out)
        model = probability.reindex(data.cases) if probability is not None else None
        if model is not None and model.notna().all() and "sensitivity" in results.readers:
            scores = model.to_numpy(dtype=np.float64)
            points = [
                charts.OperatingPoint(
                    reader=str(row["reader"]),
                    round=str(row["modality"]),
                    fpr=1.0 - float(row["specificity"]),
                    tpr=float(row["sensitivity"]),
                )
                for row in results.readers.to_dict(orient="records")
            ]
            written += charts.roc_chart(
                curves={MODEL: roc_curve_points(truth=data.truth, scores=scores)},
                points=points,
                stem=out / "model_roc",
                title=f"{MODEL} (cases read), readers' operating points",
            )
            written += charts.confusion_chart(
                matrices={
                    MODEL: confusion(truth=data.truth, decision=(scores > threshold).astype(float))
                },
                stem=out / "model_confusion",
            )
        svgs = {p.stem: p.read_text(encoding="utf-8") for p in written if p.suffix == ".svg"}
    order = ["forest_delta_auc", "radar", "roc", "model_roc", "confusion", "model_confusion"]
    return {name: svgs[name] for name in order if svgs.get(name)}


# --- study planning -----------------------------------------------------------------------------


def report_plan(
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
