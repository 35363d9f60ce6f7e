"""Importing cases: manifest + images → de-identified originals, renditions and Case rows.

All or nothing. The manifest is checked first, then every image is decoded once, its burned-in
text blanked outside the ultrasound region, its header de-identified and its renditions made;
every problem is collected with its row. Only when there is none are the rows written, in one
transaction. Files are stored as they are made (to keep memory flat) and removed again when the
import is rejected — except files that were already stored before (content-hashed names are
shared), which are never touched.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pydicom
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from readerstudy.accounts.models import User
from readerstudy.audit.services import audit_record
from readerstudy.errors import ImportRejected
from readerstudy.studies import imaging
from readerstudy.studies.imaging import deid
from readerstudy.studies.manifest import CaseRows, ImageRow, manifest_parse
from readerstudy.studies.models import Case, CaseImage, RegionSource, Study
from readerstudy.studies.sources import MANIFEST_NAME, ImportSource, Limits, source_open

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
MAX_ERRORS = 500


@dataclass(frozen=True)
class ImportSummary:
    cases: int
    images: int
    needs_review: int
    seconds: float


@dataclass
class _Processed:
    row: ImageRow
    sha256: str
    width: int
    height: int
    region: imaging.Region | None
    files: dict[str, str]  # field name → storage name
    spacing: imaging.Spacing | None = None
    frames: list[str] = field(default_factory=list)  # a cine's frame renditions, in order
    frame: int = 0  # which of `frames` the model gets and the reader sees first


def import_limits() -> Limits:
    return Limits(
        max_files=settings.IMPORT_MAX_FILES,
        max_unpacked_bytes=settings.IMPORT_MAX_UNPACKED_BYTES,
        max_file_bytes=settings.IMPORT_MAX_FILE_BYTES,
    )


class StorageRefused(ImportRejected):
    """The storage would not take a file (full disk, quota): the whole import stops at once."""


class Store:
    """Content-addressed writes that can be undone: remembers only the files it created."""

    def __init__(self, study: Study) -> None:
        self.prefix = f"studies/{study.pk}"
        self.created: list[str] = []

    def put(self, folder: str, data: bytes, extension: str) -> str:
        name = f"{self.prefix}/{folder}/{imaging.content_file_name(data, extension=extension)}"
        if not default_storage.exists(name):
            try:
                saved = default_storage.save(name, ContentFile(data))
            except OSError as error:  # a full disk, a quota, a read-only volume
                if default_storage.exists(name):  # the part written before it failed
                    default_storage.delete(name)
                raise StorageRefused(
                    "The media storage refused a file "
                    f"({error.strerror or type(error).__name__}); nothing was imported.",
                    extra={"errors": [f"storage: {error}"]},
                ) from error
            self.created.append(saved)
            name = saved
        return name

    def undo(self) -> None:
        for name in self.created:
            default_storage.delete(name)
        self.created.clear()


def png_bytes(rgb: np.ndarray) -> bytes:
    # Level 1: a third of the default's time for a few per cent more bytes.
    ok, data = cv2.imencode(
        ".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1]
    )
    if not ok:
        raise imaging.ImageRejected("the image could not be encoded as PNG")
    return data.tobytes()


def dicom_bytes(ds: pydicom.Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _manual_region(box: tuple[int, int, int, int], width: int, height: int) -> imaging.Region:
    x, y, w, h = box
    if x + w > width or y + h > height:
        raise imaging.ImageRejected(f"the region {box} lies outside the {width}×{height} image")
    return imaging.Region(x, y, x + w - 1, y + h - 1, RegionSource.MANUAL.value)


def _process(
    data: bytes, row: ImageRow, *, pseudonym: str, shift_days: int, store: Store | None
) -> _Processed:
    """Decode, blank, de-identify and render one image; store its files unless only validating."""
    decoded = imaging.decode(data)
    rgb = decoded.rgb
    height, width = rgb.shape[:2]
    x, y, w, h = row.roi
    if x + w > width or y + h > height:
        raise imaging.ImageRejected(
            f"the lesion box {row.roi} lies outside the {width}×{height} image"
        )
    if row.region is not None:
        region: imaging.Region | None = _manual_region(row.region, width, height)
    else:
        region = imaging.ultrasound_region(decoded.dataset, rgb)
    if decoded.dataset is not None:
        original = deid.deidentify(
            decoded.dataset,
            pseudonym=pseudonym,
            date_shift_days=shift_days,
            region=region,
            clean_pixels=region is not None,
            in_place=True,
            # a single frame is decoded already; a cine's other frames are decoded there
            frames=decoded.frames if decoded.n_frames == 1 else None,
        )
        original_bytes, extension = dicom_bytes(original), "dcm"
    else:
        blanked_source = rgb if region is None else imaging.blank_outside(rgb, region)
        original_bytes, extension = png_bytes(blanked_source), "png"
    files: dict[str, str] = {}
    if store is not None:
        files["original"] = store.put("originals", original_bytes, extension)
    if region is not None:
        # Without a region the burned-in text is still there: no rendition until a coordinator
        # sets the region (the image is flagged for review and blocks the round from opening).
        renditions = renditions_make(imaging.blank_outside(rgb, region), roi=row.roi)
        if store is not None:
            files.update(renditions_store(store, renditions))
    frames = (
        cine_frames_store(data, region=region, store=store)
        if decoded.n_frames > 1 and region is not None and store is not None
        else []
    )
    return _Processed(
        row,
        imaging.content_hash(data),
        width,
        height,
        region,
        files,
        spacing=imaging.physical_spacing(decoded.dataset),
        frames=frames,
        frame=_nearest_kept(decoded.n_frames, decoded.frame_indices[0]) if frames else 0,
    )


def _nearest_kept(n_frames: int, source_frame: int) -> int:
    keep = imaging.stored_frame_indices(n_frames)
    return min(range(len(keep)), key=lambda k: abs(keep[k] - source_frame))


def cine_frames_store(data: bytes, *, region: imaging.Region, store: Store) -> list[str]:
    """Every kept frame of a cine, blanked as its shown frame is, as display renditions (the
    reader scrolls and plays them; the model still gets the middle frame alone)."""
    decoded = imaging.decode(data, all_frames=True)
    keep = imaging.stored_frame_indices(decoded.n_frames)
    return [
        store.put(
            "frames", imaging.render_frame(imaging.blank_outside(decoded.frames[i], region)), "jpg"
        )
        for i in keep
    ]


def renditions_make(
    clean: np.ndarray, *, roi: tuple[int, int, int, int]
) -> dict[str, tuple[bytes, str]]:
    """What readers and the model get from a blanked image: display, thumbnail, model-input crop."""
    return {
        "display": (imaging.render_display(clean), "jpg"),
        "thumbnail": (imaging.render_thumbnail(clean), "jpg"),
        "model_input": (png_bytes(imaging.model_input_crop(clean, roi)), "png"),
    }


def renditions_store(store: Store, renditions: dict[str, tuple[bytes, str]]) -> dict[str, str]:
    return {field: store.put(field, payload, ext) for field, (payload, ext) in renditions.items()}


def _checked_files(source: ImportSource, manifest_files: set[str], errors: list[str]) -> None:
    present = set(source.names()) - {MANIFEST_NAME}
    for name in sorted(manifest_files - present):
        errors.append(f"file {name} is listed in the manifest but missing from the import")
    unlisted = sorted(present - manifest_files)
    if unlisted:
        shown = ", ".join(unlisted[:10]) + (" …" if len(unlisted) > 10 else "")
        errors.append(f"{len(unlisted)} file(s) not listed in the manifest: {shown}")


def _cohort_conflicts(*, study: Study, cases: dict[str, CaseRows]) -> list[str]:
    """A patient imported earlier into another cohort: the split is by patient, across imports too."""
    wanted = {
        deid.pseudonym(patient_id=rows.patient_id, secret=study.pseudonym_secret): rows
        for rows in cases.values()
    }
    earlier = Case.objects.filter(study=study, patient_pseudonym__in=list(wanted)).values_list(
        "patient_pseudonym", "cohort"
    )
    return [
        f"patient {wanted[pseudonym].patient_id} is already in cohort {cohort} of this study, "
        f"not {wanted[pseudonym].cohort}"
        for pseudonym, cohort in sorted(set(earlier))
        if wanted[pseudonym].cohort != cohort
    ]


def cases_import(
    *,
    study: Study,
    path: Path,
    actor: User | None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import a folder or zip with a manifest.csv into the study, all or nothing."""
    started = time.monotonic()
    source = source_open(path, limits=import_limits())
    store = Store(study)
    try:
        manifest = manifest_parse(source.read(MANIFEST_NAME))
        errors = list(manifest.errors)
        _checked_files(source, manifest.files, errors)
        existing = set(
            Case.objects.filter(study=study, key__in=list(manifest.cases)).values_list(
                "key", flat=True
            )
        )
        errors += [f"case {key} is already in study {study.slug}" for key in sorted(existing)]
        errors += _cohort_conflicts(study=study, cases=manifest.cases)
        processed: dict[str, list[_Processed]] = {}
        rows = [(case, image) for case in manifest.cases.values() for image in case.images]
        for done, (case, image) in enumerate(rows, start=1):
            if len(errors) >= MAX_ERRORS:
                errors.append(f"stopped after {MAX_ERRORS} errors")
                break
            try:
                result = _process(
                    source.read(image.file),
                    image,
                    pseudonym=deid.pseudonym(
                        patient_id=case.patient_id, secret=study.pseudonym_secret
                    ),
                    shift_days=deid.date_shift_days(
                        patient_id=case.patient_id, secret=study.pseudonym_secret
                    ),
                    store=None if errors else store,
                )
            except StorageRefused:
                raise
            except (imaging.ImageRejected, ImportRejected) as error:
                errors.append(f"row {image.row} ({image.file}): {error.message}")
            else:
                processed.setdefault(case.case_id, []).append(result)
            if progress is not None:
                progress(done, len(rows))
        if errors:
            raise ImportRejected(
                f"The import was rejected with {len(errors)} error(s); nothing was imported.",
                extra={"errors": errors},
            )
        with transaction.atomic():
            summary = _write(study=study, cases=manifest.cases, processed=processed, actor=actor)
    except BaseException:
        store.undo()
        raise
    finally:
        source.close()
    return ImportSummary(**summary, seconds=time.monotonic() - started)


