from __future__ import annotations

from django.apps import AppConfig


class QuestionnairesConfig(AppConfig):
    name = "readerstudy.questionnaires"
    label = "questionnaires"
    verbose_name = "Questionnaires"
