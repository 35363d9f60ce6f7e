"""End to end: one corrupt file or manifest cell rejects the whole import, and nothing stays."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.phantom import generate_phantom_study
from readerstudy.errors import ImportRejected
from readerstudy.studies.importing import cases_import
from readerstudy.studies.models import Case, CaseImage
from tests.factories import StudyFactory

BAD_CELLS = {
    "truth": ["maybe", ""],
    "cohort": ["holdout", "\x00"],
    "roi_x": ["-1", "nan", "99999"],
    "roi_w": ["0", "1e3", "x" * 200_000],
    "file": ["images/none.dcm", "../manifest.csv"],
    "max_diameter_mm": ["0.01", "inf", "-3"],
    "case_id": ["c" * 65],
}


@pytest.fixture(scope="module")
def phantom_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("phantom")
    generate_phantom_study(cases=2, seed=3, out=out, fmt="dicom")
    return out


@st.composite
def corruptions(draw: st.DrawFn) -> tuple[str, int, str, str | int]:
    if draw(st.booleans()):
        column = draw(st.sampled_from(sorted(BAD_CELLS)))
        return "cell", draw(st.integers(0, 20)), column, draw(st.sampled_from(BAD_CELLS[column]))
    return "file", draw(st.integers(0, 20)), draw(st.sampled_from(["truncate", "zero"])), 0


def stored_files() -> list[Path]:
    root = Path(django_settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.slow
@pytest.mark.django_db
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(corruptions())
def test_one_corruption_rejects_the_import_and_leaves_nothing(
    phantom_dir: Path, tmp_path: Path, corruption: tuple[str, int, str, str | int]
) -> None:
    kind, index, what, value = corruption
    folder = tmp_path / "import"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(phantom_dir, folder)
    with (folder / "manifest.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    row = rows[index % len(rows)]
    if kind == "cell":
        row[what] = str(value)
        with (folder / "manifest.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    else:
        path = folder / row["file"]
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] if what == "truncate" else b"\x00" * len(data))
    study = StudyFactory.create()
    with pytest.raises(ImportRejected) as rejected:
        cases_import(study=study, path=folder, actor=None)
    assert rejected.value.extra["errors"]
    assert not Case.objects.filter(study=study).exists()
    assert not CaseImage.objects.filter(case__study=study).exists()
    assert stored_files() == []
