"""A coordinator sets an image's ultrasound region by hand: for images whose region could be
neither read from the DICOM header nor detected (flagged for review at import), or to narrow a
region that let text through. Pixels outside the new region are blanked in the stored original
and every rendition is made again."""

from __future__ import annotations

import functools

from django.core.files.storage import default_storage
from django.db import transaction

from readerstudy.accounts import access
from readerstudy.accounts.models import User
from readerstudy.audit.services import audit_record
from readerstudy.errors import Conflict
from readerstudy.studies import imaging
from readerstudy.studies.imaging import deid
from readerstudy.studies.importing import (
    Store,
    dicom_bytes,
    png_bytes,
    renditions_make,
    renditions_store,
)
from readerstudy.studies.models import CaseImage, RegionSource


def case_image_region_set(
    *, image: CaseImage, box: tuple[int, int, int, int], actor: User
) -> CaseImage:
    """Blank outside `box` (x, y, w, h in original pixels) and remake the image's renditions.

    Long because the blanking, the new renditions and the audit belong to one locked update.
    """
    study = image.case.study
    access.study_require(user=actor, study=study)
    x, y, w, h = box
    if w < 1 or h < 1 or x < 0 or y < 0 or x + w > image.width or y + h > image.height:
        raise Conflict(f"The region {box} must lie inside the {image.width}×{image.height} image.")
    if not image.needs_review and image.region_x is not None:
        old = (image.region_x, image.region_y or 0, image.region_w or 0, image.region_h or 0)
        inside = (
            x >= old[0] and y >= old[1] and x + w <= old[0] + old[2] and y + h <= old[1] + old[3]
        )
        if not inside:
            raise Conflict(
                "The pixels outside the earlier region were blanked at import: a region can only "
                "be narrowed. Re-import the image with region columns in the manifest to widen it.",
                extra={"region": old},
            )
    region = imaging.Region(x, y, x + w - 1, y + h - 1, RegionSource.MANUAL.value)
    decoded = imaging.decode(default_storage.open(str(image.original.name)).read())
    clean = imaging.blank_outside(decoded.rgb, region)
    store = Store(study)
    old_names = [
        str(f.name)
        for f in (image.original, image.display, image.thumbnail, image.model_input)
        if f
    ]
    try:
        with transaction.atomic():
            image = CaseImage.objects.select_for_update().get(pk=image.pk)
            if decoded.dataset is not None:
                deid.pixels_clean(decoded.dataset, region)
                original = store.put("originals", dicom_bytes(decoded.dataset), "dcm")
            else:
                original = store.put("originals", png_bytes(clean), "png")
            files = renditions_store(
                store,
                renditions_make(clean, roi=(image.roi_x, image.roi_y, image.roi_w, image.roi_h)),
            )
            image.original.name = original
            for field, name in files.items():
                getattr(image, field).name = name
            image.region_x, image.region_y, image.region_w, image.region_h = x, y, w, h
            image.region_source = RegionSource.MANUAL
            image.needs_review = False
            image.save()
            audit_record(
                actor=actor,
                action="image.region_set",
                target=image,
                study=study,
                data={"region": [x, y, w, h]},
            )
    except BaseException:
        store.undo()
        raise
    # The replaced files may hold burned-in text: remove those no other image still uses.
    fields = ("original", "display", "thumbnail", "model_input")
    for name in set(old_names) - set(store.created):
        used = any(CaseImage.objects.filter(**{field: name}).exists() for field in fields)
        if not used:
            transaction.on_commit(functools.partial(default_storage.delete, name))
    return image
