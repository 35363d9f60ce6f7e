"""The report's charts: which ones a study's results have, and drawing them as SVG text with
the CLI's figures plus the AI model's ROC and confusion matrix."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.cli import write_figures
from analysis.crossed import MODEL, analyse_crossed, crossed_reads
from analysis.reads import ReadsData
from analysis.study import StudyResults
from analysis.web.frames import paired_reads, study_case_predictions_frame, study_reads_frame
from readerstudy.studies.models import Study

CHART_TITLES = {
    "forest_delta_auc": "Change in each reader's AUC between rounds (paired DeLong, 95% CI)",
    "radar": "Each reader's metrics per round",
    "roc": "Readers' ROC curves from the confidence, with their binary calls as points",
    "model_roc": "The AI model's ROC on the cases read, with the readers' operating points",
    "confusion": "Confusion matrices, readers pooled per round",
    "model_confusion": "Confusion matrix of the AI model on the cases read",
}


def chart_names(results: StudyResults | None, *, model_compared: bool) -> list[str]:
    """The charts ``_charts`` draws for these results, in the order of the page."""
    if results is None:
        return []
    names = ["forest_delta_auc"] if not results.comparisons.empty else []
    names += ["radar", "roc", "model_roc"] if model_compared else ["radar", "roc"]
    return names + (["confusion", "model_confusion"] if model_compared else ["confusion"])


def charts_compute(*, study: Study) -> dict[str, str]:
    """The charts drawn from the database (the numbers are not enough to draw ROC curves)."""
    reads = study_reads_frame(study=study)
    data = crossed_reads(paired_reads(reads), [])
    if data is None:
        return {}
    probability = None
    if study.ai_model is not None:
        predictions = study_case_predictions_frame(study=study, model=study.ai_model)
        probability = predictions.set_index("case")["probability"]
    results, _ = analyse_crossed(data, [], jackknife=False)
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
