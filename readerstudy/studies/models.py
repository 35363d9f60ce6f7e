"""Studies, their cases and images, who coordinates them and which readers are enrolled."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q


def _new_secret() -> str:
    return secrets.token_hex(32)


def _default_reading_cohorts() -> list[str]:
    return ["internal_test", "external_test"]


_LABEL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


def new_reader_label() -> str:
    """An opaque case label: random, so it says nothing about order, truth or source."""
    return "C-" + "".join(secrets.choice(_LABEL_ALPHABET) for _ in range(7))


def new_image_token() -> str:
    """The opaque id of an image in readers' URLs (primary keys follow the manifest's order)."""
    return secrets.token_urlsafe(12)


class StudyStatus(models.TextChoices):
    """Draft while it is set up; reading once round 1 opens; closed: no reads, results stay."""

    DRAFT = "draft", "Draft"
    READING = "reading", "Reading"
    CLOSED = "closed", "Closed"


class StudyDesign(models.TextChoices):
    """How a study's rounds are derived (`readerstudy.reading.designs`; the FDA's 2022 CADe
    guidance names them)."""

    INDEPENDENT_ROUNDS = (
        "independent_rounds",
        "Independent rounds (unassisted → washout → assisted)",
    )
    CROSSOVER = "crossover", "Crossover (two blocks, two arms, swapped after the washout)"
    SEQUENTIAL = "sequential", "Sequential (unassisted read locked, then the AI, then final)"


class ConsistencyRule(models.TextChoices):
    OFF = "off", "Say nothing"
    ASK = "ask", "Ask once before submitting"
    REQUIRE = "require", "Refuse an inconsistent read"


def _new_design_seed() -> str:
    return f"{secrets.randbits(128):032x}"


class Study(models.Model):
    """A reader study: its settings, cases, readers and the model shown in assisted rounds."""

    slug = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=StudyStatus.choices, default=StudyStatus.DRAFT)
    design = models.CharField(
        max_length=32,
        choices=StudyDesign.choices,
        default=StudyDesign.INDEPENDENT_ROUNDS,
        help_text="The layout of the rounds; the rounds are created with the study.",
    )
    washout_days = models.PositiveSmallIntegerField(
        default=28,
        help_text="Minimum days between a reader's round completion and their next round.",
    )
    ai_threshold = models.FloatField(
        default=0.5,
        help_text="A case is called malignant by the AI when its probability exceeds this.",
    )
    allow_revisions = models.BooleanField(
        default=False, help_text="Readers may go back and correct a read (kept as a new revision)."
    )
    reading_cohorts = models.JSONField(
        default=_default_reading_cohorts,
        help_text="The cohorts whose cases readers read (the model's test cohorts by default).",
    )
    collect_features = models.BooleanField(
        default=True, help_text="Show the optional ultrasound feature questions to readers."
    )
    consistency_rule = models.CharField(
        max_length=16,
        choices=ConsistencyRule.choices,
        default=ConsistencyRule.ASK,
        help_text="When a decision and its confidence disagree with the threshold (benign above "
        "it, malignant below): ask the reader once, refuse the read, or say nothing.",
    )
    ai_model = models.ForeignKey(
        "inference.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="studies",
        help_text="The model whose output assisted rounds show.",
    )
    # 128 bits from a CSPRNG: the crossover's case blocks and reader arms derive from it.
    design_seed = models.CharField(max_length=64, default=_new_design_seed, editable=False)
    bias_control_fraction = models.FloatField(
        default=0.2,
        help_text="Sequential design: the fraction of each reader's cases that stays unassisted "
        "after the lock (the guidance's bias control).",
    )
    practice_required = models.BooleanField(
        default=False, help_text="Readers read the practice cases before their first session."
    )
    practice_assisted = models.BooleanField(
        default=False, help_text="Practice cases show the AI's output (assisted practice)."
    )
    # Keys the patient pseudonyms and date shifts: a re-import maps a patient to the same pseudonym.
    pseudonym_secret = models.CharField(max_length=64, default=_new_secret, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "studies"
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ai_threshold__gt=0) & Q(ai_threshold__lt=1),
                name="study_threshold_open_unit",
            ),
            models.CheckConstraint(
                condition=Q(status__in=StudyStatus.values), name="study_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(washout_days__lte=365), name="study_washout_at_most_a_year"
            ),
            models.CheckConstraint(
                condition=Q(design__in=StudyDesign.values), name="study_design_valid"
            ),
            models.CheckConstraint(
                condition=Q(consistency_rule__in=ConsistencyRule.values),
                name="study_consistency_rule_valid",
            ),
            models.CheckConstraint(
                condition=Q(bias_control_fraction__gte=0) & Q(bias_control_fraction__lt=1),
                name="study_bias_control_fraction_unit",
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    def clean(self) -> None:
        cohorts = self.reading_cohorts
        if not isinstance(cohorts, list) or not cohorts:
            raise ValidationError({"reading_cohorts": "Choose at least one cohort to read."})
        unknown = [c for c in cohorts if c not in Cohort.values]
        if unknown:
            raise ValidationError(
                {
                    "reading_cohorts": f"Unknown cohort {unknown[0]!r}: one of {', '.join(Cohort.values)}."
                }
            )


class StaffRole(models.TextChoices):
    COORDINATOR = "coordinator", "Coordinator"
    STATISTICIAN = "statistician", "Statistician"


class StudyMembership(models.Model):
    """A coordinator or statistician of one study; they see nothing of other studies."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="study_memberships"
    )
    role = models.CharField(max_length=16, choices=StaffRole.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "user", "role"], name="membership_unique"),
            models.CheckConstraint(
                condition=Q(role__in=StaffRole.values), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} of {self.study}"


