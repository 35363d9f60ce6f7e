"""Each figure is written as a real PNG and a real SVG."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.charts import (
    ForestRow,
    OperatingPoint,
    confusion_chart,
    forest_chart,
    radar_chart,
    roc_chart,
)
from analysis.metrics import ConfusionMatrix
from analysis.roc import roc_curve_points


def assert_png_and_svg(paths):
    png, svg = paths
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in svg.read_text(encoding="utf-8")


def test_radar_chart_has_one_panel_per_reader_and_both_rounds(tmp_path):
    metrics = pd.DataFrame(
        {
            "reader": ["C", "C", "D", "D"],
            "modality": ["round 1", "round 2"] * 2,
            **{
                m: [0.6, 0.7, 0.8, 0.9]
                for m in ("auc", "accuracy", "sensitivity", "specificity", "ppv", "npv")
            },
        }
    )

    assert_png_and_svg(radar_chart(metrics=metrics, stem=tmp_path / "radar"))


def test_roc_chart_with_readers_operating_points(tmp_path):
    rng = np.random.default_rng(0)
    truth = np.array([1, 0] * 20)
    curves = {"model · internal": roc_curve_points(truth=truth, scores=truth + rng.normal(size=40))}
    points = [OperatingPoint("C", "round 1", 0.2, 0.7), OperatingPoint("C", "round 2", 0.15, 0.8)]

    assert_png_and_svg(roc_chart(curves=curves, points=points, stem=tmp_path / "roc"))


def test_confusion_and_forest_charts(tmp_path):
    matrices = {"ResNet18": ConfusionMatrix(tp=43, fn=12, fp=10, tn=127)}
    rows = [ForestRow("C", 0.05, (-0.01, 0.11)), ForestRow("D", -0.02, (-0.08, 0.04))]

    assert_png_and_svg(confusion_chart(matrices=matrices, stem=tmp_path / "confusion"))
    assert_png_and_svg(forest_chart(rows=rows, stem=tmp_path / "forest"))


def test_svg_output_is_reproducible(tmp_path):
    rows = [ForestRow("C", 0.05, (-0.01, 0.11))]

    first = forest_chart(rows=rows, stem=tmp_path / "a")[1].read_text(encoding="utf-8")
    second = forest_chart(rows=rows, stem=tmp_path / "b")[1].read_text(encoding="utf-8")

    assert first == second
