"""Importing phantom studies: de-identified, blanked, all or nothing, every error at once."""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from fixtures.phantom import generate_phantom_study
from readerstudy.errors import Conflict, ImportRejected
from readerstudy.studies import imaging
from readerstudy.studies.importing import cases_import
from readerstudy.studies.models import Case, CaseImage, Study
from tests.conftest import Personas
from tests.factories import StudyFactory


@pytest.fixture(scope="session")
def phantom_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("phantom")
    generate_phantom_study(cases=6, seed=11, out=out, fmt="dicom")
    return out


@pytest.fixture
def phantom(phantom_dir: Path, tmp_path: Path) -> Path:
    """A private copy each test may spoil."""
    copy = tmp_path / "import"
    shutil.copytree(phantom_dir, copy)
    return copy


def _rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "manifest.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def _write_rows(folder: Path, rows: list[dict[str, str]], fields: list[str] | None = None) -> None:
    fields = fields or list(rows[0])
    with (folder / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def _stored_files() -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(p) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _rejected(study: Study, path: Path) -> list[str]:
    with pytest.raises(ImportRejected) as rejected:
        cases_import(study=study, path=path, actor=None)
    assert Case.objects.filter(study=study).count() == 0
    assert _stored_files() == []
    return rejected.value.extra["errors"]


@pytest.mark.django_db
def test_a_phantom_study_imports_with_renditions_and_pseudonyms(phantom: Path) -> None:
    study = StudyFactory.create()
    summary = cases_import(study=study, path=phantom, actor=None)
    rows = _rows(phantom)
    assert summary.images == len(rows) == CaseImage.objects.filter(case__study=study).count()
    assert summary.cases == len({r["case_id"] for r in rows})
    image = CaseImage.objects.filter(case__study=study).first()
    assert image is not None
    for field in (image.original, image.display, image.thumbnail, image.model_input):
        assert default_storage.exists(str(field.name))
    patients = {r["patient_id"] for r in rows}
    pseudonyms = set(Case.objects.filter(study=study).values_list("patient_pseudonym", flat=True))
    assert len(pseudonyms) == len(patients)
    assert not pseudonyms & patients
    # the calipers' scale: the phantom's B-mode region says it in cm per pixel
    for stored, row in zip(
        CaseImage.objects.filter(case__study=study).order_by("case__key", "position"),
        sorted(rows, key=lambda r: r["case_id"]),
        strict=True,
    ):
        region = pydicom.dcmread(phantom / row["file"]).SequenceOfUltrasoundRegions[0]
        assert stored.spacing_source == "ultrasound_region"
        assert stored.spacing_x_mm == pytest.approx(float(region.PhysicalDeltaX) * 10)
        assert stored.spacing_y_mm == pytest.approx(float(region.PhysicalDeltaY) * 10)
        assert stored.frames == []
        assert stored.frame == 0


@pytest.mark.django_db
def test_no_identifying_tag_or_text_pixel_survives_in_any_stored_copy(phantom: Path) -> None:
    originals = {p.name: pydicom.dcmread(p) for p in phantom.rglob("*.dcm")}
    secrets = set()
    for ds in originals.values():
        for keyword in (
            "PatientName",
            "PatientID",
            "PatientBirthDate",
            "InstitutionName",
            "StudyDate",
            "AccessionNumber",
            "ReferringPhysicianName",
            "OperatorsName",
            "StudyInstanceUID",
            "SOPInstanceUID",
            "DeviceSerialNumber",
        ):
            value = str(ds.get(keyword, "") or "")
            if len(value) >= 4:
                secrets.add(value)
    study = StudyFactory.create()
    cases_import(study=study, path=phantom, actor=None)
    for image in CaseImage.objects.filter(case__study=study):
        stored = pydicom.dcmread(default_storage.open(str(image.original.name)))
        assert stored.PatientIdentityRemoved == "YES"
        assert stored.PatientID == image.case.patient_pseudonym
        text = " ".join(str(element.value) for element in stored.iterall() if element.VR != "OB")
        leaked = [secret for secret in secrets if secret in text]
        assert leaked == [], f"{image}: {leaked}"
        assert image.region_source == "dicom"
        # Outside the ultrasound region every rendition is black: the burned-in text is gone.
        region_box = (image.region_x, image.region_y, image.region_w, image.region_h)
        # Lossless original: exactly black; the JPEG display: only faint ringing at the edge
        # (burned-in text is drawn near full brightness).
        for field, margin, darkest in ((image.original, 0, 0), (image.display, 4, 40)):
            rgb = imaging.decode(default_storage.open(str(field.name)).read()).rgb
            scale = rgb.shape[1] / image.width
            outside = np.ones(rgb.shape[:2], dtype=bool)
            x, y, w, h = (round(v * scale) for v in region_box)  # type: ignore[operator,unused-ignore]
            outside[max(0, y - margin) : y + h + margin, max(0, x - margin) : x + w + margin] = (
                False
            )
            assert rgb[outside].max() <= darkest, f"text pixels outside the region of {field.name}"


@pytest.mark.django_db
def test_every_manifest_error_is_reported_at_once_and_nothing_is_written(phantom: Path) -> None:
    rows = _rows(phantom)
    rows[0]["truth"] = "maybe"
    rows[1]["cohort"] = "holdout"
    rows[2]["roi_w"] = "0"
    rows[3]["roi_x"] = "99999"
    # The last case moves to the first patient, in another cohort than that patient's first case.
    other_cohort = "train" if rows[0]["cohort"] != "train" else "validation"
    for row in rows:
        if row["case_id"] == rows[-1]["case_id"]:
            row.update(patient_id=rows[0]["patient_id"], cohort=other_cohort)
    rows.append(dict(rows[5]))  # the same (case, file) twice
    _write_rows(phantom, rows)
    errors = " | ".join(_rejected(StudyFactory.create(), phantom))
    assert "row 2: truth must be benign or malignant, not 'maybe'" in errors
    assert "row 3: cohort must be one of" in errors
    assert "row 4: roi_w must be at least 1" in errors
    assert "lies outside the" in errors
    assert "(cohorts are split by patient)" in errors
    assert f"row {len(rows) + 1}: case {rows[5]['case_id']} lists file" in errors


@pytest.mark.django_db
def test_missing_and_unknown_columns_are_named(phantom: Path) -> None:
    rows = _rows(phantom)
    for row in rows:
        del row["truth"]
        row["surgeon"] = "dr x"
    _write_rows(phantom, rows)
    errors = _rejected(StudyFactory.create(), phantom)
    assert errors[0] == "missing columns: truth"
    assert errors[1].startswith("unknown columns: surgeon")


@pytest.mark.django_db
def test_missing_unlisted_and_unreadable_files_are_errors(phantom: Path) -> None:
    rows = _rows(phantom)
    (phantom / rows[0]["file"]).unlink()
    (phantom / "images" / "stray.dcm").write_bytes(b"not really")
    (phantom / rows[1]["file"]).write_bytes(b"plain text, not an image")
    errors = " | ".join(_rejected(StudyFactory.create(), phantom))
    assert f"file {rows[0]['file']} is listed in the manifest but missing" in errors
    assert "1 file(s) not listed in the manifest: images/stray.dcm" in errors
    assert f"row 3 ({rows[1]['file']}): not an image" in errors


@pytest.mark.django_db
def test_truncated_and_pixel_less_dicom_are_errors(phantom: Path) -> None:
    rows = _rows(phantom)
    first = phantom / rows[0]["file"]
    first.write_bytes(first.read_bytes()[:4000])
    second = phantom / rows[1]["file"]
    ds = pydicom.dcmread(second)
    del ds.PixelData
    ds.save_as(second)
    errors = " | ".join(_rejected(StudyFactory.create(), phantom))
    assert "row 2" in errors
    assert "row 3" in errors
    assert "no pixel data" in errors


@pytest.mark.django_db
def test_a_case_already_in_the_study_is_refused(phantom: Path) -> None:
    study = StudyFactory.create()
    cases_import(study=study, path=phantom, actor=None)
    files_before = _stored_files()
    with pytest.raises(ImportRejected) as rejected:
        cases_import(study=study, path=phantom, actor=None)
    assert "is already in study" in rejected.value.extra["errors"][0]
    assert _stored_files() == files_before  # shared content-hashed files are never removed


def _zip(folder: Path, target: Path, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"study/{path.relative_to(folder).as_posix()}")
        for name, payload in (extra or {}).items():
            archive.writestr(name, payload)
    return target


@pytest.mark.django_db
def test_a_zip_with_a_top_folder_imports(phantom: Path, tmp_path: Path) -> None:
    study = StudyFactory.create()
    summary = cases_import(study=study, path=_zip(phantom, tmp_path / "s.zip"), actor=None)
    assert summary.images == len(_rows(phantom))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../../etc/evil.dcm", "would escape"),
        ("/abs/evil.dcm", "would escape"),
        ("a\\b.dcm", "unsafe"),
    ],
)
def test_path_traversal_in_zip_member_names_is_refused(
    phantom: Path, tmp_path: Path, name: str, message: str
) -> None:
    archive = _zip(phantom, tmp_path / "s.zip", extra={name: b"x"})
    with pytest.raises(ImportRejected, match=message):
        cases_import(study=StudyFactory.create(), path=archive, actor=None)
    assert _stored_files() == []


