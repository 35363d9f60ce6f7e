"""Import throughput: phantom DICOM studies through `cases_import` (decode, de-identification,
blanking, renditions, storage, rows), printed as images per second on one core.

    .venv/bin/python tests/benchmarks/bench_import.py [--cases 60] [--repeats 3]

Target (issue "Cases in"): >= 20 images/s per core. OpenCV and BLAS are held to one thread so the
figure is per core; the import itself is single-threaded.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks._django import django_setup, scratch_dir  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    django_setup()
    import cv2

    from fixtures.phantom import generate_phantom_study
    from readerstudy.studies.importing import cases_import
    from readerstudy.studies.models import Study

    cv2.setNumThreads(1)
    folder = scratch_dir() / "phantoms"
    generate_phantom_study(cases=args.cases, seed=7, out=folder, fmt="dicom")
    rates = []
    images = 0
    for repeat in range(args.repeats):
        study = Study.objects.create(slug=f"bench-{repeat}", title="bench")
        started = time.perf_counter()
        summary = cases_import(study=study, path=folder, actor=None)
        elapsed = time.perf_counter() - started
        images = summary.images
        rates.append(images / elapsed)
    print(f"import of {args.cases} phantom cases ({images} DICOM images, 800x600):")
    print(
        f"  images/s on one core: median {statistics.median(rates):.1f} "
        f"(runs: {', '.join(f'{r:.1f}' for r in rates)}; target >= 20)"
    )


if __name__ == "__main__":
    main()
