"""`manage.py demo_story [--seeds N]`: the demo's simulated readers re-run over N simulated draws
(case difficulties and reader impressions) on the demo study's reading cases, with its trained
AI's case probabilities and threshold; prints their binary AUC by seniority and round beside the
seed's. Writes nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fixtures.demo import DEMO_STUDY_SLUG, STORY_SEEDS, demo_story_over_seeds
from readerstudy.studies.models import Study


class Command(BaseCommand):
    help = "Print the demo readers' AUCs averaged over simulated draws, beside the seed's."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seeds", type=int, default=STORY_SEEDS, help="simulated draws")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["seeds"] < 1:
            raise CommandError("--seeds must be at least 1.")
        study = Study.objects.filter(slug=DEMO_STUDY_SLUG).first()
        if study is None:
            raise CommandError("There is no demo study: run manage.py demo first.")
        try:
            rows = demo_story_over_seeds(study=study, seeds=options["seeds"])
        except ValueError as error:
            raise CommandError(str(error)) from error
        ai = study.ai_model
        self.stdout.write(
            f"Binary AUC by seniority and round, mean over {options['seeds']} simulated draws "
            f"(two readers of each seniority) on the demo's {study.slug} reading cases with "
            f"{ai.name if ai else 'no AI'} (threshold {study.ai_threshold:g}), vs the seed"
        )
        self.stdout.write(
            f"{'seniority':<13} {'round':>5} {'simulated':>9} {'seed':>6} {'diff':>6}"
        )
        for row in rows:
            diff = float(row["simulated"]) - float(row["seed"])  # type: ignore[arg-type]
            self.stdout.write(
                f"{row['seniority']:<13} {row['round']:>5} {row['simulated']:>9.3f} "
                f"{row['seed']:>6.3f} {diff:>+6.3f}"
            )
