"""Calipers stored with a read, the consistency rule, and the list a reader goes back from."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import pytest
from django.test import Client

from analysis.web.exports import export_chunks
from readerstudy.reading.models import Read, ReadMeasurement
from readerstudy.studies.models import CaseImage, ConsistencyRule
from tests.conftest import Personas
from tests.reading.test_api import _start, login, reading_study  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def _current(client: Client, session: int) -> dict[str, Any]:
    return client.get(f"/api/reading/sessions/{session}/current/").json()["case"]


def _submit(client: Client, session: int, case: dict[str, Any], **extra: Any) -> Any:
    body = {
        "case": case["case"],
        "decision": "benign",
        "confidence": 20,
        "nonce": str(uuid.uuid4()),
        "active_ms": 1000,
        **extra,
    }
    return client.post(
        f"/api/reading/sessions/{session}/reads/", body, content_type="application/json"
    )


def test_a_caliper_is_stored_in_original_pixels_with_the_servers_millimetres(
    reading_study: Personas,  # noqa: F811
) -> None:
    bob = login("bob")
    session = _start(bob, reading_study.study.rounds.get(index=1).pk)
    case = _current(bob, session)
    image = case["images"][0]
    assert image["spacing"] == {"x_mm": 0.1, "y_mm": 0.1, "source": "ultrasound_region"}
    caliper = {"image": image["id"], "x0": 10, "y0": 20, "x1": 40, "y1": 60}  # 50 px
    # the client cannot set the length: it is not an input, and the server's arithmetic holds
    response = _submit(
        bob, session, case, measurements=[{**caliper, "fills_max_diameter": True, "length_mm": 99}]
    )
    assert response.status_code == 201, response.content
    stored = ReadMeasurement.objects.get()
    assert (stored.x0, stored.y0, stored.x1, stored.y1) == (10, 20, 40, 60)
    assert stored.length_px == pytest.approx(50)
    assert stored.length_mm == pytest.approx(5.0)
    assert stored.fills_max_diameter

    rows = list(
        csv.DictReader(
            io.StringIO("".join(export_chunks(study=reading_study.study, kind="measurements")))
        )
    )
    assert len(rows) == 1
    assert rows[0]["read_id"] == str(stored.read_id)
    assert float(rows[0]["length_mm"]) == pytest.approx(5.0)
    assert rows[0]["spacing_source"] == "ultrasound_region"


def test_an_image_without_spacing_measures_pixels_only(reading_study: Personas) -> None:  # noqa: F811
    CaseImage.objects.update(spacing_x_mm=None, spacing_y_mm=None, spacing_source="")
    bob = login("bob")
    session = _start(bob, reading_study.study.rounds.get(index=1).pk)
    case = _current(bob, session)
    assert case["images"][0]["spacing"] is None
    caliper = {"image": case["images"][0]["id"], "x0": 0, "y0": 0, "x1": 3, "y1": 4}
    assert _submit(bob, session, case, measurements=[caliper]).status_code == 201
    stored = ReadMeasurement.objects.get()
    assert stored.length_px == pytest.approx(5)
    assert stored.length_mm is None


@pytest.mark.parametrize(
    ("caliper", "message"),
    [
        ({"x0": 0, "y0": 0, "x1": 801, "y1": 10}, "outside"),
        ({"x0": 0, "y0": 0, "x1": 10, "y1": 10, "frame": 2}, "frame"),
        ({"image": "not-an-image", "x0": 0, "y0": 0, "x1": 10, "y1": 10}, "not in this case"),
    ],
)
def test_a_bad_caliper_refuses_the_whole_read(
    reading_study: Personas,  # noqa: F811
    caliper: dict[str, Any],
    message: str,
) -> None:
    bob = login("bob")
    session = _start(bob, reading_study.study.rounds.get(index=1).pk)
    case = _current(bob, session)
    response = _submit(
        bob, session, case, measurements=[{"image": case["images"][0]["id"], **caliper}]
    )
    assert response.status_code == 409, response.content
    assert message in response.json()["message"]
    assert not Read.objects.exists()
    assert not ReadMeasurement.objects.exists()


def test_another_cases_image_cannot_be_measured(reading_study: Personas) -> None:  # noqa: F811
    bob = login("bob")
    session = _start(bob, reading_study.study.rounds.get(index=1).pk)
    first = _current(bob, session)
    assert _submit(bob, session, first).status_code == 201
    second = _current(bob, session)
    caliper = {"image": first["images"][0]["id"], "x0": 0, "y0": 0, "x1": 10, "y1": 10}
    assert _submit(bob, session, second, measurements=[caliper]).status_code == 409


def test_the_hard_consistency_rule_refuses_benign_above_the_threshold_and_ask_lets_it_through(
    reading_study: Personas,  # noqa: F811
) -> None:
    study = reading_study.study
    bob = login("bob")
    session = _start(bob, study.rounds.get(index=1).pk)
    study.consistency_rule = ConsistencyRule.REQUIRE
    study.save()
    case = _current(bob, session)
    refused = _submit(bob, session, case, confidence=95)
    assert refused.status_code == 409
    assert "disagree" in refused.json()["message"]
    assert _submit(bob, session, case, decision="malignant", confidence=49).status_code == 409
    assert _submit(bob, session, case, confidence=50).status_code == 201  # on the threshold: fine
    study.consistency_rule = ConsistencyRule.ASK  # the screen asks; the server accepts
    study.save()
    assert _submit(bob, session, _current(bob, session), confidence=95).status_code == 201


def test_my_reads_list_my_current_reads_in_order_and_nothing_else(
    reading_study: Personas,  # noqa: F811
) -> None:
    bob = login("bob")
    session = _start(bob, reading_study.study.rounds.get(index=1).pk)
    labels = []
    for confidence in (10, 30):
        case = _current(bob, session)
        labels.append(case["case"])
        assert _submit(bob, session, case, confidence=confidence).status_code == 201
    response = bob.get(f"/api/reading/sessions/{session}/my-reads/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    rows = response.json()
    assert [(r["case"], r["position"], r["confidence"], r["revision"]) for r in rows] == [
        (labels[0], 1, 10, 1),
        (labels[1], 2, 30, 1),
    ]
    assert set(rows[0]) == {
        "case",
        "position",
        "decision",
        "confidence",
        "revision",
        "submitted_at",
    }
    assert login("carol").get(f"/api/reading/sessions/{session}/my-reads/").status_code == 404
