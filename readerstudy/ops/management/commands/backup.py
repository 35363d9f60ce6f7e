"""`manage.py backup --out DIR`: the database and the media storage together (readerstudy/ops/backup.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from readerstudy.ops.backup import BackupError, backup_create


class Command(BaseCommand):
    help = "Back up the database (pg_dump) and every media file into a new folder."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--out", type=Path, required=True, help="a folder that does not exist yet"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            manifest = backup_create(out=options["out"])
        except BackupError as error:
            raise CommandError(str(error)) from None
        media = manifest["media"]
        self.stdout.write(
            f"backed up the {manifest['database']['vendor']} database "
            f"({manifest['database']['bytes']} bytes) and {media['files']} media files "
            f"({media['bytes']} bytes) to {options['out']}"
        )
