"""The report page, its charts, the JSON API and the planning of the next study."""

from __future__ import annotations

import json
from typing import Any

from analysis.web.models import StudyReport
from tests.analysis_adapter.conftest import BuiltStudy, client_for, study_build
from tests.conftest import Personas


def _strict_json(content: bytes) -> Any:
    def refuse(token: str) -> None:
        raise AssertionError(f"not strict JSON: {token}")

    return json.loads(content, parse_constant=refuse)


def test_the_report_page_renders_with_no_reads(personas: Personas) -> None:
    response = client_for("alice").get("/studies/s/report/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "No reads yet" in page
    assert "No cases have been imported yet." in page
    assert "/studies/s/exports/reads.csv" in page


def test_the_report_page_renders_tables_charts_and_export_links(crossed: BuiltStudy) -> None:
    client = client_for("sam")
    page = client.get("/studies/s/report/").content.decode()
    for text in (
        "Each reader per round",
        "Change between rounds",
        "Means per seniority group",
        "MRMC, Obuchowski–Rockette with delong covariance",
        "MRMC, Obuchowski–Rockette with jackknife covariance",
        "The AI model alone (resnet18-test",
        "The AI model against each reader",
        "Table 1, internal_test cohort",
        "Table 4: misjudged cases",
        "/studies/s/exports/mrmc.csv",
        "analysis/report.css",
    ):
        assert text in page, text
    report = StudyReport.objects.get(study=crossed.study)
    assert report.charts is not None, "the page draws the charts once"
    chart = client.get("/studies/s/report/charts/radar.svg")
    assert chart.status_code == 200
    assert chart["Content-Type"] == "image/svg+xml"
    assert chart.content.lstrip().startswith(b"<?xml")
    assert f'src="/studies/s/report/charts/radar.svg?v={report.data_version[:12]}"' in page
    assert client.get("/studies/s/report/charts/nonsense.svg").status_code == 404


def test_the_report_page_plans_the_next_study(crossed: BuiltStudy) -> None:
    page = client_for("alice").get("/studies/s/report/?effect=0.1&power=0.8&alpha=0.05")
    assert "Cases needed" in page.content.decode()
    refused = client_for("alice").get("/studies/s/report/?effect=2&power=0.8&alpha=0.05")
    assert "Cases needed" not in refused.content.decode()


def test_the_api_gives_the_reports_numbers_as_strict_json(crossed: BuiltStudy) -> None:
    response = client_for("sam").get("/api/studies/s/report/")
    assert response.status_code == 200
    data = _strict_json(response.content)
    report = StudyReport.objects.get(study=crossed.study)
    assert data["data_version"] == report.data_version
    assert data["reader_metrics"] == report.payload["reader_metrics"]
    assert data["mrmc"]["delong"]["rrrc"]["p"] == report.payload["mrmc"]["delong"]["rrrc"]["p"]
    assert "csv" not in data
    assert data["charts"][0]["url"] == "/studies/s/report/charts/forest_delta_auc.svg"
    assert {e["name"] for e in data["exports"]} >= {"reads", "cases", "mrmc", "audit"}
    assert report.charts is None, "the API does not draw charts"


def test_the_api_report_of_a_study_without_reads_is_strict_json(personas: Personas) -> None:
    study_build(study=personas.study, readers=[personas.bob], cases=4, read_rounds=0)
    data = _strict_json(client_for("alice").get("/api/studies/s/report/").content)
    assert data["reader_metrics"] == []
    assert data["mrmc"] is None
    assert data["charts"] == []


def test_the_plan_api_gives_readers_by_cases_from_the_studys_variance(
    crossed: BuiltStudy,
) -> None:
    response = client_for("sam").get("/api/studies/s/plan/?effect=0.1&power=0.8&alpha=0.05")
    assert response.status_code == 200
    plan = _strict_json(response.content)
    assert plan["pilot"]["readers"] == 3
    assert plan["pilot"]["cases"] == 30
    assert [row["readers"] for row in plan["cases_needed"]] == list(range(2, 16))
    reached = [row for row in plan["cases_needed"] if row["cases"] is not None]
    assert all(row["power"] >= 0.8 for row in reached)
    assert len(plan["power_grid"]["rows"][0]["power"]) == len(plan["power_grid"]["cases"])


def test_the_plan_api_refuses_bad_parameters_and_a_study_without_mrmc(
    personas: Personas,
) -> None:
    sam = client_for("sam")
    bad = sam.get("/api/studies/s/plan/?effect=0&power=0.8")
    assert bad.status_code == 400
    assert "effect" in bad.json()["extra"]["fields"]
    response = sam.get("/api/studies/s/plan/")
    assert response.status_code == 409
    assert response.json()["message"].startswith("Planning needs this study's variance")
