"""The report page's number formatting: template filters over the report's raw numbers."""

from __future__ import annotations

from typing import Any

from django.template import Context, Template

from analysis.web.templatetags.report_format import ci, num, p_value, report_tables


def test_missing_values_print_a_dash() -> None:
    assert num(None) == num("") == ci(None, [0.1, 0.2]) == p_value(None) == "–"


def test_numbers_round_to_three_decimals_unless_told() -> None:
    assert num(0.12361) == "0.124"
    assert num(41.25, 1) == "41.2"
    assert num(7) == "7"
    assert (num(True), num(False)) == ("yes", "no")
    assert num("resnet18") == "resnet18"


def test_a_confidence_interval_prints_beside_its_value_or_not_at_all() -> None:
    assert ci(0.8, [0.7123, 0.9]) == "0.800 (0.712 to 0.900)"
    assert ci(0.8, None) == ci(0.8, [None, 0.9]) == ci(0.8, []) == "0.800"


def test_small_p_values_print_as_below_one_in_a_thousand() -> None:
    assert p_value(0.0004) == "<0.001"
    assert p_value(0.001) == "0.001"
    assert p_value(0.04321) == "0.043"


def test_the_filters_load_in_a_template() -> None:
    page = Template(
        "{% load report_format %}{{ a|num }} {{ a|num:1 }} {{ a|ci:i }} {{ p|p_value }} {{ x|num }}"
    ).render(Context({"a": 0.75, "i": [0.5, 1.0], "p": 0.0001}))
    assert page == "0.750 0.8 0.750 (0.500 to 1.000) &lt;0.001 –"  # escaped, as any text


def test_an_empty_report_has_no_tables() -> None:
    payload: dict[str, Any] = {
        "reader_metrics": [],
        "changes": [],
        "seniority": [],
        "mrmc": None,
        "model": None,
        "table1": [],
        "table4": {"cases": [], "summaries": []},
    }
    assert report_tables(payload) == []
