"""readerstudy: diagnostic reader studies of AI assistance."""

from readerstudy.celery import app as celery_app

__all__ = ["celery_app"]
