"""A full disk while an import stores its files: a clear rejection, and nothing half-written —
no case or image rows, and none of the files it had stored are left behind."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage

from fixtures.phantom import generate_phantom_study
from readerstudy.errors import ImportRejected
from readerstudy.studies.importing import cases_import
from readerstudy.studies.models import Case, CaseImage
from tests.conftest import Personas


def _files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.mark.parametrize("fail_after", [0, 7])
def test_a_full_disk_rejects_the_import_and_leaves_nothing(
    personas: Personas,
    tmp_path: Path,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    fail_after: int,
) -> None:
    folder = tmp_path / "phantoms"
    generate_phantom_study(cases=3, seed=5, out=folder, fmt="dicom")
    original = FileSystemStorage._save  # type: ignore[attr-defined]
    saved: list[str] = []

    def filling(self: Any, name: str, content: Any) -> str:
        if len(saved) >= fail_after:
            # Half a file reaches the disk before the device is full, as with a real ENOSPC.
            Path(self.path(name)).parent.mkdir(parents=True, exist_ok=True)
            Path(self.path(name)).write_bytes(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        saved.append(name)
        return original(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", filling)
    with pytest.raises(ImportRejected, match="No space left on device"):
        cases_import(study=personas.study, path=folder, actor=None)
    assert not Case.objects.exists()
    assert not CaseImage.objects.exists()
    assert _files(Path(settings.MEDIA_ROOT)) == []


def test_the_stored_source_name_holds_the_pseudonym_not_the_patient_id(
    personas: Personas,
) -> None:
    sample = Path(__file__).resolve().parents[2] / "fixtures" / "sample"
    cases_import(study=personas.study, path=sample, actor=None)
    names = list(CaseImage.objects.values_list("source_name", "case__patient_pseudonym"))
    assert names
    patient_ids = {"NF2234567", "NF8543209", "NF9888888"}  # the sample manifest's
    for name, pseudonym in names:
        assert not any(patient_id in name for patient_id in patient_ids), name
        assert pseudonym in name
