"""Model versions, their per-image predictions, case predictions and precompute jobs (the adapter)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Architecture(models.TextChoices):
    RESNET18 = "resnet18", "ResNet18"
    RESNET50 = "resnet50", "ResNet50"
    VGG11 = "vgg11", "VGG11"
    VGG16 = "vgg16", "VGG16"
    MOBILENET_V2 = "mobilenet_v2", "MobileNetV2"


def _checkpoint_path(instance: ModelVersion, filename: str) -> str:
    return f"models/{instance.name}/{filename}"


class ModelVersion(models.Model):
    """A trained model: architecture, checkpoint (weights + preprocessing), provenance and metrics."""

    name = models.SlugField(max_length=64, unique=True)
    architecture = models.CharField(max_length=32, choices=Architecture.choices)
    checkpoint = models.FileField(upload_to=_checkpoint_path)
    checkpoint_sha256 = models.CharField(max_length=64, unique=True)
    preprocessing = models.JSONField(default=dict, blank=True)
    training = models.JSONField(default=dict, blank=True, help_text="Data, seeds, epochs, folds.")
    validation_metrics = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(architecture__in=Architecture.values), name="model_architecture_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.architecture})"

    @property
    def initialisation(self) -> str:
        """ "ImageNet" or "from scratch" (unknown for versions uploaded without provenance)."""
        value = str(self.training.get("initialisation", ""))
        if value.startswith("imagenet"):
            return "ImageNet"
        return "from scratch" if value == "scratch" else "unknown"

    @property
    def initialisation_note(self) -> str:
        """Why the model trained from scratch (no ImageNet weights found), when it did."""
        return str(self.training.get("initialisation_note", ""))


def _heatmap_path(instance: Prediction, filename: str) -> str:
    return f"predictions/{instance.model_version_id}/{filename}"


class Prediction(models.Model):
    """One image's malignancy probability and Grad-CAM heatmap (8-bit) from one model version."""

    image = models.ForeignKey(
        "studies.CaseImage", on_delete=models.CASCADE, related_name="predictions"
    )
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="predictions"
    )
    probability = models.FloatField()
    heatmap = models.FileField(upload_to=_heatmap_path, blank=True)
    # How it was computed, e.g. "cuda bf16+channels_last+compiled" (Predictor.path): bf16 moves
    # probabilities by up to the predictor's tolerance, so the record says which path made them.
    computed_with = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["image", "model_version"], name="prediction_once"),
            models.CheckConstraint(
                condition=Q(probability__gte=0) & Q(probability__lte=1),
                name="prediction_probability_unit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.image} · {self.model_version.name}: {self.probability:.3f}"


class CasePrediction(models.Model):
    """The soft vote: the mean probability over a case's images, malignant above the threshold."""

    case = models.ForeignKey("studies.Case", on_delete=models.CASCADE, related_name="predictions")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    probability = models.FloatField()
    malignant = models.BooleanField()
    threshold = models.FloatField()
    n_images = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "model_version"], name="case_prediction_once"),
            models.CheckConstraint(
                condition=Q(probability__gte=0) & Q(probability__lte=1),
                name="case_prediction_probability_unit",
            ),
            models.CheckConstraint(condition=Q(n_images__gte=1), name="case_prediction_has_images"),
        ]

    def __str__(self) -> str:
        return f"{self.case} · {self.model_version.name}: {self.probability:.3f}"


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class PrecomputeJob(models.Model):
    """Computing one model's predictions for every image of a study, in resumable batches."""

    study = models.ForeignKey(
        "studies.Study", on_delete=models.CASCADE, related_name="precompute_jobs"
    )
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="jobs")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    batch_size = models.PositiveSmallIntegerField(default=64)
    total_images = models.PositiveIntegerField(default=0)
    done_images = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=JobStatus.values), name="job_status_valid"
            ),
            models.CheckConstraint(condition=Q(batch_size__gte=1), name="job_batch_size_positive"),
            models.CheckConstraint(
                condition=Q(done_images__lte=F("total_images")), name="job_progress_bounded"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study} × {self.model_version}: {self.status} {self.done_images}/{self.total_images}"

    @property
    def progress(self) -> float:
        return self.done_images / self.total_images if self.total_images else 0.0


class BatchState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"


class PrecomputeBatch(models.Model):
    """One queued batch of a job, so a batch whose message or worker was lost can be found and
    queued again by the sweep (`services.precompute_sweep`). `attempts` counts the runs started;
    a run holds its claim only while `attempts` is still its own."""

    job = models.ForeignKey(PrecomputeJob, on_delete=models.CASCADE, related_name="batches")
    image_pks = models.JSONField()
    state = models.CharField(max_length=16, choices=BatchState.choices, default=BatchState.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField()
    # Set when a run claims the batch and after every image it stores: "no progress since".
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=BatchState.values), name="batch_state_valid"
            ),
        ]
        indexes = [models.Index(fields=["state", "job"], name="batch_outstanding")]

    def __str__(self) -> str:
        return f"batch {self.pk} of job {self.job_id}: {self.state} ({self.attempts} runs)"


class TrainingJob(models.Model):
    """Training a model version on a study's cases, on the gpu queue, with its progress: the
    epoch of the training run now going (`stage`: the architecture, or a cross-validation fold)
    and that epoch's case-level validation AUC. `attempts` counts the runs started; a run writes
    progress only while `attempts` is still its own (a re-delivered message takes over)."""

    study = models.ForeignKey(
        "studies.Study", on_delete=models.CASCADE, related_name="training_jobs"
    )
    name = models.SlugField(max_length=64, help_text="The model version it registers.")
    architectures = models.JSONField(help_text="Compared on the validation cohort.")
    folds = models.PositiveSmallIntegerField(default=5, help_text="Cross-validation; 1: none.")
    quick = models.BooleanField(default=False, help_text="TrainConfig.quick() as the base.")
    config = models.JSONField(default=dict, blank=True, help_text="TrainConfig overrides.")
    preprocessing = models.JSONField(default=dict, blank=True, help_text="Preprocessing values.")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    stage = models.CharField(max_length=64, blank=True)
    epoch = models.PositiveIntegerField(default=0)
    epochs = models.PositiveIntegerField(default=0)
    validation_case_auc = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The demo's history lies in the past: the registration's audit event is stamped from this
    # time on (plus the run's own duration) instead of the wall clock. Null for real training.
    audit_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=JobStatus.values), name="training_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(epoch__lte=F("epochs")), name="training_epoch_bounded"
            ),
            models.CheckConstraint(condition=Q(folds__gte=1), name="training_folds_positive"),
            models.CheckConstraint(
                condition=~Q(status=JobStatus.SUCCEEDED) | Q(model_version__isnull=False),
                name="training_success_has_model",
            ),
        ]

    def __str__(self) -> str:
        return f"training {self.name} on {self.study}: {self.status} {self.epoch}/{self.epochs}"

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