@pytest.mark.django_db
def test_a_zip_bomb_and_too_many_files_are_refused(
    phantom: Path, tmp_path: Path, settings: object
) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.csv", "patient_id\n")
        archive.writestr("images/zeros.dcm", b"\0" * (64 << 20))
    with pytest.raises(ImportRejected, match="zip bomb"):
        cases_import(study=StudyFactory.create(), path=bomb, actor=None)
    settings.IMPORT_MAX_FILES = 3  # type: ignore[attr-defined]
    with pytest.raises(ImportRejected, match="more than 3 files"):
        cases_import(
            study=StudyFactory.create(), path=_zip(phantom, tmp_path / "s.zip"), actor=None
        )


@pytest.mark.django_db
def test_absurd_image_dimensions_are_refused(phantom: Path) -> None:
    rows = _rows(phantom)
    target = phantom / rows[0]["file"]
    ds = pydicom.dcmread(target)
    ds.Rows = 60000
    ds.save_as(target)
    errors = " | ".join(_rejected(StudyFactory.create(), phantom))
    assert "absurd image dimensions" in errors


@pytest.mark.django_db
def test_jpeg_phantoms_import_with_a_detected_region(tmp_path: Path) -> None:
    out = tmp_path / "jpeg"
    generate_phantom_study(cases=3, seed=5, out=out, fmt="jpeg")
    study = StudyFactory.create()
    cases_import(study=study, path=out, actor=None)
    sources = set(
        CaseImage.objects.filter(case__study=study).values_list("region_source", flat=True)
    )
    assert sources == {"detected"}
    assert set(
        CaseImage.objects.filter(case__study=study).values_list("spacing_x_mm", flat=True)
    ) == {None}


