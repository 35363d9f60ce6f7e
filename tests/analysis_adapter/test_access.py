"""Only a study's coordinators and statisticians see its report and exports; readers (who must
never see the truth or other readers' reads) and strangers get the 404 of a missing study."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.analysis_adapter.conftest import client_for
from tests.conftest import Personas

URLS = (
    "/studies/s/report/",
    "/studies/s/report/charts/roc.svg",
    "/studies/s/exports/reads.csv",
    "/studies/s/exports/cases.csv",
    "/studies/s/exports/reader_metrics.csv",
    "/studies/s/exports/audit.csv",
    "/api/studies/s/report/",
    "/api/studies/s/plan/",
)


@pytest.mark.parametrize("username", ["bob", "carol"])
@pytest.mark.parametrize("url", URLS)
def test_readers_get_404_on_the_report_and_exports_of_study_s(
    personas: Personas, username: str, url: str
) -> None:
    response = client_for(username).get(url)
    assert response.status_code == 404
    if url.startswith("/api/"):
        assert response.json() == {"message": "No such study.", "extra": {"slug": "s"}}


@pytest.mark.parametrize("username", ["alice", "sam"])
def test_the_coordinator_and_the_statistician_get_the_report_and_exports(
    personas: Personas, username: str
) -> None:
    client = client_for(username)
    assert client.get("/studies/s/report/").status_code == 200
    assert client.get("/api/studies/s/report/").status_code == 200
    assert client.get("/studies/s/exports/reads.csv").status_code == 200
    assert client.get("/studies/s/exports/audit.csv").status_code == 200


def test_the_coordinator_of_s_sees_nothing_of_study_t(personas: Personas) -> None:
    alice = client_for("alice")
    assert alice.get("/studies/t/report/").status_code == 404
    assert alice.get("/studies/t/exports/reads.csv").status_code == 404
    assert alice.get("/api/studies/t/report/").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client: Client, personas: Personas) -> None:
    response = client.get("/studies/s/exports/reads.csv")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert client.get("/api/studies/s/report/").status_code == 401


def test_an_unknown_export_kind_is_404(personas: Personas) -> None:
    assert client_for("alice").get("/studies/s/exports/secrets.csv").status_code == 404
