"""Users, their platform roles, and the reader profile (seniority, years of experience)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    """Platform roles; each is a Django group of the same name (see `roles_ensure`)."""

    COORDINATOR = "coordinator", "Study coordinator"
    READER = "reader", "Radiologist reader"
    STATISTICIAN = "statistician", "Statistician"


class User(AbstractUser):
    """A person who logs in. What they may do in a study is decided per study (memberships)."""

    def has_role(self, role: Role) -> bool:
        return self.groups.filter(name=role.value).exists()


class Seniority(models.TextChoices):
    JUNIOR = "junior", "Junior"
    INTERMEDIATE = "intermediate", "Intermediate"
    SENIOR = "senior", "Senior"


class Reader(models.Model):
    """A radiologist who reads cases; enrolled in studies through `studies.Enrolment`."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reader"
    )
    seniority = models.CharField(max_length=16, choices=Seniority.choices)
    years_experience = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(seniority__in=Seniority.values), name="reader_seniority_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(years_experience__lte=60), name="reader_years_experience_sane"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.seniority}, {self.years_experience} y)"
