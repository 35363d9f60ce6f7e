"""Each session names its cases and images afresh: a reader cannot recognise a case across the
washout by its label, and a round-1 read cannot be changed once the reader has seen the AI."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from analysis.web.exports import EXPORTS
from readerstudy.reading.labels import case_for_label, case_label
from readerstudy.reading.models import Read, ReadingSession
from readerstudy.reading.services import washout_override_grant
from tests.conftest import PASSWORD, Personas
from tests.reading.test_api import reading_study  # noqa: F401 (a fixture)


def _login(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def _read_all(client: Client, session: int) -> dict[str, str]:
    """Read every case; returns label → image ids as the session showed them."""
    seen: dict[str, str] = {}
    for _ in range(10):
        current = client.get(f"/api/reading/sessions/{session}/current/").json()
        if current["complete"]:
            break
        case = current["case"]
        seen[case["case"]] = ",".join(image["id"] for image in case["images"])
        body = {
            "case": case["case"],
            "decision": "benign",
            "confidence": 20,
            "nonce": str(uuid.uuid4()),
            "active_ms": 1000,
        }
        response = client.post(
            f"/api/reading/sessions/{session}/reads/", body, content_type="application/json"
        )
        assert response.status_code == 201
    return seen


def _both_rounds(p: Personas, bob: Client) -> tuple[int, int, dict[str, str], dict[str, str]]:
    round1, round2 = p.study.rounds.get(index=1), p.study.rounds.get(index=2)
    session1 = bob.post(f"/api/reading/rounds/{round1.pk}/start/").json()["id"]
    first = _read_all(bob, session1)
    washout_override_grant(round=round2, reader=p.bob, actor=p.alice, reason="test")
    session2 = bob.post(f"/api/reading/rounds/{round2.pk}/start/").json()["id"]
    second = _read_all(bob, session2)
    return session1, session2, first, second


def test_labels_and_image_ids_differ_between_a_readers_rounds(
    reading_study: Personas,  # noqa: F811
) -> None:
    _s1, _s2, first, second = _both_rounds(reading_study, _login("bob"))
    assert len(first) == len(second) == 4
    assert not set(first) & set(second), "a label seen in round 1 came back in round 2"
    images_first = {i for ids in first.values() for i in ids.split(",")}
    images_second = {i for ids in second.values() for i in ids.split(",")}
    assert not images_first & images_second
    assert not any(key.startswith("secret-key") for key in [*first, *second])


def test_a_label_names_its_case_only_within_its_own_session(
    reading_study: Personas,  # noqa: F811
) -> None:
    session1, session2, first, _second = _both_rounds(reading_study, _login("bob"))
    one = ReadingSession.objects.get(pk=session1)
    two = ReadingSession.objects.get(pk=session2)
    for label in first:
        pk = case_for_label(seed=one.seed, case_ids=one.permutation, label=label)
        assert pk is not None
        assert case_label(seed=two.seed, case_id=pk) != label
        assert case_for_label(seed=two.seed, case_ids=two.permutation, label=label) is None


def test_the_reads_export_gives_the_label_the_reader_saw(
    reading_study: Personas,  # noqa: F811
) -> None:
    _s1, _s2, first, second = _both_rounds(reading_study, _login("bob"))
    export = EXPORTS["reads"]
    assert export.rows is not None
    assert export.columns is not None
    rows = list(export.rows(reading_study.study))
    column = list(export.columns).index("case_label")
    assert {row[column] for row in rows} == set(first) | set(second)


def test_a_round_one_read_is_frozen_once_the_reader_has_seen_the_ai(
    reading_study: Personas,  # noqa: F811
) -> None:
    p = reading_study
    p.study.allow_revisions = True
    p.study.save(update_fields=["allow_revisions"])
    bob = _login("bob")
    session1, _s2, first, _second = _both_rounds(p, bob)
    label = next(iter(first))
    correction = {
        "decision": "malignant",
        "confidence": 64,
        "nonce": str(uuid.uuid4()),
        "active_ms": 500,
        "reason": "changed my mind",
    }
    response = bob.post(
        f"/api/reading/sessions/{session1}/cases/{label}/revisions/",
        correction,
        content_type="application/json",
    )
    assert response.status_code == 409
    assert "with the AI" in response.json()["message"]
    assert not Read.objects.filter(session_id=session1, revision=2).exists()


@pytest.mark.parametrize("seed", ["a" * 32, "0123456789abcdef" * 2])
def test_labels_are_stable_readable_and_distinct_within_a_session(seed: str) -> None:
    labels = [case_label(seed=seed, case_id=pk) for pk in range(1, 2001)]
    assert labels == [case_label(seed=seed, case_id=pk) for pk in range(1, 2001)]
    assert len(set(labels)) == len(labels)
    assert all(len(label) == 8 and not set(label) & set("ILOU") for label in labels)
