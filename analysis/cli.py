"""Command line: analyse a reads CSV and write results.json, CSV tables and figures.

``python -m analysis --reads FILE.csv --out DIR [--covariance delong|jackknife]
[--fom auc|sensitivity|specificity] [--order A,B] [--ci wilson|wald]
[--paired-ci newcombe|tango|agresti_min] [--ai FILE.csv [--ai-threshold 0.5]]``; optional reads
columns ``time`` and ``seniority``. Differences are later − earlier, by ``--order`` or else by
the modalities' order of first appearance in the file (a reads export: by its rounds). Bad
input prints one clear message on stderr and exits 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError
from analysis.export_reads import prepare_reads
from analysis.extended import extended_json, extras_from_frames
from analysis.metrics import CiMethod
from analysis.mrmc import Covariance, Fom
from analysis.paired import PairedMethod
from analysis.reads import ReadsData, reads_from_frame
from analysis.serialize import dump_json, jsonable
from analysis.study import StudyResults, analyse_study, mrmc_frames

EXIT_INPUT_ERROR = 2


def read_reads_csv(path: Path) -> pd.DataFrame:
    """Read every column as text (reader, modality and case are labels, "007" stays "007");
    numbers are parsed later so that a bad value can be reported with its line."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise AnalysisInputError(f"reads file not found: {path}") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise AnalysisInputError(f"cannot read {path} as CSV: {exc}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def write_figures(*, data: ReadsData, results: StudyResults, out: Path) -> list[Path]:
    """Forest plot of ΔAUC, readers' ROC curves; radar and confusion when calls exist.

    Long because it is a list of figures, each a few lines; a function per figure would only add
    names.
    """
    from analysis import charts  # matplotlib is only imported when figures are wanted
    from analysis.metrics import confusion
    from analysis.roc import roc_curve_points

    paths: list[Path] = []
    if not results.comparisons.empty:
        table = results.comparisons
        diff = table["diff"].to_numpy(dtype=float)
        low = table["ci_low"].to_numpy(dtype=float)
        high = table["ci_high"].to_numpy(dtype=float)
        # diff is later − earlier (b − a), so an improvement with assistance points right.
        rows = [
            charts.ForestRow(label=f"{reader}: {b} − {a}", estimate=d, ci=(lo, h))
            for reader, a, b, d, lo, h in zip(
                table["reader"],
                table["modality_a"],
                table["modality_b"],
                diff,
                low,
                high,
                strict=True,
            )
        ]
        paths += charts.forest_chart(
            rows=rows,
            stem=out / "forest_delta_auc",
            xlabel="ΔAUC, later − earlier modality (95% CI)",
        )
    curves = {
        f"{reader} · {modality}": roc_curve_points(truth=data.truth, scores=data.scores[i, j])
        for i, modality in enumerate(data.modalities)
        for j, reader in enumerate(data.readers)
    }
    points = []
    if data.decisions is not None:
        for i, modality in enumerate(data.modalities):
            for j, reader in enumerate(data.readers):
                calls = data.decisions[i, j] == 1.0
                points.append(
                    charts.OperatingPoint(
                        reader=reader,
                        round=modality,
                        fpr=float(calls[~data.truth].mean()),
                        tpr=float(calls[data.truth].mean()),
                    )
                )
    colour_keys = {
        f"{reader} · {modality}": reader for modality in data.modalities for reader in data.readers
    }
    paths += charts.roc_chart(
        curves=curves,
        points=points,
        colour_keys=colour_keys,
        stem=out / "roc",
        title="Readers' ROC curves (points: binary calls)" if points else "Readers' ROC curves",
    )
    if data.decisions is not None:
        paths += charts.radar_chart(metrics=results.readers, stem=out / "radar")
        pooled = {
            modality: confusion(
                truth=np.tile(data.truth, len(data.readers)), decision=data.decisions[i].reshape(-1)
            )
            for i, modality in enumerate(data.modalities)
        }
        paths += charts.confusion_chart(matrices=pooled, stem=out / "confusion")
    return paths


def run(
    *,
    reads: Path,
    out: Path,
    covariance: Covariance,
    fom: Fom,
    figures: bool = True,
    ai: Path | None = None,
    ai_threshold: float = 0.5,
    paired_method: PairedMethod = "newcombe",
    order: list[str] | None = None,
    ci_method: CiMethod = "wilson",
) -> dict[str, Any]:
    """Analyse ``reads`` and write everything under ``out``; returns the results.json content."""
    frame = read_reads_csv(reads)
    prepared = prepare_reads(frame)
    data = reads_from_frame(prepared.frame, order=order or prepared.order)
    if order is None and prepared.order is not None:
        data = replace(data, modality_order="round column of the reads export")
    data = replace(data, notes=(*prepared.notes, *data.notes))
    results = analyse_study(
        data=data, covariance=covariance, fom=fom, ci_method=ci_method, paired_method=paired_method
    )
    extras = extras_from_frames(
        data=data, reads=prepared.frame, ai=read_reads_csv(ai) if ai is not None else None
    )
    blocks, extra_notes = extended_json(
        data=data, extras=extras, threshold=ai_threshold, covariance=covariance, fom=fom
    )
    out.mkdir(parents=True, exist_ok=True)
    results.readers.to_csv(out / "readers.csv", index=False)
    results.comparisons.to_csv(out / "comparisons.csv", index=False)
    if results.mrmc is not None:
        tests, components = mrmc_frames(results.mrmc)
        tests.to_csv(out / "mrmc.csv", index=False)
        components.to_csv(out / "mrmc_variance_components.csv", index=False)
    payload = results.as_json()
    payload.update(jsonable(blocks))
    payload["notes"] = payload["notes"] + extra_notes
    payload["figures"] = (
        [p.name for p in write_figures(data=data, results=results, out=out)] if figures else []
    )
    dump_json(payload, out / "results.json")
    return payload


