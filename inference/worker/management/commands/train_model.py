"""`manage.py train_model STUDY --arch resnet18 [--arch vgg16 …] --folds 5 [--quick] [--name N]`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

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

    def handle(self, *args: Any, **options: Any) -> None:
        study = Study.objects.filter(slug=options["study"]).first()
        if study is None:
            raise CommandError(f"No study {options['study']!r}.")
        archs = options["archs"] or [Architecture.RESNET18.value]
        name = options["name"] or f"{study.slug}-{'-'.join(archs)}"
        try:
            version = model_train(
                study=study,
                name=name,
                architectures=archs,
                folds=options["folds"],
                quick=options["quick"],
            )
        except ApplicationError as error:
            raise CommandError(error.message) from error
        metrics = version.validation_metrics
        self.stdout.write(
            self.style.SUCCESS(f"Registered model version {version.name} ({version.architecture}).")
        )
        for arch, auc in version.training.get("architectures_compared", {}).items():
            self.stdout.write(f"  validation AUC {arch}: {auc:.3f}")
        for arch, cv in version.training.get("cross_validation", {}).items():
            self.stdout.write(
                f"  {options['folds']}-fold CV AUC {arch}: {cv['mean_auc']:.3f} ± {cv['std_auc']:.3f}"
            )
        for cohort in ("internal_test", "external_test"):
            if cohort in metrics:
                auc = metrics[cohort].get("case", {}).get("auc")
                if auc is not None:
                    self.stdout.write(f"  {cohort} case-level AUC: {auc:.3f}")
