"""Study writes that start work elsewhere: accepting an upload for import."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from readerstudy.accounts import access
from readerstudy.accounts.models import User
from readerstudy.audit.services import audit_record
from readerstudy.errors import ImportRejected
from readerstudy.studies.models import ImportJob, Study


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
