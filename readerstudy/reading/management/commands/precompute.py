"""`manage.py precompute STUDY --model VERSION [--inline] [--batch-size N]`: make the model the
study's AI (refused once an assisted round started with another) and precompute its images."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from inference.worker.models import ModelVersion
from readerstudy.errors import ApplicationError
from readerstudy.reading.services import study_ai_use
from readerstudy.studies.models import Study


class Command(BaseCommand):
    help = (
        "Precompute the model's probability and Grad-CAM heatmap for every image of the study: "
        "queued to the GPU workers, or run here with --inline. Resumes an unfinished job."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("study")
        parser.add_argument("--model", required=True, help="the model version's name")
        parser.add_argument("--batch-size", type=int, default=64)
        parser.add_argument(
            "--inline", action="store_true", help="run in this process, not on workers"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        study = Study.objects.filter(slug=options["study"]).first()
        if study is None:
            raise CommandError(f"No study {options['study']!r}.")
        version = ModelVersion.objects.filter(name=options["model"]).first()
        if version is None:
            raise CommandError(f"No model version {options['model']!r}.")
        try:
            job = study_ai_use(
                study=study,
                model_version=version,
                actor=None,
                batch_size=options["batch_size"],
                queue=not options["inline"],
            )
        except ApplicationError as error:
            raise CommandError(error.message) from error
        if not options["inline"]:
            self.stdout.write(
                f"Queued precompute job {job.pk}: {job.total_images} images for the GPU workers."
            )
            return
        # Loads the AI core (torch) in this process: the command runs the worker's code itself.
        from inference.worker.compute import precompute_run_inline

        with tqdm(
            total=job.total_images,
            unit="image",
            initial=job.done_images,
            disable=options["verbosity"] == 0,
        ) as bar:
            job = precompute_run_inline(job=job, progress=bar.update)
        self.stdout.write(
            self.style.SUCCESS(
                f"Precompute job {job.pk}: {job.status}, {job.done_images}/{job.total_images} images."
            )
        )
