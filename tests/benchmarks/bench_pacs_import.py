"""PACS import throughput: phantom DICOM studies stored in a real Orthanc, imported over DICOMweb
(QIDO-RS + WADO-RS + the file import), against the file import of the same files.

    .venv/bin/python tests/benchmarks/bench_pacs_import.py [--cases 60] [--repeats 3]

Prints images/s for the resolve + retrieve phases alone (the PACS side, 4 parallel requests),
and end to end for both imports. OpenCV and BLAS are held to one thread, as in bench_import.py.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import statistics
import sys
import tempfile
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
    import pydicom
    from django.conf import settings

    from fixtures.phantom import generate_phantom_study
    from readerstudy.studies.importing import cases_import
    from readerstudy.studies.models import Study
    from readerstudy.studies.pacs import (
        endpoint_get,
        pacs_import,
        pacs_resolve,
        pacs_retrieve,
        worklist_parse,
    )
    from tests.orthanc import orthanc_start

    cv2.setNumThreads(1)
    root = scratch_dir()
    folder = root / "phantoms"
    generate_phantom_study(cases=args.cases, seed=7, out=folder, fmt="dicom")
    with (folder / "manifest.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    with orthanc_start(root / "orthanc") as orthanc:
        worklist_rows = []
        for row in rows:
            data = (folder / row["file"]).read_bytes()
            orthanc.upload(data)
            ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
            rest = {k: v for k, v in row.items() if k != "file"}
            worklist_rows.append(
                {
                    "study_instance_uid": ds.StudyInstanceUID,
                    "sop_instance_uid": ds.SOPInstanceUID,
                    **rest,
                }
            )
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(worklist_rows[0]))
        writer.writeheader()
        writer.writerows(worklist_rows)
        worklist = out.getvalue().encode()
        settings.PACS_ENDPOINTS = {
            "bench": {
                "url": orthanc.dicomweb, "username": orthanc.auth[0], "password": orthanc.auth[1],
                "token": "", "qido_prefix": None, "wado_prefix": None, "stow_prefix": None,
                "timeout": 30.0, "retries": 3,
            }
        }  # fmt: skip
        endpoint = endpoint_get("bench")
        fetch, pacs, files = [], [], []
        for repeat in range(args.repeats):
            _, parsed, _ = worklist_parse(worklist)
            started = time.perf_counter()
            instances, errors = pacs_resolve(endpoint=endpoint, rows=parsed)
            assert not errors, errors
            with tempfile.TemporaryDirectory() as tmp:
                pacs_retrieve(
                    endpoint=endpoint,
                    rows=parsed,
                    instances=[i for i in instances if i is not None],
                    folder=Path(tmp),
                )
            fetch.append(len(rows) / (time.perf_counter() - started))
            study = Study.objects.create(slug=f"bench-pacs-{repeat}", title="bench")
            started = time.perf_counter()
            summary = pacs_import(study=study, worklist=worklist, endpoint="bench", actor=None)
            pacs.append(summary.images / (time.perf_counter() - started))
            study = Study.objects.create(slug=f"bench-file-{repeat}", title="bench")
            started = time.perf_counter()
            summary = cases_import(study=study, path=folder, actor=None)
            files.append(summary.images / (time.perf_counter() - started))

    def line(name: str, rates: list[float]) -> str:
        runs = ", ".join(f"{r:.1f}" for r in rates)
        return f"  {name}: median {statistics.median(rates):.1f} images/s (runs: {runs})"

    print(f"{args.cases} phantom cases, {len(rows)} DICOM images (800x600) in Orthanc:")
    print(line("QIDO-RS + WADO-RS only (4 parallel)", fetch))
    print(line("PACS import end to end", pacs))
    print(line("file import of the same files", files))


if __name__ == "__main__":
    main()
