"""Celery adapter for precompute and training: a default-queue task cuts a precompute job into
recorded batches, GPU workers run them, and a periodic sweep (beat, `worker -B`) queues again any
batch whose message or worker was lost; a training job is one GPU task that writes its progress
per epoch. Every task takes primary keys and may run twice: finished work is skipped.

Task names are explicit, so messages queued before a code move still find their task.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from functools import partial

from django.db import transaction

from inference.worker.models import PrecomputeBatch
from inference.worker.services import (
    BatchClaimLost,
    TrainingClaimLost,
    precompute_batch_claim,
    precompute_batch_finish,
    precompute_batch_heartbeat,
    precompute_batch_release,
    precompute_batches_record,
    precompute_job_fail,
    precompute_sweep,
    training_job_claim,
    training_job_fail,
)
from readerstudy.celery import TRANSIENT_ERRORS, default_task, gpu_task


def _send(batches: Sequence[PrecomputeBatch]) -> None:
    for batch in batches:
        precompute_batch.delay(job_pk=batch.job_id, image_pks=batch.image_pks, batch_pk=batch.pk)


@default_task(name="inference.tasks.precompute_start")
def precompute_start(*, job_pk: int) -> int:
    """Record and queue a batch for the images still without a prediction; returns how many."""
    batches = precompute_batches_record(job_pk=job_pk)
    transaction.on_commit(partial(_send, batches))
    return len(batches)


@default_task(name="inference.tasks.precompute_sweep")
def precompute_sweep_run() -> int:
    """Queue again the batches a dead worker or a lost message left behind; returns how many."""
    batches = precompute_sweep()
    _send(batches)
    return len(batches)


@gpu_task(name="inference.tasks.precompute_batch")
def precompute_batch(*, job_pk: int, image_pks: Sequence[int], batch_pk: int | None = None) -> int:
    # The AI core (torch) loads here, in the GPU worker, never in the web process.
    from inference.worker.compute import precompute_batch_run

    if batch_pk is None:  # a message queued before batches were recorded
        return _failing_job(
            job_pk, lambda: precompute_batch_run(job_pk=job_pk, image_pks=image_pks)
        )
    token = precompute_batch_claim(batch_pk=batch_pk)
    if token is None:
        return 0  # a duplicate or late message: the batch is running elsewhere or done
    heartbeat = partial(precompute_batch_heartbeat, batch_pk=batch_pk, token=token)
    try:
        count = _failing_job(
            job_pk,
            lambda: precompute_batch_run(
                job_pk=job_pk, image_pks=image_pks, heartbeat=heartbeat, batch_pk=batch_pk
            ),
        )
    except BatchClaimLost:
        return 0  # the sweep gave the batch to another run, which finishes it
    except TRANSIENT_ERRORS:
        # Best effort, so the retry can claim it; with the database down the sweep does it later.
        with contextlib.suppress(*TRANSIENT_ERRORS):
            precompute_batch_release(batch_pk=batch_pk, token=token)
        raise  # the task decorator retries it
    except Exception:
        precompute_batch_finish(batch_pk=batch_pk, token=token)  # the job failed: nothing to redo
        raise
    precompute_batch_finish(batch_pk=batch_pk, token=token)
    return count


def _failing_job(job_pk: int, run: Callable[[], int]) -> int:
    """Run; a bug or bad data fails the job (transient errors and a lost claim pass through)."""
    try:
        return run()
    except BatchClaimLost:
        raise
    except TRANSIENT_ERRORS:
        raise
    except Exception as error:
        precompute_job_fail(job_pk=job_pk, error=f"{type(error).__name__}: {error}")
        raise


@gpu_task(name="inference.tasks.train")
def train(*, job_pk: int) -> int | None:
    """Run a training job; returns the registered model version's pk, None when the job was
    finished already (a duplicate message) or another run took it over. A bug or bad input
    fails the job with its reason; transient errors are retried (the retry claims it anew)."""
    from inference.worker.compute import training_job_run

    token = training_job_claim(job_pk=job_pk)
    if token is None:
        return None
    try:
        version = training_job_run(job_pk=job_pk, token=token)
    except TrainingClaimLost:
        return None
    except TRANSIENT_ERRORS:
        raise
    except Exception as error:
        training_job_fail(job_pk=job_pk, token=token, error=f"{type(error).__name__}: {error}")
        raise
    return version.pk


def training_queue(*, job_pk: int) -> None:
    """Queue a training job once the transaction that created it commits."""
    transaction.on_commit(partial(train.delay, job_pk=job_pk))
