"""The inference adapter's services: train a model on a study's cases, register a model version,
and precompute every image's probability and heatmap in resumable, idempotent batches.

The science is the framework-free core (`inference.train`, `inference.predictor`, …); this module
only moves data between it and the database and storage.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import cv2
import numpy as np
import torch
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from inference.cam import heatmap_png
from inference.checkpoint import ModelBundle, save_bundle, sha256
from inference.data import Dataset
from inference.evaluate import evaluate
from inference.models import CasePrediction, JobStatus, ModelVersion, PrecomputeJob, Prediction
from inference.predictor import Predictor, choose_device, soft_vote
from inference.preprocess import Preprocessing, enlarged_box, heatmap_to_display, model_input
from inference.train import (
    TrainConfig,
    compare_architectures,
    cross_validate,
    make_bundle,
    predict_probabilities,
)
from readerstudy.accounts.models import User
from readerstudy.audit.services import audit_record
from readerstudy.errors import Conflict
from readerstudy.reading.models import Round, RoundStatus
from readerstudy.studies.imaging import display_geometry
from readerstudy.studies.models import Case, CaseImage, Cohort, Study
from readerstudy.studies.services import study_require_coordinator

log = logging.getLogger(__name__)
IMPORT_ROI_SCALE = 1.3  # the importer caches the model-input crop at this enlargement
_PREDICTORS: dict[str, Predictor] = {}


def _decode_png(name: str) -> np.ndarray:
    data = np.frombuffer(default_storage.open(name).read(), dtype=np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot decode the stored model input {name}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def study_dataset(*, study: Study, spec: Preprocessing, cohorts: Sequence[str]) -> Dataset:
    """The study's images in `cohorts` as preprocessed model inputs, from the crops cached at import."""
    if spec.roi_scale != IMPORT_ROI_SCALE:
        raise Conflict(f"The cached crops are enlarged {IMPORT_ROI_SCALE}×, not {spec.roi_scale}×.")
    images = (
        CaseImage.objects.filter(case__study=study, case__cohort__in=cohorts, needs_review=False)
        .select_related("case")
        .order_by("case__key", "position")
    )
    crops, labels, patients, cases, groups = [], [], [], [], []
    for image in images:
        crop, _box = model_input(_decode_png(str(image.model_input.name)), None, spec)
        crops.append(crop)
        labels.append(float(image.case.truth_malignant))
        patients.append(image.case.patient_pseudonym)
        cases.append(image.case.key)
        groups.append(image.case.cohort)
    if not crops:
        raise Conflict(f"The study has no images in cohorts {', '.join(cohorts)}.")
    return Dataset(
        torch.from_numpy(np.stack(crops)),
        np.array(labels, dtype=np.float32),
        np.array(patients),
        np.array(cases),
        np.array(groups),
    )


def model_train(
    *,
    study: Study,
    name: str,
    architectures: Sequence[str],
    folds: int = 5,
    quick: bool = False,
    config: TrainConfig | None = None,
    actor: User | None = None,
) -> ModelVersion:
    """Train on the train cohort, stop early on the validation cohort, pick the best architecture
    by validation AUC, report five-fold cross-validation and the test cohorts (Table 2)."""
    if ModelVersion.objects.filter(name=name).exists():
        raise Conflict(f"A model version named {name!r} exists already.")
    spec = Preprocessing(size=112) if quick else Preprocessing()
    config = config or (TrainConfig.quick() if quick else TrainConfig())
    data = study_dataset(study=study, spec=spec, cohorts=[Cohort.TRAIN, Cohort.VALIDATION])
    train, validation = data.cohort(Cohort.TRAIN), data.cohort(Cohort.VALIDATION)
    if not len(validation) or len(set(validation.labels.tolist())) < 2:
        raise Conflict("The validation cohort needs benign and malignant cases.")
    best, results = compare_architectures(train, validation, spec, config, list(architectures))
    cross_validation: dict[str, Any] = {}
    if folds > 1:
        for arch in architectures:
            cv = cross_validate(data, spec, replace(config, architecture=arch), n_folds=folds)
            cross_validation[arch] = {
                "fold_aucs": cv.validation_aucs,
                "mean_auc": cv.mean_auc,
                "std_auc": cv.std_auc,
            }
    bundle = make_bundle(
        results[best],
        spec,
        validation,
        data_provenance={
            "study": study.slug,
            "train_images": len(train),
            "validation_images": len(validation),
        },
    )
    bundle.meta.training["architectures_compared"] = {
        arch: result.best_validation_auc for arch, result in results.items()
    }
    bundle.meta.training["cross_validation"] = cross_validation
    bundle.meta.validation_metrics.update(_test_metrics(study=study, bundle=bundle, spec=spec))
    return model_version_register(bundle=bundle, name=name, actor=actor, study=study)


