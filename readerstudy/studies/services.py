"""Study writes that start work elsewhere: accepting an upload for import, and running it."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from readerstudy.accounts import access
from readerstudy.accounts.models import User
from readerstudy.audit.services import audit_record
from readerstudy.errors import ImportRejected
from readerstudy.studies.models import ImportJob, ImportSource, ImportStatus, Study

if TYPE_CHECKING:
    from readerstudy.studies.importing import ImportSummary


@transaction.atomic
def import_job_create(*, study: Study, upload: UploadedFile, actor: User) -> ImportJob:
    """Keep the uploaded zip and queue its import on the default queue."""
    access.study_require(user=actor, study=study)
    if upload.size is None or upload.size > settings.IMPORT_MAX_UPLOAD_BYTES:
        raise ImportRejected(
            f"The upload is larger than the limit of {settings.IMPORT_MAX_UPLOAD_BYTES} bytes."
        )
    head = upload.read(4)
    upload.seek(0)
    if head != b"PK\x03\x04":
        raise ImportRejected("Upload a .zip archive holding manifest.csv and the images.")
    job = ImportJob(study=study, created_by=actor)
    job.upload.save("upload.zip", upload, save=False)
    job.save()
    audit_record(actor=actor, action="import.queued", target=job, study=study)
    from readerstudy.studies.tasks import import_run

    transaction.on_commit(lambda: import_run.delay(job_pk=job.pk))
    return job


@transaction.atomic
def pacs_import_job_create(
    *, study: Study, worklist: UploadedFile, endpoint: str, actor: User
) -> ImportJob:
    """Keep the worklist and queue its import from the named PACS endpoint on the default queue."""
    from readerstudy.studies.pacs import WORKLIST_MAX_BYTES, endpoint_get

    access.study_require(user=actor, study=study)
    endpoint_get(endpoint)  # a name that is not configured is refused now, not in the worker
    if worklist.size is None or worklist.size > WORKLIST_MAX_BYTES:
        raise ImportRejected(
            f"The worklist is larger than the limit of {WORKLIST_MAX_BYTES} bytes."
        )
    job = ImportJob(study=study, created_by=actor, source=ImportSource.PACS, pacs_endpoint=endpoint)
    job.upload.save("worklist.csv", worklist, save=False)
    job.save()
    audit_record(
        actor=actor, action="import.queued", target=job, study=study, data={"pacs": endpoint}
    )
    from readerstudy.studies.tasks import import_run

    transaction.on_commit(lambda: import_run.delay(job_pk=job.pk))
    return job


def import_job_run(*, job_pk: int) -> str:
    """Run an uploaded import once and record its outcome; returns the job's status.

    A job already taken (a re-delivered task) is left alone. A rejected import is recorded as
    failed; any other error propagates with the job still running, for the caller to retry it
    (`import_job_release`) or record it (`import_job_fail`).
    """
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_pk)
        if job.status != ImportStatus.PENDING:
            return job.status
        job.status = ImportStatus.RUNNING
        job.save(update_fields=["status"])
    try:
        result = (
            _pacs_import(job=job) if job.source == ImportSource.PACS else _upload_import(job=job)
        )
    except ImportRejected as error:
        return _import_job_finish(
            job=job,
            status=ImportStatus.FAILED,
            errors=[error.message, *error.extra.get("errors", [])],
        )
    summary = {"cases": result.cases, "images": result.images, "needs_review": result.needs_review}
    return _import_job_finish(job=job, status=ImportStatus.SUCCEEDED, summary=summary)


def import_job_fail(*, job_pk: int, error: str) -> str:
    """Record an unexpected error on a running import: it fails, its upload is removed."""
    job = ImportJob.objects.get(pk=job_pk)
    return _import_job_finish(job=job, status=ImportStatus.FAILED, errors=[error])


def import_job_release(*, job_pk: int) -> None:
    """Give a running import back (its upload kept) so that a retry of the task runs it again."""
    ImportJob.objects.filter(pk=job_pk, status=ImportStatus.RUNNING).update(
        status=ImportStatus.PENDING
    )


def _upload_import(*, job: ImportJob) -> ImportSummary:
    last = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last
        if done == total or time.monotonic() - last > 0.5:
            ImportJob.objects.filter(pk=job.pk).update(done_images=done, total_images=total)
            last = time.monotonic()

    with (
        default_storage.open(job.upload.name or "", "rb") as upload,
        tempfile.NamedTemporaryFile(suffix=".zip") as local,
    ):
        for chunk in iter(lambda: upload.read(1 << 20), b""):
            local.write(chunk)
        local.flush()
        # The imaging stack (pydicom, OpenCV) loads in the worker that imports, not at web start.
        from readerstudy.studies.importing import cases_import

        return cases_import(
            study=job.study, path=Path(local.name), actor=job.created_by, progress=progress
        )


def _pacs_import(*, job: ImportJob) -> ImportSummary:
    from readerstudy.studies.pacs import pacs_import

    last = 0.0

    def progress(phase: str, done: int, total: int) -> None:
        nonlocal last
        if done == total or time.monotonic() - last > 0.5:
            ImportJob.objects.filter(pk=job.pk).update(
                phase=phase, done_images=done, total_images=total
            )
            last = time.monotonic()

    with default_storage.open(job.upload.name or "", "rb") as upload:
        worklist = upload.read()
    return pacs_import(
        study=job.study,
        worklist=worklist,
        endpoint=job.pacs_endpoint,
        actor=job.created_by,
        progress=progress,
    )


def _import_job_finish(
    *,
    job: ImportJob,
    status: ImportStatus,
    errors: list[str] | None = None,
    summary: dict[str, int] | None = None,
) -> str:
    # The upload holds identifiable images: it is not kept once the import is over.
    if job.upload.name:
        default_storage.delete(job.upload.name)
    ImportJob.objects.filter(pk=job.pk).update(
        status=status,
        errors=errors or [],
        summary=summary or {},
        finished_at=timezone.now(),
        upload="",
    )
    return status
