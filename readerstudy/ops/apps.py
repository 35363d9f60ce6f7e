from __future__ import annotations

from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: the health command for workers and containers, backup and restore."""

    name = "readerstudy.ops"
    label = "ops"
    verbose_name = "Operations"
