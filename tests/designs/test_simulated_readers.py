"""The demo's simulated readers (`fixtures.readers`) read a study of each design through the real
services (`fixtures.designs_sim`), and the report's analysis recovers the effect the reader
model implies: its expected assisted − unassisted AUC of the confidence, computed exactly from
the model, lies within the report's RRRC 95% CI of the modality difference.

Six readers (two of each seniority, as in the seed study) and 60 cases, the AI's probabilities
drawn from the seed's modelled AI. Reads are keyed by the case's key and the reading orders'
seeds come from a seeded source here, so each design's result is the same on every run and
database (the services otherwise draw them from a CSPRNG, which would make a 95% interval miss
in one run of twenty).
"""

from __future__ import annotations

import random
import types
from datetime import timedelta

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from analysis.web.report.compute import payload_compute
from analysis.web.selectors import CONTROL_FINAL, CONTROL_LOCKED
from analysis.web.templatetags.report_format import report_tables
from fixtures.designs_sim import design_simulate, expected_auc_difference
from fixtures.readers import PROFILES, SEED_AI_MODEL, SimulatedReader
from inference.worker.models import CasePrediction, ModelVersion, Prediction
from readerstudy.accounts.models import Reader, Seniority
from readerstudy.accounts.services import reader_create
from readerstudy.reading import services
from readerstudy.reading.models import Phase, Read
from readerstudy.reading.study_setup import study_create
from readerstudy.studies.models import Cohort, Enrolment, Study, StudyDesign
from tests.conftest import PASSWORD, Personas
from tests.designs.effect import reported_effect
from tests.factories import CaseFactory, CaseImageFactory
from tests.reading.test_api import TINY_JPEG

CASES = 60
SENIORITIES = (Seniority.SENIOR, Seniority.INTERMEDIATE, Seniority.JUNIOR) * 2
BIAS_CONTROL = 0.1


