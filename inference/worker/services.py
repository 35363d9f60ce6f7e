"""The inference adapter's web-side services: queue, cut and account for precompute jobs, and
record training jobs and their progress.

Torch-free: the web process imports this module, never `inference.worker.compute`, which loads
the AI core and runs only inside GPU task bodies and the worker's commands.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from inference.worker.models import (
    Architecture,
    BatchState,
    JobStatus,
    ModelVersion,
    PrecomputeBatch,
    PrecomputeJob,
    Prediction,
    TrainingJob,
)
from readerstudy.accounts import access
from readerstudy.accounts.models import User
from readerstudy.audit.services import audit_record
from readerstudy.errors import Conflict
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


def _job_running(*, job_pk: int) -> PrecomputeJob | None:
    """Lock the job and mark it running; None when it is finished or cancelled. Call inside a
    transaction."""
    job = PrecomputeJob.objects.select_for_update().get(pk=job_pk)
    if job.status in (JobStatus.SUCCEEDED, JobStatus.CANCELLED):
        return None
    job.status = JobStatus.RUNNING
    job.started_at = job.started_at or timezone.now()
    job.save(update_fields=["status", "started_at"])
    return job


def _cut(image_pks: list[int], size: int) -> list[list[int]]:
    return [image_pks[i : i + size] for i in range(0, len(image_pks), size)]


def precompute_batches(*, job: PrecomputeJob) -> list[list[int]]:
    """Mark the job running and cut the images still without a prediction into batches (run in
    this process: nothing is recorded for the sweep)."""
    with transaction.atomic():
        running = _job_running(job_pk=job.pk)
    if running is None:
        return []
    remaining = _images_to_predict(study=running.study, model_version=running.model_version)
    if not remaining:
        job_progress(job_pk=job.pk)
    return _cut(remaining, running.batch_size)


def precompute_batches_record(*, job_pk: int) -> list[PrecomputeBatch]:
    """Mark the job running and record a batch for every `batch_size` images still without a
    prediction, in one transaction, so the sweep knows what is outstanding; the caller queues
    them. Batches of an earlier cut still outstanding are superseded: the new cut covers their
    images, and a run still holding one loses its claim at its next heartbeat."""
    with transaction.atomic():
        job = _job_running(job_pk=job_pk)
        if job is None:
            return []
        now = timezone.now()
        job.batches.exclude(state=BatchState.DONE).update(state=BatchState.DONE, finished_at=now)
        remaining = _images_to_predict(study=job.study, model_version=job.model_version)
        batches = PrecomputeBatch.objects.bulk_create(
            PrecomputeBatch(job=job, image_pks=chunk, queued_at=now)
            for chunk in _cut(remaining, job.batch_size)
        )
    if not remaining:
        job_progress(job_pk=job_pk)
    return batches


class BatchClaimLost(Exception):
    """This run no longer holds its batch: the sweep queued it again, or a new cut superseded it."""


def precompute_batch_claim(*, batch_pk: int) -> int | None:
    """Start a run of a queued batch and return its token (the attempt number), or None when the
    batch is running elsewhere, done or gone: a duplicate or late message then does nothing."""
    seen = PrecomputeBatch.objects.filter(pk=batch_pk, state=BatchState.QUEUED).first()
    if seen is None:
        return None
    token = seen.attempts + 1
    claimed = PrecomputeBatch.objects.filter(
        pk=batch_pk, state=BatchState.QUEUED, attempts=seen.attempts
    ).update(state=BatchState.RUNNING, attempts=token, heartbeat_at=timezone.now())
    return token if claimed == 1 else None


def _held(*, batch_pk: int, token: int) -> Q:
    return Q(pk=batch_pk, state=BatchState.RUNNING, attempts=token)


def precompute_batch_heartbeat(*, batch_pk: int, token: int) -> None:
    """Progress: the run still holds the batch, or BatchClaimLost."""
    if not PrecomputeBatch.objects.filter(_held(batch_pk=batch_pk, token=token)).update(
        heartbeat_at=timezone.now()
    ):
        raise BatchClaimLost(f"batch {batch_pk} run {token}")


def precompute_batch_finish(*, batch_pk: int, token: int) -> bool:
    now = timezone.now()
    return bool(
        PrecomputeBatch.objects.filter(_held(batch_pk=batch_pk, token=token)).update(
            state=BatchState.DONE, heartbeat_at=now, finished_at=now
        )
    )


def precompute_batch_release(*, batch_pk: int, token: int) -> None:
    """Back to queued, for the task's own retry after a transient error."""
    PrecomputeBatch.objects.filter(_held(batch_pk=batch_pk, token=token)).update(
        state=BatchState.QUEUED, queued_at=timezone.now()
    )


