"""The import task: a Celery adapter over `cases_import`, reporting progress on its ImportJob."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from readerstudy.celery import default_task
from readerstudy.errors import ImportRejected
from readerstudy.studies.importing import cases_import
from readerstudy.studies.models import ImportJob, ImportStatus

log = logging.getLogger(__name__)


@default_task()
def import_run(*, job_pk: int) -> str:
    """Run an uploaded import once. A re-delivered task finds the job taken and does nothing."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_pk)
        if job.status != ImportStatus.PENDING:
            return job.status
        job.status = ImportStatus.RUNNING
        job.save(update_fields=["status"])
    last = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last
        if done == total or time.monotonic() - last > 0.5:
            ImportJob.objects.filter(pk=job_pk).update(done_images=done, total_images=total)
            last = time.monotonic()

    status = ImportStatus.FAILED
    errors: list[str] = []
    summary: dict[str, int] = {}
    upload_name = job.upload.name or ""
    try:
        with (
            default_storage.open(upload_name, "rb") as upload,
            tempfile.NamedTemporaryFile(suffix=".zip") as local,
        ):
            for chunk in iter(lambda: upload.read(1 << 20), b""):
                local.write(chunk)
            local.flush()
            result = cases_import(
                study=job.study, path=Path(local.name), actor=job.created_by, progress=progress
            )
        status = ImportStatus.SUCCEEDED
        summary = {
            "cases": result.cases,
            "images": result.images,
            "needs_review": result.needs_review,
        }
    except ImportRejected as error:
        errors = [error.message, *error.extra.get("errors", [])]
    except Exception as error:
        log.exception("import %s failed", job_pk)
        errors = [f"The import failed unexpectedly: {error}"]
    finally:
        if upload_name:
            default_storage.delete(upload_name)
    ImportJob.objects.filter(pk=job_pk).update(
        status=status, errors=errors, summary=summary, finished_at=timezone.now(), upload=""
    )
    return status
