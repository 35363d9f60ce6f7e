"""Fuzzing decoding and de-identification: mutated real files give an image or ImageRejected."""

from __future__ import annotations

import io
import tempfile
import warnings
from typing import Any

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag
from pydicom.uid import (
    MPEG4HP41,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
)

from readerstudy.studies import imaging
from readerstudy.studies.imaging import ImageRejected, deid
from tests.fuzz.seeds import dicom_bytes, phantom_files, pydicom_files

FUZZ = settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
_TMP = tempfile.mkdtemp(prefix="fuzz-seeds-")


def seeds() -> dict[str, bytes]:
    return {**phantom_files(_TMP), **pydicom_files()}


def dicom_seeds() -> dict[str, bytes]:
    return {name: data for name, data in seeds().items() if name.endswith(".dcm")}


def decoded_or_rejected(data: bytes) -> imaging.DecodedImage | None:
    try:
        decoded = imaging.decode(data)
    except ImageRejected as rejected:
        message = rejected.message
        assert message
        return None
    for frame in decoded.frames:
        assert frame.dtype == np.uint8
        assert frame.ndim == 3
        assert frame.shape[2] == 3
    return decoded


@st.composite
def byte_mutations(draw: st.DrawFn) -> bytes:
    name = draw(st.sampled_from(sorted(seeds())))
    data = bytearray(seeds()[name])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "flip", "splice", "overwrite", "header"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "truncate":
            del data[at:]
        elif kind == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "splice":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=16))
            data[at : at + len(chunk)] = chunk
        else:  # another file's header on this file's body
            other = seeds()[draw(st.sampled_from(sorted(seeds())))]
            cut = draw(st.integers(0, min(len(other), 2048)))
            data[:cut] = other[:cut]
    return bytes(data)


@pytest.mark.slow
@settings(FUZZ, max_examples=250)
@given(byte_mutations())
def test_mutated_bytes_decode_or_are_rejected(data: bytes) -> None:
    decoded_or_rejected(data)


ATTRIBUTES: dict[str, Any] = {
    "Rows": st.sampled_from([0, 1, 3, 65535, 8193, 8192]),
    "Columns": st.sampled_from([0, 1, 3, 65535, 8193, 8192]),
    "BitsAllocated": st.sampled_from([0, 1, 7, 8, 12, 16, 32, 64, 65535]),
    "BitsStored": st.sampled_from([0, 1, 8, 12, 16, 17, 33, 65535]),
    "HighBit": st.sampled_from([0, 7, 15, 64, 65535]),
    "PixelRepresentation": st.sampled_from([0, 1, 2]),
    "SamplesPerPixel": st.sampled_from([0, 1, 2, 3, 4, 65535]),
    "PlanarConfiguration": st.sampled_from([0, 1, 2]),
    "PhotometricInterpretation": st.sampled_from(
        [
            "MONOCHROME1",
            "MONOCHROME2",
            "RGB",
            "PALETTE COLOR",
            "YBR_FULL",
            "YBR_FULL_422",
            "YBR_RCT",
            "YBR_ICT",
            "HSV",
            "ARGB",
            "CMYK",
            "",
            "XYZ",
        ]
    ),
    "NumberOfFrames": st.sampled_from(["0", "1", "2", "3", "2000", "2001", "-1", "1e9", "x"]),
    "WindowCenter": st.sampled_from(["0", "128", "-1e308", "1e308", "nan", "x", "40\\400"]),
    "WindowWidth": st.sampled_from(["0", "1", "0.5", "-5", "1e308", "nan", "inf", "x"]),
    "VOILUTFunction": st.sampled_from(["LINEAR", "SIGMOID", "LINEAR_EXACT", "X"]),
    "RescaleSlope": st.sampled_from(["1", "0", "-1", "1e308", "nan"]),
    "RescaleIntercept": st.sampled_from(["0", "-1024", "1e308"]),
    "PatientName": st.text(max_size=64),
    "StudyDate": st.sampled_from(["", "20240230", "99999999", "0", "2024", "00010101"]),
}
SYNTAXES = [
    ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian,
    DeflatedExplicitVRLittleEndian, JPEGBaseline8Bit, JPEGLSLossless, JPEG2000Lossless,
    RLELossless, MPEG4HP41, "1.2.3.4", "", "1.2.840.10008.1.2.4.999",
]  # fmt: skip


