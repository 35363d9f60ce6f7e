"""The worker side of inference that loads the AI core (torch): train a model on a study's cases
(inline or as a training job), register its version, and run precompute batches (probability and
Grad-CAM heatmap per image).

Imported only by GPU task bodies, the worker's commands and the demo, never by the web process.
The science is the framework-free core (`inference.train`, `inference.predictor`, …); this module
moves data between it and the database and storage.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import fields, replace
from datetime import datetime
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

from analysis.model import soft_vote
from inference.cam import heatmap_png
from inference.checkpoint import ModelBundle, save_bundle, sha256
from inference.data import Dataset
from inference.evaluate import evaluate
from inference.geometry import pad_clipped_crop
from inference.predictor import Predictor, cases_near_threshold, choose_device
from inference.preprocess import Preprocessing, enlarged_box, heatmap_to_display, model_input
from inference.train import (
    EpochCallback,
    EpochRecord,
    TrainConfig,
    compare_architectures,
    cross_validate,
    make_bundle,
    predict_probabilities,
)
from inference.worker.models import (
    CasePrediction,
    JobStatus,
    ModelVersion,
    PrecomputeJob,
    Prediction,
    TrainingJob,
)
from inference.worker.services import (
    job_progress,
    precompute_batches,
    training_job_claim,
    training_job_fail,
    training_job_progress,
    training_job_succeed,
)
from readerstudy.accounts.models import User
from readerstudy.audit.services import audit_clock, audit_record
from readerstudy.errors import Conflict
from readerstudy.studies.imaging.geometry import display_geometry
from readerstudy.studies.models import Case, CaseImage, Cohort, Study

log = logging.getLogger(__name__)
IMPORT_ROI_SCALE = 1.3  # the importer caches the model-input crop at this enlargement
_PREDICTORS: dict[str, Predictor] = {}


def _decode_png(name: str) -> np.ndarray:
    data = np.frombuffer(default_storage.open(name).read(), dtype=np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot decode the stored model input {name}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _model_input_crop(image: CaseImage, roi_scale: float) -> np.ndarray:
    """The importer's cached crop of the enlarged lesion box; one cached before crops were padded
    at the image edges (clipped) is padded here, so training and precompute see the same crop."""
    return pad_clipped_crop(
        _decode_png(str(image.model_input.name)),
        (image.roi_x, image.roi_y, image.roi_w, image.roi_h),
        (image.height, image.width),
        scale=roi_scale,
    )


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
        crop, _box = model_input(_model_input_crop(image, spec.roi_scale), None, spec)
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
    preprocessing: Preprocessing | None = None,
    actor: User | None = None,
    on_epoch: EpochCallback | None = None,
) -> ModelVersion:
    """Train on the train cohort, stop early on the validation cohort, pick the best architecture
    by validation AUC, report five-fold cross-validation and the test cohorts (Table 2).

    `preprocessing` overrides the input size (the demo's small model); the seed's by default.
    `on_epoch` follows every epoch of every training run (`inference.train.EpochCallback`)."""
    if ModelVersion.objects.filter(name=name).exists():
        raise Conflict(f"A model version named {name!r} exists already.")
    spec = preprocessing or (Preprocessing(size=112) if quick else Preprocessing())
    config = config or (TrainConfig.quick() if quick else TrainConfig())
    data = study_dataset(study=study, spec=spec, cohorts=[Cohort.TRAIN, Cohort.VALIDATION])
    train, validation = data.cohort(Cohort.TRAIN), data.cohort(Cohort.VALIDATION)
    if not len(validation) or len(set(validation.labels.tolist())) < 2:
        raise Conflict("The validation cohort needs benign and malignant cases.")
    best, results = compare_architectures(
        train, validation, spec, config, list(architectures), on_epoch=on_epoch
    )
    cross_validation: dict[str, Any] = {}
    if folds > 1:
        for arch in architectures:
            cv = cross_validate(
                data, spec, replace(config, architecture=arch), n_folds=folds, on_epoch=on_epoch
            )
            cross_validation[arch] = {
                "level": "case",  # fold_aucs, mean_auc, std_auc: soft vote per case
                "fold_aucs": cv.validation_aucs,
                "mean_auc": cv.mean_auc,
                "std_auc": cv.std_auc,
                "fold_image_aucs": cv.image_aucs,
                "mean_image_auc": cv.mean_image_auc,
                "std_image_auc": cv.std_image_auc,
                "fold_stopping_aucs": cv.stopping_aucs,
                "held_out_stopping": cv.held_out_stopping,
                "method": cv.method,
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
    bundle.meta.training["architectures_compared_image_auc"] = {
        arch: result.best_record.validation_auc for arch, result in results.items()
    }
    bundle.meta.training["cross_validation"] = cross_validation
    bundle.meta.validation_metrics.update(_test_metrics(study=study, bundle=bundle, spec=spec))
    return model_version_register(bundle=bundle, name=name, actor=actor, study=study)


def training_config(*, quick: bool, overrides: dict[str, Any]) -> TrainConfig:
    """TrainConfig (its quick preset with `quick`) with a job's overrides; unknown names refused."""
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown training settings: {', '.join(unknown)}")
    return TrainConfig.quick(**overrides) if quick else TrainConfig(**overrides)


def training_job_run(
    *, job_pk: int, token: int, progress: EpochCallback | None = None
) -> ModelVersion:
    """Run the claimed training job (`services.training_job_claim` gave `token`): train, register
    the version, record success. Progress is written after every epoch; `progress` also sees it
    (the demo's inline run prints it). Raises what failed; the task records it."""
    job = TrainingJob.objects.select_related("study", "created_by").get(pk=job_pk)
    config = training_config(quick=job.quick, overrides=dict(job.config))
    spec = Preprocessing.from_dict(job.preprocessing) if job.preprocessing else None

    def on_epoch(stage: str, record: EpochRecord, epochs: int) -> None:
        auc = record.validation_case_auc
        training_job_progress(
            job_pk=job_pk, token=token, stage=stage, epoch=record.epoch, epochs=epochs,
            case_auc=None if math.isnan(auc) else auc,
        )  # fmt: skip
        if progress is not None:
            progress(stage, record, epochs)

    with audit_clock(_clock_from(job.audit_at) if job.audit_at else timezone.now):
        version = model_train(
            study=job.study,
            name=job.name,
            architectures=list(job.architectures),
            folds=job.folds,
            quick=job.quick,  # 112 px unless the job says otherwise
            config=config,
            preprocessing=spec,
            actor=job.created_by,
            on_epoch=on_epoch,
        )
    training_job_succeed(job_pk=job_pk, token=token, model_version=version)
    return version


def training_job_run_inline(
    *, job: TrainingJob, progress: EpochCallback | None = None
) -> ModelVersion:
    """Run a training job in this process (the demo without a worker): as the task does, a
    failure is recorded on the job and raised."""
    token = training_job_claim(job_pk=job.pk)
    if token is None:
        raise Conflict(f"The training job for {job.name} has finished already.")
    try:
        return training_job_run(job_pk=job.pk, token=token, progress=progress)
    except Exception as error:
        training_job_fail(job_pk=job.pk, token=token, error=f"{type(error).__name__}: {error}")
        raise


def _clock_from(start: datetime) -> Callable[[], datetime]:
    """`start` plus the time since this run began (the demo's simulated past)."""
    began = timezone.now()
    return lambda: start + (timezone.now() - began)


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


def precompute_batch_run(
    *,
    job_pk: int,
    image_pks: Sequence[int],
    heartbeat: Callable[[], None] | None = None,
    batch_pk: int | None = None,
) -> int:
    """Predict the batch's images that have no prediction yet; idempotent. Returns how many.
    `heartbeat` is called after every stored image (it raises to stop a run that lost its claim)."""
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
        roi_scale = predictor.bundle.preprocessing.roi_scale
        crops = [_model_input_crop(image, roi_scale) for image in images]
        out = predictor(crops, None)
        assert out.heatmaps is not None
        for image, probability, heatmap in zip(
            images, out.probabilities, out.heatmaps, strict=True
        ):
            _prediction_store(
                image=image,
                version=version,
                probability=float(probability),
                heatmap=_displayed(heatmap, image=image, roi_scale=roi_scale),
                computed_with=f"{predictor.device.type} {predictor.path}",
            )
            if heartbeat is not None:
                heartbeat()
    # Every case of the batch, not only those predicted now: a run killed after storing its
    # predictions but before the votes is repaired when the sweep runs the batch again.
    _case_predictions(
        case_ids=set(CaseImage.objects.filter(pk__in=image_pks).values_list("case_id", flat=True)),
        version=version,
        study=job.study,
    )
    job_progress(job_pk=job_pk, batch_pk=batch_pk)
    return len(images)


def _displayed(heatmap: np.ndarray, *, image: CaseImage, roi_scale: float) -> np.ndarray:
    """The model-input heatmap placed on the image as readers see it."""
    scale, width, height = display_geometry(image.width, image.height)
    box = enlarged_box(
        (image.roi_x, image.roi_y, image.roi_w, image.roi_h),
        (image.height, image.width),
        scale=roi_scale,
    )
    return heatmap_to_display(heatmap, box, display_shape=(height, width), display_scale=scale)


def _prediction_store(
    *,
    image: CaseImage,
    version: ModelVersion,
    probability: float,
    heatmap: np.ndarray,
    computed_with: str,
) -> None:
    name = _heatmap_store(version=version, heatmap=heatmap)
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


def _heatmap_store(*, version: ModelVersion, heatmap: np.ndarray) -> str:
    data = heatmap_png(heatmap)
    name = f"predictions/{version.pk}/{sha256(data)[:2]}/{sha256(data)}.png"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(data))
    return name