def _source_name(file: str, patient_id: str, pseudonym: str) -> str:
    """The manifest's path with the source patient id replaced by the pseudonym: exports often
    name folders or files after the patient, and the id is stored only as a keyed hash."""
    return file.replace(patient_id, pseudonym) if patient_id else file


def _write(
    *,
    study: Study,
    cases: dict[str, CaseRows],
    processed: dict[str, list[_Processed]],
    actor: User | None,
) -> dict[str, int]:
    images = needs_review = 0
    for key, rows in cases.items():
        case = Case.objects.create(
            study=study,
            key=key,
            patient_pseudonym=deid.pseudonym(
                patient_id=rows.patient_id, secret=study.pseudonym_secret
            ),
            lesion_label=rows.values.get("lesion_label", ""),
            cohort=rows.cohort,
            site=rows.values.get("site", ""),
            truth_malignant=rows.truth_malignant,
            histology=rows.values.get("histology", ""),
            **rows.features,
        )
        for position, item in enumerate(processed[key]):
            region = item.region
            CaseImage.objects.create(
                case=case,
                position=position,
                plane=item.row.plane,
                source_name=_source_name(item.row.file, rows.patient_id, case.patient_pseudonym),
                source_sha256=item.sha256,
                width=item.width,
                height=item.height,
                roi_x=item.row.roi[0],
                roi_y=item.row.roi[1],
                roi_w=item.row.roi[2],
                roi_h=item.row.roi[3],
                region_x=region.x0 if region else None,
                region_y=region.y0 if region else None,
                region_w=region.x1 - region.x0 + 1 if region else None,
                region_h=region.y1 - region.y0 + 1 if region else None,
                region_source=region.source if region else RegionSource.NONE,
                needs_review=region is None,
                spacing_x_mm=item.spacing.x_mm if item.spacing else None,
                spacing_y_mm=item.spacing.y_mm if item.spacing else None,
                spacing_source=item.spacing.source if item.spacing else "",
                frames=item.frames,
                frame=item.frame,
                **item.files,
            )
            images += 1
            needs_review += region is None
    audit_record(
        actor=actor,
        action="cases.imported",
        study=study,
        data={"cases": len(cases), "images": images, "needs_review": needs_review},
    )
    return {"cases": len(cases), "images": images, "needs_review": needs_review}
