"""A study of any design with cases in two cohorts, images, the AI's output and open rounds."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from inference.worker.models import CasePrediction, ModelVersion, Prediction
from readerstudy.accounts.models import Reader, Seniority
from readerstudy.accounts.services import reader_create
from readerstudy.reading.conditions import round_plan
from readerstudy.reading.models import Round
from readerstudy.reading.services import round_open
from readerstudy.studies.models import Case, Cohort, Enrolment, Study
from tests.conftest import PASSWORD, Personas
from tests.factories import CaseFactory, CaseImageFactory
from tests.reading.test_api import TINY_JPEG

SENIORITIES = (Seniority.SENIOR, Seniority.INTERMEDIATE, Seniority.JUNIOR)


def design_study(
    p: Personas,
    *,
    design: str,
    cases: int = 12,
    readers: int = 4,
    practice: int = 0,
    probability: float = 0.91,
    **settings: object,
) -> list[Reader]:
    """Study S in `design`: `cases` cases (truth and cohort mixed), `practice` practice cases,
    bob and `readers` − 1 more readers enrolled, the design's rounds created and open."""
    study = p.study
    model = ModelVersion.objects.create(
        name="m1", architecture="resnet18", checkpoint="x.pt", checkpoint_sha256="0" * 64
    )
    study.ai_model = model
    study.design = design
    for name, value in settings.items():
        setattr(study, name, value)
    study.save()
    display = default_storage.save("t/display.jpg", ContentFile(TINY_JPEG))
    heat = default_storage.save("t/heat.png", ContentFile(b"\x89PNG-heatmap"))
    for n in range(cases + practice):
        is_practice = n >= cases
        case = CaseFactory.create(
            study=study,
            key=f"secret-key-{n}",
            truth_malignant=n % 2 == 0,
            cohort=(Cohort.INTERNAL_TEST, Cohort.EXTERNAL_TEST, Cohort.TRAIN)[
                2 if is_practice else (n // 2) % 2
            ],
            practice=is_practice,
            histology="pleomorphic adenoma",
            patient_pseudonym=f"PSEUDO{n}",
        )
        image = CaseImageFactory.create(
            case=case, position=0, display=display, thumbnail=display,
            source_name=f"patient-file-{n}.dcm",
        )  # fmt: skip
        Prediction.objects.create(image=image, model_version=model, probability=probability,
                                  heatmap=heat)  # fmt: skip
        CasePrediction.objects.create(
            case=case, model_version=model, probability=probability, malignant=True,
            threshold=0.5, n_images=1,
        )  # fmt: skip
    enrolled = [p.bob]
    for i in range(1, readers):
        reader = reader_create(
            username=f"reader{i}", password=PASSWORD, seniority=SENIORITIES[i % 3],
            years_experience=i,
        )  # fmt: skip
        Enrolment.objects.create(study=study, reader=reader)
        enrolled.append(reader)
    for plan in round_plan(study=study):
        round_open(
            round=Round.objects.create(study=study, index=plan.index, assisted=plan.assisted),
            actor=p.alice,
        )
    return enrolled


def study_cases(study: Study) -> list[Case]:
    return list(Case.objects.filter(study=study, practice=False).order_by("pk"))
