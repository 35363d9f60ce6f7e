"""`manage.py import_pacs STUDY --worklist FILE [--endpoint NAME] [--create]`: import from a PACS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from readerstudy.errors import ImportRejected
from readerstudy.studies.models import Study
from readerstudy.studies.pacs import endpoint_names, pacs_import


class Command(BaseCommand):
    help = (
        "Import cases from a PACS over DICOMweb: a worklist CSV names each image by "
        "study_instance_uid (series_instance_uid, sop_instance_uid) or accession_number, "
        "with the manifest's other columns."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("study", help="the study's slug")
        parser.add_argument("--worklist", type=Path, required=True, help="the worklist CSV")
        parser.add_argument(
            "--endpoint", default="", help="a configured PACS endpoint (default: the only one)"
        )
        parser.add_argument("--create", action="store_true", help="create the study if missing")
        parser.add_argument("--title", default="", help="the title of a study made by --create")

    def handle(self, *args: Any, **options: Any) -> None:
        slug: str = options["study"]
        endpoint: str = options["endpoint"]
        if not endpoint:
            names = endpoint_names()
            if len(names) != 1:
                raise CommandError(
                    f"Name the PACS with --endpoint; configured: {', '.join(names) or 'none'}."
                )
            endpoint = names[0]
        try:
            worklist = options["worklist"].read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read the worklist: {error}") from error
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            if not options["create"]:
                raise CommandError(f"No study {slug!r}: pass --create to make it.")
            study = Study.objects.create(slug=slug, title=options["title"] or slug)
            self.stdout.write(f"Created study {slug}.")
        bars: dict[str, tqdm[Any]] = {}
        quiet = options["verbosity"] == 0

        def progress(phase: str, done: int, total: int) -> None:
            bar = bars.get(phase)
            if bar is None:
                for other in bars.values():
                    other.close()
                bar = bars[phase] = tqdm(total=total, unit="image", desc=phase, disable=quiet)
            bar.update(done - bar.n)

        try:
            summary = pacs_import(
                study=study, worklist=worklist, endpoint=endpoint, actor=None, progress=progress
            )
        except ImportRejected as error:
            for line in error.extra.get("errors", []):
                self.stderr.write(f"  {line}")
            raise CommandError(error.message) from error
        finally:
            for bar in bars.values():
                bar.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {summary.cases} cases, {summary.images} images from PACS {endpoint} "
                f"into {slug} in {summary.seconds:.1f} s "
                f"({summary.images / max(summary.seconds, 1e-9):.1f} images/s)."
            )
        )
        if summary.needs_review:
            self.stdout.write(
                self.style.WARNING(
                    f"{summary.needs_review} image(s) need review: no ultrasound region was found. "
                    "Set their region on the console before reading."
                )
            )
