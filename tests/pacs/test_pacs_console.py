"""The console's PACS import and AI push: the coordinator's, through the API and the import task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from readerstudy.studies.models import ImportJob, ImportSource, ImportStatus
from readerstudy.studies.tasks import import_run
from tests.conftest import PASSWORD, Personas
from tests.orthanc import Orthanc
from tests.pacs.conftest import ENDPOINT, worklist_bytes
from tests.pacs.test_pacs_import import _upload_all, _worklist


def login(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


@pytest.mark.django_db
def test_a_coordinator_imports_a_worklist_from_the_pacs_through_the_console(
    personas: Personas, orthanc: Orthanc, phantom_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    _upload_all(orthanc, phantom_dir)
    alice = login("alice")
    page = alice.get(f"/studies/{personas.study.slug}/console/").content.decode()
    assert 'id="pacs-import-form"' in page
    assert f'<option value="{ENDPOINT}">' in page
    assert orthanc.auth[1] not in page  # names only, never secrets
    assert orthanc.url not in page
    url = f"/api/studies/{personas.study.slug}/pacs-imports/"
    worklist = worklist_bytes(_worklist(phantom_dir))
    unknown = alice.post(
        url, {"endpoint": "nowhere", "worklist": SimpleUploadedFile("w.csv", worklist)}
    )
    assert unknown.status_code == 400, unknown.content
    assert "No PACS endpoint named 'nowhere'" in unknown.json()["message"]
    with django_capture_on_commit_callbacks(execute=False) as queued:
        answer = alice.post(
            url, {"endpoint": ENDPOINT, "worklist": SimpleUploadedFile("w.csv", worklist)}
        )
    assert answer.status_code == 202, answer.content
    assert len(queued) == 1  # the task is queued once the job is committed
    job = ImportJob.objects.get(pk=answer.json()["id"])
    assert (job.source, job.pacs_endpoint) == (ImportSource.PACS, ENDPOINT)
    assert import_run(job_pk=job.pk) == ImportStatus.SUCCEEDED
    assert import_run(job_pk=job.pk) == ImportStatus.SUCCEEDED  # a re-delivery does nothing
    detail = alice.get(f"/api/imports/{job.pk}/").json()
    assert detail["summary"]["cases"] == 6
    assert detail["phase"] == "importing"
    assert detail["done_images"] == detail["total_images"] == detail["summary"]["images"]
    job.refresh_from_db()
    assert not job.upload  # the worklist (patient ids) is not kept


@pytest.mark.django_db
def test_readers_and_statisticians_cannot_import_from_the_pacs_or_push_ai_results(
    personas: Personas, orthanc: Orthanc
) -> None:
    case = personas.study.cases.create(
        key="c1", patient_pseudonym="p", cohort="internal_test", truth_malignant=True
    )
    for user in ("bob", "sam"):
        client = login(user)
        worklist = SimpleUploadedFile("w.csv", b"study_instance_uid\n1.2\n")
        assert (
            client.post(
                f"/api/studies/{personas.study.slug}/pacs-imports/",
                {"endpoint": ENDPOINT, "worklist": worklist},
            ).status_code
            == 404
        )
        assert (
            client.post(
                f"/api/cases/{case.pk}/ai-dicom/",
                {"endpoint": ENDPOINT},
                content_type="application/json",
            ).status_code
            == 404
        )
