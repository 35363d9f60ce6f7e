"""Celery adapter for precompute: a default-queue task cuts a job into batches, GPU workers run
them. Every task takes primary keys and may run twice: finished images are skipped.

Task names are explicit, so messages queued before a code move still find their task.
"""

from __future__ import annotations

from collections.abc import Sequence

from inference.worker.models import PrecomputeJob
from inference.worker.services import precompute_batches, precompute_job_fail
from readerstudy.celery import TRANSIENT_ERRORS, default_task, gpu_task


@default_task(name="inference.tasks.precompute_start")
def precompute_start(*, job_pk: int) -> int:
    """Queue a batch task for the images still without a prediction; returns how many batches."""
    batches = precompute_batches(job=PrecomputeJob.objects.get(pk=job_pk))
    for image_pks in batches:
        precompute_batch.delay(job_pk=job_pk, image_pks=image_pks)
    return len(batches)


@gpu_task(name="inference.tasks.precompute_batch")
def precompute_batch(*, job_pk: int, image_pks: Sequence[int]) -> int:
    # The AI core (torch) loads here, in the GPU worker, never in the web process.
    from inference.worker.compute import precompute_batch_run

    try:
        return precompute_batch_run(job_pk=job_pk, image_pks=image_pks)
    except TRANSIENT_ERRORS:
        raise  # the task decorator retries it
    except Exception as error:
        precompute_job_fail(job_pk=job_pk, error=f"{type(error).__name__}: {error}")
        raise
