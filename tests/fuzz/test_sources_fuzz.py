"""Fuzzing zip sources: whatever the archive holds or claims, only ImportRejected comes out."""

from __future__ import annotations

import contextlib
import io
import os
import stat
import struct
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readerstudy.errors import ImportRejected
from readerstudy.studies.sources import Limits, source_open

LIMITS = Limits(max_files=40, max_unpacked_bytes=4 << 20, max_file_bytes=2 << 20)
NAMES = st.one_of(
    st.sampled_from(
        ["manifest.csv", "top/manifest.csv", "a/b/manifest.csv", "../manifest.csv",
         "/etc/passwd", "C:/x.dcm", "c:x", "a\\..\\b", "images/../../x", "./images/a.dcm",
         "images/a.dcm", "images/", "__MACOSX/._a", ".hidden", "a\x00b", "", "..", "//x",
         "images/" + "n" * 300]
    ),
    st.text(min_size=1, max_size=12),
)  # fmt: skip


@st.composite
def archives(draw: st.DrawFn) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for _ in range(draw(st.integers(0, 50))):
            info = zipfile.ZipInfo(draw(NAMES))
            info.compress_type = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
            kind = draw(st.sampled_from(["file", "file", "link", "bomb", "zip", "encrypted"]))
            payload = draw(st.binary(max_size=64))
            if kind == "link":
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                payload = b"../../etc/passwd"
            elif kind == "bomb":
                payload = b"\x00" * (3 << 20)
                info.compress_type = zipfile.ZIP_DEFLATED
            elif kind == "zip":
                inner = io.BytesIO()
                with zipfile.ZipFile(inner, "w") as nested:
                    nested.writestr("manifest.csv", b"patient_id\n")
                payload = inner.getvalue()
            try:
                archive.writestr(info, payload)
            except (ValueError, OSError):  # zipfile refuses to write it: not our input
                continue
            if kind == "encrypted":
                info.flag_bits |= 0x1
    data = bytearray(buffer.getvalue())
    for _ in range(draw(st.integers(0, 3))):  # lie in the headers: sizes, offsets, counts
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        value = draw(st.sampled_from([0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 1 << 20]))
        data[at : at + 4] = struct.pack("<I", value)
    if draw(st.booleans()):
        del data[draw(st.integers(0, len(data))) :]
    return bytes(data)


def read_all(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.zip"
        path.write_bytes(data)
        try:
            source = source_open(path, limits=LIMITS)
        except ImportRejected:
            return
        try:
            for name in source.names():
                parts = PurePosixPath(name).parts
                assert ".." not in parts
                assert not name.startswith("/")
                with contextlib.suppress(ImportRejected):
                    assert len(source.read(name)) <= LIMITS.max_file_bytes
        finally:
            source.close()


@pytest.mark.slow
@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 150)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(archives())
def test_any_archive_gives_files_or_import_rejected(data: bytes) -> None:
    read_all(data)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=512))
def test_arbitrary_bytes_as_an_archive_are_rejected(data: bytes) -> None:
    read_all(data)


# Regressions: each was a hypothesis find, as a plain example.


def _zip(name: str) -> bytearray:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo(name), b"x")
    return bytearray(buffer.getvalue())


def _rejected(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "upload.zip"
    path.write_bytes(data)
    with pytest.raises(ImportRejected) as rejected:
        source_open(path, limits=LIMITS)
    return rejected.value.message


def test_a_member_with_an_empty_name_is_rejected(tmp_path: Path) -> None:
    assert "unsafe file name" in _rejected(bytes(_zip("")), tmp_path)


def test_an_unknown_zip_version_is_rejected(tmp_path: Path) -> None:
    data = _zip("manifest.csv")
    central = data.find(b"PK\x01\x02")
    data[central + 6] = 255  # "version needed to extract": 25.5
    assert "not a readable zip archive" in _rejected(bytes(data), tmp_path)


def test_a_member_name_that_is_not_utf8_is_rejected(tmp_path: Path) -> None:
    data = _zip("\u00e9.csv")  # stored as UTF-8 with flag bit 11
    central = data.find(b"PK\x01\x02")
    data[central + 46] = 0x41  # the name is now 'A\xa9…', not UTF-8
    assert "not a readable zip archive" in _rejected(bytes(data), tmp_path)
