"""Backups of the database and the media storage together, and their restore.

A backup is a folder: `database.dump` (pg_dump's custom format; `database.sqlite3` on SQLite),
`media.tar` (every file of the media storage, read through Django's storage API, so the local
folder and an S3 bucket alike) and `manifest.json` (sizes, SHA-256 of both, the applied
migrations). The database is dumped first, in one snapshot, and the media archived after it: a
file is stored before the row that names it commits (and content-hashed names are never reused),
so every file the dump refers to is in the archive. pg_dump and pg_restore do the database work;
the rest is the few lines below because media may live in a bucket that no tar command can read.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.files.base import File
from django.core.files.storage import Storage, default_storage
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

FORMAT = 1
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that cannot be done; nothing was changed."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def storage_files(storage: Storage, folder: str = "") -> Iterator[str]:
    """Every file name in the storage, depth first, sorted (a stable archive order)."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:  # a local media folder not made yet: an empty storage
        return
    for name in sorted(files):
        yield f"{folder}/{name}" if folder else name
    for name in sorted(folders):
        yield from storage_files(storage, f"{folder}/{name}" if folder else name)


def _pg_command(program: str) -> tuple[list[str], dict[str, str]]:
    db = connection.settings_dict
    args = [program, "--no-owner", "--no-privileges"]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            args += [flag, str(db[key])]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    if shutil.which(program) is None:
        raise BackupError(f"{program} is not installed (Debian: postgresql-client).")
    return args, env


def _run(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{args[0]} failed: {result.stderr.strip()[-2000:]}")


def _database_dump(folder: Path) -> Path:
    if connection.vendor == "postgresql":
        path = folder / "database.dump"
        args, env = _pg_command("pg_dump")
        _run(
            [*args, "--format=custom", "--file", str(path), str(connection.settings_dict["NAME"])],
            env,
        )
        return path
    if connection.vendor == "sqlite":
        path = folder / "database.sqlite3"
        connection.ensure_connection()
        target = sqlite3.connect(path)
        try:
            connection.connection.backup(target)  # SQLite's online backup: one consistent copy
        finally:
            target.close()
        return path
    raise BackupError(f"Backups support PostgreSQL and SQLite, not {connection.vendor}.")


def _applied_migrations() -> list[str]:
    return sorted(
        f"{app}.{name}"
        for app, name in MigrationRecorder(connection).migration_qs.values_list("app", "name")
    )


def backup_create(*, out: Path, storage: Storage = default_storage) -> dict[str, Any]:
    """Write a backup folder at `out` (which must not exist); returns its manifest."""
    if out.exists():
        raise BackupError(f"{out} exists: a backup goes to a new folder.")
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written beside its destination and renamed at the end: a failed backup leaves no folder.
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        migrations = _applied_migrations()
        database = _database_dump(work)
        media = work / "media.tar"
        count = size = 0
        with tarfile.open(media, "w") as archive:
            for name in storage_files(storage):
                with storage.open(name, "rb") as handle:
                    info = tarfile.TarInfo(name)
                    info.size = storage.size(name)
                    info.mtime = int(timezone.now().timestamp())
                    archive.addfile(info, handle)
                count, size = count + 1, size + info.size
        manifest = {
            "format": FORMAT,
            "created_at": timezone.now().isoformat(),
            "database": {
                "vendor": connection.vendor,
                "file": database.name,
                "bytes": database.stat().st_size,
                "sha256": _sha256(database),
            },
            "media": {
                "file": media.name,
                "files": count,
                "bytes": size,
                "sha256": _sha256(media),
            },
            "migrations": migrations,
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return manifest


def _manifest_verified(source: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((source / "manifest.json").read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"{source} holds no readable manifest.json: {error}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Unknown backup format {manifest.get('format')!r}.")
    for part in ("database", "media"):
        path = source / manifest[part]["file"]
        if not path.is_file() or _sha256(path) != manifest[part]["sha256"]:
            raise BackupError(f"{path} is missing or does not match its checksum in the manifest.")
    if manifest["database"]["vendor"] != connection.vendor:
        raise BackupError(
            f"The backup is of a {manifest['database']['vendor']} database; this one is "
            f"{connection.vendor}."
        )
    return manifest


def _database_wipe() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    # SQLite: the online backup below replaces every page of the database.


def _database_load(path: Path) -> None:
    if connection.vendor == "postgresql":
        args, env = _pg_command("pg_restore")
        name = str(connection.settings_dict["NAME"])
        connection.close()  # pg_restore works on its own connection
        _run([*args, "--exit-on-error", "--single-transaction", "--dbname", name, str(path)], env)
    else:
        connection.ensure_connection()
        source = sqlite3.connect(path)
        try:
            source.backup(connection.connection)
        finally:
            source.close()


def backup_restore(
    *, source: Path, replace: bool = False, storage: Storage = default_storage
) -> dict[str, Any]:
    """Restore a backup folder into this database and media storage.

    Both must be empty, or `replace` wipes them first. Both archives are checked against the
    manifest before anything is touched; the database is restored in one transaction.
    """
    manifest = _manifest_verified(source)
    tables = connection.introspection.table_names()
    existing = next(storage_files(storage), None)
    if (tables or existing is not None) and not replace:
        raise BackupError(
            "The database or the media storage is not empty "
            f"({len(tables)} tables{', files' if existing is not None else ''}): "
            "restore into empty ones, or pass --replace to wipe them first."
        )
    with tarfile.open(source / manifest["media"]["file"]) as archive:
        members = archive.getmembers()
        for member in members:
            if not member.isfile() or member.name.startswith("/") or ".." in member.name.split("/"):
                raise BackupError(f"media.tar holds an unsafe member {member.name!r}.")
        if replace:
            _database_wipe()
            for name in list(storage_files(storage)):
                storage.delete(name)
        _database_load(source / manifest["database"]["file"])
        for member in members:
            handle = archive.extractfile(member)
            assert handle is not None  # a regular file, checked above
            stored = storage.save(member.name, File(handle, name=member.name))
            if stored != member.name:
                raise BackupError(
                    f"{member.name} was stored as {stored}: the storage was not empty."
                )
    return manifest
