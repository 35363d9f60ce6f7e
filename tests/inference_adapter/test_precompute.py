"""Precompute through the Django adapter: idempotent, resumable, soft-voted, and on a real worker."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection

from fixtures.phantom import generate_phantom_study
from inference.checkpoint import ModelBundle, ModelMeta
from inference.predictor import native_bf16
from inference.preprocess import Preprocessing
from inference.worker.compute import (
    model_version_register,
    precompute_batch_run,
    precompute_run_inline,
)
from inference.worker.models import CasePrediction, JobStatus, ModelVersion, Prediction
from inference.worker.services import precompute_batches
from inference.zoo import create_model
from readerstudy.reading.services import study_ai_use
from readerstudy.studies.importing import cases_import
from readerstudy.studies.models import CaseImage, Study
from tests.conftest import Personas
from tests.workers import worker_start, worker_stop

ROOT = Path(__file__).resolve().parents[2]


def tiny_version(name: str = "tiny") -> ModelVersion:
    return tiny_version_seeded(name, seed=0)


def tiny_version_seeded(name: str, *, seed: int) -> ModelVersion:
    """A small untrained model; another seed gives other weights, so another version."""
    torch.manual_seed(seed)
    bundle = ModelBundle(
        create_model("resnet18"), Preprocessing(size=64), ModelMeta("resnet18"), None
    )
    return model_version_register(bundle=bundle, name=name, actor=None)


@pytest.fixture
def imported(personas: Personas, tmp_path: Path) -> Study:
    folder = tmp_path / "phantoms"
    generate_phantom_study(cases=4, seed=8, out=folder, fmt="dicom")
    cases_import(study=personas.study, path=folder, actor=None)
    return personas.study


def _stored_image(name: str) -> np.ndarray:
    image = cv2.imdecode(
        np.frombuffer(default_storage.open(name).read(), np.uint8), cv2.IMREAD_UNCHANGED
    )
    assert image is not None
    return image


def _rows(version: ModelVersion) -> list[tuple[Any, ...]]:
    return sorted(
        Prediction.objects.filter(model_version=version).values_list(
            "pk", "image_id", "probability", "heatmap"
        )
    )


def test_precompute_twice_gives_the_same_rows_and_a_soft_vote_per_case(imported: Study) -> None:
    version = tiny_version()
    job = study_ai_use(study=imported, model_version=version, actor=None, queue=False)
    job = precompute_run_inline(job=job)
    assert job.status == JobStatus.SUCCEEDED
    images = CaseImage.objects.filter(case__study=imported)
    assert job.done_images == job.total_images == images.count()
    first = _rows(version)
    paths = set(Prediction.objects.filter(model_version=version).values_list("computed_with"))
    assert paths in ({("cpu bf16+channels_last",)}, {("cpu fp32+channels_last",)})  # auto: eager
    again = study_ai_use(study=imported, model_version=version, actor=None, queue=False)
    precompute_run_inline(job=again)
    assert _rows(version) == first
    for case in imported.cases.all():
        vote = CasePrediction.objects.get(case=case, model_version=version)
        probabilities = [
            p.probability
            for p in Prediction.objects.filter(image__case=case, model_version=version)
        ]
        assert vote.probability == pytest.approx(sum(probabilities) / len(probabilities))
        assert vote.malignant == (vote.probability > 0.5)
        assert vote.n_images == len(probabilities)
    imported.refresh_from_db()
    assert imported.ai_model == version


def test_a_second_model_version_gets_its_own_case_votes(imported: Study) -> None:
    first, second = tiny_version("first"), tiny_version_seeded("second", seed=1)
    precompute_run_inline(
        job=study_ai_use(study=imported, model_version=first, actor=None, queue=False)
    )
    job = precompute_run_inline(
        job=study_ai_use(study=imported, model_version=second, actor=None, queue=False)
    )
    assert job.status == JobStatus.SUCCEEDED
    cases = imported.cases.count()
    assert CasePrediction.objects.filter(model_version=first).count() == cases
    assert CasePrediction.objects.filter(model_version=second).count() == cases


def test_heatmaps_are_8_bit_and_sized_like_the_display_image(imported: Study) -> None:
    version = tiny_version()
    precompute_run_inline(
        job=study_ai_use(study=imported, model_version=version, actor=None, queue=False)
    )
    prediction = Prediction.objects.filter(model_version=version).select_related("image").first()
    assert prediction is not None
    heat = _stored_image(str(prediction.heatmap.name))
    display = _stored_image(str(prediction.image.display.name))
    assert heat.dtype.name == "uint8"
    assert heat.ndim == 2
    assert heat.shape == display.shape[:2]


def test_a_job_killed_midway_resumes_without_recomputing_finished_batches(imported: Study) -> None:
    version = tiny_version()
    job = study_ai_use(study=imported, model_version=version, actor=None, batch_size=3, queue=False)
    batches = precompute_batches(job=job)
    assert len(batches) >= 2
    precompute_batch_run(job_pk=job.pk, image_pks=batches[0])  # then the worker "dies"
    finished = _rows(version)
    resumed = study_ai_use(
        study=imported, model_version=version, actor=None, batch_size=3, queue=False
    )
    assert resumed.pk == job.pk
    remaining = precompute_batches(job=resumed)
    assert sorted(pk for batch in remaining for pk in batch) == sorted(
        set(CaseImage.objects.filter(case__study=imported).values_list("pk", flat=True))
        - {row[1] for row in finished}
    )
    for batch in remaining:
        precompute_batch_run(job_pk=job.pk, image_pks=batch)
    assert set(finished) <= set(_rows(version))  # the first batch's rows are untouched
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_gpu_queue_worker_on_redis_runs_a_compiled_precompute_job(
    personas_tx: Personas, tmp_path: Path
) -> None:
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        pytest.skip("the worker shares the test database: needs PostgreSQL and REDIS_URL")
    folder = tmp_path / "phantoms"
    generate_phantom_study(cases=3, seed=9, out=folder, fmt="dicom")
    study = personas_tx.study
    cases_import(study=study, path=folder, actor=None)
    version = tiny_version("worker-tiny")
    database = connection.settings_dict
    env = {
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "VAR_DIR": str(tmp_path / "var"),
        "INFERENCE_COMPILE": "on",  # torch.compile inside a forked pool child, as deployed
    }
    worker = worker_start(env=env, name="precompute", queues="default,gpu", pool="prefork")
    try:
        job = study_ai_use(study=study, model_version=version, actor=None, batch_size=2)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
                break
            time.sleep(0.5)
    finally:
        output = worker_stop(worker)
    assert job.status == JobStatus.SUCCEEDED, (job.error, output[-3000:])
    assert "torch.compile failed" not in output, output[-3000:]
    rows = Prediction.objects.filter(model_version=version)
    assert rows.count() == job.total_images
    assert {row.computed_with.split()[-1].split("+")[-1] for row in rows} == {"compiled"}
    assert CasePrediction.objects.filter(model_version=version).count() == study.cases.count()


def test_only_the_coordinator_launches_a_precompute_from_the_console(
    imported: Study, django_capture_on_commit_callbacks: Any
) -> None:
    from django.test import Client

    from tests.conftest import PASSWORD

    version = tiny_version()
    sam, alice = Client(), Client()
    assert sam.login(username="sam", password=PASSWORD)
    assert alice.login(username="alice", password=PASSWORD)
    url = f"/api/studies/{imported.slug}/precompute/"
    assert (
        sam.post(url, {"model": version.name}, content_type="application/json").status_code == 404
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = alice.post(url, {"model": version.name}, content_type="application/json")
    assert response.status_code == 202
    assert response.json()["total_images"] == CaseImage.objects.filter(case__study=imported).count()
    assert len(callbacks) == 1  # the job is queued once the transaction commits
    assert "Run precompute" in alice.get(f"/studies/{imported.slug}/console/").content.decode()


def constant_version(name: str, *, bias: float) -> ModelVersion:
    """A model whose every image gets sigmoid(bias): the head's weights are zero."""
    model = create_model("resnet18")
    head = model.get_submodule("fc")
    assert isinstance(head, torch.nn.Linear)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(bias)
    bundle = ModelBundle(model, Preprocessing(size=64), ModelMeta("resnet18"), None)
    return model_version_register(bundle=bundle, name=name, actor=None)


