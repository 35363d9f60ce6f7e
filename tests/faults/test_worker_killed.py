"""A GPU worker SIGKILLed mid-precompute (its pool child and beat with it): a new worker and the
sweep finish the job with one prediction per image and one vote per case, on Redis and on the
embedded (filesystem) broker. Real processes, real brokers, the test's PostgreSQL database."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from kombu import Connection

from fixtures.phantom import generate_phantom_study
from inference.worker.models import CasePrediction, JobStatus, PrecomputeBatch, Prediction
from inference.worker.tasks import precompute_start
from readerstudy.celery_config import celery_transport
from readerstudy.reading.services import study_ai_use
from readerstudy.studies.importing import cases_import
from readerstudy.studies.models import CaseImage
from tests.conftest import Personas
from tests.inference_adapter.test_precompute import tiny_version
from tests.workers import worker_start, worker_stop

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _broker(kind: str, var_dir: Path) -> tuple[dict[str, str], Connection]:
    """The worker's environment for the broker, and a connection the test sends through."""
    if kind == "redis":
        url = os.environ["REDIS_URL"]
        return {"REDIS_URL": url}, Connection(url)
    options = celery_transport(redis_url=None, var_dir=var_dir, task_time_limit=3600)
    # The worker inherits our environment: an empty REDIS_URL there means the embedded broker.
    return {"REDIS_URL": ""}, Connection(
        "filesystem://", transport_options=options["CELERY_BROKER_TRANSPORT_OPTIONS"]
    )


@pytest.mark.parametrize("broker", ["redis", "filesystem"])
def test_a_worker_killed_mid_precompute_loses_no_batch(
    broker: str, personas_tx: Personas, tmp_path: Path
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the worker must share the test database: SQLite's test database is private")
    if broker == "redis" and not os.environ.get("REDIS_URL"):
        pytest.skip("needs REDIS_URL")
    folder = tmp_path / "phantoms"
    generate_phantom_study(cases=8, seed=3, out=folder, fmt="dicom")
    study = personas_tx.study
    cases_import(study=study, path=folder, actor=None)
    version = tiny_version("killed-tiny")
    total = CaseImage.objects.filter(case__study=study, needs_review=False).count()
    database = connection.settings_dict
    var_dir = tmp_path / "var"
    broker_env, sender = _broker(broker, var_dir)
    env = {
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "VAR_DIR": str(var_dir),
        "INFERENCE_COMPILE": "off",
        "PRECOMPUTE_BATCH_STALE_SECONDS": "4",
        "PRECOMPUTE_SWEEP_SECONDS": "1",
        **broker_env,
    }
    first = worker_start(env=env, name=f"doomed-{broker}", pool="prefork")
    killed_at = -1
    try:
        job = study_ai_use(
            study=study, model_version=version, actor=None, batch_size=1, queue=False
        )
        with sender:
            precompute_start.apply_async(kwargs={"job_pk": job.pk}, connection=sender)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            killed_at = Prediction.objects.filter(model_version=version).count()
            if 0 < killed_at < total:
                os.killpg(first.pid, signal.SIGKILL)  # the pool child dies with it, mid-batch
                break
            assert first.poll() is None, first.communicate()[0][-3000:]
            time.sleep(0.02)
        else:
            pytest.fail("no prediction appeared within 120 s")
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    output_first = first.communicate()[0]
    assert 0 < killed_at < total, output_first[-3000:]
    second = worker_start(env=env, name=f"heir-{broker}", pool="prefork", beat=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
                break
            time.sleep(0.5)
    finally:
        output = worker_stop(second)
    assert job.status == JobStatus.SUCCEEDED, (job.status, job.done_images, output[-3000:])
    images = CaseImage.objects.filter(case__study=study, needs_review=False)
    assert Prediction.objects.filter(model_version=version).count() == images.count() == total
    assert sorted(
        Prediction.objects.filter(model_version=version).values_list("image_id", flat=True)
    ) == sorted(images.values_list("pk", flat=True))
    assert CasePrediction.objects.filter(model_version=version).count() == study.cases.count()
    assert job.done_images == total
    assert not PrecomputeBatch.objects.filter(job=job).exclude(state="done").exists()
