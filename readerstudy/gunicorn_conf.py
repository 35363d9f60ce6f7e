"""gunicorn's settings for the image (`gunicorn --config python:readerstudy.gunicorn_conf`), from
the environment: the bind address, the number of workers, and logs in the format of the rest."""

from __future__ import annotations

import os

from readerstudy.logging_config import logging_config

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# Image and report requests are short; a slow export streams, so the timeout is per chunk.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
logconfig_dict = logging_config()
