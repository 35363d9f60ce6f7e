"""Benchmark of the analysis core; prints its figures (a script, not a timed test).

Run: ``.venv/bin/python tests/benchmarks/bench_analysis.py``. Targets: the whole study analysis
(per-reader metrics, comparisons, MRMC with both covariances, all figures) for 6 readers ×
2 rounds × 200 cases in ≤ 2 s; DeLong AUC and variance for 100,000 cases in ≤ 1 s.

Then the web adapter, in a throwaway SQLite database under a temporary VAR_DIR (migrated here;
the developer's database is never touched): the reads CSV export of 100,000 reads in ≤ 3 s with
flat memory (traced peak against the file's size, and against an export ten times smaller), and
the study report of 6 readers × 2 rounds × 200 cases: first load, cached load, charts, and the
recomputation after one new read.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from analysis.cli import write_figures
from analysis.reads import ReadsData
from analysis.roc import auc_delong
from analysis.study import analyse_study

if TYPE_CHECKING:  # Django models are imported only after django_setup()
    from readerstudy.studies.models import Study

REPEATS = 5


def simulated_study(*, readers: int, rounds: int, cases: int, seed: int = 7) -> ReadsData:
    """Binormal confidences (0–100) and calls at 50, the second round a little better."""
    rng = np.random.default_rng(seed)
    truth = rng.random(cases) < 0.3
    truth[:2] = [True, False]
    skill = rng.uniform(0.6, 1.6, size=readers)
    case_effect = rng.normal(size=cases)
    scores = np.empty((rounds, readers, cases))
    for t in range(rounds):
        for r in range(readers):
            signal = (skill[r] + 0.3 * t) * truth + 0.5 * case_effect + rng.normal(size=cases)
            scores[t, r] = np.clip(np.round(50 + 20 * signal), 0, 100)
    return ReadsData(
        modalities=[f"round {t + 1}" for t in range(rounds)],
        readers=[f"R{r + 1}" for r in range(readers)],
        cases=[str(c) for c in range(cases)],
        truth=truth,
        scores=scores,
        decisions=(scores >= 60).astype(float),
    )


def median_seconds(work: Callable[[], object], repeats: int = REPEATS) -> float:
    work()  # warm-up: imports, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    data = simulated_study(readers=6, rounds=2, cases=200)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)

        def full_study() -> None:
            results = analyse_study(data=data, covariance="delong")
            analyse_study(data=data, covariance="jackknife")
            write_figures(data=data, results=results, out=out)

        def numbers_only() -> None:
            analyse_study(data=data, covariance="delong")
            analyse_study(data=data, covariance="jackknife")

        study_s = median_seconds(full_study)
        numbers_s = median_seconds(numbers_only)
        figures = sorted(p.name for p in out.iterdir())

    rng = np.random.default_rng(1)
    n = 100_000
    truth = rng.random(n) < 0.4
    scores = rng.normal(size=n) + truth
    delong_s = median_seconds(lambda: auc_delong(truth=truth, scores=scores))

    print(f"median of {REPEATS} repeats each")
    print(
        f"study 6 readers x 2 rounds x 200 cases, per-reader + comparisons + MRMC (DeLong and "
        f"jackknife) + {len(figures)} figure files: {study_s:.3f} s (target <= 2 s)"
    )
    print(f"  of which numbers without figures: {numbers_s:.3f} s")
    print(f"DeLong AUC + SE, 100,000 cases: {delong_s:.3f} s (target <= 1 s)")


# --- the web adapter --------------------------------------------------------------------------


def django_setup(var_dir: Path) -> None:
    """Settings from the environment, pointed at a fresh VAR_DIR, and the schema migrated."""
    import os

    for name in ("DATABASE_URL", "REDIS_URL", "MEDIA_ROOT"):
        os.environ.pop(name, None)
    os.environ["VAR_DIR"] = str(var_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "readerstudy.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def reads_create(*, slug: str, readers: int, rounds: int, cases: int, model: bool) -> Study:
    """A study with every reader reading every case in every round, by bulk inserts only (reads
    are immutable: a trigger refuses UPDATE); confidences as in ``simulated_study``."""
    import secrets
    import uuid
    from datetime import timedelta

    from django.utils import timezone

    from inference.worker.models import CasePrediction, ModelVersion, Prediction
    from readerstudy.accounts.models import Reader, Seniority, User
    from readerstudy.reading.models import Decision, Read, ReadingSession, Round
    from readerstudy.studies.models import Case, CaseImage, Cohort, Study

    data = simulated_study(readers=readers, rounds=rounds, cases=cases)
    study = Study.objects.create(slug=slug, title=f"Benchmark {slug}")
    case_rows = Case.objects.bulk_create(
        Case(
            study=study,
            key=f"case-{c:06d}",
            patient_pseudonym=f"P{c:06d}",
            cohort=Cohort.INTERNAL_TEST if c % 2 else Cohort.EXTERNAL_TEST,
            truth_malignant=bool(data.truth[c]),
            shape="irregular" if c % 3 else "regular",
        )
        for c in range(cases)
    )
    seniorities = list(Seniority.values)
    reader_rows = []
    for r in range(readers):
        user = User.objects.create(username=f"{slug}-reader{r + 1}")
        reader_rows.append(
            Reader.objects.create(user=user, seniority=seniorities[r % 3], years_experience=5)
        )
    now = timezone.now()
    reads = []
    for t in range(rounds):
        round_row = Round.objects.create(study=study, index=t + 1, assisted=t > 0)
        for r, reader in enumerate(reader_rows):
            session = ReadingSession.objects.create(
                reader=reader, round=round_row, seed=secrets.token_hex(16), permutation=[]
            )
            for c, case in enumerate(case_rows):
                confidence = int(data.scores[t, r, c])
                reads.append(
                    Read(
                        session=session,
                        case=case,
                        decision=Decision.MALIGNANT if confidence >= 60 else Decision.BENIGN,
                        confidence=confidence,
                        comment="=1+1" if c % 1000 == 0 else "",
                        nonce=uuid.uuid4(),
                        started_at=now - timedelta(seconds=30),
                        submitted_at=now,
                        active_ms=20_000 + c,
                    )
                )
    Read.objects.bulk_create(reads, batch_size=5000)
    if model:
        version = ModelVersion.objects.create(
            name=f"{slug}-model", architecture="resnet18", checkpoint="x.pt", checkpoint_sha256=slug
        )
        rng = np.random.default_rng(3)
        probability = np.clip(0.3 + 0.4 * data.truth + 0.2 * rng.normal(size=cases), 0.01, 0.99)
        images = CaseImage.objects.bulk_create(
            CaseImage(
                case=case,
                position=0,
                source_sha256=secrets.token_hex(32),
                width=64,
                height=64,
                roi_x=0,
                roi_y=0,
                roi_w=32,
                roi_h=32,
            )
            for case in case_rows
        )
        Prediction.objects.bulk_create(
            Prediction(image=image, model_version=version, probability=float(p))
            for image, p in zip(images, probability, strict=True)
        )
        CasePrediction.objects.bulk_create(
            CasePrediction(
                case=case,
                model_version=version,
                probability=float(p),
                malignant=bool(p > 0.5),
                threshold=0.5,
                n_images=1,
            )
            for case, p in zip(case_rows, probability, strict=True)
        )
        study.ai_model = version
        study.save(update_fields=["ai_model"])
    return study


def export_measure(study: Study, *, traced: bool) -> tuple[float, int, int, int]:
    """Stream the reads CSV through the view: seconds, bytes, rows, traced peak (bytes)."""
    import tracemalloc

    from django.http import StreamingHttpResponse
    from django.test import RequestFactory

    from analysis.web.views import export_csv
    from readerstudy.accounts.models import User

    request = RequestFactory().get("/")
    request.user = User.objects.get_or_create(username="bench-superuser", is_superuser=True)[0]
    if traced:
        tracemalloc.start()
    start = time.perf_counter()
    response = export_csv(request, slug=study.slug, kind="reads")
    size = rows = 0
    assert isinstance(response, StreamingHttpResponse)
    content = response.streaming_content
    assert isinstance(content, Iterator)  # a WSGI (synchronous) stream
    for chunk in content:
        size += len(chunk)
        rows += chunk.count(b"\n")
    seconds = time.perf_counter() - start
    peak = 0
    if traced:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return seconds, size, rows - 1, peak


def adapter_main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        django_setup(Path(folder))
        from django.db import connection

        from analysis.web.report import report_charts, report_get
        from readerstudy.reading.models import Read

        big = reads_create(slug="export-100k", readers=10, rounds=2, cases=5000, model=False)
        small = reads_create(slug="export-10k", readers=10, rounds=2, cases=500, model=False)
        export_measure(small, traced=False)  # warm-up: imports, query compilation
        seconds = statistics.median(export_measure(big, traced=False)[0] for _ in range(3))
        _, size, rows, big_peak = export_measure(big, traced=True)
        _, small_size, small_rows, small_peak = export_measure(small, traced=True)
        print(f"web adapter, throwaway {connection.vendor} database under a temporary VAR_DIR")
        print(
            f"reads CSV export, {rows:,} reads ({size / 1e6:.1f} MB) streamed through the view: "
            f"{seconds:.3f} s, median of 3 (target <= 3 s)"
        )
        print(
            f"  traced peak memory while streaming: {big_peak / 1e6:.2f} MB for {rows:,} reads, "
            f"{small_peak / 1e6:.2f} MB for {small_rows:,} reads ({small_size / 1e6:.1f} MB): "
            "flat, not proportional to the file"
        )

        study = reads_create(slug="report-6x2x200", readers=6, rounds=2, cases=200, model=True)
        start = time.perf_counter()
        first = report_get(study=study)
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        again = report_get(study=study)
        hit_s = time.perf_counter() - start
        start = time.perf_counter()
        charts = report_charts(report=again)
        charts_s = time.perf_counter() - start
        read = Read.objects.filter(session__round__study=study).order_by("pk").first()
        assert read is not None
        Read.objects.create(
            session=read.session,
            case=read.case,
            decision=read.decision,
            confidence=99,
            started_at=read.started_at,
            submitted_at=read.submitted_at,
            active_ms=1,
            revision=2,
            supersedes=read,
            revision_reason="benchmark revision",
        )
        start = time.perf_counter()
        after = report_get(study=study)
        after_s = time.perf_counter() - start
        print(
            f"study report 6 readers x 2 rounds x 200 cases through the adapter (queries, "
            f"metrics, changes, seniority, MRMC DeLong + jackknife, model, Tables 1/2/4): "
            f"first load {first_s:.3f} s"
        )
        print(
            f"  second load: cache hit = {again.pk == first.pk}, {hit_s * 1000:.0f} ms "
            "(data version check only)"
        )
        print(f"  charts drawn once for the version ({len(charts)} SVG): {charts_s:.3f} s")
        print(
            f"  after one new read: recomputed = {after.pk != first.pk}, new data version = "
            f"{after.data_version != first.data_version}, {after_s:.3f} s"
        )


if __name__ == "__main__":
    main()
    adapter_main()
