"""The report's sections as JSON-ready data: reader metrics, changes between rounds, seniority
means, the AI model (Table 2), Tables 1 and 4, agreement, reading time, reliance and per-seniority
MRMC (the CLI's optional blocks), and the flat tables the CSV exports stream."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.crossed import MODEL
from analysis.errors import AnalysisInputError
from analysis.extended import Extras, extended_json
from analysis.metrics import metrics_row, reader_metrics_frame, seniority_means
from analysis.model import model_metrics, model_table, model_vs_readers
from analysis.reads import ReadsData, natural_key
from analysis.study import StudyResults, _records_with_ci
from analysis.study import mrmc_frames as core_mrmc_frames
from analysis.tables import baseline_table, misjudged_cases, misjudged_summary
from analysis.web.frames import study_case_predictions_frame, study_image_predictions_frame
from analysis.web.report.conditions import bias_control_reliance, reliance_conditions
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


def input_summary(
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


def reader_metrics(reads: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
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


def reader_changes(results: StudyResults) -> list[dict[str, Any]]:
    """Each reader's change between rounds as later − earlier (the core's b − a, a the earlier
    round), so that an improvement with assistance is positive."""
    changes = []
    for row in results.comparisons.to_dict(orient="records"):
        change: dict[str, Any] = {
            "reader": row["reader"],
            "from": row["modality_a"],
            "to": row["modality_b"],
            "auc_from": row["auc_a"],
            "auc_to": row["auc_b"],
            "delta_auc": row["diff"],
            "delta_auc_se": row["se"],
            "delta_auc_ci": [row["ci_low"], row["ci_high"]],
            "z": row["z"],
            "p": row["p"],
        }
        for name in ("sensitivity", "specificity"):
            if f"{name}_a" in row:
                change[f"{name}_from"] = row[f"{name}_a"]
                change[f"{name}_to"] = row[f"{name}_b"]
                change[f"delta_{name}"] = row[f"{name}_diff"]
                change[f"{name}_p"] = row[f"{name}_p"]
                change[f"{name}_test"] = row[f"{name}_test"]
                change[f"delta_{name}_ci"] = [
                    row[f"delta_{name}_ci_low"],
                    row[f"delta_{name}_ci_high"],
                ]
                change[f"delta_{name}_method"] = row[f"delta_{name}_method"]
        changes.append(change)
    return changes


def seniority_section(metrics: pd.DataFrame) -> list[dict[str, Any]]:
    if metrics.empty:
        return []
    columns = ["reader", "modality", *(c for c in METRIC_COLUMNS if c in metrics)]
    seniority = dict(zip(metrics["reader"], metrics["seniority"], strict=True))
    means = seniority_means(metrics=metrics[columns], seniority=seniority)
    return [{str(k): v for k, v in row.items()} for row in means.to_dict(orient="records")]


def model_section(
    study: Study, data: ReadsData | None, results: StudyResults | None, notes: list[str]
) -> dict[str, Any]:
    """Table 2 (the model alone per cohort) and the model against each reader.

    Long because Table 2 and the model-vs-reader comparison share one alignment of model and
    reader cases.
    """
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


def table1(cases: pd.DataFrame) -> list[dict[str, Any]]:
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


def table4(
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


def csv_frames(
    metrics: pd.DataFrame, results: StudyResults | None, jackknife: Any
) -> dict[str, Any]:
    """The flat tables the per-reader and MRMC CSV exports stream (ci_low/ci_high columns)."""
    frames: dict[str, Any] = {"reader_metrics": _frame_json(metrics)}
    flat = []
    for change in reader_changes(results) if results is not None else []:
        row: dict[str, Any] = {}
        for key, value in change.items():
            if key.endswith("_ci"):
                row[f"{key}_low"], row[f"{key}_high"] = value
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


def extended_section(
    reads: pd.DataFrame,
    data: ReadsData | None,
    probability: pd.Series | None,
    notes: list[str],
    *,
    threshold: float,
) -> dict[str, Any]:
    """The CLI's optional blocks on the paired reads: agreement, reading time (submitted −
    started, server clock), AI reliance (the model's case predictions, the study's threshold;
    the unassisted condition against the assisted one, the bias-control cases apart) and the OR
    MRMC per seniority group, each None when it cannot be computed."""
    empty: dict[str, Any] = {
        "agreement": None,
        "reading_time": None,
        "reliance": None,
        "seniority_mrmc": None,
    }
    if data is None:
        return empty
    paired = reads[reads["reader"].isin(data.readers) & reads["modality"].isin(data.modalities)]
    index = pd.MultiIndex.from_product([data.modalities, data.readers, data.cases])
    seconds = paired.set_index(["modality", "reader", "case"])["reading_time"].reindex(index)
    times: np.ndarray | None = seconds.to_numpy(dtype=np.float64).reshape(data.scores.shape)
    if times is not None and (np.isnan(times).any() or (times <= 0).any()):
        notes.append("Reading time omitted: some paired reads have no positive reading time.")
        times = None
    ai = None
    if probability is not None:
        aligned = probability.reindex(data.cases)
        ai = None if aligned.isna().any() else aligned.to_numpy(dtype=np.float64)
    pair = None
    if len(data.modalities) >= 2:
        if ai is None:
            notes.append(
                "AI reliance omitted: the AI model has no case prediction for every case read."
            )
        else:
            pair = reliance_conditions(paired, data.modalities, notes)
    seniority = dict(zip(paired["reader"], paired["seniority"], strict=True))
    extras = Extras(
        times=times if len(data.modalities) >= 2 else None,
        seniority={r: str(seniority[r]) for r in data.readers},
        # Reliance only between an unassisted and an assisted condition (the report does not
        # use the core's model block, which the probability would also give).
        ai_probability=ai if pair is not None else None,
        order=list(pair) if pair is not None else list(data.modalities),
    )
    try:
        blocks, extra_notes = extended_json(
            data=data,
            extras=extras,
            threshold=threshold,
            covariance="delong",
            fom="auc",
        )
    except AnalysisInputError as exc:
        notes.append(f"Agreement, reading time and reliance omitted: {exc.message}.")
        return empty
    notes.extend(extra_notes)
    seniority_block = blocks["seniority"]
    if len(data.modalities) < 2:
        seniority_block = None
    reliance = blocks["reliance"]
    if reliance is not None:
        reliance["bias_control"] = bias_control_reliance(reads, probability, threshold)
    return {
        "agreement": blocks["agreement"],
        "reading_time": blocks["reading_time"],
        "reliance": reliance,
        "seniority_mrmc": seniority_block,
    }
