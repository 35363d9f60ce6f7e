"""The reporting pack (STARD-AI, CLAIM, DECIDE-AI): flow and washout gaps, randomisation,
visibility, versions from the model's stored provenance, de-identification, statistics, the
audit summary and the flow diagram, from the API and on the report page."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

from django.utils import timezone

from analysis.web.reporting import TO_FILL, reporting_pack
from inference.worker.models import ModelVersion
from readerstudy.reading.models import ReadingSession, WashoutOverride
from tests.analysis_adapter.conftest import BuiltStudy, client_for


def _schedule(four: BuiltStudy) -> dict[str, float]:
    """Round 1 completed on day 0; round 2 started 30 + reader index days later; distinct
    permutations. Returns the expected washout gap per reader."""
    day0 = timezone.now() - timedelta(days=60)
    cases = [c.pk for c in four.cases]
    expected = {}
    for r, reader in enumerate(four.readers):
        first = four.sessions[(1, r)]
        second = four.sessions[(2, r)]
        ReadingSession.objects.filter(pk=first.pk).update(
            started_at=day0 - timedelta(hours=2),
            completed_at=day0,
            permutation=cases[r:] + cases[:r],
        )
        ReadingSession.objects.filter(pk=second.pk).update(
            started_at=day0 + timedelta(days=30 + r),
            completed_at=day0 + timedelta(days=30 + r, hours=2),
            permutation=list(reversed(cases[r:] + cases[:r])),
        )
        expected[reader.user.username] = 30.0 + r
    return expected


def test_flow_gives_each_reader_s_reads_and_actual_washout_gap(four: BuiltStudy) -> None:
    expected = _schedule(four)
    WashoutOverride.objects.create(
        round=four.rounds[1],
        reader=four.readers[0],
        granted_by=four.readers[0].user,
        reason="travel",
    )
    pack = reporting_pack(study=four.study)
    flow = pack["flow"]
    assert flow["cases_imported"] == 30
    assert flow["cases_to_read"] == 30
    assert flow["malignant_to_read"] == int(four.truth.sum())
    readers = {r["reader"]: r for r in flow["readers"]}
    assert set(readers) == set(expected)
    for name, gap in expected.items():
        one, two = readers[name]["rounds"]
        assert (one["cases_read"], one["cases_assigned"]) == (30, 30)
        assert two["cases_read"] == 30
        assert two["washout_days"] == gap
    assert readers["bob"]["rounds"][1]["washout_override"] == "travel"
    assert flow["washout_days"] == {"min": 30.0, "median": 31.5, "max": 33.0}
    assert [r["readers_completed"] for r in flow["rounds"]] == [4, 4]
    assert [r["reads"] for r in flow["rounds"]] == [120, 120]
    randomisation = pack["randomisation"]
    assert randomisation["sessions"] == randomisation["seeds_stored"] == 8
    assert randomisation["orders_differ"] is True
    # The diagram is well-formed SVG and carries the flow's numbers.
    svg = ElementTree.fromstring(pack["flow_svg"])  # noqa: S314 - our own SVG, not input
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    text = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    assert "Cases imported: 30" in text
    assert "min 30.0, median 31.5, max 33.0 days" in text
    assert "readers started 4, completed 4; current reads 120" in text


def test_repeated_orders_are_reported(four: BuiltStudy) -> None:
    cases = [c.pk for c in four.cases]
    ReadingSession.objects.filter(round__study=four.study).update(permutation=cases)
    randomisation = reporting_pack(study=four.study)["randomisation"]
    assert randomisation["orders_differ"] is False
    assert randomisation["orders_repeated"] == 8 * 7 // 2


def test_versions_come_from_the_model_s_stored_provenance(four: BuiltStudy) -> None:
    ModelVersion.objects.filter(pk=four.model.pk).update(  # type: ignore[union-attr]
        training={"torch": "2.5.1+cpu", "torchvision": "0.20.1", "initialisation": "imagenet"},
        preprocessing={"size": 224, "equalise": True, "box_scale": 1.3},
    )
    four.study.refresh_from_db()
    software = reporting_pack(study=four.study)["software"]
    model = software["model"]
    assert model["torch"] == "2.5.1+cpu"
    assert model["checkpoint_sha256"] == "0" * 64
    assert model["preprocessing"]["box_scale"] == 1.3
    assert model["computed_with"] == ["cpu bf16+channels_last"]
    assert software["platform"]["readerstudy"]
    assert software["platform"]["Django"]


def test_api_gives_the_pack_with_the_audit_summary_and_items_to_fill_in(
    four: BuiltStudy,
) -> None:
    client = client_for("alice")
    assert client.get(f"/studies/{four.study.slug}/exports/reads.csv").status_code == 200
    response = client.get(f"/api/studies/{four.study.slug}/report/reporting/")
    assert response.status_code == 200
    body = response.json()
    access = body["data_access"]
    assert access["exports_by_kind"] == {"reads": 1}
    assert access["exports_by_user"] == {"alice": 1}
    assert "alice" in access["actors"]
    statuses = {item["status"] for item in body["checklist"]}
    assert statuses == {"from the platform", TO_FILL}
    assert {item["guideline"] for item in body["checklist"]} == {"STARD-AI", "CLAIM", "DECIDE-AI"}
    assert [r["assisted"] for r in body["visibility"]] == [False, True]
    assert not any("AI" in line for line in body["visibility"][0]["shown"])
    assert any("heatmap" in line for line in body["visibility"][1]["shown"])
    assert "Basic Application Level Confidentiality Profile" in body["deidentification"]["method"]
    assert all(row["test"].startswith("tests/analysis/") for row in body["statistics"])
    # Viewing the pack is itself recorded.
    again = client.get(f"/api/studies/{four.study.slug}/report/reporting/").json()
    assert again["data_access"]["by_action"]["report.viewed"] >= 1


def test_the_report_page_shows_the_pack_and_its_diagram(four: BuiltStudy) -> None:
    page = client_for("alice").get(f"/studies/{four.study.slug}/report/").content.decode()
    assert "Reporting pack (STARD-AI, CLAIM, DECIDE-AI)" in page
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page
    assert "to be filled in" in page
    assert "Statistics and their validation" in page
