"""AI results back as DICOM: stored into a real Orthanc by STOW-RS and read back (QIDO, WADO)."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pydicom
import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client

from inference.worker.dicom_export import case_ai_dicom, case_ai_push, heatmap_overlay
from inference.worker.models import ModelVersion, Prediction
from readerstudy.audit.models import AuditEvent
from readerstudy.studies.importing import cases_import
from readerstudy.studies.models import Case, CaseImage, Study
from readerstudy.studies.pacs import client_make, endpoint_get
from tests.conftest import PASSWORD, Personas
from tests.factories import StudyFactory
from tests.orthanc import Orthanc
from tests.pacs.conftest import ENDPOINT

pytestmark = pytest.mark.django_db


def _heatmap(image: CaseImage) -> np.ndarray:
    """A heatmap peaked on the lesion box, at display size (as precompute stores it)."""
    with image.display.open("rb") as handle:
        display = cv2.imdecode(np.frombuffer(handle.read(), np.uint8), cv2.IMREAD_COLOR)
    assert display is not None
    height, width = display.shape[:2]
    scale = width / image.width
    cx, cy = (image.roi_x + image.roi_w / 2) * scale, (image.roi_y + image.roi_h / 2) * scale
    yy, xx = np.mgrid[0:height, 0:width]
    peak = np.exp(-(((xx - cx) / (0.3 * width)) ** 2 + ((yy - cy) / (0.3 * height)) ** 2))
    return (255 * peak).astype(np.uint8)


@pytest.fixture
def predicted(phantom_dir: Path) -> Study:
    """An imported phantom study whose model predicted every image of its cases."""
    study = StudyFactory.create()
    cases_import(study=study, path=phantom_dir, actor=None)
    version = ModelVersion.objects.create(
        name="resnet18-test", architecture="resnet18", checkpoint="x.pt", checkpoint_sha256="0" * 64
    )
    study.ai_model = version
    study.save(update_fields=["ai_model"])
    for index, image in enumerate(CaseImage.objects.filter(case__study=study)):
        ok, png = cv2.imencode(".png", _heatmap(image))
        assert ok
        name = default_storage.save(f"predictions/test/{image.pk}.png", ContentFile(png.tobytes()))
        Prediction.objects.create(
            image=image, model_version=version, probability=0.1 + 0.05 * index, heatmap=name
        )
    return study


def test_the_ai_results_join_the_de_identified_study_as_a_secondary_capture_and_an_sr(
    predicted: Study,
) -> None:
    case = Case.objects.filter(study=predicted).order_by("key").first()
    assert case is not None
    exported = case_ai_dicom(case=case)
    assert len(exported) == case.images.count()
    for item in exported:
        with item.image.original.open("rb") as handle:
            original = pydicom.dcmread(handle)
        sc, sr = item.secondary_capture, item.report
        for ds in (sc, sr):
            assert ds.StudyInstanceUID == original.StudyInstanceUID  # the de-identified study
            assert ds.PatientID == original.PatientID == case.patient_pseudonym
            assert ds.SeriesInstanceUID != original.SeriesInstanceUID
        assert sc.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture Image Storage
        assert (sc.Rows, sc.Columns, sc.SamplesPerPixel) == (*sc.pixel_array.shape[:2], 3)
        # the heatmap is really over the image: hotter (redder) at the lesion than far from it
        pixels = sc.pixel_array.astype(int)
        heat = _heatmap(item.image)
        hot, cold = (
            np.unravel_index(heat.argmax(), heat.shape),
            np.unravel_index(heat.argmin(), heat.shape),
        )
        assert pixels[hot][0] - pixels[hot][2] > pixels[cold][0] - pixels[cold][2]
        # the SR holds the probability, in per cent, and references the image
        number = next(i for i in sr.ContentSequence if i.ValueType == "NUM")
        value = float(number.MeasuredValueSequence[0].NumericValue)
        assert value == pytest.approx(item.prediction.probability * 100, abs=0.01)
        assert (
            sr.CurrentRequestedProcedureEvidenceSequence[0].StudyInstanceUID
            == original.StudyInstanceUID
        )
    # derived UIDs: exporting twice gives the same instances
    again = case_ai_dicom(case=case)
    assert [e.secondary_capture.SOPInstanceUID for e in again] == [
        e.secondary_capture.SOPInstanceUID for e in exported
    ]


def test_overlay_keeps_the_image_where_the_heatmap_is_cold() -> None:
    image = np.full((4, 4, 3), 200, np.uint8)
    cold = heatmap_overlay(display_rgb=image, heatmap=np.zeros((4, 4), np.uint8))
    hot = heatmap_overlay(display_rgb=image, heatmap=np.full((4, 4), 255, np.uint8))
    assert cold[0, 0, 2] > cold[0, 0, 0]  # JET's cold end is blue
    assert hot[0, 0, 0] > hot[0, 0, 2]  # its hot end is red


def test_stow_rs_stores_the_results_in_orthanc_and_qido_and_wado_read_them_back(
    orthanc: Orthanc, predicted: Study, settings: Any
) -> None:
    case = Case.objects.filter(study=predicted).order_by("key").first()
    assert case is not None
    uids = case_ai_push(case=case, endpoint=ENDPOINT, actor=None)
    assert len(uids) == 2 * case.images.count()
    case_ai_push(case=case, endpoint=ENDPOINT, actor=None)  # pushing again stores nothing new
    client = client_make(endpoint_get(ENDPOINT))
    exported = case_ai_dicom(case=case)
    study_uid = exported[0].secondary_capture.StudyInstanceUID
    found = client.search_for_instances(study_instance_uid=study_uid)
    assert sorted(r["00080018"]["Value"][0] for r in found) == sorted(uids)
    for item in exported:
        sc, sr = item.secondary_capture, item.report
        back = client.retrieve_instance(study_uid, sc.SeriesInstanceUID, sc.SOPInstanceUID)
        assert np.array_equal(back.pixel_array, sc.pixel_array)
        report = client.retrieve_instance(study_uid, sr.SeriesInstanceUID, sr.SOPInstanceUID)
        number = next(i for i in report.ContentSequence if i.ValueType == "NUM")
        assert float(number.MeasuredValueSequence[0].NumericValue) == pytest.approx(
            item.prediction.probability * 100, abs=0.01
        )
    # a viewer gets a rendered frame of the capture (Orthanc's REST rendering of the instance)
    orthanc_ids = requests.post(
        f"{orthanc.url}/tools/lookup",
        data=str(exported[0].secondary_capture.SOPInstanceUID),
        auth=orthanc.auth,
        timeout=10,
    ).json()
    png = requests.get(
        f"{orthanc.url}/instances/{orthanc_ids[0]['ID']}/preview", auth=orthanc.auth, timeout=10
    )
    assert png.headers["Content-Type"] == "image/png"
    assert cv2.imdecode(np.frombuffer(png.content, np.uint8), cv2.IMREAD_COLOR) is not None
    assert AuditEvent.objects.filter(action="ai.exported_to_pacs", study=predicted).count() == 2


def test_export_ai_dicom_command_writes_files_and_pushes(
    orthanc: Orthanc, predicted: Study, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "export"
    call_command("export_ai_dicom", predicted.slug, "--out", str(out))
    files = sorted(out.rglob("*.dcm"))
    assert len(files) == 2 * CaseImage.objects.filter(case__study=predicted).count()
    assert all(pydicom.dcmread(BytesIO(f.read_bytes())).Modality in ("OT", "SR") for f in files)
    call_command("export_ai_dicom", predicted.slug, "--endpoint", ENDPOINT)
    assert "Stored" in capsys.readouterr().out


def test_the_coordinator_pushes_a_case_through_the_api(
    orthanc: Orthanc, predicted: Study, personas: Personas
) -> None:
    from readerstudy.studies.models import StaffRole, StudyMembership

    StudyMembership.objects.create(study=predicted, user=personas.alice, role=StaffRole.COORDINATOR)
    client = Client()
    assert client.login(username="alice", password=PASSWORD)
    case = Case.objects.filter(study=predicted).order_by("key").first()
    assert case is not None
    url = f"/api/cases/{case.pk}/ai-dicom/"
    missing = client.post(url, {"endpoint": "nowhere"}, content_type="application/json")
    assert missing.status_code == 400
    answer = client.post(url, {"endpoint": ENDPOINT}, content_type="application/json")
    assert answer.status_code == 200, answer.content
    uids = answer.json()["instances"]
    found = client_make(endpoint_get(ENDPOINT)).search_for_instances(
        search_filters={"SOPInstanceUID": uids[0]}
    )
    assert len(found) == 1
