"""Importing from a real Orthanc over DICOMweb gives what the file import of the same files gives."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pydicom
import pytest
from django.core.management import CommandError, call_command

from readerstudy.errors import ImportRejected
from readerstudy.studies.importing import cases_import
from readerstudy.studies.models import Case, CaseImage, Study
from readerstudy.studies.pacs import pacs_import
from tests.factories import StudyFactory
from tests.orthanc import FlakyProxy, Orthanc
from tests.pacs.conftest import ENDPOINT, endpoint_config, manifest_rows, worklist_bytes

pytestmark = pytest.mark.django_db


def _upload_all(orthanc: Orthanc, folder: Path) -> None:
    for row in manifest_rows(folder):
        orthanc.upload((folder / row["file"]).read_bytes())


def _worklist(folder: Path, *, by: str = "uid") -> list[dict[str, str]]:
    """The manifest with `file` replaced by the image's UIDs (or accession number + SOP UID)."""
    rows = []
    for index, row in enumerate(manifest_rows(folder)):
        ds = pydicom.dcmread(folder / row["file"], stop_before_pixels=True)
        rest = {k: v for k, v in row.items() if k != "file"}
        if by == "accession" or (by == "mixed" and index % 2):
            ids = {"accession_number": ds.AccessionNumber, "sop_instance_uid": ds.SOPInstanceUID}
        else:
            ids = {
                "study_instance_uid": ds.StudyInstanceUID,
                "series_instance_uid": ds.SeriesInstanceUID,
                "sop_instance_uid": ds.SOPInstanceUID,
            }
        rows.append({**ids, **rest})
    fields = sorted({k for r in rows for k in r})
    return [{k: r.get(k, "") for k in fields} for r in rows]


def _content(name: str | None) -> str:
    """A stored file's content-hashed name without its study folder."""
    return (name or "").rsplit("/", 1)[-1]


def _snapshot(study: Study) -> list[tuple[Any, ...]]:
    images = CaseImage.objects.filter(case__study=study).select_related("case")
    return sorted(
        (
            image.case.key,
            image.case.patient_pseudonym,
            image.case.cohort,
            image.case.truth_malignant,
            image.case.histology,
            image.case.margin,
            image.position,
            image.width,
            image.height,
            (image.roi_x, image.roi_y, image.roi_w, image.roi_h),
            (image.region_x, image.region_y, image.region_w, image.region_h, image.region_source),
            image.needs_review,
            _content(image.original.name),
            _content(image.display.name),
            _content(image.thumbnail.name),
            _content(image.model_input.name),
        )
        for image in images
    )


def test_dicomweb_import_gives_the_same_cases_files_and_renditions_as_the_file_import(
    orthanc: Orthanc, phantom_dir: Path
) -> None:
    _upload_all(orthanc, phantom_dir)
    from_files = StudyFactory.create(slug="from-files")
    from_pacs = StudyFactory.create(slug="from-pacs", pseudonym_secret=from_files.pseudonym_secret)
    by_file = cases_import(study=from_files, path=phantom_dir, actor=None)
    phases: dict[str, int] = {}
    by_pacs = pacs_import(
        study=from_pacs,
        worklist=worklist_bytes(_worklist(phantom_dir, by="mixed")),
        endpoint=ENDPOINT,
        actor=None,
        progress=lambda phase, done, total: phases.__setitem__(phase, done),
    )
    assert (by_pacs.cases, by_pacs.images) == (by_file.cases, by_file.images) == (6, by_file.images)
    assert _snapshot(from_pacs) == _snapshot(from_files)
    n = by_file.images
    assert phases == {"resolving": n, "retrieving": n, "importing": n}
    # what is stored is the de-identified file, with the de-identified study's UIDs
    image = CaseImage.objects.filter(case__study=from_pacs).first()
    assert image is not None
    with image.original.open("rb") as handle:
        stored = pydicom.dcmread(handle)
    assert stored.PatientIdentityRemoved == "YES"
    originals = {
        pydicom.dcmread(phantom_dir / r["file"]).StudyInstanceUID
        for r in manifest_rows(phantom_dir)
    }
    assert stored.StudyInstanceUID not in originals


