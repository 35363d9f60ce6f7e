"""The import task: a Celery adapter over `import_job_run`, which reports on its ImportJob."""

from __future__ import annotations

import logging

from readerstudy.celery import TRANSIENT_ERRORS, default_task
from readerstudy.studies.services import import_job_fail, import_job_release, import_job_run

log = logging.getLogger(__name__)


@default_task()
def import_run(*, job_pk: int) -> str:
    """Run an uploaded import once. A re-delivered task finds the job taken and does nothing."""
    try:
        return import_job_run(job_pk=job_pk)
    except TRANSIENT_ERRORS:
        import_job_release(job_pk=job_pk)
        raise  # the task decorator retries it
    except Exception as error:
        log.exception("import %s failed", job_pk)
        return import_job_fail(job_pk=job_pk, error=f"The import failed unexpectedly: {error}")
