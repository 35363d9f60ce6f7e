"""`manage.py import_cases STUDY PATH [--create]`: import a folder or zip with a manifest.csv."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from readerstudy.errors import ImportRejected
from readerstudy.studies.importing import cases_import
from readerstudy.studies.models import Study


class Command(BaseCommand):
    help = "Import cases (images, lesion boxes, truth, cohort) from a folder or zip with a manifest.csv."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("study", help="the study's slug")
        parser.add_argument("path", type=Path, help="a folder or .zip holding manifest.csv")
        parser.add_argument("--create", action="store_true", help="create the study if missing")
        parser.add_argument("--title", default="", help="the title of a study made by --create")

    def handle(self, *args: Any, **options: Any) -> None:
        slug: str = options["study"]
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            if not options["create"]:
                raise CommandError(f"No study {slug!r}: pass --create to make it.")
            study = Study.objects.create(slug=slug, title=options["title"] or slug)
            self.stdout.write(f"Created study {slug}.")
        bar = tqdm(total=0, unit="image", desc="importing", disable=options["verbosity"] == 0)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            summary = cases_import(study=study, path=options["path"], actor=None, progress=progress)
        except ImportRejected as error:
            bar.close()
            for line in error.extra.get("errors", []):
                self.stderr.write(f"  {line}")
            raise CommandError(error.message) from error
        bar.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {summary.cases} cases, {summary.images} images into {slug} in "
                f"{summary.seconds:.1f} s ({summary.images / max(summary.seconds, 1e-9):.1f} images/s)."
            )
        )
        if summary.needs_review:
            self.stdout.write(
                self.style.WARNING(
                    f"{summary.needs_review} image(s) need review: no ultrasound region was found, "
                    "so their burned-in text could not be removed. Set their region before reading."
                )
            )
