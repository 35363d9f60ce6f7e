"""Figures of a reader study: radar (seed Fig. 3), ROC with readers' points (Fig. 2), confusion
matrix (Fig. 5) and a forest plot of per-reader ΔAUC; each written as PNG and SVG.

matplotlib draws everything; only the layouts are ours. Figures are built on matplotlib's
object API with the Agg canvas, never pyplot, so no global backend or state is touched and the
functions are safe in web workers and threads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.projections.polar import PolarAxes

from analysis.metrics import ConfusionMatrix
from analysis.roc import RocCurve

RADAR_COLUMNS = ("auc", "accuracy", "sensitivity", "specificity", "ppv", "npv")
RADAR_LABELS = ("AUC", "ACC", "SE", "SP", "PPV", "NPV")
# Text stays text in SVG (smaller, faster, searchable); the salt makes SVG output reproducible.
_RC: dict[Any, Any] = {"svg.fonttype": "none", "svg.hashsalt": "readerstudy", "font.size": 9}
_DPI = 110


@dataclass(frozen=True)
class OperatingPoint:
    """A reader's (1 − specificity, sensitivity) in one round."""

    reader: str
    round: str
    fpr: float
    tpr: float


@dataclass(frozen=True)
class ForestRow:
    """One line of a forest plot: a label, an estimate and its CI."""

    label: str
    estimate: float
    ci: tuple[float, float]


