"""Backup and restore of the database and the media together (`manage.py backup` / `restore`):
back up a study with reads, AI predictions and images, wipe both, restore, and the report — computed
afresh, not from its cache — the exports, the files and the database's own guards are all as before.
Runs on the suite's database: pg_dump/pg_restore on PostgreSQL, SQLite's backup API on SQLite."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from analysis.web.models import StudyReport
from analysis.web.report import report_data_version, report_get
from analysis.web.selectors import study_reads_export
from readerstudy.reading.models import Read
from readerstudy.studies.models import CaseImage, Study
from tests.analysis_adapter.conftest import study_build, three_readers
from tests.conftest import Personas

pytestmark = pytest.mark.django_db(transaction=True)


def _media() -> dict[str, str]:
    root = Path(settings.MEDIA_ROOT)
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _state(slug: str) -> dict[str, Any]:
    """What a statistician and a reader get: the report computed now, the reads export, files."""
    study = Study.objects.get(slug=slug)
    StudyReport.objects.filter(study=study).delete()  # the report is recomputed, not read back
    report = report_get(study=study)
    return {
        "version": report_data_version(study=study),
        "report": json.dumps(report.payload, sort_keys=True, default=str),
        "reads": [tuple(map(str, row)) for row in study_reads_export(study=study)],
        "media": _media(),
    }


def _wipe() -> None:
    """Lose everything: every table of the database and every media file."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        else:
            cursor.execute("PRAGMA foreign_keys = OFF")
            for table in connection.introspection.table_names():
                cursor.execute(f'DROP TABLE "{table}"')
    assert connection.introspection.table_names() == []
    shutil.rmtree(settings.MEDIA_ROOT)


@pytest.fixture
def study(personas_tx: Personas) -> str:
    built = study_build(
        study=personas_tx.study, readers=three_readers(personas_tx), with_model=True
    )
    # Real files behind every image: a display rendition and a thumbnail.
    for image in CaseImage.objects.filter(case__study=built.study):
        image.display.save(
            f"{image.pk}.jpg", ContentFile(hashlib.sha256(b"d%d" % image.pk).digest() * 64)
        )
        image.thumbnail.save(
            f"{image.pk}-t.jpg", ContentFile(hashlib.sha256(b"t%d" % image.pk).digest())
        )
    return built.study.slug


def test_a_backup_restored_after_a_wipe_gives_the_same_report_exports_and_files(
    study: str, tmp_path: Path
) -> None:
    before = _state(study)
    assert len(before["media"]) == 2 * 30
    assert len(before["reads"]) == 3 * 2 * 30
    call_command("backup", "--out", str(tmp_path / "backup"), verbosity=0)
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["media"]["files"] == 60
    assert "reading.0002_read_guards" in manifest["migrations"]

    _wipe()
    call_command("restore", str(tmp_path / "backup"), verbosity=0)

    # Equal on every point: the data version too, which a floating-point sum of the predictions
    # taken in the restored tables' row order once missed in its last digit.
    assert _state(study) == before
    # The database's own guards came back with it: a submitted read still cannot be changed.
    read = Read.objects.filter(session__round__study__slug=study).first()
    assert read is not None
    with pytest.raises(DatabaseError), transaction.atomic():
        Read.objects.filter(pk=read.pk).update(confidence=(read.confidence + 1) % 101)


def test_restore_refuses_a_database_that_is_not_empty_unless_told_to_replace_it(
    study: str, tmp_path: Path
) -> None:
    call_command("backup", "--out", str(tmp_path / "backup"), verbosity=0)
    before = _state(study)
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(tmp_path / "backup"), verbosity=0)
    # New data after the backup: --replace brings back the backup's state exactly.
    extra = Path(settings.MEDIA_ROOT) / "later.bin"
    extra.write_bytes(b"written after the backup")
    Study.objects.filter(slug=study).update(title="renamed after the backup")
    call_command("restore", str(tmp_path / "backup"), "--replace", verbosity=0)
    assert not extra.exists()
    assert _state(study) == before


def test_a_damaged_backup_is_refused_before_anything_is_touched(study: str, tmp_path: Path) -> None:
    out = tmp_path / "backup"
    call_command("backup", "--out", str(out), verbosity=0)
    with (out / "media.tar").open("r+b") as handle:
        handle.seek(700)
        handle.write(b"\0damaged\0")
    before = _state(study)
    with pytest.raises(CommandError, match="checksum"):
        call_command("restore", str(out), "--replace", verbosity=0)
    assert _state(study) == before


def test_a_backup_never_overwrites_an_existing_folder(study: str, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    (backups / "monday").mkdir(parents=True)
    with pytest.raises(CommandError, match="exists"):
        call_command("backup", "--out", str(backups / "monday"), verbosity=0)
    assert list(backups.iterdir()) == [backups / "monday"]  # no half-written folder beside it
    assert list((backups / "monday").iterdir()) == []
