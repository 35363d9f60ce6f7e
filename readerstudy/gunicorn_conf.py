"""gunicorn's settings for the image (`gunicorn --config python:readerstudy.gunicorn_conf`), from
the environment: the bind address, the number of workers, and logs in the format of the rest."""

from __future__ import annotations

import os

from readerstudy.logging_config import logging_config

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# One sync worker per core this process may run on. A request is CPU work (Django, then
# PostgreSQL on the same server), so a worker beyond the cores only shares one: on 2 cores,
# bench_reading.py measured 3 workers against 2 at p95 64–71 against 36–37 ms a submit, and
# 32–34 against 37–39 reads/s.
workers = int(os.environ.get("WEB_CONCURRENCY") or len(os.sched_getaffinity(0)))
# Image and report requests are short; a slow export streams, so the timeout is per chunk.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
logconfig_dict = logging_config()