class Enrolment(models.Model):
    """A reader taking part in a study."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="enrolments")
    reader = models.ForeignKey(
        "accounts.Reader", on_delete=models.PROTECT, related_name="enrolments"
    )
    enrolled_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "reader"], name="enrolment_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.reader} in {self.study}"


class Cohort(models.TextChoices):
    TRAIN = "train", "Train"
    VALIDATION = "validation", "Validation"
    INTERNAL_TEST = "internal_test", "Internal test"
    EXTERNAL_TEST = "external_test", "External test"


class Location(models.TextChoices):
    SUPERFICIAL = "superficial", "Superficial"
    DEEP = "deep", "Deep"
    BOTH = "both", "Both"


class Shape(models.TextChoices):
    REGULAR = "regular", "Regular"
    IRREGULAR = "irregular", "Irregular"


class Margin(models.TextChoices):
    CLEAR = "clear", "Clear"
    UNCLEAR = "unclear", "Unclear"


class Echo(models.TextChoices):
    HOMOGENEOUS = "homogeneous", "Homogeneous"
    HETEROGENEOUS = "heterogeneous", "Heterogeneous"


class Presence(models.TextChoices):
    ABSENT = "absent", "Absent"
    PRESENT = "present", "Present"


class UltrasoundFeatures(models.Model):
    """The seed's Table 1 features; blank means not recorded."""

    max_diameter_mm = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    location = models.CharField(max_length=16, choices=Location.choices, blank=True)
    shape = models.CharField(max_length=16, choices=Shape.choices, blank=True)
    margin = models.CharField(max_length=16, choices=Margin.choices, blank=True)
    echo = models.CharField(max_length=16, choices=Echo.choices, blank=True)
    cystic_areas = models.CharField(max_length=8, choices=Presence.choices, blank=True)
    posterior_enhancement = models.CharField(max_length=8, choices=Presence.choices, blank=True)
    calcification = models.CharField(max_length=8, choices=Presence.choices, blank=True)

    class Meta:
        abstract = True


FEATURE_FIELDS = (
    "max_diameter_mm",
    "location",
    "shape",
    "margin",
    "echo",
    "cystic_areas",
    "posterior_enhancement",
    "calcification",
)