def _case_predictions(*, case_ids: set[int], version: ModelVersion, study: Study) -> None:
    """The soft vote, once every (reviewed) image of a case has its prediction."""
    # distinct: the join runs over every model's predictions, which would count an image once
    # per model version and never let a second version's case votes appear.
    cases = Case.objects.filter(pk__in=case_ids).annotate(
        n=Count("images", filter=Q(images__needs_review=False), distinct=True),
        done=Count(
            "images__predictions",
            filter=Q(images__predictions__model_version=version, images__needs_review=False),
            distinct=True,
        ),
    )
    voted = set(
        CasePrediction.objects.filter(case_id__in=case_ids, model_version=version).values_list(
            "case_id", flat=True
        )
    )
    for case in cases:
        if case.n == 0 or case.done < case.n or case.pk in voted:
            continue
        predictions = list(
            Prediction.objects.filter(
                image__case=case, model_version=version, image__needs_review=False
            ).select_related("image")
        )
        _fp32_recheck(case=case, predictions=predictions, version=version, study=study)
        probabilities = [p.probability for p in predictions]
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


def _fp32_recheck(
    *, case: Case, predictions: list[Prediction], version: ModelVersion, study: Study
) -> None:
    """A case whose vote of bf16 probabilities lies within the predictor's bf16 margin of the
    threshold could take the other class in fp32: its images are recomputed in fp32 (probability
    and heatmap), so no case's class depends on bf16. Updates `predictions` in place."""
    if not any("bf16" in p.computed_with for p in predictions):
        return
    predictor = predictor_for(version)
    margin = max(predictor.bf16_margin, predictor.tolerance)  # an fp32 worker: bf16's bound
    near = cases_near_threshold(
        case_ids=[str(case.pk)] * len(predictions),
        probabilities=[p.probability for p in predictions],
        threshold=study.ai_threshold,
        margin=margin,
    )
    if not near:
        return
    roi_scale = predictor.bundle.preprocessing.roi_scale
    batch = predictor.preprocess([_model_input_crop(p.image, roi_scale) for p in predictions])
    probabilities, cams = predictor.predict_fp32(batch)
    out = predictor.postprocess(batch, probabilities, cams)
    assert out.heatmaps is not None
    for prediction, probability, heatmap in zip(
        predictions, out.probabilities, out.heatmaps, strict=True
    ):
        placed = _displayed(heatmap, image=prediction.image, roi_scale=roi_scale)
        prediction.probability = min(max(float(probability), 0.0), 1.0)
        prediction.heatmap.name = _heatmap_store(version=version, heatmap=placed)
        prediction.computed_with = (
            f"{predictor.device.type} fp32 recheck (bf16 within {margin:.3g})"
        )
        prediction.save(update_fields=["probability", "heatmap", "computed_with"])
    log.info("case %s: vote within %.3g of the threshold, recomputed in fp32", case.pk, margin)


def precompute_run_inline(*, job: PrecomputeJob, progress: Any = None) -> PrecomputeJob:
    """Run a job in this process (the CLI's --inline and the demo): the same batches, no broker."""
    for batch in precompute_batches(job=job):
        precompute_batch_run(job_pk=job.pk, image_pks=batch)
        if progress is not None:
            progress(len(batch))
    job.refresh_from_db()
    return job
