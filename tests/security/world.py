"""Two studies, A (=S) and B (=T), each with one object of every kind a URL can name, and the
personas that hold each role in one of them: the world the security tests ask about."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from knox.models import AuthToken

from inference.worker.models import (
    CasePrediction,
    ModelVersion,
    PrecomputeJob,
    Prediction,
    TrainingJob,
)
from readerstudy.accounts.models import Reader, Role, User
from readerstudy.accounts.services import user_create
from readerstudy.audit.models import AuditEvent
from readerstudy.audit.services import audit_record
from readerstudy.reading.files import reading_file_url
from readerstudy.reading.models import (
    PracticeSession,
    Read,
    ReadingSession,
    Round,
    WashoutOverride,
)
from readerstudy.studies.models import (
    Case,
    CaseImage,
    Enrolment,
    ImportJob,
    StaffRole,
    Study,
    StudyMembership,
)
from tests.analysis_adapter.conftest import study_build
from tests.conftest import PASSWORD, Personas
from tests.factories import CaseFactory, CaseImageFactory, UserFactory

# Who asks: nobody logged in, a user with no role, each role in A, each role in B, a superuser.
PERSONAS = (
    "anonymous",
    "nobody",
    "reader_a",
    "coordinator_a",
    "statistician_a",
    "reader_b",
    "coordinator_b",
    "statistician_b",
    "superuser",
)


@dataclass
class StudyWorld:
    """One study and one object of every kind in it."""

    study: Study
    reader: Reader
    round: Round
    session: ReadingSession
    read: Read
    case: Case
    image: CaseImage
    import_job: ImportJob
    precompute_job: PrecomputeJob
    training_job: TrainingJob
    model_version: ModelVersion
    practice: PracticeSession
    token: str
    token_key: str  # the reader's own API token (knox's public key)
    # Admin objects by model label ("studies.case"), for `object_id`.
    admin_objects: dict[str, Any] = field(default_factory=dict)


@dataclass
class World:
    a: StudyWorld
    b: StudyWorld
    users: dict[str, User | None]


def _study_world(
    *, study: Study, reader: Reader, coordinator: User, group: Group, tag: str
) -> StudyWorld:
    built = study_build(study=study, readers=[reader], rounds=2, cases=6)
    model = ModelVersion.objects.create(
        name=f"model-{tag}",
        architecture="resnet18",
        checkpoint=f"models/model-{tag}/weights.pt",
        checkpoint_sha256=tag * 64,
    )
    study.ai_model = model
    study.save(update_fields=["ai_model"])
    images = []
    for case in built.cases:
        image = CaseImageFactory.create(case=case, position=0)
        images.append(image)
        Prediction.objects.create(
            image=image, model_version=model, probability=0.4, computed_with="cpu"
        )
        CasePrediction.objects.create(
            case=case, model_version=model, probability=0.4, malignant=False, threshold=0.5,
            n_images=1,
        )  # fmt: skip
    session = built.sessions[(1, 0)]
    for each in built.sessions.values():
        each.permutation = [case.pk for case in built.cases]
        each.save(update_fields=["permutation"])
    read = session.reads.order_by("pk").first()
    assert read is not None
    import_job = ImportJob.objects.create(study=study, created_by=coordinator)
    precompute_job = PrecomputeJob.objects.create(
        study=study, model_version=model, created_by=coordinator
    )
    training_job = TrainingJob.objects.create(
        study=study, name=f"trained-{tag}", architectures=["resnet18"], created_by=coordinator
    )
    override = WashoutOverride.objects.create(
        round=built.rounds[1], reader=reader, granted_by=coordinator, reason="travel"
    )
    practice_case = CaseFactory.create(study=study, key=f"practice-{tag}", practice=True)
    CaseImageFactory.create(case=practice_case, position=0)
    practice = PracticeSession.objects.create(
        reader=reader, study=study, seed=tag * 32, permutation=[practice_case.pk],
        assisted=False, started_at=timezone.now(),
    )  # fmt: skip
    event = audit_record(actor=coordinator, action="matrix.world", study=study)
    name = default_storage.save(f"renditions/{tag}.png", ContentFile(b"\x89PNG\r\n"))
    token = reading_file_url(user_id=reader.user.pk, name=name, kind="display").rsplit("/", 1)[1]
    objects: dict[str, Any] = {
        "studies.study": study,
        "studies.case": built.cases[0],
        "studies.caseimage": images[0],
        "reading.round": built.rounds[0],
        "reading.readingsession": session,
        "reading.read": read,
        "reading.washoutoverride": override,
        "inference.modelversion": model,
        "inference.prediction": Prediction.objects.filter(image=images[0]).get(),
        "inference.caseprediction": CasePrediction.objects.filter(case=built.cases[0]).get(),
        "inference.precomputejob": precompute_job,
        "audit.auditevent": event,
        "accounts.user": reader.user,
        "accounts.reader": reader,
        "auth.group": group,
    }
    assert isinstance(event, AuditEvent)
    return StudyWorld(
        study=study,
        reader=reader,
        round=built.rounds[0],
        session=session,
        read=read,
        case=built.cases[0],
        image=images[0],
        import_job=import_job,
        precompute_job=precompute_job,
        training_job=training_job,
        model_version=model,
        practice=practice,
        token=token,
        token_key=AuthToken.objects.create(user=reader.user)[0].token_key,
        admin_objects=objects,
    )


def world_build(personas: Personas) -> World:
    """Study A is the personas' S, B is their T; B gets its own coordinator and statistician."""
    tess = user_create(username="tess", password=PASSWORD, role=Role.COORDINATOR)
    StudyMembership.objects.create(
        study=personas.other_study, user=tess, role=StaffRole.COORDINATOR
    )
    tom = user_create(username="tom", password=PASSWORD, role=Role.STATISTICIAN)
    StudyMembership.objects.create(
        study=personas.other_study, user=tom, role=StaffRole.STATISTICIAN
    )
    nobody = UserFactory.create(username="nora")
    root = User.objects.create_superuser(username="root", password=PASSWORD, email="")
    groups = {group.name: group for group in Group.objects.all()}
    assert Enrolment.objects.filter(reader=personas.carol, study=personas.other_study).exists()
    a = _study_world(
        study=personas.study,
        reader=personas.bob,
        coordinator=personas.alice,
        group=groups[Role.COORDINATOR.value],
        tag="a",
    )
    b = _study_world(
        study=personas.other_study,
        reader=personas.carol,
        coordinator=tess,
        group=groups[Role.READER.value],
        tag="b",
    )
    users: dict[str, User | None] = {
        "anonymous": None,
        "nobody": nobody,
        "reader_a": personas.bob.user,
        "coordinator_a": personas.alice,
        "statistician_a": personas.sam,
        "reader_b": personas.carol.user,
        "coordinator_b": tess,
        "statistician_b": tom,
        "superuser": root,
    }
    return World(a=a, b=b, users=users)