def _test_metrics(*, study: Study, bundle: ModelBundle, spec: Preprocessing) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cohort in (Cohort.INTERNAL_TEST, Cohort.EXTERNAL_TEST):
        try:
            data = study_dataset(study=study, spec=spec, cohorts=[cohort])
        except Conflict:
            continue
        if len(set(data.labels.tolist())) < 2:
            continue
        probabilities = predict_probabilities(bundle.model, data.inputs, spec, channels_last=False)
        out[str(cohort)] = evaluate(
            truth=data.labels, probabilities=probabilities, case_ids=data.case_ids
        )
    return out


@transaction.atomic
def model_version_register(
    *, bundle: ModelBundle, name: str, actor: User | None, study: Study | None = None
) -> ModelVersion:
    """Store a checkpoint and its metadata as a model version (content-hashed, verified on load)."""
    buffer = io.BytesIO()
    meta = save_bundle(bundle, buffer)
    data = buffer.getvalue()
    digest = sha256(data)
    existing = ModelVersion.objects.filter(checkpoint_sha256=digest).first()
    if existing is not None:
        return existing
    version = ModelVersion(
        name=name,
        architecture=meta.architecture,
        checkpoint_sha256=digest,
        preprocessing=bundle.preprocessing.to_dict(),
        training=meta.training,
        validation_metrics=meta.validation_metrics,
        created_by=actor,
    )
    version.checkpoint.save(f"{digest[:16]}.ckpt", ContentFile(data), save=False)
    version.save()
    audit_record(
        actor=actor,
        action="model.registered",
        target=version,
        study=study,
        data={"architecture": meta.architecture, "sha256": digest},
    )
    return version


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
    queue: bool = True,
) -> PrecomputeJob:
    """Make `model_version` the study's AI and queue the precompute of every image on the GPU
    workers. An unfinished job for the same model is resumed instead of duplicated."""
    if actor is not None:
        study_require_coordinator(user=actor, study=study)
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.ai_model_id not in (None, model_version.pk):
        started = Round.objects.filter(study=study, assisted=True).exclude(
            status=RoundStatus.PLANNED
        )
        if started.exists():
            raise Conflict(
                "An assisted round has started with another model: the AI cannot change now."
            )
    study.ai_model = model_version
    study.save(update_fields=["ai_model"])
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
    if queue:
        from inference.tasks import precompute_start

        transaction.on_commit(lambda: precompute_start.delay(job_pk=job.pk))
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
        _job_progress(job_pk=job.pk)
    return [remaining[i : i + job.batch_size] for i in range(0, len(remaining), job.batch_size)]


def predictor_for(model_version: ModelVersion, *, batch_size: int = 64) -> Predictor:
    """The model loaded once per worker process, verified against its content hash."""
    predictor = _PREDICTORS.get(model_version.checkpoint_sha256)
    if predictor is None:
        with default_storage.open(str(model_version.checkpoint.name)) as handle:
            data = handle.read()
        if sha256(data) != model_version.checkpoint_sha256:
            raise Conflict(f"The checkpoint of {model_version.name} does not match its hash.")
        device = choose_device()
        compile_model = settings.INFERENCE_COMPILE == "on" or (
            settings.INFERENCE_COMPILE == "auto" and device.type == "cuda"
        )
        # The bundle checks its weights against its manifest; batches arrive job.batch_size long.
        predictor = Predictor(
            data, device=str(device), compile_model=compile_model, batch_size=batch_size
        ).load()
        log.info("loaded %s on %s (%s)", model_version, predictor.device, predictor.path)
        if predictor.compile_error:
            log.warning("%s runs eager: %s", model_version, predictor.compile_error)
        _PREDICTORS.clear()  # one model per worker: GPU memory is for one
        _PREDICTORS[model_version.checkpoint_sha256] = predictor
    return predictor


