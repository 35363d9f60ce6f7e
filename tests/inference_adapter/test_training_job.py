"""Training as a job: progress written per epoch, the model version registered, a bad input
failing the job with its reason, idempotent, on a real gpu-queue worker, shown on the console."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client

from fixtures.phantom import generate_phantom_study
from inference.train import EpochRecord
from inference.worker.compute import training_job_run
from inference.worker.models import JobStatus, ModelVersion, TrainingJob
from inference.worker.services import (
    training_job_claim,
    training_job_create,
    training_job_progress,
)
from inference.worker.tasks import train, training_queue
from readerstudy.errors import Conflict
from readerstudy.studies.importing import cases_import
from readerstudy.studies.models import Cohort, Study
from tests.conftest import PASSWORD, Personas
from tests.workers import worker_start, worker_stop

# Tiny: 32 px inputs, a few epochs of a handful of images (seconds on one CPU thread).
TINY = {"epochs": 3, "patience": 10, "batch_size": 4, "imagenet": None, "threads": 1}
TINY_INPUT = {"size": 32}


def _study_with_cohorts(study: Study, folder: Path) -> Study:
    """Eight phantom cases imported, four put in the train cohort and four in the validation
    cohort, two malignant in each (the truth is reassigned: these tests check the job, not
    what the model learns)."""
    generate_phantom_study(cases=8, seed=11, out=folder, fmt="dicom")
    cases_import(study=study, path=folder, actor=None)
    for index, case in enumerate(study.cases.order_by("pk")):
        case.cohort = Cohort.TRAIN if index < 4 else Cohort.VALIDATION
        case.truth_malignant = index % 4 < 2
        case.save(update_fields=["cohort", "truth_malignant"])
    return study


@pytest.fixture
def trainable(personas: Personas, tmp_path: Path) -> Study:
    return _study_with_cohorts(personas.study, tmp_path / "phantoms")


def _job(study: Study, **overrides: Any) -> TrainingJob:
    values: dict[str, Any] = {
        "study": study,
        "name": "tiny-trained",
        "architectures": ["resnet18"],
        "actor": None,
        "folds": 1,
        "quick": True,
        "config": TINY,
        "preprocessing": TINY_INPUT,
    }
    return training_job_create(**{**values, **overrides})


def test_a_training_job_writes_its_progress_every_epoch_and_registers_its_model(
    trainable: Study,
) -> None:
    job = _job(trainable)
    token = training_job_claim(job_pk=job.pk)
    assert token == 1
    seen: list[tuple[int, int, float | None, str]] = []

    def each_epoch(stage: str, record: EpochRecord, epochs: int) -> None:
        row = TrainingJob.objects.get(pk=job.pk)  # what the console reads at that moment
        assert row.status == JobStatus.RUNNING
        seen.append((row.epoch, row.epochs, row.validation_case_auc, row.stage))

    version = training_job_run(job_pk=job.pk, token=token, progress=each_epoch)

    assert [epoch for epoch, *_ in seen] == [1, 2, 3]
    assert {(epochs, stage) for _, epochs, _, stage in seen} == {(3, "resnet18")}
    assert all(auc is None or 0 <= auc <= 1 for _, _, auc, _ in seen)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.model_version == version
    assert version.name == "tiny-trained"
    assert version.preprocessing["size"] == 32
    assert version.training["config"]["epochs"] == 3
    assert job.finished_at is not None
    assert job.error == ""


def test_running_the_training_task_twice_leaves_the_state_of_running_it_once(
    trainable: Study,
) -> None:
    job = _job(trainable)
    first = train(job_pk=job.pk)
    job.refresh_from_db()
    state = (job.status, job.model_version_id, job.epoch, job.attempts, job.finished_at)
    assert train(job_pk=job.pk) is None  # a duplicate message does nothing
    job.refresh_from_db()
    assert (job.status, job.model_version_id, job.epoch, job.attempts, job.finished_at) == state
    assert first == job.model_version_id
    assert ModelVersion.objects.filter(name="tiny-trained").count() == 1


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"config": {**TINY, "epochz": 2}}, "ValueError: unknown training settings: epochz"),
        ({"preprocessing": {"sise": 32}}, "unknown preprocessing field(s): ['sise']"),
        ({"config": {**TINY, "select_on": "loss"}}, "select_on must be one of"),
    ],
)
def test_a_bad_training_input_fails_the_job_with_its_reason(
    trainable: Study, overrides: dict[str, Any], reason: str
) -> None:
    job = _job(trainable, **overrides)
    with pytest.raises((ValueError, TypeError)):
        train(job_pk=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert reason in job.error
    assert job.finished_at is not None
    assert not ModelVersion.objects.exists()


def test_a_validation_cohort_of_one_class_fails_the_job_with_its_reason(
    trainable: Study,
) -> None:
    trainable.cases.filter(cohort=Cohort.VALIDATION, truth_malignant=True).update(
        cohort=Cohort.TRAIN
    )
    job = _job(trainable)
    with pytest.raises(Conflict):
        train(job_pk=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error == "Conflict: The validation cohort needs benign and malignant cases."


def test_creating_a_training_job_refuses_what_cannot_run(trainable: Study) -> None:
    with pytest.raises(Conflict, match="Unknown architecture resnet9"):
        _job(trainable, architectures=["resnet9"])
    with pytest.raises(Conflict, match="Folds must be 1"):
        _job(trainable, folds=0)
    _job(trainable)
    with pytest.raises(Conflict, match="already queued or running"):
        _job(trainable)
    assert TrainingJob.objects.count() == 1


def test_a_run_that_lost_its_job_to_a_later_run_stops_writing(trainable: Study) -> None:
    from inference.worker.services import TrainingClaimLost

    job = _job(trainable)
    first = training_job_claim(job_pk=job.pk)
    second = training_job_claim(job_pk=job.pk)  # a re-delivered message took the job over
    assert (first, second) == (1, 2)
    with pytest.raises(TrainingClaimLost):
        training_job_progress(job_pk=job.pk, token=1, stage="x", epoch=1, epochs=3, case_auc=0.5)
    training_job_progress(job_pk=job.pk, token=2, stage="x", epoch=1, epochs=3, case_auc=0.5)


def test_the_console_shows_the_running_trainings_progress(personas: Personas) -> None:
    job = _job(personas.study, config={"epochs": 24})
    token = training_job_claim(job_pk=job.pk)
    assert token is not None
    training_job_progress(
        job_pk=job.pk, token=token, stage="resnet18", epoch=5, epochs=24, case_auc=0.8124
    )
    alice, bob = Client(), Client()
    assert alice.login(username="alice", password=PASSWORD)
    assert bob.login(username="bob", password=PASSWORD)

    page = alice.get(f"/studies/{personas.study.slug}/console/").content.decode()
    assert "<strong>tiny-trained</strong> on the gpu queue" in page
    assert "running (resnet18), epoch 5 of at most 24, validation case AUC 0.812" in page
    assert '<progress id="training-progress" max="24" value="5">' in page
    detail = f"/api/studies/{personas.study.slug}/training/{job.pk}/"
    data = alice.get(detail).json()
    assert (data["status"], data["epoch"], data["epochs"]) == ("running", 5, 24)
    assert data["validation_case_auc"] == pytest.approx(0.8124)
    console = alice.get(f"/api/studies/{personas.study.slug}/console/").json()
    assert console["training"]["epoch"] == 5
    assert bob.get(detail).status_code == 404  # a reader sees no training job
    other = f"/api/studies/{personas.other_study.slug}/training/{job.pk}/"
    assert alice.get(other).status_code == 404


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_gpu_queue_worker_runs_the_training_job_and_its_progress_advances(
    personas_tx: Personas, tmp_path: Path
) -> None:
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        pytest.skip("the worker shares the test database: needs PostgreSQL and REDIS_URL")
    study = _study_with_cohorts(personas_tx.study, tmp_path / "phantoms")
    database = connection.settings_dict
    env = {
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "VAR_DIR": str(tmp_path / "var"),
    }
    # Only the gpu queue: the task gets there by its route, or never runs.
    worker = worker_start(env=env, name="training", queues="gpu", pool="prefork")
    seen: list[int] = []
    try:
        with transaction.atomic():
            bad = _job(study, name="tiny-bad", config={**TINY, "epochz": 1})
            training_queue(job_pk=bad.pk)
        with transaction.atomic():
            job = _job(study, config={**TINY, "epochs": 4})
            training_queue(job_pk=job.pk)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if not seen or job.epoch != seen[-1]:
                seen.append(job.epoch)
            if job.finished:
                break
            time.sleep(0.05)
        bad.refresh_from_db()
    finally:
        output = worker_stop(worker)
    assert job.status == JobStatus.SUCCEEDED, (job.error, output[-3000:])
    assert seen == sorted(seen), seen  # the epoch only goes forwards
    assert seen[-1] == job.epochs == 4
    assert len(set(seen)) >= 2, seen  # seen while it ran, not only at the end
    assert job.model_version is not None
    assert job.model_version.name == "tiny-trained"
    assert bad.status == JobStatus.FAILED
    assert bad.error == "ValueError: unknown training settings: epochz"


def test_train_model_with_queue_records_a_pending_job_queued_on_commit(
    personas: Personas, django_capture_on_commit_callbacks: Any
) -> None:
    import io

    from django.core.management import call_command

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call_command(
            "train_model", personas.study.slug, "--quick", "--epochs", "2", "--folds", "1",
            "--name", "queued-model", "--queue", stdout=out,
        )  # fmt: skip
    job = TrainingJob.objects.get()
    assert (job.name, job.status, job.quick, job.folds) == ("queued-model", "pending", True, 1)
    assert job.config == {"epochs": 2}
    assert len(callbacks) == 1  # sent once the transaction commits
    assert f"Queued training job {job.pk} for queued-model on the gpu queue" in out.getvalue()
