"""The iMRMC input-file export, parsed back as iMRMC and RJafroc's ``ReadImrmc`` read it:
description lines, N0/N1/NR/NM, ``BEGIN DATA:``, rows ``reader,case,modality,score`` with truth
rows of reader −1 (DIDSR/iMRMC ``DataFormat.java``; dpc10ster/RJafroc ``R/ReadDataFile.R``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from django.http import StreamingHttpResponse

from analysis.roc import auc_delong
from analysis.web.report import report_get
from tests.analysis_adapter.conftest import BuiltStudy, client_for, read_revise
from tests.conftest import Personas


@dataclass
class Imrmc:
    description: list[str]
    counts: dict[str, int]
    truth: dict[int, int]
    scores: dict[tuple[int, int, int], float]  # (reader, case, modality)


def parse_imrmc(text: str) -> Imrmc:
    """A strict reader of the format: fails on anything iMRMC or RJafroc would refuse."""
    lines = [line.strip() for line in text.splitlines()]
    begin = lines.index("BEGIN DATA:")
    counts = {}
    description = []
    for line in lines[:begin]:
        key, _, value = line.partition(":")
        if key in {"N0", "N1", "NR", "NM"}:
            counts[key] = int(value)
        else:
            description.append(line)
    assert set(counts) == {"N0", "N1", "NR", "NM"}
    truth: dict[int, int] = {}
    scores: dict[tuple[int, int, int], float] = {}
    for line in lines[begin + 1 :]:
        if not line:
            continue
        fields = line.split(",")
        assert len(fields) == 4, line
        reader, case, modality = (int(f) for f in fields[:3])  # integer ids, as RJafroc needs
        if reader == -1:
            assert modality == 0
            assert case not in truth
            truth[case] = int(fields[3])
            assert truth[case] in (0, 1)
        else:
            rating = (reader, case, modality)
            assert rating not in scores, f"two ratings for {rating}"
            scores[rating] = float(fields[3])
    # RJafroc's checks: every rated case has a truth row, and the counts match the data.
    assert {c for _, c, _ in scores} <= set(truth)
    assert counts["N0"] == sum(1 for t in truth.values() if t == 0)
    assert counts["N1"] == sum(1 for t in truth.values() if t == 1)
    assert counts["NR"] == len({r for r, _, _ in scores})
    assert counts["NM"] == len({m for _, _, m in scores})
    return Imrmc(description, counts, truth, scores)


def _download(slug: str) -> tuple[StreamingHttpResponse, str]:
    response = client_for("sam").get(f"/studies/{slug}/exports/imrmc.csv")
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    return response, b"".join(response.streaming_content).decode("utf-8")


def test_the_imrmc_file_parses_back_to_the_current_reads(crossed: BuiltStudy) -> None:
    first = crossed.sessions[(1, 0)].reads.order_by("pk").first()
    assert first is not None
    read_revise(read=first, confidence=99, reason="typo")
    response, text = _download(crossed.study.slug)
    assert response["Content-Disposition"] == 'attachment; filename="s-imrmc.imrmc"'
    assert response["Content-Type"].startswith("text/plain")
    parsed = parse_imrmc(text)
    assert parsed.counts == {"N0": 20, "N1": 10, "NR": 3, "NM": 2}
    assert "modality 1 = round 1 (unassisted)" in parsed.description
    assert "modality 2 = round 2 (assisted)" in parsed.description
    readers = {
        line.split(" = ")[1]: int(line.split()[1])
        for line in parsed.description
        if line.startswith("reader ")
    }
    cases = {
        line.split(" = ")[1]: int(line.split()[1])
        for line in parsed.description
        if line.startswith("case ")
    }
    assert len(parsed.scores) == 3 * 2 * 30
    revised = (0, 0, [c.pk for c in crossed.cases].index(first.case_id))
    for t in range(2):
        for r, reader in enumerate(crossed.readers):
            for c, case in enumerate(crossed.cases):
                expected = 99 if (t, r, c) == revised else crossed.confidence[t, r, c]
                key = (readers[reader.user.username], cases[case.key], t + 1)
                assert parsed.scores[key] == expected
                assert parsed.truth[cases[case.key]] == crossed.truth[c]


def test_the_imrmc_file_gives_the_report_s_aucs(crossed: BuiltStudy) -> None:
    parsed = parse_imrmc(_download(crossed.study.slug)[1])
    payload = report_get(study=crossed.study).payload
    ids = sorted(parsed.truth)
    truth = np.array([parsed.truth[c] for c in ids]) == 1
    readers = {
        line.split(" = ")[1]: int(line.split()[1])
        for line in parsed.description
        if line.startswith("reader ")
    }
    for row in payload["reader_metrics"]:
        scores = np.array([parsed.scores[(readers[row["reader"]], c, row["round"])] for c in ids])
        assert auc_delong(truth=truth, scores=scores).auc == pytest.approx(row["auc"], abs=1e-12)


def test_a_study_without_reads_gives_an_empty_but_valid_file(personas: Personas) -> None:
    parsed = parse_imrmc(_download("s")[1])
    assert parsed.counts == {"N0": 0, "N1": 0, "NR": 0, "NM": 0}
    assert parsed.scores == {}