def _study(p: Personas, design: str) -> tuple[Study, list[tuple[Reader, SimulatedReader]]]:
    """The study created through the service with its design; cases in two cohorts with the
    modelled AI's output as rows; six readers enrolled, each with their simulated reader."""
    study = study_create(
        actor=p.alice, slug=f"sim-{design.replace('_', '-')}", title=f"Simulated {design}",
        design=design, washout_days=28, bias_control_fraction=BIAS_CONTROL,
    )  # fmt: skip
    model = ModelVersion.objects.create(
        name="modelled", architecture="resnet18", checkpoint="x.pt", checkpoint_sha256="0" * 64
    )
    display = default_storage.save("t/display.jpg", ContentFile(TINY_JPEG))
    rng = np.random.default_rng(2026)
    for n in range(CASES):
        malignant = n % 2 == 0
        case = CaseFactory.create(
            study=study, key=f"sim-case-{n}", truth_malignant=malignant,
            cohort=(Cohort.INTERNAL_TEST, Cohort.EXTERNAL_TEST)[(n // 2) % 2],
        )  # fmt: skip
        image = CaseImageFactory.create(case=case, position=0, display=display, thumbnail=display)
        probability = SEED_AI_MODEL.probability(malignant=malignant, rng=rng)
        Prediction.objects.create(image=image, model_version=model, probability=probability)
        CasePrediction.objects.create(
            case=case, model_version=model, probability=probability,
            malignant=probability > study.ai_threshold, threshold=study.ai_threshold, n_images=1,
        )  # fmt: skip
    study.ai_model = model
    study.save(update_fields=["ai_model"])
    readers = []
    for n, seniority in enumerate(SENIORITIES):
        reader = reader_create(username=f"sim{n}", password=PASSWORD, seniority=seniority,
                               years_experience=n + 1)  # fmt: skip
        Enrolment.objects.create(study=study, reader=reader)
        readers.append((reader, SimulatedReader(seniority=seniority, seed=100 + n, study_seed=7)))
    return study, readers


@pytest.mark.parametrize(
    "design", [StudyDesign.INDEPENDENT_ROUNDS, StudyDesign.CROSSOVER, StudyDesign.SEQUENTIAL]
)
def test_the_report_recovers_the_simulated_readers_effect_within_its_ci(
    personas: Personas, design: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = random.Random(f"sessions-{design}")  # reproducible on purpose
    monkeypatch.setattr(services, "secrets", types.SimpleNamespace(randbits=seeded.getrandbits))
    study, readers = _study(personas, design)
    ai = dict(
        CasePrediction.objects.filter(case__study=study).values_list("case_id", "probability")
    )
    start = timezone.now() - timedelta(days=90)
    sessions = design_simulate(study=study, readers=readers, ai=ai, actor=personas.alice,
                               start=start)  # fmt: skip

    reads = Read.objects.filter(session__round__study=study)
    # Two reads per reader and case, in two different conditions or steps.
    assert reads.count() == CASES * len(readers) * 2
    per_case = reads.values_list("session__reader", "case", "assisted", "phase")
    assert len(set(per_case)) == CASES * len(readers) * 2
    if design == StudyDesign.SEQUENTIAL:
        assert {s.round for s in sessions} == {1}
        assert reads.filter(phase=Phase.LOCKED, assisted=True).count() == 0
        control = round(BIAS_CONTROL * CASES)
        assert reads.filter(phase=Phase.FINAL, assisted=False).count() == control * len(readers)
    else:
        assert {s.round for s in sessions} == {1, 2}
        assert reads.filter(assisted=True).count() == CASES * len(readers)
    if design == StudyDesign.CROSSOVER:
        # Each session mixes both conditions; a case's two reads are in different sessions.
        for session in {r.session for r in reads.select_related("session")}:
            assert {True, False} == set(session.reads.values_list("assisted", flat=True))

    payload = payload_compute(study=study)
    expected = expected_auc_difference([PROFILES[s] for s in SENIORITIES], ai=SEED_AI_MODEL)
    effect = reported_effect(payload, label=design, expected=expected)
    assert effect.covers(expected), (design, expected, effect)
    modalities = effect.modalities
    # The report says what was compared: the unassisted condition first, the assisted second.
    reliance = payload["reliance"]
    assert (reliance["before"], reliance["after"]) == tuple(modalities)
    assert "unassisted" in modalities[0]
    assert "assisted" in modalities[1]
    assert "unassisted" not in modalities[1]
    assert reliance["pooled"]["cases"] == payload["input"]["paired_cases"] * len(readers)
    titles = {table["title"] for table in report_tables(payload)}
    assert "Reliance on the AI" in titles
    control_table = "Reliance measures on the bias-control cases (no AI after the lock)"
    assert (control_table in titles) == (design == StudyDesign.SEQUENTIAL)
    if design == StudyDesign.SEQUENTIAL:
        control_rows = [r for r in payload["bias_control"] if r["bias_control"]]
        assert len(control_rows) == len(readers)
        assert all(r["cases"] == round(BIAS_CONTROL * CASES) for r in control_rows)
        # The simulated reader re-reads a control case without the AI as before the lock.
        assert all(r["decisions_changed"] == 0 for r in control_rows)
        apart = reliance["bias_control"]
        assert (apart["before"], apart["after"]) == (CONTROL_LOCKED, CONTROL_FINAL)
        assert apart["pooled"]["cases"] == round(BIAS_CONTROL * CASES) * len(readers)
        assert apart["pooled"]["switch_to_ai_when_ai_wrong"]["count"] == 0
        assert apart["pooled"]["switch_to_ai_when_ai_right"]["count"] == 0
        assert any("bias-control case" in note for note in payload["notes"])
        # The API carries both: the per-reader summary and the reliance on the control cases.
        client = Client()
        client.force_login(personas.alice)
        body = client.get(f"/api/studies/{study.slug}/report/").json()
        assert body["bias_control"] == payload["bias_control"]
        assert body["reliance"]["bias_control"]["pooled"]["cases"] == apart["pooled"]["cases"]
    else:
        assert reliance["bias_control"] is None
