"""The precompute sweep: a batch whose worker died or whose message was lost is queued again,
exactly once, and re-running it leaves one prediction per image."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from inference.worker.models import (
    BatchState,
    CasePrediction,
    JobStatus,
    PrecomputeBatch,
    PrecomputeJob,
    Prediction,
)
from inference.worker.services import (
    BatchClaimLost,
    precompute_batch_claim,
    precompute_batch_finish,
    precompute_batch_heartbeat,
    precompute_batches_record,
    precompute_sweep,
)
from inference.worker.tasks import precompute_batch
from readerstudy.reading.services import study_ai_use
from readerstudy.studies.models import CaseImage, Study
from tests.inference_adapter.test_precompute import imported, tiny_version  # noqa: F401

LONG_AGO = timedelta(hours=1)


def _job(study: Study, *, batch_size: int = 3) -> PrecomputeJob:
    version = tiny_version()
    return study_ai_use(
        study=study, model_version=version, actor=None, batch_size=batch_size, queue=False
    )


def _run(batch: PrecomputeBatch) -> int:
    return int(precompute_batch(job_pk=batch.job_id, image_pks=batch.image_pks, batch_pk=batch.pk))


def _age(batch: PrecomputeBatch, **fields: Any) -> None:
    PrecomputeBatch.objects.filter(pk=batch.pk).update(**fields)


def test_a_batch_whose_worker_died_is_queued_again_once_and_the_job_succeeds(
    imported: Study,  # noqa: F811
) -> None:
    job = _job(imported)
    batches = precompute_batches_record(job_pk=job.pk)
    assert len(batches) >= 2
    first, *rest = batches
    token = precompute_batch_claim(batch_pk=first.pk)  # the worker took it, then was killed
    assert token == 1
    _age(first, heartbeat_at=timezone.now() - LONG_AGO)
    for batch in rest:
        _run(batch)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING  # the lost batch's images are missing
    assert [b.pk for b in precompute_sweep()] == [first.pk]
    assert precompute_sweep() == []  # a second sweeper finds nothing to take
    with pytest.raises(BatchClaimLost):  # the original, had it only been slow, stops here
        precompute_batch_heartbeat(batch_pk=first.pk, token=token)
    assert not precompute_batch_finish(batch_pk=first.pk, token=token)
    assert _run(first) > 0
    assert _run(first) == 0  # the requeued message delivered twice runs once
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    images = CaseImage.objects.filter(case__study=imported)
    assert Prediction.objects.filter(model_version=job.model_version).count() == images.count()
    assert CasePrediction.objects.filter(model_version=job.model_version).count() == (
        imported.cases.count()
    )
    assert set(PrecomputeBatch.objects.values_list("state", "attempts")) == {
        (BatchState.DONE, 1),
        (BatchState.DONE, 2),
    }


def test_running_a_batch_again_adds_no_prediction_and_repairs_its_votes(
    imported: Study,  # noqa: F811
) -> None:
    job = _job(imported, batch_size=64)
    (batch,) = precompute_batches_record(job_pk=job.pk)
    _run(batch)
    rows = sorted(Prediction.objects.values_list("pk", "image_id", "probability"))
    # Killed after storing its predictions, before the case votes and being marked done.
    CasePrediction.objects.filter(case=imported.cases.first()).delete()
    _age(batch, state=BatchState.RUNNING, heartbeat_at=timezone.now() - LONG_AGO)
    PrecomputeJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    (again,) = precompute_sweep()
    assert _run(again) == 0
    assert sorted(Prediction.objects.values_list("pk", "image_id", "probability")) == rows
    assert CasePrediction.objects.count() == imported.cases.count()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


def test_a_queued_batch_is_queued_again_only_when_nothing_progresses(
    imported: Study,  # noqa: F811
) -> None:
    job = _job(imported)
    first, second, *_ = precompute_batches_record(job_pk=job.pk)
    long_ago = timezone.now() - LONG_AGO
    _age(first, queued_at=long_ago)
    _age(second, queued_at=long_ago)
    assert precompute_batch_claim(batch_pk=second.pk) == 1  # a busy queue: a batch is running
    assert precompute_sweep() == []
    _age(second, heartbeat_at=long_ago)  # now nothing has moved for long: both are lost
    assert sorted(b.pk for b in precompute_sweep()) == [first.pk, second.pk]


def test_a_running_job_whose_batches_are_all_done_finishes(imported: Study) -> None:  # noqa: F811
    job = _job(imported, batch_size=64)
    (batch,) = precompute_batches_record(job_pk=job.pk)
    _run(batch)
    # Left running (e.g. the worker died between its last prediction and the job's accounting).
    PrecomputeJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, done_images=0, finished_at=None
    )
    assert precompute_sweep() == []
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.done_images == job.total_images


def test_a_running_job_missing_images_with_nothing_outstanding_is_cut_again(
    imported: Study,  # noqa: F811
) -> None:
    job = _job(imported, batch_size=64)
    (batch,) = precompute_batches_record(job_pk=job.pk)
    # Its one batch marked done without running (a superseded cut), long ago.
    _age(batch, state=BatchState.DONE, finished_at=timezone.now() - LONG_AGO)
    (recut,) = precompute_sweep()
    assert recut.pk != batch.pk
    _run(recut)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


def test_a_duplicate_message_does_not_run_a_batch_twice(imported: Study) -> None:  # noqa: F811
    job = _job(imported)
    batch = precompute_batches_record(job_pk=job.pk)[0]
    assert precompute_batch_claim(batch_pk=batch.pk) == 1
    assert precompute_batch_claim(batch_pk=batch.pk) is None
    assert _run(batch) == 0
    assert not Prediction.objects.exists()