@pytest.mark.django_db
def test_a_cine_stores_every_frame_blanked_and_the_model_keeps_the_middle_one(
    tmp_path: Path,
) -> None:
    from pydicom.data import get_testdata_file

    source = get_testdata_file("examples_ybr_color.dcm", download=False)
    if source is None:
        pytest.skip("pydicom's cine example is not present locally")
    folder = tmp_path / "cine"
    folder.mkdir()
    shutil.copy(source, folder / "cine.dcm")
    _write_rows(folder, [{
        "patient_id": "P9", "case_id": "CINE", "file": "cine.dcm", "truth": "benign",
        "cohort": "internal_test", "roi_x": "100", "roi_y": "80", "roi_w": "60", "roi_h": "50",
        "region_x": "20", "region_y": "10", "region_w": "280", "region_h": "220",
    }])  # fmt: skip
    study = StudyFactory.create()
    cases_import(study=study, path=folder, actor=None)
    image = CaseImage.objects.get(case__study=study)
    assert len(image.frames) == 30
    assert image.frame == 15
    middle = imaging.decode(default_storage.open(image.frames[15]).read()).rgb.astype(int)
    shown = imaging.decode(default_storage.open(str(image.display.name)).read()).rgb.astype(int)
    assert np.abs(middle - shown).mean() < 4  # the same frame, at the two qualities
    for name in (image.frames[0], image.frames[29]):
        frame = imaging.decode(default_storage.open(name).read()).rgb
        assert frame[:5].max() < 12
        assert frame[:, :15].max() < 12
    header = imaging.physical_spacing(pydicom.dcmread(source))
    assert header is not None
    assert image.spacing_x_mm == pytest.approx(header.x_mm)


@pytest.mark.django_db
def test_the_command_imports_and_creates_the_study(phantom: Path) -> None:
    call_command("import_cases", "fresh", str(phantom), "--create", verbosity=0)
    assert Study.objects.get(slug="fresh").cases.count() == len(
        {r["case_id"] for r in _rows(phantom)}
    )
    with pytest.raises(CommandError, match="pass --create"):
        call_command("import_cases", "absent", str(phantom), verbosity=0)