class Case(UltrasoundFeatures):
    """One lesion: the unit that is read and scored. Truth comes from pathology."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="cases")
    key = models.CharField(max_length=64, help_text="The manifest's case_id (coordinators only).")
    reader_label = models.CharField(
        max_length=16,
        default=new_reader_label,
        help_text="The opaque label readers see; reveals nothing about the case.",
    )
    patient_pseudonym = models.CharField(max_length=32, db_index=True)
    lesion_label = models.CharField(max_length=64, blank=True)
    cohort = models.CharField(max_length=16, choices=Cohort.choices)
    site = models.CharField(max_length=64, blank=True)
    truth_malignant = models.BooleanField()
    histology = models.CharField(max_length=128, blank=True)
    practice = models.BooleanField(
        default=False,
        help_text="A training case: read before the first session, never in a round or analysed.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study", "key"]
        constraints = [
            models.UniqueConstraint(fields=["study", "key"], name="case_key_unique_in_study"),
            models.UniqueConstraint(
                fields=["study", "reader_label"], name="case_label_unique_in_study"
            ),
            models.CheckConstraint(condition=Q(cohort__in=Cohort.values), name="case_cohort_valid"),
            models.CheckConstraint(
                condition=Q(max_diameter_mm__isnull=True) | Q(max_diameter_mm__gt=0),
                name="case_diameter_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study.slug}/{self.key}"


class Plane(models.TextChoices):
    SAGITTAL = "sagittal", "Sagittal"
    TRANSVERSE = "transverse", "Transverse"
    OTHER = "other", "Other"


class RegionSource(models.TextChoices):
    """Where the ultrasound region (everything outside it is blanked) came from."""

    DICOM = "dicom", "DICOM ultrasound regions"
    DETECTED = "detected", "Detected from the image"
    MANUAL = "manual", "Set by a coordinator"
    NONE = "none", "Not found: needs review"


def _image_path(instance: CaseImage, filename: str) -> str:
    return f"studies/{instance.case.study_id}/images/{filename}"


class CaseImage(models.Model):
    """One de-identified ultrasound picture of a case, its renditions and its lesion box (ROI)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveSmallIntegerField(default=0)
    reader_token = models.CharField(max_length=24, unique=True, default=new_image_token)
    plane = models.CharField(max_length=16, choices=Plane.choices, blank=True)
    source_name = models.CharField(
        max_length=255, blank=True, help_text="The manifest's file name (never shown to readers)."
    )
    source_sha256 = models.CharField(
        max_length=64, help_text="Hash of the original file as imported."
    )
    original = models.FileField(
        upload_to=_image_path,
        blank=True,
        help_text="The de-identified original: DICOM stays DICOM, JPEG/PNG become lossless PNG.",
    )
    display = models.FileField(upload_to=_image_path, blank=True)
    thumbnail = models.FileField(upload_to=_image_path, blank=True)
    model_input = models.FileField(upload_to=_image_path, blank=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    roi_x = models.PositiveIntegerField()
    roi_y = models.PositiveIntegerField()
    roi_w = models.PositiveIntegerField()
    roi_h = models.PositiveIntegerField()
    region_x = models.PositiveIntegerField(null=True, blank=True)
    region_y = models.PositiveIntegerField(null=True, blank=True)
    region_w = models.PositiveIntegerField(null=True, blank=True)
    region_h = models.PositiveIntegerField(null=True, blank=True)
    region_source = models.CharField(
        max_length=16, choices=RegionSource.choices, default=RegionSource.NONE
    )
    needs_review = models.BooleanField(default=False)
    # The physical size of a pixel (mm) for the reader's calipers: from the ultrasound region's
    # PhysicalDeltaX/Y or PixelSpacing; null when the file says nothing (calipers read pixels).
    spacing_x_mm = models.FloatField(null=True, blank=True)
    spacing_y_mm = models.FloatField(null=True, blank=True)
    spacing_source = models.CharField(max_length=24, blank=True)
    # A cine's frames as display renditions, in order (empty for a single frame); `frame` is the
    # one of them the model gets and the reader sees first (the middle one, see imaging.decoding).
    frames = models.JSONField(default=list, blank=True)
    frame = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "position"], name="image_position_unique"),
            models.UniqueConstraint(fields=["case", "source_sha256"], name="image_once_per_case"),
            models.CheckConstraint(
                condition=Q(width__gt=0) & Q(height__gt=0), name="image_not_empty"
            ),
            models.CheckConstraint(condition=Q(roi_w__gt=0) & Q(roi_h__gt=0), name="roi_not_empty"),
            models.CheckConstraint(
                condition=Q(roi_x__lte=F("width") - F("roi_w"))
                & Q(roi_y__lte=F("height") - F("roi_h")),
                name="roi_inside_image",
            ),
            models.CheckConstraint(
                condition=Q(region_source__in=RegionSource.values), name="image_region_source_valid"
            ),
            models.CheckConstraint(
                condition=(Q(spacing_x_mm__isnull=True) & Q(spacing_y_mm__isnull=True))
                | (Q(spacing_x_mm__gt=0) & Q(spacing_y_mm__gt=0)),
                name="image_spacing_both_or_none",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case} #{self.position}"


class ImportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ImportSource(models.TextChoices):
    ARCHIVE = "archive", "Zip archive"
    PACS = "pacs", "PACS (DICOMweb)"


def _upload_path(instance: ImportJob, filename: str) -> str:
    return f"imports/{instance.study_id}/{filename}"


class ImportJob(models.Model):
    """An uploaded manifest and images being imported by a worker, with its progress and errors."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="import_jobs")
    upload = models.FileField(upload_to=_upload_path, blank=True)
    source = models.CharField(
        max_length=16, choices=ImportSource.choices, default=ImportSource.ARCHIVE
    )
    # the name of a configured endpoint (settings.PACS_ENDPOINTS), never its URL or credentials
    pacs_endpoint = models.CharField(max_length=64, blank=True)
    phase = models.CharField(
        max_length=16, blank=True, help_text="A PACS import: resolving, retrieving or importing."
    )
    status = models.CharField(
        max_length=16, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    total_images = models.PositiveIntegerField(default=0)
    done_images = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ImportStatus.values), name="import_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(done_images__lte=F("total_images")), name="import_progress_bounded"
            ),
            models.CheckConstraint(
                condition=Q(source__in=ImportSource.values)
                & (Q(source=ImportSource.ARCHIVE) | ~Q(pacs_endpoint="")),
                name="import_source_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"import {self.pk} into {self.study}: {self.status}"