def _new_figure(width: float, height: float, *, constrained: bool = True) -> Figure:
    # Constrained layout costs most of the drawing time of many-panel polar figures; those
    # are laid out by hand.
    figure = Figure(
        figsize=(width, height), dpi=_DPI, layout="constrained" if constrained else None
    )
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, stem: Path) -> list[Path]:
    """Write ``stem``.png and ``stem``.svg and return both paths."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    with mpl.rc_context(_RC):
        for path in paths:
            figure.savefig(
                path, dpi=_DPI, metadata={"Date": None} if path.suffix == ".svg" else None
            )
    return paths


def radar_chart(
    *,
    metrics: pd.DataFrame,
    stem: Path,
    columns: Sequence[str] = RADAR_COLUMNS,
    labels: Sequence[str] = RADAR_LABELS,
) -> list[Path]:
    """One polar panel per reader, one polygon per round (``modality``), axes in [0, 1]."""
    readers = list(dict.fromkeys(metrics["reader"]))
    rounds = list(dict.fromkeys(metrics["modality"]))
    ncols = min(3, len(readers))
    nrows = int(np.ceil(len(readers) / ncols))
    angles = np.linspace(0, 2 * np.pi, len(columns), endpoint=False)
    closed = np.append(angles, angles[0])
    with mpl.rc_context(_RC):
        figure = _new_figure(2.8 * ncols, 2.8 * nrows + 0.4, constrained=False)
        figure.subplots_adjust(
            left=0.06, right=0.94, top=0.92, bottom=0.12, wspace=0.45, hspace=0.5
        )
        for index, reader in enumerate(readers):
            axes = cast(PolarAxes, figure.add_subplot(nrows, ncols, index + 1, projection="polar"))
            for round_name in rounds:
                row = metrics[(metrics["reader"] == reader) & (metrics["modality"] == round_name)]
                if row.empty:
                    continue
                values = row.iloc[0][list(columns)].to_numpy(dtype=float)
                axes.plot(closed, np.append(values, values[0]), label=str(round_name))
                axes.fill(closed, np.append(values, values[0]), alpha=0.15)
            axes.set_xticks(angles, list(labels))
            axes.set_ylim(0, 1)
            axes.set_yticks([0.25, 0.5, 0.75, 1.0], ["", "0.5", "", "1"])
            axes.set_rlabel_position(100)
            axes.set_title(str(reader))
        handles, names = figure.axes[0].get_legend_handles_labels()
        figure.legend(handles, names, loc="lower center", ncols=len(rounds), frameon=False)
        return save_figure(figure, stem)


def roc_chart(
    *,
    curves: Mapping[str, RocCurve],
    stem: Path,
    points: Sequence[OperatingPoint] = (),
    colour_keys: Mapping[str, str] | None = None,
    title: str = "",
) -> list[Path]:
    """ROC curves (e.g. the model per cohort) with readers' operating points, one marker per round.

    ``colour_keys`` maps a curve label to a group (e.g. its reader): a group keeps one colour,
    its successive curves get solid, dashed, dotted lines; points take their reader's colour.
    """
    markers = ["o", "^", "s", "D", "v", "P"]
    dashes = ["-", "--", ":", "-."]
    keys = {label: (colour_keys or {}).get(label, label) for label in curves}
    groups = list(dict.fromkeys([*keys.values(), *(p.reader for p in points)]))
    palette = mpl.colormaps["tab10" if len(groups) <= 10 else "tab20"]
    colour = {g: palette(i % palette.N) for i, g in enumerate(groups)}
    seen: dict[str, int] = {}
    with mpl.rc_context(_RC):
        figure = _new_figure(5.0, 5.0)
        axes = figure.add_subplot()
        axes.plot([0, 1], [0, 1], linestyle=":", color="grey", linewidth=0.8)
        for label, curve in curves.items():
            order = seen[keys[label]] = seen.get(keys[label], -1) + 1
            axes.plot(
                curve.fpr,
                curve.tpr,
                linewidth=1.1,
                label=label,
                color=colour[keys[label]],
                linestyle=dashes[order % len(dashes)],
            )
        rounds = list(dict.fromkeys(p.round for p in points))
        for k, round_name in enumerate(rounds):
            chosen = [p for p in points if p.round == round_name]
            axes.scatter(
                [p.fpr for p in chosen],
                [p.tpr for p in chosen],
                marker=markers[k % len(markers)],
                c=[colour[p.reader] for p in chosen],
                edgecolors="black",
                linewidths=0.5,
                s=32,
                zorder=3,
                label=f"readers, {round_name}",
            )
        axes.set_xlabel("1 − specificity")
        axes.set_ylabel("Sensitivity")
        axes.set_xlim(-0.01, 1.01)
        axes.set_ylim(-0.01, 1.01)
        axes.set_aspect("equal")
        axes.set_title(title)
        axes.legend(loc="lower right", fontsize=6, ncols=2 if len(curves) > 8 else 1)
        return save_figure(figure, stem)


def confusion_chart(
    *,
    matrices: Mapping[str, ConfusionMatrix],
    stem: Path,
    class_labels: tuple[str, str] = ("Benign", "Malignant"),
) -> list[Path]:
    """One heat-map panel per matrix; rows are the truth, columns the call (as seed Fig. 5)."""
    with mpl.rc_context(_RC):
        figure = _new_figure(3.2 * len(matrices), 3.2)
        for index, (title, matrix) in enumerate(matrices.items()):
            axes = figure.add_subplot(1, len(matrices), index + 1)
            counts = matrix.as_array()
            axes.imshow(counts, cmap="Blues", vmin=0)
            for (i, j), count in np.ndenumerate(counts):
                colour = "white" if count > counts.max() / 2 else "black"
                axes.text(j, i, str(count), ha="center", va="center", color=colour)
            axes.set_xticks([0, 1], list(class_labels))
            axes.set_yticks([0, 1], list(class_labels))
            axes.set_xlabel("Predicted")
            axes.set_ylabel("True")
            axes.set_title(title)
        return save_figure(figure, stem)


def forest_chart(
    *, rows: Sequence[ForestRow], stem: Path, xlabel: str = "ΔAUC (95% CI)"
) -> list[Path]:
    """Estimates with CIs, one line each, top to bottom in the given order, and a zero line."""
    with mpl.rc_context(_RC):
        figure = _new_figure(5.5, 0.9 + 0.35 * max(len(rows), 1))
        axes = figure.add_subplot()
        y = np.arange(len(rows))[::-1]
        estimates = np.array([r.estimate for r in rows], dtype=float)
        low = np.array([r.ci[0] for r in rows], dtype=float)
        high = np.array([r.ci[1] for r in rows], dtype=float)
        axes.errorbar(
            estimates,
            y,
            xerr=np.vstack([estimates - low, high - estimates]),
            fmt="s",
            color="black",
            ecolor="black",
            capsize=3,
            markersize=4,
        )
        axes.axvline(0.0, color="grey", linestyle="--", linewidth=0.8)
        axes.set_yticks(y, [r.label for r in rows])
        axes.set_xlabel(xlabel)
        return save_figure(figure, stem)
