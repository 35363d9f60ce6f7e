"""AI results back as DICOM: a case's heatmaps over its images and its probability, for a PACS.

Per image with a prediction of the study's model: a Secondary Capture (highdicom) of the AI
heatmap blended over the de-identified display rendition, with the probability and the model in
its series description and derivation text, and a Comprehensive SR (highdicom) holding the
image's probability of malignancy as a numeric measurement, referencing the image. Both copy
patient and study from the stored de-identified original, so they join the de-identified study
(same StudyInstanceUID, pseudonymous patient) — never the source study. Their UIDs are derived
from (image, model version), so pushing twice stores the same instances, not new ones.

A coordinator's action: readers never reach it (it would reveal the AI outside an assisted round).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from readerstudy.accounts.models import User
from readerstudy.audit.services import audit_record
from readerstudy.errors import Conflict
from readerstudy.studies.models import Case, CaseImage

if TYPE_CHECKING:
    import numpy as np
    import pydicom

    from inference.worker.models import ModelVersion, Prediction

MANUFACTURER = "readerstudy"
SERIES_NUMBER_SC, SERIES_NUMBER_SR = 9001, 9002
HEATMAP_WEIGHT = 0.4  # the heatmap's share in the blend; the image stays readable beneath


@dataclass(frozen=True)
class Exported:
    image: CaseImage
    prediction: Prediction
    secondary_capture: pydicom.Dataset
    report: pydicom.Dataset


def _uid(*parts: object) -> str:
    from pydicom.uid import PYDICOM_ROOT_UID, generate_uid

    return str(generate_uid(PYDICOM_ROOT_UID, entropy_srcs=[str(p) for p in parts]))


def _read_dicom(name: str) -> pydicom.Dataset:
    import pydicom
    from django.core.files.storage import default_storage

    with default_storage.open(name, "rb") as handle:
        return pydicom.dcmread(handle)


def _read_image(name: str, flags: int) -> np.ndarray:
    import cv2
    import numpy as np
    from django.core.files.storage import default_storage

    with default_storage.open(name, "rb") as handle:
        data = np.frombuffer(handle.read(), dtype=np.uint8)
    decoded = cv2.imdecode(data, flags)
    if decoded is None:
        raise Conflict(f"{name} could not be decoded")
    return decoded


def heatmap_overlay(*, display_rgb: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """The heatmap (8 bits, display size) in the JET colour map, blended over the image (RGB)."""
    import cv2

    if heatmap.shape[:2] != display_rgb.shape[:2]:
        heatmap = cv2.resize(heatmap, (display_rgb.shape[1], display_rgb.shape[0]))
    colour = cv2.cvtColor(cv2.applyColorMap(heatmap, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    return cv2.addWeighted(display_rgb, 1 - HEATMAP_WEIGHT, colour, HEATMAP_WEIGHT, 0.0)


def _secondary_capture(
    *, ref: pydicom.Dataset, pixels: np.ndarray, image: CaseImage, prediction: Prediction
) -> pydicom.Dataset:
    import highdicom as hd
    from pydicom.uid import ExplicitVRLittleEndian

    version = prediction.model_version
    sc = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=ref,
        pixel_array=pixels,
        photometric_interpretation=hd.PhotometricInterpretationValues.RGB,
        bits_allocated=8,
        coordinate_system=hd.CoordinateSystemNames.PATIENT,
        # highdicom requires an orientation for the patient frame; ultrasound has none, so the
        # placeholder is replaced below by the original's value or left empty (Type 2C)
        patient_orientation=("L", "F"),
        series_instance_uid=_uid("ai-sc-series", ref.StudyInstanceUID, version.pk),
        series_number=SERIES_NUMBER_SC,
        sop_instance_uid=_uid("ai-sc", ref.SOPInstanceUID, version.pk),
        instance_number=image.position + 1,
        manufacturer=MANUFACTURER,
        transfer_syntax_uid=ExplicitVRLittleEndian,
    )
    sc.PatientOrientation = ref.get("PatientOrientation", "")
    sc.SeriesDescription = f"AI heatmap ({version.name}, {version.architecture})"[:64]
    sc.ImageComments = (
        f"AI probability of malignancy {prediction.probability:.3f} "
        f"(model {version.name}); Grad-CAM heatmap over the de-identified image"
    )
    sc.BurnedInAnnotation = "NO"
    sc.DerivationDescription = "Grad-CAM heatmap blended over the de-identified display image"
    return sc


def _report(*, ref: pydicom.Dataset, image: CaseImage, prediction: Prediction) -> pydicom.Dataset:
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.sr.coding import Code

    version = prediction.model_version
    probability = hd.sr.NumContentItem(
        name=Code("RID50182", "RADLEX", "Probability of malignancy"),
        value=round(prediction.probability * 100, 2),
        unit=codes.UCUM.Percent,
        relationship_type=hd.sr.RelationshipTypeValues.CONTAINS,
    )
    source = hd.sr.CompositeContentItem(
        name=codes.DCM.SourceImageForImageProcessingOperation,
        referenced_sop_class_uid=ref.SOPClassUID,
        referenced_sop_instance_uid=ref.SOPInstanceUID,
        relationship_type=hd.sr.RelationshipTypeValues.CONTAINS,
    )
    algorithm = hd.sr.TextContentItem(
        name=codes.DCM.AlgorithmName,
        value=f"{version.name} ({version.architecture})"[:64],
        relationship_type=hd.sr.RelationshipTypeValues.CONTAINS,
    )
    root = hd.sr.ContainerContentItem(name=codes.DCM.ImagingMeasurementReport, template_id="1500")
    root.ContentSequence = hd.sr.ContentSequence([probability, algorithm, source])
    return hd.sr.ComprehensiveSR(
        evidence=[ref],
        content=root,
        series_instance_uid=_uid("ai-sr-series", ref.StudyInstanceUID, version.pk),
        series_number=SERIES_NUMBER_SR,
        sop_instance_uid=_uid("ai-sr", ref.SOPInstanceUID, version.pk),
        instance_number=image.position + 1,
        manufacturer=MANUFACTURER,
        series_description=f"AI probability ({version.name})"[:64],
        is_complete=True,
        is_final=True,
    )


def case_ai_dicom(*, case: Case, model_version: ModelVersion | None = None) -> list[Exported]:
    """The Secondary Capture and SR of every predicted DICOM image of the case."""
    import cv2

    from inference.worker.models import Prediction

    version = model_version or case.study.ai_model
    if version is None:
        raise Conflict("The study has no AI model: set one before exporting its results.")
    predictions = (
        Prediction.objects.filter(image__case=case, model_version=version)
        .select_related("image", "model_version")
        .order_by("image__position")
    )
    exported = []
    for prediction in predictions:
        image = prediction.image
        if not (image.original.name or "").endswith(".dcm") or not image.display.name:
            continue  # a JPEG/PNG original has no study to join
        ref = _read_dicom(image.original.name or "")
        display = cv2.cvtColor(_read_image(image.display.name, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        heatmap = _read_image(prediction.heatmap.name or "", cv2.IMREAD_GRAYSCALE)
        pixels = heatmap_overlay(display_rgb=display, heatmap=heatmap)
        exported.append(
            Exported(
                image=image,
                prediction=prediction,
                secondary_capture=_secondary_capture(
                    ref=ref, pixels=pixels, image=image, prediction=prediction
                ),
                report=_report(ref=ref, image=image, prediction=prediction),
            )
        )
    if not exported:
        raise Conflict(
            f"Case {case.key} has no AI output on a DICOM image for model {version.name}."
        )
    return exported


def case_ai_push(
    *, case: Case, endpoint: str, actor: User | None, model_version: ModelVersion | None = None
) -> list[str]:
    """Store the case's AI results into the PACS by STOW-RS; returns the stored SOP UIDs."""
    import requests

    from readerstudy.studies.pacs import client_make, endpoint_get, unavailable

    pacs = endpoint_get(endpoint)
    exported = case_ai_dicom(case=case, model_version=model_version)
    datasets = [ds for item in exported for ds in (item.secondary_capture, item.report)]
    client = client_make(pacs)
    try:
        client.store_instances(datasets)
    except requests.HTTPError as error:
        raise Conflict(f"The PACS {endpoint!r} refused the AI results: {error}") from error
    except (requests.ConnectionError, requests.Timeout, requests.exceptions.RetryError) as error:
        raise unavailable(pacs, error) from error
    uids = [str(ds.SOPInstanceUID) for ds in datasets]
    audit_record(
        actor=actor,
        action="ai.exported_to_pacs",
        study=case.study,
        data={"case": case.key, "endpoint": endpoint, "instances": len(uids)},
    )
    return uids
