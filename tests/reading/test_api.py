"""The reader's API and pages: per role, blinded, resumable."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client

from inference.worker.models import CasePrediction, ModelVersion, Prediction
from readerstudy.reading.models import Read, Round
from readerstudy.reading.services import round_open
from tests.conftest import PASSWORD, Personas
from tests.factories import CaseFactory, CaseImageFactory

TINY_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080001000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3ffd9"
)


def login(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


@pytest.fixture
def reading_study(personas: Personas) -> Personas:
    """Study S with 4 cases of 2 images each, an AI model with output, rounds 1 and 2 open."""
    return reading_study_create(personas)


def reading_study_create(p: Personas) -> Personas:
    model = ModelVersion.objects.create(
        name="m1", architecture="resnet18", checkpoint="x.pt", checkpoint_sha256="0" * 64
    )
    p.study.ai_model = model
    p.study.allow_revisions = False
    p.study.save()
    display = default_storage.save("t/display.jpg", ContentFile(TINY_JPEG))
    heat = default_storage.save("t/heat.png", ContentFile(b"\x89PNG-heatmap"))
    for n in range(4):
        case = CaseFactory.create(
            study=p.study,
            key=f"secret-key-{n}",
            truth_malignant=n < 2,
            histology="pleomorphic adenoma",
            patient_pseudonym=f"PSEUDO{n}",
        )
        for position in range(2):
            image = CaseImageFactory.create(
                case=case,
                position=position,
                display=display,
                thumbnail=display,
                source_name=f"patient-file-{n}-{position}.dcm",
                # a cine with a physical scale: its frame URLs are walked as well
                frames=[display, display],
                spacing_x_mm=0.1,
                spacing_y_mm=0.1,
                spacing_source="ultrasound_region",
            )
            Prediction.objects.create(
                image=image, model_version=model, probability=0.91, heatmap=heat
            )
        CasePrediction.objects.create(
            case=case,
            model_version=model,
            probability=0.913,
            malignant=True,
            threshold=0.5,
            n_images=2,
        )
    for index, assisted in ((1, False), (2, True)):
        round_open(
            round=Round.objects.create(study=p.study, index=index, assisted=assisted), actor=p.alice
        )
    return p


FORBIDDEN = (
    "0.91",
    "probability",
    "heatmap",
    "pleomorphic",
    "secret-key",
    "PSEUDO",
    "patient-file",
    "truth",
    'malignant": true',
    "histology",
)


def _walk(client: Client, start: list[str]) -> dict[str, bytes]:
    """Every same-site URL a reader can reach from `start` by links, API payloads and image src."""
    seen: dict[str, bytes] = {}
    queue = list(start)
    while queue:
        url = queue.pop()
        if url in seen or url.startswith(("/accounts/logout", "/admin", "/static")):
            continue
        response = client.get(url)
        body = (
            response.content
            if not hasattr(response, "streaming_content")
            else b"".join(response.streaming_content)
        )
        seen[url] = body + str(dict(response.headers)).encode()
        text = body.decode("latin-1")
        queue += re.findall(r'(?:href|src)="(/[^"#]*)"', text)
        queue += [u.replace("\\/", "/") for u in re.findall(r'"(/(?:api|reading)/[^"]+)"', text)]
    return seen


def _file_kind(url: str) -> str:
    from django.core import signing

    from readerstudy.reading.files import SALT

    return str(signing.loads(url.rsplit("/", 1)[1], salt=SALT)[2])


def _start(client: Client, round_id: int) -> int:
    response = client.post(f"/api/reading/rounds/{round_id}/start/")
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def test_a_round_one_reader_reaches_no_ai_output_truth_or_identity(reading_study: Personas) -> None:
    p = reading_study
    bob = login("bob")
    session = _start(bob, p.study.rounds.get(index=1).pk)
    pages = _walk(
        bob,
        [
            "/",
            "/reading/",
            f"/reading/sessions/{session}/",
            "/api/reading/rounds/",
            f"/api/reading/sessions/{session}/current/",
        ],
    )
    images = [url for url in pages if url.startswith("/reading/files/")]
    assert images, "the walk reached no image"
    assert f"/api/reading/sessions/{session}/my-reads/" in pages  # the list a reader goes back from
    kinds = {_file_kind(url) for url in images}
    assert kinds == {"display", "frame"}, kinds  # cine frames walked, no heatmap
    for url, content in pages.items():
        text = content.decode("latin-1")
        for word in FORBIDDEN:
            # The API schema names the fields an assisted round shows; it holds no case's data.
            if word in ("probability", "heatmap") and url.startswith(("/static", "/api/schema")):
                continue
            assert word not in text, f"{word!r} reached a round-1 reader at {url}"
    current = bob.get(f"/api/reading/sessions/{session}/current/").json()["case"]
    assert all("heatmap" not in image for image in current["images"])
    assert all(bob.get(url).status_code == 200 for url in images)


def test_signed_image_urls_serve_only_their_reader_and_refuse_tampering(
    reading_study: Personas,
) -> None:
    p = reading_study
    bob = login("bob")
    session = _start(bob, p.study.rounds.get(index=1).pk)
    url = bob.get(f"/api/reading/sessions/{session}/current/").json()["case"]["images"][0][
        "display"
    ]
    assert bob.get(url).status_code == 200
    assert login("carol").get(url).status_code == 404
    assert Client().get(url).status_code == 404
    assert bob.get(url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")).status_code == 404


def test_an_assisted_round_shows_the_ai_output_labelled_and_the_heatmap(
    reading_study: Personas,
) -> None:
    p = reading_study
    p.study.rounds.filter(index=1).update()  # round 2 needs round 1 complete or an override
    from readerstudy.reading.services import washout_override_grant

    bob = login("bob")
    session_1 = _start(bob, p.study.rounds.get(index=1).pk)
    for _ in range(4):
        current = bob.get(f"/api/reading/sessions/{session_1}/current/").json()["case"]
        bob.post(
            f"/api/reading/sessions/{session_1}/reads/",
            {
                "case": current["case"],
                "decision": "benign",
                "confidence": 20,
                "nonce": str(uuid.uuid4()),
                "active_ms": 1000,
            },
            content_type="application/json",
        )
    washout_override_grant(
        round=p.study.rounds.get(index=2), reader=p.bob, actor=p.alice, reason="test"
    )
    session_2 = _start(bob, p.study.rounds.get(index=2).pk)
    case = bob.get(f"/api/reading/sessions/{session_2}/current/").json()["case"]
    assert case["ai"] == {
        "available": True,
        "probability": 0.913,
        "malignant": True,
        "threshold": 0.5,
    }
    heatmap = bob.get(case["images"][0]["heatmap"])
    assert heatmap.status_code == 200
    assert "no-store" in heatmap["Cache-Control"]
    page = bob.get(f"/reading/sessions/{session_2}/").content.decode()
    assert "AI model output" in page


def test_submit_is_idempotent_and_returns_the_next_case_and_resume_lands_on_the_first_unread(
    reading_study: Personas,
) -> None:
    p = reading_study
    bob = login("bob")
    session = _start(bob, p.study.rounds.get(index=1).pk)
    first = bob.get(f"/api/reading/sessions/{session}/current/").json()
    assert first["done"] == 0
    assert first["case"]["position"] == 1
    body = {
        "case": first["case"]["case"],
        "decision": "malignant",
        "confidence": 77,
        "nonce": str(uuid.uuid4()),
        "active_ms": 4200,
        "features": {"shape": "irregular"},
    }
    one = bob.post(f"/api/reading/sessions/{session}/reads/", body, content_type="application/json")
    two = bob.post(f"/api/reading/sessions/{session}/reads/", body, content_type="application/json")
    assert one.status_code == two.status_code == 201
    assert Read.objects.count() == 1
    assert one.json()["next"]["case"]["position"] == 2
    resumed = bob.get(f"/api/reading/sessions/{session}/current/").json()
    assert resumed["done"] == 1
    assert resumed["case"]["case"] == one.json()["next"]["case"]["case"]


def test_an_untouched_or_out_of_range_confidence_is_refused(reading_study: Personas) -> None:
    p = reading_study
    bob = login("bob")
    session = _start(bob, p.study.rounds.get(index=1).pk)
    label = bob.get(f"/api/reading/sessions/{session}/current/").json()["case"]["case"]
    for confidence in (None, 101, -1):
        body = {"case": label, "decision": "benign", "nonce": str(uuid.uuid4()), "active_ms": 1}
        if confidence is not None:
            body["confidence"] = confidence
        response = bob.post(
            f"/api/reading/sessions/{session}/reads/", body, content_type="application/json"
        )
        assert response.status_code == 400
        assert "confidence" in response.json()["extra"]["fields"]
    assert not Read.objects.exists()


def test_round_two_before_the_washout_is_refused_with_the_date(reading_study: Personas) -> None:
    p = reading_study
    bob = login("bob")
    session = _start(bob, p.study.rounds.get(index=1).pk)
    for _ in range(4):
        current = bob.get(f"/api/reading/sessions/{session}/current/").json()["case"]
        bob.post(
            f"/api/reading/sessions/{session}/reads/",
            {
                "case": current["case"],
                "decision": "benign",
                "confidence": 20,
                "nonce": str(uuid.uuid4()),
                "active_ms": 1000,
            },
            content_type="application/json",
        )
    response = bob.post(f"/api/reading/rounds/{p.study.rounds.get(index=2).pk}/start/")
    assert response.status_code == 409
    assert "opens for you on" in response.json()["message"]
    assert "Opens for you on" in bob.get("/reading/").content.decode()


def test_other_people_cannot_use_bobs_session(reading_study: Personas) -> None:
    p = reading_study
    session = _start(login("bob"), p.study.rounds.get(index=1).pk)
    carol = login("carol")
    assert carol.get(f"/api/reading/sessions/{session}/current/").status_code == 404
    assert carol.get(f"/reading/sessions/{session}/").status_code == 404
    assert (
        carol.post(f"/api/reading/rounds/{p.study.rounds.get(index=1).pk}/start/").status_code
        == 404
    )
    alice = login("alice")
    assert alice.get(f"/api/reading/sessions/{session}/current/").status_code == 404
    assert Client().get(f"/api/reading/sessions/{session}/current/").status_code == 401


def _answer(label: str, **overrides: object) -> dict[str, object]:
    return {
        "case": label,
        "decision": "benign",
        "confidence": 20,
        "nonce": str(uuid.uuid4()),
        "active_ms": 1000,
        **overrides,
    }


def test_a_correction_posts_to_the_revisions_of_the_case_with_a_reason(
    reading_study: Personas,
) -> None:
    p = reading_study
    p.study.allow_revisions = True
    p.study.save(update_fields=["allow_revisions"])
    bob = login("bob")
    session = _start(bob, p.study.rounds.get(index=1).pk)
    label = bob.get(f"/api/reading/sessions/{session}/current/").json()["case"]["case"]
    submitted = bob.post(
        f"/api/reading/sessions/{session}/reads/", _answer(label), content_type="application/json"
    )
    assert submitted.status_code == 201
    assert submitted.json()["read"]["revision"] == 1
    again = bob.post(
        f"/api/reading/sessions/{session}/reads/", _answer(label), content_type="application/json"
    )
    assert again.status_code == 409, "a second submit is not a correction"
    url = f"/api/reading/sessions/{session}/cases/{label}/revisions/"
    correction = _answer(label, decision="malignant", confidence=80, reason="second look")
    correction.pop("case")
    without_reason = {k: v for k, v in correction.items() if k != "reason"}
    refused = bob.post(url, without_reason, content_type="application/json")
    assert refused.status_code == 400
    assert "reason" in refused.json()["extra"]["fields"]
    one = bob.post(url, correction, content_type="application/json")
    two = bob.post(url, correction, content_type="application/json")  # a retry
    assert one.status_code == two.status_code == 201
    assert one.json()["read"]["revision"] == 2
    assert one.json()["next"]["case"]["position"] == 2
    current = Read.objects.get(session_id=session, superseded_by__isnull=True)
    assert (current.revision, current.confidence, current.revision_reason) == (2, 80, "second look")
    assert Read.objects.filter(session_id=session).count() == 2


def test_a_correction_is_refused_where_the_study_allows_none_and_for_others(
    reading_study: Personas,
) -> None:
    p = reading_study
    bob = login("bob")
    session = _start(bob, p.study.rounds.get(index=1).pk)
    label = bob.get(f"/api/reading/sessions/{session}/current/").json()["case"]["case"]
    bob.post(
        f"/api/reading/sessions/{session}/reads/", _answer(label), content_type="application/json"
    )
    url = f"/api/reading/sessions/{session}/cases/{label}/revisions/"
    correction = {k: v for k, v in _answer(label, reason="misclick").items() if k != "case"}
    assert bob.post(url, correction, content_type="application/json").status_code == 409
    assert login("carol").post(url, correction, content_type="application/json").status_code == 404
    unknown = f"/api/reading/sessions/{session}/cases/nope/revisions/"
    assert bob.post(unknown, correction, content_type="application/json").status_code == 404
    assert Read.objects.filter(session_id=session).count() == 1
