"""`manage.py train_model STUDY --arch resnet18 [--arch vgg16 …] --folds 5 [--quick] [--epochs E]
[--name N] [--queue]`: prints the initialisation (and a warning when no ImageNet weights were
found), and the case- and image-level AUCs of validation, cross-validation and the test cohorts;
with --queue, a training job on the gpu queue instead (its progress on the console)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inference.train import TrainConfig
from inference.worker.compute import model_train
from inference.worker.models import Architecture
from readerstudy.errors import ApplicationError
from readerstudy.studies.models import Study


class Command(BaseCommand):
    help = (
        "Train the seed's CNNs on a study's train cohort (early stopping on its validation cohort), "
        "keep the best architecture by validation AUC, and register it as a model version."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("study")
        parser.add_argument("--arch", action="append", choices=Architecture.values, dest="archs")
        parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (1: none)")
        parser.add_argument(
            "--quick", action="store_true", help="112 px, few epochs: for phantoms on a CPU"
        )
        parser.add_argument("--name", help="the model version's name (default STUDY-ARCH-N)")
        parser.add_argument("--epochs", type=int, help="at most this many epochs (early stopping)")
        parser.add_argument(
            "--queue",
            action="store_true",
            help="queue a training job for a gpu worker (progress on the console) instead",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        study = Study.objects.filter(slug=options["study"]).first()
        if study is None:
            raise CommandError(f"No study {options['study']!r}.")
        archs = options["archs"] or [Architecture.RESNET18.value]
        name = options["name"] or f"{study.slug}-{'-'.join(archs)}"
        config = None
        if options["epochs"]:
            base = TrainConfig.quick() if options["quick"] else TrainConfig()
            config = replace(base, epochs=options["epochs"])
        if options["queue"]:
            self._queue(study=study, name=name, archs=archs, options=options)
            return
        try:
            version = model_train(
                study=study,
                name=name,
                architectures=archs,
                folds=options["folds"],
                quick=options["quick"],
                config=config,
            )
        except ApplicationError as error:
            raise CommandError(error.message) from error
        metrics = version.validation_metrics
        self.stdout.write(
            self.style.SUCCESS(f"Registered model version {version.name} ({version.architecture}).")
        )
        training = version.training
        self.stdout.write(f"  initialisation: {training.get('initialisation', 'unknown')}")
        if training.get("initialisation_note"):
            self.stdout.write(self.style.WARNING(f"  WARNING: {training['initialisation_note']}"))
        image_aucs = training.get("architectures_compared_image_auc", {})
        for arch, auc in training.get("architectures_compared", {}).items():
            self.stdout.write(
                f"  validation AUC {arch}: case {_auc(auc)}, image {_auc(image_aucs.get(arch))}"
                " (the cohort early stopping and selection used: optimistic)"
            )
        for arch, cv in training.get("cross_validation", {}).items():
            self.stdout.write(
                f"  {options['folds']}-fold CV AUC {arch}: case {_auc(cv['mean_auc'])} ± "
                f"{_auc(cv['std_auc'])}, image {_auc(cv.get('mean_image_auc'))} ± "
                f"{_auc(cv.get('std_image_auc'))} ({cv.get('method', '')})"
            )
        for cohort in ("internal_test", "external_test"):
            if cohort in metrics:
                case, image = metrics[cohort].get("case", {}), metrics[cohort].get("image", {})
                self.stdout.write(
                    f"  {cohort} AUC: case {_auc(case.get('auc'))}, image {_auc(image.get('auc'))}"
                )

    def _queue(self, *, study: Study, name: str, archs: list[str], options: dict[str, Any]) -> None:
        from django.db import transaction

        from inference.worker.services import training_job_create
        from inference.worker.tasks import training_queue

        try:
            with transaction.atomic():
                job = training_job_create(
                    study=study,
                    name=name,
                    architectures=archs,
                    actor=None,
                    folds=options["folds"],
                    quick=options["quick"],
                    config={"epochs": options["epochs"]} if options["epochs"] else {},
                )
                training_queue(job_pk=job.pk)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Queued training job {job.pk} for {name} on the gpu queue; its progress is on "
                f"the console of {study.slug}."
            )
        )


def _auc(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