def precompute_batch_run(*, job_pk: int, image_pks: Sequence[int]) -> int:
    """Predict the batch's images that have no prediction yet; idempotent. Returns how many."""
    job = PrecomputeJob.objects.select_related("model_version", "study").get(pk=job_pk)
    if job.status in (JobStatus.CANCELLED, JobStatus.FAILED):
        return 0
    version = job.model_version
    images = list(
        CaseImage.objects.filter(pk__in=image_pks, needs_review=False)
        .exclude(predictions__model_version=version)
        .order_by("pk")
    )
    if images:
        predictor = predictor_for(version, batch_size=job.batch_size)
        crops = [_decode_png(str(image.model_input.name)) for image in images]
        out = predictor(crops, None)
        assert out.heatmaps is not None
        roi_scale = predictor.bundle.preprocessing.roi_scale
        for image, probability, heatmap in zip(
            images, out.probabilities, out.heatmaps, strict=True
        ):
            scale, width, height = display_geometry(image.width, image.height)
            box = enlarged_box(
                (image.roi_x, image.roi_y, image.roi_w, image.roi_h),
                (image.height, image.width),
                scale=roi_scale,
            )
            placed = heatmap_to_display(
                heatmap, box, display_shape=(height, width), display_scale=scale
            )
            _prediction_store(
                image=image,
                version=version,
                probability=float(probability),
                heatmap=placed,
                computed_with=f"{predictor.device.type} {predictor.path}",
            )
        _case_predictions(
            case_ids={image.case_id for image in images}, version=version, study=job.study
        )
    _job_progress(job_pk=job_pk)
    return len(images)


def _prediction_store(
    *,
    image: CaseImage,
    version: ModelVersion,
    probability: float,
    heatmap: np.ndarray,
    computed_with: str,
) -> None:
    data = heatmap_png(heatmap)
    name = f"predictions/{version.pk}/{sha256(data)[:2]}/{sha256(data)}.png"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(data))
    with transaction.atomic():
        Prediction.objects.get_or_create(
            image=image,
            model_version=version,
            defaults={
                "probability": min(max(probability, 0.0), 1.0),
                "heatmap": name,
                "computed_with": computed_with,
            },
        )


def _case_predictions(*, case_ids: set[int], version: ModelVersion, study: Study) -> None:
    """The soft vote, once every (reviewed) image of a case has its prediction."""
    cases = Case.objects.filter(pk__in=case_ids).annotate(
        n=Count("images", filter=Q(images__needs_review=False)),
        done=Count(
            "images__predictions",
            filter=Q(images__predictions__model_version=version, images__needs_review=False),
        ),
    )
    for case in cases:
        if case.n == 0 or case.done < case.n:
            continue
        probabilities = list(
            Prediction.objects.filter(
                image__case=case, model_version=version, image__needs_review=False
            ).values_list("probability", flat=True)
        )
        vote = soft_vote(
            case_ids=[str(case.pk)] * len(probabilities),
            probabilities=probabilities,
            threshold=study.ai_threshold,
        )
        CasePrediction.objects.get_or_create(
            case=case,
            model_version=version,
            defaults={
                "probability": float(vote.probabilities[0]),
                "malignant": bool(vote.malignant[0]),
                "threshold": study.ai_threshold,
                "n_images": int(vote.n_images[0]),
            },
        )


def _job_progress(*, job_pk: int) -> None:
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


def precompute_run_inline(*, job: PrecomputeJob, progress: Any = None) -> PrecomputeJob:
    """Run a job in this process (the CLI's --inline and the demo): the same batches, no broker."""
    for batch in precompute_batches(job=job):
        precompute_batch_run(job_pk=job.pk, image_pks=batch)
        if progress is not None:
            progress(len(batch))
    job.refresh_from_db()
    return job
