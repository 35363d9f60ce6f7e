from __future__ import annotations

from django.apps import AppConfig


class ReadingConfig(AppConfig):
    name = "readerstudy.reading"
    label = "reading"
    verbose_name = "Reading"
