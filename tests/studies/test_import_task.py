"""The import task: a thin adapter that retries infrastructure hiccups and records the rest."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError

from fixtures.phantom import generate_phantom_study
from readerstudy.studies import importing
from readerstudy.studies.models import ImportJob, ImportStatus
from readerstudy.studies.services import import_job_create
from readerstudy.studies.tasks import import_run
from tests.conftest import Personas


def _queued_job(personas: Personas, tmp_path: Path, capture: Any) -> ImportJob:
    """An accepted upload of a small phantom study, its task not run yet."""
    folder = generate_phantom_study(cases=2, seed=5, out=tmp_path / "study", fmt="jpeg").parent
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                handle.write(path, path.relative_to(folder).as_posix())
    upload = SimpleUploadedFile("upload.zip", archive.read_bytes())
    with capture(execute=False):
        return import_job_create(study=personas.study, upload=upload, actor=personas.alice)


def _failing(error: Exception) -> Any:
    def cases_import(**kwargs: Any) -> None:
        raise error

    return cases_import


@pytest.mark.django_db
def test_a_transient_error_is_raised_for_a_retry_and_the_retry_imports(
    personas: Personas,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    job = _queued_job(personas, tmp_path, django_capture_on_commit_callbacks)
    upload = str(job.upload.name)
    with monkeypatch.context() as patch:
        patch.setattr(importing, "cases_import", _failing(OperationalError("connection lost")))
        with pytest.raises(OperationalError):
            import_run(job_pk=job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.PENDING, "given back for the retry, not marked failed"
    assert job.errors == []
    assert job.upload.name == upload
    assert default_storage.exists(upload), "the retry needs the upload"
    assert import_run(job_pk=job.pk) == ImportStatus.SUCCEEDED
    job.refresh_from_db()
    assert job.summary["cases"] == 2
    assert not job.upload
    assert not default_storage.exists(upload)


@pytest.mark.django_db
def test_an_unexpected_error_is_recorded_on_the_job_once(
    personas: Personas,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    job = _queued_job(personas, tmp_path, django_capture_on_commit_callbacks)
    upload = str(job.upload.name)
    monkeypatch.setattr(importing, "cases_import", _failing(ValueError("bad pixels")))
    assert import_run(job_pk=job.pk) == ImportStatus.FAILED
    assert import_run(job_pk=job.pk) == ImportStatus.FAILED  # a re-delivery changes nothing
    job.refresh_from_db()
    assert job.errors == ["The import failed unexpectedly: bad pixels"]
    assert job.finished_at is not None
    assert not job.upload
    assert not default_storage.exists(upload)
