"""`manage.py restore DIR [--replace]`: a backup made by `manage.py backup`, database and media."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from readerstudy.ops.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = "Restore a backup folder into an empty database and media storage (or --replace)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", type=Path, help="the folder `manage.py backup` wrote")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="wipe the current database and media first (everything in them is lost)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            manifest = backup_restore(source=options["source"], replace=options["replace"])
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"restored the database and {manifest['media']['files']} media files from "
            f"{options['source']} (made {manifest['created_at']}); run `manage.py migrate` if "
            "this version has newer migrations"
        )