@pytest.mark.parametrize(("bias", "rechecked"), [(0.012, True), (2.2, False)])
def test_a_bf16_case_vote_near_the_threshold_is_recomputed_in_fp32(
    imported: Study, bias: float, rechecked: bool
) -> None:
    if not native_bf16(torch.device("cpu")) or torch.cuda.is_available():
        pytest.skip("the worker uses bf16 on the CPU only where it is native")
    version = constant_version(f"constant-{bias}", bias=bias)
    job = precompute_run_inline(
        job=study_ai_use(study=imported, model_version=version, actor=None, queue=False)
    )
    assert job.status == JobStatus.SUCCEEDED
    fp32 = float(torch.sigmoid(torch.tensor(bias, dtype=torch.float32)))
    predictions = Prediction.objects.filter(model_version=version)
    assert predictions.count() == CaseImage.objects.filter(case__study=imported).count()
    for prediction in predictions:
        if rechecked:  # vote 0.503: within the bf16 margin (0.01) of 0.5
            assert prediction.computed_with.startswith("cpu fp32 recheck (bf16 within 0.01)")
            assert prediction.probability == pytest.approx(fp32, abs=1e-7)
            assert default_storage.exists(str(prediction.heatmap.name))
        else:  # vote 0.90: its class cannot depend on bf16
            assert prediction.computed_with.startswith("cpu bf16")
    votes = CasePrediction.objects.filter(model_version=version)
    assert votes.count() == imported.cases.count()
    assert all(vote.malignant for vote in votes)
    # Once voted, a second run recomputes nothing.
    before = sorted(predictions.values_list("pk", "probability", "computed_with", "heatmap"))
    precompute_run_inline(job=job)
    assert (
        sorted(predictions.values_list("pk", "probability", "computed_with", "heatmap")) == before
    )
