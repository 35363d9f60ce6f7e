"""De-identification of DICOM headers and pixels for the importer, and the patient pseudonym: the
PS3.15 Basic Application Level Confidentiality Profile with the Retain Longitudinal Temporal
Information (Modified Dates) and Clean Pixel Data options. Framework-free (no Django).

Library choice. The attribute table (PS3.15 Table E.1-1: which attribute is removed, emptied,
replaced or given a new UID) is data that must follow the standard's editions; we take it from
`dicom-anonymizer` (Kitware, BSD, released 2026, tables scraped from the standard per edition, here
2026c) instead of copying 650 rows by hand. We do not use its `anonymize_dataset`: it replaces UIDs
with random ones held in a module-global dict (a re-import would get new UIDs), blanks dates to
00010101 instead of shifting them, applies the table to the top level only (sequences are not
walked), and prints. `deid` (pydicom's) is a recipe engine whose default recipe is not the Basic
Profile. So the table is theirs and the walk is ours: recursive, with UIDs derived from the
original (keyed by the pseudonym), dates shifted per patient, private attributes removed everywhere.

Where the table offers a choice we take the most removing one: Z/D -> Z, X/Z, X/D, X/Z/D -> X,
X/Z/U* -> X. Dates (DA, DT) anywhere are shifted by the patient's offset rather than removed; times
are kept. Beyond the table, any other person name is emptied and any other non-standard UID is
replaced. What stays: non-identifying acquisition attributes (manufacturer, model, transducer,
geometry, the ultrasound regions), which the analysis needs to tell scanners apart.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import hashlib
import hmac
from collections.abc import Callable

import numpy as np
from dicomanonymizer.dicomfields_selector import (  # type: ignore[import-untyped]
    dicom_anonymization_database_selector,
)
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag
from pydicom.uid import PYDICOM_ROOT_UID, ExplicitVRLittleEndian, UID_dictionary, generate_uid

from readerstudy.studies.imaging.decoding import ImageRejected, decode_dataset
from readerstudy.studies.imaging.regions import Region, blank_outside, ultrasound_region

PROFILE_EDITION = "dicomfields_2026c"
CATEGORY_ACTION = {
    "D_TAGS": "D", "Z_TAGS": "Z", "X_TAGS": "X", "U_TAGS": "U", "Z_D_TAGS": "Z",
    "X_Z_TAGS": "X", "X_D_TAGS": "X", "X_Z_D_TAGS": "X", "X_Z_U_STAR_TAGS": "X",
}  # fmt: skip
DUMMY_TEXT = "ANONYMIZED"
# file meta attributes that name the sending and receiving systems or carry private data
META_IDENTIFYING = (
    "SourceApplicationEntityTitle",
    "SendingApplicationEntityTitle",
    "ReceivingApplicationEntityTitle",
    "PrivateInformationCreatorUID",
    "PrivateInformation",
)
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # no I, L, O, U: readable over the phone
# the pixel-module attributes that no longer apply once pixels are rewritten as plain 8-bit
PIXEL_TRANSFORMS = (
    "WindowCenter", "WindowWidth", "WindowCenterWidthExplanation", "VOILUTFunction",
    "VOILUTSequence", "ModalityLUTSequence", "RescaleIntercept", "RescaleSlope", "RescaleType",
    "RedPaletteColorLookupTableDescriptor", "GreenPaletteColorLookupTableDescriptor",
    "BluePaletteColorLookupTableDescriptor", "RedPaletteColorLookupTableData",
    "GreenPaletteColorLookupTableData", "BluePaletteColorLookupTableData",
    "PaletteColorLookupTableUID", "ICCProfile", "PixelPaddingValue", "SmallestImagePixelValue",
    "LargestImagePixelValue", "PixelPaddingRangeLimit",
)  # fmt: skip


def _hmac(secret: str, message: str) -> bytes:
    if not secret:
        raise ValueError("a per-study secret is required")
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()


def pseudonym(*, patient_id: str, secret: str) -> str:
    """A short, readable, secret-keyed pseudonym of a source patient id, e.g. ``P-3K7M2-QX9AB``."""
    number = int.from_bytes(_hmac(secret, "patient\x00" + patient_id.strip())[:8], "big") >> 14
    chars = "".join(CROCKFORD[(number >> (5 * i)) & 31] for i in reversed(range(10)))
    return f"P-{chars[:5]}-{chars[5:]}"


def date_shift_days(*, patient_id: str, secret: str) -> int:
    """Days (between -1095 and -30) to add to every date of this patient."""
    value = int.from_bytes(_hmac(secret, "date-shift\x00" + patient_id.strip())[:8], "big")
    return -(30 + value % 1066)


@functools.cache
def profile_table() -> tuple[dict[BaseTag, str], tuple[tuple[int, int, int, int, str], ...]]:
    """(exact tag -> action, masked repeating-group rules) from PS3.15 Table E.1-1."""
    tables = dicom_anonymization_database_selector(PROFILE_EDITION)
    exact: dict[BaseTag, str] = {}
    masked: list[tuple[int, int, int, int, str]] = []
    for category, action in CATEGORY_ACTION.items():
        for entry in tables[category]:
            if len(entry) == 4:  # (group, element, group mask, element mask): curves, overlays
                masked.append((entry[0], entry[1], entry[2], entry[3], action))
            else:
                exact[Tag(entry[0], entry[1])] = action
    return exact, tuple(masked)


def _action(tag: BaseTag) -> str | None:
    exact, masked = profile_table()
    if tag in exact:
        return exact[tag]
    for group, element, group_mask, element_mask, action in masked:
        if (
            tag.group & group_mask == group & group_mask
            and tag.element & element_mask == element & element_mask
        ):
            return action
    return None


def _shift_date(value: str, days: int, *, with_time: bool) -> str:
    text = str(value).strip()
    try:
        if not (len(text) >= 8 and text[:8].isdigit()):
            raise ValueError(text)
        shifted = dt.date.fromisoformat(text[:8]) + dt.timedelta(days=days)
    except (ValueError, OverflowError):
        return ""  # a date we cannot read is a date we cannot keep
    return shifted.strftime("%Y%m%d") + (text[8:] if with_time else "")


class _Walker:
    def __init__(self, *, pseudonym: str, days: int) -> None:
        self.pseudonym = pseudonym
        self.days = days

    def uid(self, original: str) -> str:
        return str(
            generate_uid(PYDICOM_ROOT_UID, entropy_srcs=[self.pseudonym, "|", str(original)])
        )

    def shift(self, value: str, *, with_time: bool) -> str:
        return _shift_date(value, self.days, with_time=with_time)

    def map_values(self, elem: DataElement, func: Callable[[str], str]) -> None:
        if isinstance(elem.value, MultiValue | list):
            elem.value = [func(v) for v in elem.value]
        elif elem.value not in (None, ""):
            elem.value = func(elem.value)

    def dummy(self, elem: DataElement) -> None:
        if elem.VR == "UI":
            self.map_values(elem, self.uid)
        elif elem.VR in ("IS", "DS"):
            elem.value = "0"
        elif elem.VR in ("US", "SS", "UL", "SL", "FL", "FD", "UV", "SV"):
            elem.value = 0
        elif elem.VR in ("OB", "OW", "OD", "OF", "OL", "OV", "UN"):
            elem.value = b""
        elif elem.VR == "AS":
            elem.value = "000Y"
        else:
            elem.value = DUMMY_TEXT

    def clean(self, ds: Dataset) -> None:
        for elem in list(ds):
            tag = elem.tag
            if tag.is_private:
                del ds[tag]
                continue
            action = _action(tag)
            if elem.VR == "SQ":
                if action == "X":
                    del ds[tag]
                    continue
                if action == "Z":
                    elem.value = Sequence()
                    continue
                for item in elem.value:  # D on a sequence, or not in the table: clean inside
                    self.clean(item)
            elif elem.VR in ("DA", "DT"):
                self.map_values(elem, functools.partial(self.shift, with_time=elem.VR == "DT"))
            elif elem.VR == "TM":
                continue  # with dates shifted, times of day identify no one
            elif action == "X":
                del ds[tag]
            elif action == "Z":
                elem.value = elem.empty_value
            elif action in ("D", "U"):
                self.dummy(elem)
            elif elem.VR == "PN":
                elem.value = ""  # a person the table does not know is still a person
            elif elem.VR == "UI":
                self.map_values(elem, lambda v: v if v in UID_dictionary else self.uid(v))


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = "DCM"
    item.CodeMeaning = meaning
    return item


def deidentify(
    ds: Dataset,
    *,
    pseudonym: str,
    date_shift_days: int,
    region: Region | None = None,
    clean_pixels: bool = True,
    in_place: bool = False,
    frames: tuple[np.ndarray, ...] | None = None,
) -> Dataset:
    """A de-identified copy of `ds` (or `ds` itself, changed, with `in_place`: the importer owns
    its freshly parsed dataset, and copying a megabyte of pixels costs more than decoding them).
    `frames` are every frame already decoded to RGB, to spare a second decode.

    UIDs are derived from (pseudonym, original UID), so importing
    the same file again gives the same UIDs. Pixels outside the ultrasound region (`region`, else
    the header's or the detected one) are blanked; when no region can be found the file is rejected
    rather than passed on with its burned-in text."""
    out = ds if in_place else copy.deepcopy(ds)
    walker = _Walker(pseudonym=pseudonym, days=date_shift_days)
    walker.clean(out)  # first: it also turns every raw element into a decoded one
    cleaned = False
    if clean_pixels and "PixelData" in out:
        cleaned = _clean_pixels(out, region, frames=frames)
        # every element is decoded and the pixels are native, so the copy can be written in the
        # new (little-endian) syntax even when the source was big endian
        out.set_original_encoding(None, None)
    out.PatientName = pseudonym
    out.PatientID = pseudonym
    out.PatientIdentityRemoved = "YES"
    out.LongitudinalTemporalInformationModified = "MODIFIED"
    methods = [
        _code("113100", "Basic Application Confidentiality Profile"),
        _code("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    ]
    if cleaned:
        methods.append(_code("113101", "Clean Pixel Data Option"))
        out.BurnedInAnnotation = "NO"  # only now: the pixels outside the region are gone
    out.DeidentificationMethod = [
        "PS3.15 E.1-1 Basic Profile",
        "Modified Dates",
        "Clean Pixel Data" if cleaned else "Pixels not cleaned",
    ]
    out.DeidentificationMethodCodeSequence = Sequence(methods)
    meta = getattr(out, "file_meta", None)
    if meta is not None:
        for keyword in META_IDENTIFYING:
            if keyword in meta:
                delattr(meta, keyword)
        if "SOPInstanceUID" in out:
            meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
    return out


def _clean_pixels(
    ds: Dataset, region: Region | None, *, frames: tuple[np.ndarray, ...] | None = None
) -> bool:
    if frames is None:
        frames = decode_dataset(ds, all_frames=True).frames
    region = region or ultrasound_region(ds, frames[0])
    if region is None:
        raise ImageRejected("burned-in annotation cannot be removed: no ultrasound region found")
    blanked = np.stack([blank_outside(frame, region) for frame in frames])
    grey = str(ds.get("PhotometricInterpretation", "")).startswith("MONOCHROME")
    pixels = blanked[..., 0] if grey else blanked
    for keyword in PIXEL_TRANSFORMS:
        if keyword in ds:
            delattr(ds, keyword)
    if getattr(ds, "file_meta", None) is None:
        ds.file_meta = FileMetaDataset()
    # the rewritten pixels are native little-endian whatever the source's syntax was
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.set_pixel_data(
        pixels[0] if len(blanked) == 1 else pixels,
        "MONOCHROME2" if grey else "RGB",
        8,
        generate_instance_uid=False,
    )
    if len(blanked) > 1:
        ds.NumberOfFrames = len(blanked)
    return True


def pixels_clean(ds: Dataset, region: Region) -> None:
    """Blank every frame outside `region`, in place, for a header that is already de-identified
    (a coordinator correcting the ultrasound region after import)."""
    _clean_pixels(ds, region)
    ds.BurnedInAnnotation = "NO"