@st.composite
def header_mutations(draw: st.DrawFn) -> bytes:
    name = draw(st.sampled_from(sorted(dicom_seeds())))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(io.BytesIO(dicom_seeds()[name]), force=True)
        for keyword in draw(st.lists(st.sampled_from(sorted(ATTRIBUTES)), max_size=4)):
            value = draw(ATTRIBUTES[keyword])
            try:
                setattr(ds, keyword, value)
            except (ValueError, TypeError, OverflowError):  # pydicom refuses it: write it raw
                tag = Tag(keyword)
                raw = str(value).encode()
                ds._dict[tag] = RawDataElement(
                    tag, dictionary_VR(tag), len(raw), raw, 0, False, True
                )
        if draw(st.booleans()):
            if getattr(ds, "file_meta", None) is None:
                ds.file_meta = pydicom.dataset.FileMetaDataset()
            ds.file_meta.TransferSyntaxUID = UID(draw(st.sampled_from(SYNTAXES)))
        if draw(st.booleans()) and "PixelData" in ds:
            ds.PixelData = ds.PixelData[: draw(st.integers(0, len(ds.PixelData)))]
        try:
            return dicom_bytes(ds)
        except Exception:
            return dicom_seeds()[name]


@pytest.mark.slow
@settings(FUZZ, max_examples=250)
@given(header_mutations())
def test_mutated_headers_decode_or_are_rejected(data: bytes) -> None:
    decoded_or_rejected(data)


def identifiers(ds: pydicom.Dataset) -> set[str]:
    """The patient's own identifiers (a kept attribute such as Manufacturer may repeat, say,
    an InstitutionName of TOSHIBA, so institution names are not looked for here)."""
    found = set()
    for keyword in ("PatientName", "PatientID", "OtherPatientIDs", "AccessionNumber"):
        value = str(ds.get(keyword, "") or "").strip()
        if len(value) >= 4:
            found.add(value)
    return found


def text_values(ds: pydicom.Dataset) -> list[str]:
    return [str(elem.value) for elem in ds.iterall() if elem.VR not in ("SQ", "OB", "OW", "UN")]


@pytest.mark.slow
@settings(FUZZ, max_examples=80)
@given(st.one_of(header_mutations(), byte_mutations()))
def test_deidentifying_a_decodable_mutant_leaves_no_identifier(data: bytes) -> None:
    decoded = decoded_or_rejected(data)
    if decoded is None or decoded.dataset is None:
        return
    before = identifiers(decoded.dataset) - {"ANONYMIZED"}
    pseudonym = deid.pseudonym(patient_id="someone", secret="s")
    try:
        out = deid.deidentify(decoded.dataset, pseudonym=pseudonym, date_shift_days=-100)
    except ImageRejected:
        return
    # the importer writes what de-identification returns: it must be writable
    written = dicom_bytes(out)
    again = pydicom.dcmread(io.BytesIO(written))
    assert str(again.PatientName) == pseudonym
    assert again.PatientID == pseudonym
    values = text_values(again)
    for secret in before:
        assert not any(secret in value for value in values), secret


# Regressions: each was a hypothesis find, as a plain example.


def test_an_rle_stream_that_panics_the_rust_decoder_is_rejected() -> None:
    data = bytearray(pydicom_files()["MR_small_RLE.dcm"])
    data[data.find(b"\xe0\x7f\x10\x00") + 40] ^= 0x01  # one bit of the RLE header
    with pytest.raises(ImageRejected, match="truncated or corrupt pixel data"):
        imaging.decode(bytes(data))


def test_a_transfer_syntax_uid_that_is_no_transfer_syntax_is_rejected() -> None:
    ds = pydicom.dcmread(io.BytesIO(pydicom_files()["MR_small.dcm"]))
    ds.file_meta.TransferSyntaxUID = UID("1.2.3.4")
    with pytest.raises(ImageRejected, match="unknown transfer syntax"):
        imaging.decode(dicom_bytes(ds))


def _patched(name: str, old: bytes, new: bytes) -> bytes:
    data = pydicom_files()[name]
    assert old in data
    return data.replace(old, new, 1)


@pytest.mark.parametrize(
    "data",
    [
        # an unknown VR in the file meta (NotImplementedError while reading)
        pytest.param(
            _patched("MR_small.dcm", b"\x02\x00\x10\x00UI", b"\x02\x00\x10\x00UH"), id="vr"
        ),
        # a UL of two bytes (BytesLengthException while reading)
        pytest.param(
            _patched("MR_small.dcm", b"\x02\x00\x00\x00UL\x04\x00", b"\x02\x00\x00\x00UL\x02\x00"),
            id="length",
        ),
        # an unknown VR deep in the body: lazily parsed, it used to crash de-identification
        pytest.param(
            _patched("MR_small.dcm", b"\x20\x00\x0e\x00UI", b"\x20\x00\x0e\x00TI"), id="lazy"
        ),
    ],
)
def test_a_malformed_element_is_rejected_when_read(data: bytes) -> None:
    with pytest.raises(ImageRejected, match="not a readable DICOM file"):
        imaging.decode(data)


def test_a_corrupt_deflated_dataset_is_rejected() -> None:
    data = bytearray(pydicom_files()["image_dfl.dcm"])
    data[275] = 0xFF  # inside the deflate stream (zlib.error while reading)
    with pytest.raises(ImageRejected, match="not a readable DICOM file"):
        imaging.decode(bytes(data))
