"""`manage.py train_model` on an imported phantom study: what it prints and what the model
version records (initialisation, case- and image-level AUCs, held-out cross-validation)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch
from django.core.management import call_command

from fixtures.phantom import generate_phantom_study
from inference.worker.models import ModelVersion
from readerstudy.studies.importing import cases_import
from tests.conftest import Personas


@pytest.fixture
def empty_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    # No ImageNet weights in this cache. Restored to unset afterwards (set_dir(get_dir()) would
    # pin the default and hide $TORCH_HOME from every later test).
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    return tmp_path / "hub"


@pytest.mark.slow
def test_train_model_reports_scratch_start_and_case_and_image_aucs(
    personas: Personas, tmp_path: Path, empty_hub: Path
) -> None:
    folder = tmp_path / "phantoms"
    generate_phantom_study(cases=60, seed=3, out=folder, fmt="jpeg")
    cases_import(study=personas.study, path=folder, actor=None)
    out = io.StringIO()

    call_command(
        "train_model", personas.study.slug, "--quick", "--epochs", "1", "--folds", "2",
        "--name", "phantom-cv", stdout=out,
    )  # fmt: skip

    text = out.getvalue()
    assert "initialisation: scratch" in text
    assert f"WARNING: no ImageNet weights for resnet18 in {empty_hub}" in text
    assert "validation AUC resnet18: case " in text
    assert "2-fold CV AUC resnet18: case " in text
    assert "used neither for training nor for early stopping" in text
    version = ModelVersion.objects.get(name="phantom-cv")
    assert version.initialisation == "from scratch"
    assert "no ImageNet weights" in version.initialisation_note
    cv = version.training["cross_validation"]["resnet18"]
    assert cv["held_out_stopping"] is True
    assert len(cv["fold_aucs"]) == len(cv["fold_image_aucs"]) == 2
    assert version.training["selection"]["early_stopping_and_model_selection_on"] == "case_auc"
    assert version.training["augmentation"]["interpolation"] == "bilinear"
    assert version.training["config"]["epochs"] == 1
