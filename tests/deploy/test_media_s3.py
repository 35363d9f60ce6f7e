"""Media on S3-compatible storage (MEDIA_STORAGE=s3, django-storages), against moto's server mode
started here on a free port: an import stores every file in the bucket, nothing on the local disk,
and a reader gets an image only through the signed, permission-checked view."""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from readerstudy.reading.files import reading_file_url
from readerstudy.storage_config import media_storage
from readerstudy.studies.importing import cases_import
from readerstudy.studies.models import CaseImage
from tests.analysis_adapter.conftest import client_for
from tests.conftest import Personas

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "sample"
BUCKET = "readerstudy-media"
KEYS = {"S3_ACCESS_KEY_ID": "testing", "S3_SECRET_ACCESS_KEY": "testing", "S3_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, "moto's server exited"
                assert time.monotonic() < deadline, "moto's server did not start within 30 s"
                time.sleep(0.2)
        _client(endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


def _client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


@pytest.fixture
def s3_media(settings: Any, moto_endpoint: str) -> str:
    """The media storage is the bucket, under a prefix of this test's own; returns the prefix."""
    prefix = f"test-{secrets.token_hex(4)}"
    environ = {
        "MEDIA_STORAGE": "s3",
        "S3_BUCKET": BUCKET,
        "S3_ENDPOINT_URL": moto_endpoint,
        "S3_PREFIX": prefix,
        **KEYS,
    }
    settings.STORAGES = {**settings.STORAGES, "default": media_storage(environ=environ)}
    return prefix


def _objects(endpoint: str, prefix: str) -> dict[str, bytes]:
    client = _client(endpoint)
    listing = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/")
    return {
        item["Key"].removeprefix(prefix + "/"): client.get_object(Bucket=BUCKET, Key=item["Key"])[
            "Body"
        ].read()
        for item in listing.get("Contents", [])
    }


def test_an_import_stores_every_file_in_the_bucket_and_readers_get_images_only_through_the_checked_view(
    personas: Personas, s3_media: str, moto_endpoint: str, settings: Any
) -> None:
    summary = cases_import(study=personas.study, path=SAMPLE, actor=None)
    stored = _objects(moto_endpoint, s3_media)
    images = list(CaseImage.objects.filter(case__study=personas.study))
    assert len(images) == summary.images > 0
    for image in images:
        for field in (image.original, image.display, image.thumbnail):
            assert field.name in stored, f"{field.name} is not in the bucket"
    local = Path(settings.MEDIA_ROOT)
    assert not local.exists() or not any(p.is_file() for p in local.rglob("*"))

    display = str(images[0].display.name)
    url = reading_file_url(user_id=personas.bob.user.pk, name=display, kind="display")
    response = client_for("bob").get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == stored[display]  # type: ignore[attr-defined]
    assert client_for("carol").get(url).status_code == 404  # another reader's signed URL
    assert Client().get(url).status_code == 404
    # The bucket's own address never reaches a page: images go through the view.
    assert moto_endpoint.encode() not in client_for("bob").get("/reading/").content


@pytest.mark.django_db
def test_the_health_check_reads_the_bucket_and_names_a_missing_one(
    s3_media: str, settings: Any, client: Client
) -> None:
    body = client.get("/healthz").json()
    assert body["checks"]["storage"]["ok"], body
    options = {**settings.STORAGES["default"]["OPTIONS"], "bucket_name": "no-such-bucket"}
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": options},
    }
    body = client.get("/healthz").json()
    assert body["status"] == "degraded"
    assert not body["checks"]["storage"]["ok"]
    assert "NoSuchBucket" in body["checks"]["storage"]["error"]


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"MEDIA_STORAGE": "s3"}, "S3_BUCKET"),
        (
            {"MEDIA_STORAGE": "s3", "S3_BUCKET": "b", "S3_ACCESS_KEY_ID": "k"},
            "S3_SECRET_ACCESS_KEY",
        ),
        ({"MEDIA_STORAGE": "ftp"}, "MEDIA_STORAGE"),
        (
            {"MEDIA_STORAGE": "s3", "S3_BUCKET": "b", "S3_SECRET_ACCESS_KEY_FILE": "/nonexistent"},
            "does not name",
        ),
    ],
)
def test_a_wrong_s3_setting_stops_start_up_with_its_name(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        media_storage(environ=environ)


def test_the_secret_key_may_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "s3_secret"
    secret.write_text("from-a-file\n")
    environ = {
        "MEDIA_STORAGE": "s3",
        "S3_BUCKET": "b",
        "S3_ACCESS_KEY_ID": "k",
        "S3_SECRET_ACCESS_KEY_FILE": str(secret),
    }
    options = media_storage(environ=environ)["OPTIONS"]
    assert options["secret_key"] == "from-a-file"
    assert options["default_acl"] is None
    assert options["querystring_auth"] is True
