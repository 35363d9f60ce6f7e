"""`manage.py audit_verify [--study SLUG]`: verify the audit log's hash chain; exit 1 if broken."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser

from readerstudy.audit.selectors import audit_chain_verify


class Command(BaseCommand):
    help = (
        "Walk the audit log's hash chain. Prints OK with the number of events and the head hash "
        "(note it outside the database: a deleted tail shows only against it), or the first "
        "broken event and exits with status 1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--study",
            metavar="SLUG",
            help="Also count this study's events (the chain runs through all studies: it is "
            "always verified whole).",
        )

    def handle(self, *args: Any, study: str | None = None, **options: Any) -> None:
        study_id = None if study is None else self._study_id(study)
        report = audit_chain_verify()
        scope = ""
        if study_id is not None:
            scope = f"; study {study}: {report.study_counts.get(study_id, 0)} events"
        if report.first_break is None:
            self.stdout.write(
                f"OK: {report.count} events, head sequence {report.head_sequence}, "
                f"head hash {report.head_hash}{scope}"
            )
            return
        broken = report.first_break
        where = ""
        if study_id is not None:
            where = " (in this study)" if broken.study_id == study_id else " (in another study)"
        raise CommandError(
            f"BROKEN at event {broken.event_id} (sequence {broken.sequence}){where}: "
            f"{broken.kind}: {broken.detail}. {report.count} events walked{scope}.",
            returncode=1,
        )

    @staticmethod
    def _study_id(slug: str) -> int:
        # By the app registry, not an import: audit is a layer below studies.
        found = apps.get_model("studies", "Study").objects.filter(slug=slug).first()
        if found is None:
            raise CommandError(f"No study {slug!r}.", returncode=2)
        return int(found.pk)
