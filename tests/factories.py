"""factory_boy factories for the domain models."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

import factory
from django.utils import timezone

from readerstudy.accounts.models import Reader, Seniority, User
from readerstudy.reading.models import Decision, Read, ReadingSession, Round
from readerstudy.studies.models import Case, CaseImage, Cohort, Enrolment, Study


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct horse battery staple")


class ReaderFactory(factory.django.DjangoModelFactory[Reader]):
    class Meta:
        model = Reader

    user = factory.SubFactory(UserFactory)
    seniority = Seniority.SENIOR
    years_experience = 10


class StudyFactory(factory.django.DjangoModelFactory[Study]):
    class Meta:
        model = Study

    slug = factory.Sequence(lambda n: f"study-{n}")
    title = factory.LazyAttribute(lambda o: f"Study {o.slug}")


class EnrolmentFactory(factory.django.DjangoModelFactory[Enrolment]):
    class Meta:
        model = Enrolment

    study = factory.SubFactory(StudyFactory)
    reader = factory.SubFactory(ReaderFactory)


class CaseFactory(factory.django.DjangoModelFactory[Case]):
    class Meta:
        model = Case

    study = factory.SubFactory(StudyFactory)
    key = factory.Sequence(lambda n: f"case-{n}")
    patient_pseudonym = factory.Sequence(lambda n: f"P{n:06d}")
    cohort = Cohort.INTERNAL_TEST
    truth_malignant = False


class CaseImageFactory(factory.django.DjangoModelFactory[CaseImage]):
    class Meta:
        model = CaseImage

    case = factory.SubFactory(CaseFactory)
    position = factory.Sequence(lambda n: n)
    source_sha256 = factory.LazyFunction(lambda: secrets.token_hex(32))
    width = 800
    height = 600
    roi_x = 100
    roi_y = 100
    roi_w = 200
    roi_h = 150


class RoundFactory(factory.django.DjangoModelFactory[Round]):
    class Meta:
        model = Round

    study = factory.SubFactory(StudyFactory)
    index = 1
    assisted = False


class ReadingSessionFactory(factory.django.DjangoModelFactory[ReadingSession]):
    class Meta:
        model = ReadingSession

    reader = factory.SubFactory(ReaderFactory)
    round = factory.SubFactory(RoundFactory)
    seed = factory.LazyFunction(lambda: secrets.token_hex(16))
    permutation = factory.LazyFunction(list)
    started_at = factory.LazyFunction(timezone.now)


class ReadFactory(factory.django.DjangoModelFactory[Read]):
    class Meta:
        model = Read

    session = factory.SubFactory(ReadingSessionFactory)
    case = factory.SubFactory(CaseFactory, study=factory.SelfAttribute("..session.round.study"))
    decision = Decision.BENIGN
    confidence = 20
    nonce = factory.LazyFunction(uuid.uuid4)
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(seconds=30))
    submitted_at = factory.LazyFunction(timezone.now)
    active_ms = 25_000
    # What the service records in independent rounds: the round's condition.
    assisted = factory.LazyAttribute(lambda o: o.session.round.assisted)
