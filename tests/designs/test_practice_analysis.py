"""Practice reads are stored and exported apart, and nothing of them reaches the analysis:
not the reads frame the statistics take, not the iMRMC input, not the reads export, not the
report's paired data; nor do the practice cases (the report's case count, Table 1, the AI's
Table 2)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.utils import timezone

from analysis.web.design_exports import practice_rows
from analysis.web.frames import (
    study_case_predictions_frame,
    study_cases_frame,
    study_image_predictions_frame,
    study_reads_frame,
)
from analysis.web.report.compute import payload_compute
from analysis.web.selectors import study_imrmc_reads, study_reads_export
from readerstudy.reading.models import Decision, PracticeRead, Read, ReadingSession, Round
from readerstudy.reading.practice import practice_start, practice_submit
from readerstudy.studies.models import Case, StudyDesign
from tests.conftest import Personas
from tests.designs.test_designs import _read_all
from tests.designs.world import design_study


def test_practice_reads_never_reach_the_analysis(personas: Personas) -> None:
    readers = design_study(personas, design=StudyDesign.INDEPENDENT_ROUNDS, cases=6, readers=2,
                           practice=3, practice_required=True)  # fmt: skip
    study = personas.study
    for reader in readers:
        practice = practice_start(reader=reader, study=study)
        for pk in practice.permutation:
            # Every practice answer "malignant, 95": were one counted, the frames would show it.
            practice_submit(session=practice, case=Case.objects.get(pk=pk),
                            decision=Decision.MALIGNANT, confidence=95, nonce=uuid.uuid4(),
                            active_ms=800, actor=reader.user)  # fmt: skip
    round_1, round_2 = Round.objects.filter(study=study).order_by("index")
    for reader in readers:
        _read_all(reader, round_1, timezone.now())
    ended = max(
        s.completed_at for s in ReadingSession.objects.filter(round=round_1) if s.completed_at
    )
    for reader in readers:
        _read_all(reader, round_2, ended + timedelta(days=study.washout_days + 1))

    practice_keys = set(
        Case.objects.filter(study=study, practice=True).values_list("key", flat=True)
    )
    assert len(practice_keys) == 3
    assert PracticeRead.objects.filter(session__study=study).count() == 6
    assert Read.objects.filter(session__round__study=study).count() == 2 * 6 * 2

    frame = study_reads_frame(study=study)
    assert len(frame) == 24
    assert not practice_keys & set(frame["case"])
    assert set(frame["score"]) == {40}  # only the rounds' reads, none of practice's 95
    keys = {row[0] for row in study_imrmc_reads(study=study).values_list("case__key")}
    assert keys
    assert not practice_keys & keys
    exported = {row[0] for row in study_reads_export(study=study).values_list("case__key")}
    assert exported
    assert not practice_keys & exported

    report = payload_compute(study=study)["input"]
    assert report["current_reads"] == 24
    assert report["paired_cases"] == 6
    assert report["cases"] == 6  # the practice cases are not the study's analysed cases
    # Nor are they in the cases (Table 1) or the AI's (Table 2) frames.
    assert set(study_cases_frame(study=study)["case"]) == set(frame["case"])
    model = study.ai_model
    assert model is not None
    predicted = study_case_predictions_frame(study=study, model=model)
    assert set(predicted["case"]) == set(frame["case"])
    images = study_image_predictions_frame(study=study, model=model)
    assert len(images) == 6
    # The practice export holds them, apart.
    exported_practice = list(practice_rows(study))
    assert len(exported_practice) == 6
    assert {row[4] for row in exported_practice} == practice_keys
