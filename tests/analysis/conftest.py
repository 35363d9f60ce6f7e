"""Reference data as reads frames, and a way to call the CLI; nothing here needs Django."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analysis.cli import main

DATA = Path(__file__).parent / "data"


@dataclass
class CliRun:
    status: int
    stdout: str
    stderr: str
    out: Path

    @property
    def results(self) -> dict[str, Any]:
        def refuse(token: str) -> None:
            raise AssertionError(f"results.json is not strict JSON: {token}")

        text = (self.out / "results.json").read_text(encoding="utf-8")
        return json.loads(text, parse_constant=refuse)


def asah_frame() -> pd.DataFrame:
    return pd.read_csv(DATA / "asah.csv")


def asah_reads() -> pd.DataFrame:
    """aSAH as one "reader" (the lab) with two "modalities" (the markers wfns and s100b)."""
    asah = asah_frame()
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "reader": "lab",
                    "modality": marker,
                    "case": asah["row"].astype(str),
                    "truth": (asah["outcome"] == "Poor").astype(int),
                    "score": asah[marker],
                }
            )
            for marker in ("wfns", "s100b")
        ],
        ignore_index=True,
    )


def vandyke_reads() -> pd.DataFrame:
    frame = pd.read_csv(DATA / "vandyke.csv", dtype=str)
    return frame.rename(columns={"treatment": "modality", "rating": "score"})


@pytest.fixture
def run_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """Write ``reads`` to CSV (or use raw CSV text) and call the CLI's main with argv."""

    def run(reads: pd.DataFrame | str, *extra: str, name: str = "out") -> CliRun:
        source = tmp_path / f"{name}.csv"
        if isinstance(reads, str):
            source.write_text(reads, encoding="utf-8")
        else:
            reads.to_csv(source, index=False)
        out = tmp_path / name
        status = main(["--reads", str(source), "--out", str(out), *extra])
        captured = capsys.readouterr()
        return CliRun(status, captured.out, captured.err, out)

    return run