def _num(value: Any, digits: int = 4) -> str:
    """Format a number from results.json; null (undefined) prints as n/a."""
    return "n/a" if value is None else f"{value:.{digits}g}"


def _summary(payload: dict[str, Any]) -> str:
    source = payload["input"]["modality_order"]
    lines = [
        f"modality order ({source}): {', '.join(payload['input']['modalities'])}; "
        "differences are later - earlier"
    ]
    lines += [
        f"reader {row['reader']} modality {row['modality']}: AUC {_num(row['auc'])} "
        f"(SE {_num(row['auc_se'])}, 95% CI {_num(row['auc_ci'][0])} to {_num(row['auc_ci'][1])})"
        for row in payload["readers"]
    ]
    lines += [
        f"reader {row['reader']} {row['modality_a']} vs {row['modality_b']}: "
        f"diff {_num(row['diff'])}, z {_num(row['z'])}, p {_num(row['p'])}, "
        f"95% CI {_num(row['ci'][0])} to {_num(row['ci'][1])}"
        for row in payload["comparisons"]
    ]
    mrmc = payload.get("mrmc")
    if isinstance(mrmc, dict):
        rrrc, frrc, rrfc = mrmc["rrrc"], mrmc["frrc"], mrmc["rrfc"]
        lines.append(
            f"MRMC ({mrmc['covariance']} covariance, FOM {mrmc['fom']}): "
            f"RRRC F {_num(rrrc['f'], 5)}, df {_num(rrrc['df1'])}/{_num(rrrc['df2'], 5)}, "
            f"p {_num(rrrc['p'])}; FRRC chi2 {_num(frrc['chi2'], 5)}, p {_num(frrc['p'])}; "
            f"RRFC F {_num(rrfc['f'], 5)}, df {_num(rrfc['df1'])}/{_num(rrfc['df2'])}, "
            f"p {_num(rrfc['p'])}"
        )
    lines += [f"note: {note}" for note in payload["notes"]]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="ROC/DeLong, reader metrics and Obuchowski-Rockette MRMC analysis of a reader study.",
    )
    parser.add_argument(
        "--reads",
        type=Path,
        required=True,
        help="CSV: reader, modality, case, truth, score[, decision]; or the web app's reads "
        "export as downloaded",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="output folder (created if missing)"
    )
    parser.add_argument("--covariance", choices=("delong", "jackknife"), default="delong")
    parser.add_argument("--fom", choices=("auc", "sensitivity", "specificity"), default="auc")
    parser.add_argument(
        "--paired-ci",
        choices=("newcombe", "tango", "agresti_min"),
        default="newcombe",
        help="interval for the paired change of sensitivity and specificity",
    )
    parser.add_argument(
        "--ai", type=Path, default=None, help="CSV: case, probability (the AI's output per case)"
    )
    parser.add_argument(
        "--ai-threshold", type=float, default=0.5, help="AI call: probability > threshold"
    )
    parser.add_argument(
        "--order",
        help="modalities earlier first, comma-separated (default: order of first appearance); "
        "every difference is later - earlier",
    )
    parser.add_argument(
        "--ci",
        choices=("wilson", "wald"),
        default="wilson",
        help="wilson: DeLong AUC and Wilson proportion CIs (default); wald: the seed paper's "
        "AUC +- 1.96 sqrt(AUC(1-AUC)/n) and p +- 1.96 sqrt(p(1-p)/n), not truncated",
    )
    parser.add_argument("--no-figures", action="store_true", help="skip the PNG/SVG figures")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 bad input; argparse also uses 2)."""
    args = build_parser().parse_args(argv)
    try:
        payload = run(
            reads=args.reads,
            out=args.out,
            covariance=cast(Covariance, args.covariance),
            fom=cast(Fom, args.fom),
            figures=not args.no_figures,
            ai=args.ai,
            ai_threshold=args.ai_threshold,
            paired_method=cast(PairedMethod, args.paired_ci),
            ci_method=cast(CiMethod, args.ci),
            order=[m.strip() for m in args.order.split(",")] if args.order else None,
        )
    except AnalysisInputError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except OSError as exc:
        # An unreadable input or unwritable output folder is the caller's to fix, not a crash.
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    print(_summary(payload))
    print(f"wrote {args.out / 'results.json'}")
    return 0
