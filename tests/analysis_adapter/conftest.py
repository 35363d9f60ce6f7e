"""A small fully crossed study built with the factories: readers × rounds × cases with
deterministic confidences, optionally with the AI model's predictions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pytest
from django.test import Client
from django.utils import timezone

from inference.worker.models import CasePrediction, ModelVersion, Prediction
from readerstudy.accounts.models import Reader, Seniority
from readerstudy.reading.models import Decision, Read, ReadingSession, Round
from readerstudy.studies.models import Case, Cohort, Study
from tests.conftest import PASSWORD, Personas
from tests.factories import (
    CaseFactory,
    CaseImageFactory,
    EnrolmentFactory,
    ReaderFactory,
    ReadFactory,
    ReadingSessionFactory,
    RoundFactory,
    UserFactory,
)

SHAPES = ("regular", "irregular")
MARGINS = ("clear", "unclear")


@dataclass
class BuiltStudy:
    study: Study
    readers: list[Reader]
    rounds: list[Round]
    cases: list[Case]
    truth: np.ndarray  # (cases,) 0/1
    confidence: np.ndarray  # (rounds, readers, cases) 0–100
    sessions: dict[tuple[int, int], ReadingSession]  # (round index, reader index)
    model: ModelVersion | None = None
    probability: np.ndarray | None = None


def client_for(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def study_build(
    *,
    study: Study,
    readers: list[Reader],
    rounds: int = 2,
    cases: int = 30,
    read_rounds: int | None = None,
    with_model: bool = False,
    seed: int = 11,
    faster_per_round: int = 0,
) -> BuiltStudy:
    """Every reader reads every case in the first ``read_rounds`` rounds (default: all); a
    read takes 40 + case seconds, less ``faster_per_round`` seconds per later round and a
    reader-and-case jitter of up to 3 s when that is set."""
    rng = np.random.default_rng(seed)
    truth = (np.arange(cases) % 3 == 0).astype(int)
    case_rows = [
        CaseFactory.create(
            study=study,
            key=f"case-{i + 1:03d}",
            truth_malignant=bool(truth[i]),
            cohort=Cohort.INTERNAL_TEST if i % 2 == 0 else Cohort.EXTERNAL_TEST,
            histology="pleomorphic adenoma" if not truth[i] else "carcinoma",
            max_diameter_mm=10 + i,
            shape=SHAPES[int(truth[i]) if i % 4 else 1 - int(truth[i])],
            margin=MARGINS[i % 2],
        )
        for i in range(cases)
    ]
    round_rows = [
        RoundFactory.create(study=study, index=t + 1, assisted=t > 0) for t in range(rounds)
    ]
    for reader in readers:
        if not study.enrolments.filter(reader=reader).exists():
            EnrolmentFactory.create(study=study, reader=reader)
    confidence = np.zeros((rounds, len(readers), cases), dtype=int)
    for t in range(rounds):
        for r in range(len(readers)):
            signal = (1.0 + 0.4 * r + 0.5 * t) * truth + rng.normal(size=cases)
            confidence[t, r] = np.clip(np.round(40 + 20 * signal), 0, 100)
    sessions = {}
    now = timezone.now()
    for t, round_row in enumerate(round_rows[: rounds if read_rounds is None else read_rounds]):
        for r, reader in enumerate(readers):
            session = ReadingSessionFactory.create(reader=reader, round=round_row)
            sessions[(t + 1, r)] = session
            for c, case in enumerate(case_rows):
                value = int(confidence[t, r, c])
                ReadFactory.create(
                    session=session,
                    case=case,
                    confidence=value,
                    decision=Decision.MALIGNANT if value >= 50 else Decision.BENIGN,
                    started_at=now
                    - timedelta(
                        seconds=40
                        + c
                        - t * faster_per_round
                        + ((r * 7 + c * 3 + t * 5) % 4 if faster_per_round else 0)
                    ),
                    submitted_at=now,
                    active_ms=30_000 + 100 * c,
                )
    built = BuiltStudy(study, readers, round_rows, case_rows, truth, confidence, sessions)
    if with_model:
        model = ModelVersion.objects.create(
            name="resnet18-test",
            architecture="resnet18",
            checkpoint="models/resnet18-test/weights.pt",
            checkpoint_sha256="0" * 64,
        )
        probability = np.clip(0.35 + 0.3 * truth + 0.25 * rng.normal(size=cases), 0.01, 0.99)
        for c, case in enumerate(case_rows):
            image = CaseImageFactory.create(case=case, position=0)
            Prediction.objects.create(
                image=image,
                model_version=model,
                probability=float(probability[c]),
                computed_with="cpu bf16+channels_last",
            )
            CasePrediction.objects.create(
                case=case,
                model_version=model,
                probability=float(probability[c]),
                malignant=bool(probability[c] > 0.5),
                threshold=0.5,
                n_images=1,
            )
        study.ai_model = model
        study.save(update_fields=["ai_model"])
        built.model, built.probability = model, probability
    return built


def three_readers(personas: Personas) -> list[Reader]:
    """Bob (senior) and two more readers of study S."""
    others = [
        ReaderFactory.create(user=UserFactory.create(username=name), seniority=seniority)
        for name, seniority in (("dora", Seniority.JUNIOR), ("eve", Seniority.INTERMEDIATE))
    ]
    return [personas.bob, *others]


@pytest.fixture
def crossed(personas: Personas) -> BuiltStudy:
    """Study S: 3 readers × 2 rounds × 30 cases, with the AI model's predictions."""
    return study_build(study=personas.study, readers=three_readers(personas), with_model=True)


@pytest.fixture
def four(personas: Personas) -> BuiltStudy:
    """Bob and Fay (senior), Dora and Eve (junior): 2 rounds × 30 cases, with the AI model;
    round 2 reads take 8 s less."""
    others = [
        ReaderFactory.create(user=UserFactory.create(username=name), seniority=level)
        for name, level in (
            ("dora", Seniority.JUNIOR),
            ("eve", Seniority.JUNIOR),
            ("fay", Seniority.SENIOR),
        )
    ]
    return study_build(
        study=personas.study,
        readers=[personas.bob, *others],
        with_model=True,
        faster_per_round=8,
    )


def read_revise(
    *, read: Read, confidence: int, reason: str, comment: str = "", features: dict | None = None
) -> Read:
    """A correction, as the reading service stores it: a new revision superseding the read."""
    return ReadFactory.create(
        session=read.session,
        case=read.case,
        confidence=confidence,
        decision=Decision.MALIGNANT if confidence >= 50 else Decision.BENIGN,
        revision=read.revision + 1,
        supersedes=read,
        revision_reason=reason,
        comment=comment,
        features=features or {},
        started_at=read.started_at,
        submitted_at=timezone.now(),
    )
