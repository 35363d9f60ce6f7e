"""A real Orthanc for the PACS tests (skipped, saying why, only where orthanc is not installed)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.phantom import generate_phantom_study
from tests.orthanc import Orthanc, dicomweb_plugin, orthanc_binary, orthanc_start

ENDPOINT = "orthanc"


@pytest.fixture(scope="session")
def orthanc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    if orthanc_binary() is None or dicomweb_plugin() is None:
        pytest.skip("Orthanc is not installed: apt-get install orthanc orthanc-dicomweb")
    with orthanc_start(tmp_path_factory.mktemp("orthanc")) as server:
        yield server


@pytest.fixture
def orthanc(orthanc_server: Orthanc, settings: Any) -> Iterator[Orthanc]:
    """An empty Orthanc, configured as the PACS endpoint `orthanc` (with its credentials)."""
    orthanc_server.clear()
    settings.PACS_ENDPOINTS = {ENDPOINT: endpoint_config(orthanc_server)}
    yield orthanc_server
    orthanc_server.clear()


def endpoint_config(server: Orthanc, **overrides: Any) -> dict[str, Any]:
    return {
        "url": server.dicomweb,
        "username": server.auth[0],
        "password": server.auth[1],
        "token": "",
        "qido_prefix": None,
        "wado_prefix": None,
        "stow_prefix": None,
        "timeout": 30.0,
        "retries": 3,
        **overrides,
    }


@pytest.fixture(scope="session")
def phantom_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("phantom-pacs")
    generate_phantom_study(cases=6, seed=23, out=out, fmt="dicom")
    return out


def manifest_rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "manifest.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def worklist_bytes(rows: list[dict[str, str]]) -> bytes:
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()
