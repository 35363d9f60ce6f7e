"""`manage.py export_ai_dicom STUDY [--case KEY …] (--out DIR | --endpoint NAME)`: AI results as DICOM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference.worker.dicom_export import case_ai_dicom, case_ai_push
from readerstudy.errors import ApplicationError
from readerstudy.studies.models import Case, Study


class Command(BaseCommand):
    help = (
        "Export the AI's heatmaps (Secondary Capture) and probabilities (SR) of a study's cases "
        "as DICOM in the de-identified studies: to a folder, or into a PACS by STOW-RS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("study", help="the study's slug")
        parser.add_argument("--case", action="append", default=[], help="a case key (repeatable)")
        parser.add_argument("--out", type=Path, help="write the files under this folder")
        parser.add_argument("--endpoint", default="", help="store into this configured PACS")

    def handle(self, *args: Any, **options: Any) -> None:
        study = Study.objects.filter(slug=options["study"]).first()
        if study is None:
            raise CommandError(f"No study {options['study']!r}.")
        out: Path | None = options["out"]
        endpoint: str = options["endpoint"]
        if (out is None) == (not endpoint):
            raise CommandError("Give --out DIR or --endpoint NAME (one of them).")
        cases = Case.objects.filter(study=study).order_by("key")
        if options["case"]:
            cases = cases.filter(key__in=options["case"])
            missing = set(options["case"]) - set(cases.values_list("key", flat=True))
            if missing:
                raise CommandError(f"No case(s) {', '.join(sorted(missing))} in {study.slug}.")
        instances = 0
        for case in cases.filter(images__predictions__isnull=False).distinct():
            try:
                if endpoint:
                    instances += len(case_ai_push(case=case, endpoint=endpoint, actor=None))
                    continue
                assert out is not None
                for item in case_ai_dicom(case=case):
                    for ds in (item.secondary_capture, item.report):
                        path = out / str(ds.StudyInstanceUID) / f"{ds.SOPInstanceUID}.dcm"
                        path.parent.mkdir(parents=True, exist_ok=True)
                        ds.save_as(path, enforce_file_format=True)
                        instances += 1
            except ApplicationError as error:
                raise CommandError(f"case {case.key}: {error.message}") from error
        where = f"PACS {endpoint}" if endpoint else str(out)
        self.stdout.write(self.style.SUCCESS(f"Stored {instances} AI instance(s) in {where}."))
