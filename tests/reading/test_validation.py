"""Hostile feature values are refused with a clear message, never a 500, and nothing is stored."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client

from readerstudy.errors import Conflict
from readerstudy.reading.models import Read
from readerstudy.reading.validation import read_features_clean
from tests.conftest import PASSWORD, Personas
from tests.reading.test_api import reading_study  # noqa: F401 (a fixture)

HOSTILE: list[dict[str, Any]] = [
    {"shape": ["regular"]},
    {"margin": {"a": 1}},
    {"echo": 1},
    {"max_diameter_mm": "NaN"},
    {"max_diameter_mm": "sNaN"},
    {"max_diameter_mm": "Infinity"},
    {"max_diameter_mm": "-Infinity"},
    {"max_diameter_mm": True},
    {"max_diameter_mm": [12]},
    {"max_diameter_mm": {"mm": 12}},
    {"max_diameter_mm": "1e999999999"},
    {"location": "superficial", "max_diameter_mm": "12,5"},
]


@pytest.mark.parametrize("features", HOSTILE)
def test_hostile_feature_values_are_a_clear_error(features: dict[str, Any]) -> None:
    with pytest.raises(Conflict, match="must be"):
        read_features_clean(features)


def test_good_features_are_kept_and_empty_ones_dropped() -> None:
    clean = read_features_clean({"shape": "irregular", "max_diameter_mm": "12.5", "echo": ""})
    assert clean == {"shape": "irregular", "max_diameter_mm": 12.5}


@pytest.mark.parametrize("features", HOSTILE[:5])
def test_the_api_answers_hostile_features_with_an_error_and_stores_nothing(
    reading_study: Personas,  # noqa: F811
    features: dict[str, Any],
) -> None:
    bob = Client()
    assert bob.login(username="bob", password=PASSWORD)
    round1 = reading_study.study.rounds.get(index=1).pk
    session = bob.post(f"/api/reading/rounds/{round1}/start/").json()["id"]
    current = bob.get(f"/api/reading/sessions/{session}/current/").json()
    body = {
        "case": current["case"]["case"],
        "decision": "benign",
        "confidence": 10,
        "nonce": str(uuid.uuid4()),
        "active_ms": 1000,
        "features": features,
    }
    response = bob.post(
        f"/api/reading/sessions/{session}/reads/", body, content_type="application/json"
    )
    assert 400 <= response.status_code < 500
    assert "must be" in response.json()["message"]
    assert not Read.objects.exists()