def precompute_sweep(*, now: datetime | None = None) -> list[PrecomputeBatch]:
    """The batches to queue again (the caller sends them): those of running jobs whose run made
    no progress for PRECOMPUTE_BATCH_STALE_SECONDS (its worker died: the embedded broker loses
    that message, Redis re-delivers it only after the visibility timeout), and those queued that
    long while no batch anywhere made progress (a message lost before any run claimed it; a
    queue that is merely busy makes progress). Each is taken with a conditional UPDATE, so two
    sweepers, or a sweeper and a late original, never both run it. Running jobs with nothing
    outstanding are finished, or cut again when images are still missing."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.PRECOMPUTE_BATCH_STALE_SECONDS)
    outstanding = PrecomputeBatch.objects.filter(job__status=JobStatus.RUNNING)
    stale = list(
        outstanding.filter(state=BatchState.RUNNING, heartbeat_at__lt=cutoff).values_list(
            "pk", "attempts", "heartbeat_at"
        )
    )
    requeued: list[int] = []
    for pk, attempts, heartbeat_at in stale:
        if PrecomputeBatch.objects.filter(
            pk=pk, state=BatchState.RUNNING, attempts=attempts, heartbeat_at=heartbeat_at
        ).update(state=BatchState.QUEUED, queued_at=now):
            requeued.append(pk)
    progressing = PrecomputeBatch.objects.filter(heartbeat_at__gte=cutoff).exists()
    if not progressing:
        for pk, queued_at in outstanding.filter(
            state=BatchState.QUEUED, queued_at__lt=cutoff
        ).values_list("pk", "queued_at"):
            if PrecomputeBatch.objects.filter(
                pk=pk, state=BatchState.QUEUED, queued_at=queued_at
            ).update(queued_at=now):
                requeued.append(pk)
    batches = list(PrecomputeBatch.objects.filter(pk__in=requeued).order_by("pk"))
    idle_jobs = (
        PrecomputeJob.objects.filter(status=JobStatus.RUNNING)
        .exclude(batches__state__in=[BatchState.QUEUED, BatchState.RUNNING])
        .annotate(last=Max("batches__finished_at"))
        .filter(last__isnull=False)
    )
    for job_pk, last in idle_jobs.values_list("pk", "last"):
        job_progress(job_pk=job_pk)
        still = PrecomputeJob.objects.filter(pk=job_pk, status=JobStatus.RUNNING).exists()
        if still and last < cutoff:
            batches += precompute_batches_record(job_pk=job_pk)
    return batches


def job_progress(*, job_pk: int, batch_pk: int | None = None) -> None:
    """Count the job's predictions; it succeeds once every image has one and no batch other than
    `batch_pk` (the one calling) is outstanding: a batch killed after storing its predictions
    still owes its case votes, and the sweep re-runs only batches of running jobs."""
    with transaction.atomic():
        job = PrecomputeJob.objects.select_for_update().get(pk=job_pk)
        done = Prediction.objects.filter(
            model_version=job.model_version, image__case__study=job.study, image__needs_review=False
        ).count()
        job.done_images = min(done, job.total_images)
        others = job.batches.filter(state__in=[BatchState.QUEUED, BatchState.RUNNING])
        outstanding = (others if batch_pk is None else others.exclude(pk=batch_pk)).exists()
        if done >= job.total_images and job.status == JobStatus.RUNNING and not outstanding:
            job.status = JobStatus.SUCCEEDED
            job.finished_at = timezone.now()
        job.save(update_fields=["done_images", "status", "finished_at"])


def precompute_job_fail(*, job_pk: int, error: str) -> None:
    PrecomputeJob.objects.filter(pk=job_pk).update(
        status=JobStatus.FAILED, error=error[:4000], finished_at=timezone.now()
    )


@transaction.atomic
def training_job_create(
    *,
    study: Study,
    name: str,
    architectures: list[str],
    actor: User | None,
    folds: int = 5,
    quick: bool = False,
    config: dict[str, object] | None = None,
    preprocessing: dict[str, object] | None = None,
    audit_at: datetime | None = None,
) -> TrainingJob:
    """A training job for the study's train and validation cohorts, registering model version
    `name` (the caller queues it: `tasks.train`). `config` overrides TrainConfig's fields and
    `preprocessing` Preprocessing's; the worker checks them (the web process has no torch): a bad
    one fails the job with the reason."""
    if actor is not None:
        access.study_require(user=actor, study=study)
    unknown = sorted(set(architectures) - set(Architecture.values))
    if not architectures or unknown:
        raise Conflict(
            f"Unknown architecture {', '.join(unknown)}." if unknown else "Name an architecture.",
            extra={"architectures": Architecture.values},
        )
    if folds < 1:
        raise Conflict("Folds must be 1 (no cross-validation) or more.")
    if ModelVersion.objects.filter(name=name).exists():
        raise Conflict(f"A model version named {name!r} exists already.")
    unfinished = TrainingJob.objects.filter(name=name, status__in=_UNFINISHED)
    if unfinished.exists():
        raise Conflict(f"A training job for {name!r} is already queued or running.")
    job = TrainingJob.objects.create(
        study=study,
        name=name,
        architectures=list(architectures),
        folds=folds,
        quick=quick,
        config=dict(config or {}),
        preprocessing=dict(preprocessing or {}),
        audit_at=audit_at,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action="training.queued",
        target=job,
        study=study,
        data={"model": name, "architectures": list(architectures), "folds": folds},
    )
    return job


_UNFINISHED = (JobStatus.PENDING, JobStatus.RUNNING)


class TrainingClaimLost(Exception):
    """This run no longer holds its training job: a re-delivered message started another run."""


def training_job_claim(*, job_pk: int) -> int | None:
    """Start a run of a pending (or interrupted: running) job and return its token, the attempt
    number; None when the job is finished, so a duplicate message does nothing."""
    seen = TrainingJob.objects.filter(pk=job_pk, status__in=_UNFINISHED).first()
    if seen is None:
        return None
    token = seen.attempts + 1
    now = timezone.now()
    claimed = TrainingJob.objects.filter(
        pk=job_pk, status__in=_UNFINISHED, attempts=seen.attempts
    ).update(
        status=JobStatus.RUNNING,
        attempts=token,
        started_at=seen.started_at or now,
        stage="",
        epoch=0,
        epochs=0,
        validation_case_auc=None,
        error="",
    )
    return token if claimed == 1 else None


def _training_held(*, job_pk: int, token: int) -> QuerySet[TrainingJob]:
    return TrainingJob.objects.filter(pk=job_pk, status=JobStatus.RUNNING, attempts=token)


def training_job_progress(
    *, job_pk: int, token: int, stage: str, epoch: int, epochs: int, case_auc: float | None
) -> None:
    """One epoch done (`case_auc`: its validation case AUC, None when undefined); raises
    TrainingClaimLost when another run holds the job, which stops this one."""
    if not _training_held(job_pk=job_pk, token=token).update(
        stage=stage[:64],
        epoch=min(epoch, epochs),
        epochs=epochs,
        validation_case_auc=case_auc,
    ):
        raise TrainingClaimLost(f"training job {job_pk} run {token}")


def training_job_succeed(*, job_pk: int, token: int, model_version: ModelVersion) -> bool:
    return bool(
        _training_held(job_pk=job_pk, token=token).update(
            status=JobStatus.SUCCEEDED, model_version=model_version, finished_at=timezone.now()
        )
    )


def training_job_fail(*, job_pk: int, token: int | None, error: str) -> None:
    """Record why the run failed (any run's failure when `token` is None)."""
    jobs = (
        TrainingJob.objects.filter(pk=job_pk, status__in=_UNFINISHED)
        if token is None
        else _training_held(job_pk=job_pk, token=token)
    )
    jobs.update(status=JobStatus.FAILED, error=error[:4000], finished_at=timezone.now())
