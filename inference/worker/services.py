"""The inference adapter's web-side services: queue, cut and account for precompute jobs.

Torch-free: the web process imports this module, never `inference.worker.compute`, which loads
the AI core and runs only inside GPU task bodies and the worker's commands.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from inference.worker.models import JobStatus, ModelVersion, PrecomputeJob, Prediction
from readerstudy.accounts import access
from readerstudy.accounts.models import User
from readerstudy.audit.services import audit_record
from readerstudy.studies.models import CaseImage, Study


def _images_to_predict(*, study: Study, model_version: ModelVersion) -> list[int]:
    return list(
        CaseImage.objects.filter(case__study=study, needs_review=False)
        .exclude(predictions__model_version=model_version)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def precompute_job_create(
    *,
    study: Study,
    model_version: ModelVersion,
    actor: User | None,
    batch_size: int = 64,
) -> PrecomputeJob:
    """A precompute job for every image of the study with `model_version` (the caller queues
    it: `tasks.precompute_start`). An unfinished job for the same model is resumed instead of
    duplicated. Choosing the study's
    AI (and refusing a change once an assisted round started) is reading's `study_ai_use`."""
    if actor is not None:
        access.study_require(user=actor, study=study)
    job = (
        PrecomputeJob.objects.filter(study=study, model_version=model_version)
        .exclude(status__in=[JobStatus.SUCCEEDED, JobStatus.CANCELLED])
        .first()
    )
    total = CaseImage.objects.filter(case__study=study, needs_review=False).count()
    if job is None:
        job = PrecomputeJob.objects.create(
            study=study,
            model_version=model_version,
            batch_size=batch_size,
            total_images=total,
            created_by=actor,
        )
        audit_record(
            actor=actor,
            action="precompute.queued",
            target=job,
            study=study,
            data={"model": model_version.name, "images": total},
        )
    else:
        job.status, job.error, job.total_images = JobStatus.PENDING, "", total
        job.save(update_fields=["status", "error", "total_images"])
    return job


def precompute_batches(*, job: PrecomputeJob) -> list[list[int]]:
    """Mark the job running and cut the images still without a prediction into batches."""
    with transaction.atomic():
        job = PrecomputeJob.objects.select_for_update().get(pk=job.pk)
        if job.status in (JobStatus.SUCCEEDED, JobStatus.CANCELLED):
            return []
        job.status = JobStatus.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["status", "started_at"])
    remaining = _images_to_predict(study=job.study, model_version=job.model_version)
    if not remaining:
        job_progress(job_pk=job.pk)
    return [remaining[i : i + job.batch_size] for i in range(0, len(remaining), job.batch_size)]


def job_progress(*, job_pk: int) -> None:
    with transaction.atomic():
        job = PrecomputeJob.objects.select_for_update().get(pk=job_pk)
        done = Prediction.objects.filter(
            model_version=job.model_version, image__case__study=job.study, image__needs_review=False
        ).count()
        job.done_images = min(done, job.total_images)
        if done >= job.total_images and job.status == JobStatus.RUNNING:
            job.status = JobStatus.SUCCEEDED
            job.finished_at = timezone.now()
        job.save(update_fields=["done_images", "status", "finished_at"])


def precompute_job_fail(*, job_pk: int, error: str) -> None:
    PrecomputeJob.objects.filter(pk=job_pk).update(
        status=JobStatus.FAILED, error=error[:4000], finished_at=timezone.now()
    )