@pytest.mark.django_db
def test_the_command_prints_every_error(phantom: Path) -> None:
    rows = _rows(phantom)
    rows[0]["truth"] = "?"
    _write_rows(phantom, rows)
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_cases", "fresh", str(phantom), "--create", stderr=err, verbosity=0)
    assert "row 2: truth must be benign or malignant" in err.getvalue()


def _no_sector_png(path: Path) -> None:
    """A black picture with only text: no ultrasound region can be found in it."""
    import cv2

    canvas = np.zeros((300, 400, 3), dtype=np.uint8)
    cv2.putText(
        canvas, "DOE, JANE  ID 12345", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2
    )
    cv2.imwrite(str(path), canvas)


@pytest.mark.django_db
def test_an_image_without_a_region_is_flagged_blocks_reading_until_a_coordinator_sets_it(
    personas: Personas, tmp_path: Path
) -> None:
    from readerstudy.reading.models import Round
    from readerstudy.reading.services import round_open
    from readerstudy.studies.regions import case_image_region_set

    folder = tmp_path / "flagged"
    folder.mkdir()
    _no_sector_png(folder / "a.png")
    (folder / "manifest.csv").write_text(
        "patient_id,case_id,file,truth,cohort,roi_x,roi_y,roi_w,roi_h\n"
        "P1,C1,a.png,benign,internal_test,120,120,80,80\n"
    )
    study = personas.study
    summary = cases_import(study=study, path=folder, actor=None)
    assert summary.needs_review == 1
    image = CaseImage.objects.get(case__study=study)
    assert image.needs_review
    assert not image.display
    round_1 = Round.objects.create(study=study, index=1, assisted=False)
    with pytest.raises(Conflict, match="need review"):
        round_open(round=round_1, actor=personas.alice)
    with pytest.raises(Conflict, match="inside the 400×300 image"):
        case_image_region_set(image=image, box=(90, 90, 400, 200), actor=personas.alice)
    image = case_image_region_set(image=image, box=(95, 95, 210, 170), actor=personas.alice)
    assert not image.needs_review
    assert image.region_source == "manual"
    rgb = imaging.decode(default_storage.open(str(image.display.name)).read()).rgb
    assert rgb[:60].max() <= 40  # the burned-in name is gone
    assert round_open(round=round_1, actor=personas.alice).status == "open"


@pytest.mark.django_db
def test_the_sample_under_fixtures_imports(tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parents[2] / "fixtures" / "sample"
    summary = cases_import(study=StudyFactory.create(), path=sample, actor=None)
    assert summary.images == len(_rows(sample))


@pytest.mark.django_db
def test_an_uploaded_zip_is_imported_by_the_task_with_progress_and_errors(
    personas: Personas, phantom: Path, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    from django.test import Client

    from readerstudy.studies.models import ImportJob
    from readerstudy.studies.tasks import import_run
    from tests.conftest import PASSWORD

    alice, bob = Client(), Client()
    assert alice.login(username="alice", password=PASSWORD)
    assert bob.login(username="bob", password=PASSWORD)
    archive = _zip(phantom, tmp_path / "upload.zip")
    url = f"/api/studies/{personas.study.slug}/imports/"
    with archive.open("rb") as handle:
        # Imports are the coordinator's: to a reader the URL names nothing.
        assert bob.post(url, {"archive": handle}).status_code == 404
    with django_capture_on_commit_callbacks(execute=False) as queued, archive.open("rb") as handle:
        response = alice.post(url, {"archive": handle})
    assert response.status_code == 202
    assert len(queued) == 1
    job_id = response.json()["id"]
    assert import_run(job_pk=job_id) == "succeeded"
    assert import_run(job_pk=job_id) == "succeeded"  # a re-delivered task does nothing twice
    job = alice.get(f"/api/imports/{job_id}/").json()
    assert job["done_images"] == job["total_images"] == len(_rows(phantom))
    assert job["summary"]["images"] == len(_rows(phantom))
    assert not ImportJob.objects.get(pk=job_id).upload  # the upload is not kept
    not_zip = tmp_path / "notes.txt"
    not_zip.write_text("hello")
    with not_zip.open("rb") as handle:
        refused = alice.post(url, {"archive": handle})
    assert refused.status_code == 400
    assert "zip" in refused.json()["message"]