def test_a_row_the_pacs_does_not_have_is_reported_with_its_row_and_nothing_is_imported(
    orthanc: Orthanc, phantom_dir: Path
) -> None:
    _upload_all(orthanc, phantom_dir)
    rows = _worklist(phantom_dir)
    rows[1]["sop_instance_uid"] = "1.2.3.4.5.6.7.8.9"
    rows[3]["sop_instance_uid"] = ""  # the series has several views: which one?
    truth, rows[4]["truth"] = rows[4]["truth"], "maybe"
    study = StudyFactory.create()
    with pytest.raises(ImportRejected) as caught:
        pacs_import(study=study, worklist=worklist_bytes(rows), endpoint=ENDPOINT, actor=None)
    errors = caught.value.extra["errors"]
    # a bad value is found before the PACS is asked; then every row's resolution at once
    assert any(e.startswith("row 6:") and "truth" in e for e in errors), errors
    rows[4]["truth"] = truth
    with pytest.raises(ImportRejected) as caught:
        pacs_import(study=study, worklist=worklist_bytes(rows), endpoint=ENDPOINT, actor=None)
    errors = caught.value.extra["errors"]
    assert errors == [
        "row 3: the PACS has no image for SOPInstanceUID 1.2.3.4.5.6.7.8.9",
        f"row 5: SeriesInstanceUID {rows[3]['series_instance_uid']} names more than one image in "
        "the PACS; add its sop_instance_uid (a row is one image, with its lesion box)",
    ]
    assert not Case.objects.filter(study=study).exists()


def test_an_unknown_endpoint_and_an_unreachable_pacs_are_clear_errors(
    orthanc: Orthanc, phantom_dir: Path, settings: Any
) -> None:
    study = StudyFactory.create()
    worklist = worklist_bytes(_worklist(phantom_dir))
    with pytest.raises(ImportRejected, match="No PACS endpoint named 'elsewhere'"):
        pacs_import(study=study, worklist=worklist, endpoint="elsewhere", actor=None)
    settings.PACS_ENDPOINTS = {
        "down": endpoint_config(orthanc, url="http://127.0.0.1:9/dicom-web", timeout=2.0)
    }
    started = time.monotonic()
    with pytest.raises(ImportRejected, match="The PACS 'down' did not answer"):
        pacs_import(study=study, worklist=worklist, endpoint="down", actor=None)
    assert time.monotonic() - started > 0.5  # it retried with backoff before giving up


@pytest.mark.parametrize("reset", [False, True], ids=["503", "connection-reset"])
def test_transient_failures_are_retried_and_the_import_completes(
    orthanc: Orthanc, phantom_dir: Path, settings: Any, reset: bool
) -> None:
    _upload_all(orthanc, phantom_dir)
    with FlakyProxy(orthanc.url, reset=reset) as proxy:
        settings.PACS_ENDPOINTS = {"flaky": endpoint_config(orthanc, url=f"{proxy.url}/dicom-web")}
        summary = pacs_import(
            study=StudyFactory.create(),
            worklist=worklist_bytes(_worklist(phantom_dir)),
            endpoint="flaky",
            actor=None,
        )
    assert summary.cases == 6
    # every search and every retrieval failed once, and was retried
    assert proxy.failed == 2 * summary.images
    assert proxy.requests == 2 * proxy.failed


def test_wrong_credentials_are_refused_per_row(
    orthanc: Orthanc, phantom_dir: Path, settings: Any
) -> None:
    settings.PACS_ENDPOINTS = {ENDPOINT: endpoint_config(orthanc, password="wrong")}
    with pytest.raises(ImportRejected) as caught:
        pacs_import(
            study=StudyFactory.create(),
            worklist=worklist_bytes(_worklist(phantom_dir)[:1]),
            endpoint=ENDPOINT,
            actor=None,
        )
    assert caught.value.extra["errors"] == [
        "row 2: the PACS refused the search for SOPInstanceUID "
        f"{_worklist(phantom_dir)[0]['sop_instance_uid']} (401)"
    ]


def test_import_pacs_command_creates_the_study_and_reports_throughput(
    orthanc: Orthanc, phantom_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _upload_all(orthanc, phantom_dir)
    worklist = tmp_path / "worklist.csv"
    worklist.write_bytes(worklist_bytes(_worklist(phantom_dir, by="accession")))
    with pytest.raises(CommandError, match="No study 'pacs-new'"):
        call_command("import_pacs", "pacs-new", "--worklist", str(worklist), "--endpoint", ENDPOINT)
    call_command(
        "import_pacs", "pacs-new", "--worklist", str(worklist), "--endpoint", ENDPOINT, "--create"
    )
    assert "images/s" in capsys.readouterr().out
    assert Case.objects.filter(study__slug="pacs-new").count() == 6
    shutil.rmtree(tmp_path, ignore_errors=True)
