"""Where an import's files come from: a folder or a zip archive, read defensively.

Zip archives are untrusted: member names may try to escape (absolute paths, `..`, drive letters,
links), headers may lie about sizes, and a small archive may unpack to terabytes. Members are read
straight from the archive into memory with a hard cap, never extracted to disk.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from readerstudy.errors import ImportRejected

MANIFEST_NAME = "manifest.csv"
IGNORED = ("__MACOSX/", ".DS_Store", "Thumbs.db")


@dataclass(frozen=True)
class Limits:
    max_files: int
    max_unpacked_bytes: int
    max_file_bytes: int
    max_ratio: int = 200  # a bigger compression ratio on a large member is a zip bomb


class ImportSource:
    """Files by their path relative to the manifest's folder."""

    def names(self) -> list[str]:
        raise NotImplementedError

    def read(self, name: str) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        """Release the archive; a folder holds nothing open."""


def _ignored(name: str) -> bool:
    return any(part in name for part in IGNORED) or PurePosixPath(name).name.startswith(".")


def _manifest_prefix(names: list[str]) -> str:
    """The folder holding manifest.csv: the root, or the one top folder an archive often has."""
    if MANIFEST_NAME in names:
        return ""
    candidates = [n for n in names if PurePosixPath(n).name == MANIFEST_NAME and n.count("/") == 1]
    if len(candidates) == 1:
        return candidates[0][: -len(MANIFEST_NAME)]
    raise ImportRejected(
        f"no {MANIFEST_NAME} found at the top of the import (or in its single top folder)"
    )


class FolderSource(ImportSource):
    def __init__(self, root: Path, limits: Limits) -> None:
        self.root = root.resolve()
        self.limits = limits
        files: list[str] = []
        total = 0
        for path in sorted(self.root.rglob("*")):
            if path.is_symlink():
                raise ImportRejected(f"links are not imported: {path.relative_to(self.root)}")
            if not path.is_file():
                continue
            relative = path.relative_to(self.root).as_posix()
            if _ignored(relative):
                continue
            files.append(relative)
            total += path.stat().st_size
            if len(files) > limits.max_files:
                raise ImportRejected(f"more than {limits.max_files} files in the import")
        if total > limits.max_unpacked_bytes:
            raise ImportRejected(f"the files add up to more than {limits.max_unpacked_bytes} bytes")
        prefix = _manifest_prefix(files)
        self.root = self.root / prefix
        self._names = [name[len(prefix) :] for name in files if name.startswith(prefix)]

    def names(self) -> list[str]:
        return list(self._names)

    def read(self, name: str) -> bytes:
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root) or name not in self._names:
            raise ImportRejected(f"{name}: not a file of this import")
        if path.stat().st_size > self.limits.max_file_bytes:
            raise ImportRejected(f"{name}: larger than {self.limits.max_file_bytes} bytes")
        return path.read_bytes()


def _safe_member_name(name: str) -> str:
    if not name or "\\" in name or "\x00" in name:
        raise ImportRejected(f"unsafe file name in the archive: {name!r}")
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise ImportRejected(f"unsafe path in the archive (it would escape the import): {name!r}")
    return path.as_posix()


class ZipSource(ImportSource):
    def __init__(self, path: Path, limits: Limits) -> None:
        self.limits = limits
        try:
            self.archive = zipfile.ZipFile(path)
        # lying headers also give an unknown zip version or a name that is not UTF-8
        except (zipfile.BadZipFile, OSError, NotImplementedError, ValueError) as error:
            raise ImportRejected(f"not a readable zip archive: {error}") from error
        members: dict[str, zipfile.ZipInfo] = {}
        total = 0
        infos = self.archive.infolist()
        if len(infos) > limits.max_files:
            raise ImportRejected(f"more than {limits.max_files} files in the archive")
        for info in infos:
            name = _safe_member_name(info.filename)
            if info.is_dir() or _ignored(name):
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                raise ImportRejected(f"links are not imported: {name}")
            if info.flag_bits & 0x1:
                raise ImportRejected(f"encrypted archive members are not supported: {name}")
            if info.file_size > limits.max_file_bytes:
                raise ImportRejected(f"{name}: larger than {limits.max_file_bytes} bytes unpacked")
            if info.file_size > (1 << 20) and info.file_size > limits.max_ratio * max(
                info.compress_size, 1
            ):
                raise ImportRejected(
                    f"{name}: compressed {info.file_size // max(info.compress_size, 1)}:1 — refused as a zip bomb"
                )
            total += info.file_size
            if total > limits.max_unpacked_bytes:
                raise ImportRejected(
                    f"the archive unpacks to more than {limits.max_unpacked_bytes} bytes"
                )
            members[name] = info
        prefix = _manifest_prefix(list(members))
        self.members = {
            name[len(prefix) :]: info for name, info in members.items() if name.startswith(prefix)
        }

    def names(self) -> list[str]:
        return list(self.members)

    def read(self, name: str) -> bytes:
        info = self.members.get(name)
        if info is None:
            raise ImportRejected(f"{name}: not a file of this archive")
        try:
            with self.archive.open(info) as member:
                # Headers can lie: never read more than the cap, whatever they claim.
                data = member.read(self.limits.max_file_bytes + 1)
        except (
            zipfile.BadZipFile,
            OSError,
            EOFError,
            ValueError,
            NotImplementedError,
            zlib.error,
        ) as error:
            raise ImportRejected(f"{name}: corrupt archive member: {error}") from error
        if len(data) > self.limits.max_file_bytes:
            raise ImportRejected(f"{name}: larger than {self.limits.max_file_bytes} bytes unpacked")
        return data

    def close(self) -> None:
        self.archive.close()


def source_open(path: Path, *, limits: Limits) -> ImportSource:
    """A folder or a .zip file, checked against the limits before anything is read."""
    if path.is_dir():
        return FolderSource(path, limits)
    if path.is_file():
        return ZipSource(path, limits)
    raise ImportRejected(f"{path} is neither a folder nor a zip archive")
