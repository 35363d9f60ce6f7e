"""Template filters and tags that format the study report's numbers for the page.

The report's payload keeps full precision (it is also the JSON API); the page rounds here: 3
decimals, 95% CIs as `value (low to high)`, p-values below 0.001 as `<0.001`, – where missing.
"""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

DASH = "–"


# --- values -------------------------------------------------------------------------------------


@register.filter
def num(value: Any, digits: int = 3) -> str:
    """A number as the report prints it: 3 decimals unless told, yes/no, – when missing."""
    if value is None or value == "":
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


@register.filter
def ci(value: Any, interval: Any) -> str:
    """`value (low to high)`; the value alone when the interval is missing."""
    return _ci(value, interval)


def _ci(value: Any, interval: Any, digits: int = 3) -> str:
    if value is None or value == "":
        return DASH
    if not interval or interval[0] is None or interval[1] is None:
        return num(value, digits)
    return f"{num(value, digits)} ({num(interval[0], digits)} to {num(interval[1], digits)})"


@register.filter
def p_value(value: Any) -> str:
    """A p-value to 3 decimals, `<0.001` below that."""
    if value is None or value == "":
        return DASH
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _classification_cells(row: dict[str, Any]) -> list[str]:
    """ACC, SE, SP, PPV, NPV, F1 and kappa, with their 95% CIs: the columns that the readers'
    table and the model's table share."""
    proportions = ("accuracy", "sensitivity", "specificity", "ppv", "npv")
    return [
        *(_ci(row[name], row[f"{name}_ci"]) for name in proportions),
        num(row["f1"]),
        _ci(row["kappa"], row["kappa_ci"]),
    ]


def _table(title: str, columns: list[str], rows: list[list[str]], note: str = "") -> dict[str, Any]:
    return {"title": title, "columns": columns, "rows": rows, "note": note}


def _raw_table(title: str, block: dict[str, Any], note: str = "") -> dict[str, Any]:
    """A table the core laid out (Table 1, Table 4 summaries): p-values formatted, rest as is."""
    columns = [c for c in block["columns"] if c != "test"]
    position = {c: i for i, c in enumerate(block["columns"])}
    rows = []
    for row in block["rows"]:
        cells = []
        for column in columns:
            value = row[position[column]]
            if column == "p_value":
                test = row[position["test"]] if "test" in position else ""
                cells.append(f"{p_value(value)} {test}".strip() if value is not None else "")
            else:
                cells.append(num(value, 2) if isinstance(value, float) else (value or ""))
        rows.append(cells)
    return _table(title, columns, rows, note)


# --- the report's sections ----------------------------------------------------------------------


def _reader_table(payload: dict[str, Any]) -> dict[str, Any]:
    rows = [
        [
            r["reader"],
            r["seniority"],
            r["modality"],
            num(r["n"]),
            _ci(r.get("auc"), r.get("auc_ci")),
            _ci(r["binary_auc"], r["binary_auc_ci"]),
            *_classification_cells(r),
            num(r["time_mean"], 1),
            num(r["active_time_mean"], 1),
        ]
        for r in payload["reader_metrics"]
    ]
    columns = ["Reader", "Seniority", "Round", "Cases", "AUC (confidence)", "Binary AUC"]
    columns += ["ACC", "SE", "SP", "PPV", "NPV", "F1", "Kappa", "Time (s)", "Active (s)"]
    return _table(
        "Each reader per round",
        columns,
        rows,
        "AUC from the 0–100 confidence with DeLong 95% CI; binary AUC = (SE + SP)/2; "
        "proportions with Wilson 95% CIs; times are means per case.",
    )


def _delta_cell(c: dict[str, Any], name: str) -> str:
    """ΔSE or ΔSP with its paired CI and the McNemar mid-p."""
    value = c.get(f"delta_{name}")
    return f"{_ci(value, c.get(f'delta_{name}_ci'))}, p {p_value(c.get(f'{name}_p'))}"


def _change_table(payload: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for c in payload["changes"]:
        rows.append(
            [
                c["reader"],
                f"{c['from']} → {c['to']}",
                num(c["auc_from"]),
                num(c["auc_to"]),
                _ci(c["delta_auc"], c["delta_auc_ci"]),
                p_value(c["p"]),
                _delta_cell(c, "sensitivity"),
                _delta_cell(c, "specificity"),
            ]
        )
    columns = ["Reader", "Rounds", "AUC before", "AUC after", "ΔAUC (95% CI)", "p (DeLong)"]
    columns += ["ΔSE (95% CI), p", "ΔSP (95% CI), p"]
    methods = sorted(
        {str(c.get("delta_sensitivity_method")) for c in payload["changes"]} - {"None"}
    )
    note = "ΔAUC: paired DeLong, Wald CI. ΔSE/ΔSP: paired difference of proportions, "
    note += f"CI {'; '.join(methods) or 'n/a'}; p: McNemar mid-p (Fagerland et al. 2013)."
    return _table("Change between rounds (later − earlier)", columns, rows, note)


def _seniority_table(payload: dict[str, Any]) -> dict[str, Any]:
    names = ["auc", "binary_auc", "accuracy", "sensitivity", "specificity", "ppv", "npv"]
    names += ["f1", "kappa"]
    rows = [
        [r["seniority"], r["modality"], num(r["n_readers"]), *(num(r.get(n)) for n in names)]
        for r in payload["seniority"]
    ]
    columns = ["Seniority", "Round", "Readers", "AUC", "Binary AUC", "ACC", "SE", "SP", "PPV"]
    columns += ["NPV", "F1", "Kappa"]
    return _table("Means per seniority group", columns, rows)


def _mrmc_tables(payload: dict[str, Any]) -> list[dict[str, Any]]:
    block = payload["mrmc"]
    if not block:
        return []
    tables = []
    for method, result in block.items():
        rows = []
        for name in ("rrrc", "frrc", "rrfc"):
            test = result[name]
            statistic = (
                f"χ² {num(test['chi2'])}, df {num(test['df'], 1)}"
                if name == "frrc"
                else f"F {num(test['f'])}, df {num(test['df1'], 1)}/{num(test['df2'], 1)}"
            )
            estimates = "; ".join(
                f"{m}: {_ci(f[name]['estimate'], f[name]['ci'])}"
                for m, f in result["modality_fom"].items()
            )
            rows.append(
                [
                    name.upper(),
                    estimates,
                    _ci(test["diff"], test["ci"]),
                    statistic,
                    p_value(test["p"]),
                ]
            )
        v = result["var_components"]
        note = "Variance components: " + ", ".join(f"{k} {num(x, 6)}" for k, x in v.items())
        tables.append(
            _table(
                f"MRMC, Obuchowski–Rockette with {method} covariance (FOM {result['fom']})",
                [
                    "Analysis",
                    "AUC per round (95% CI)",
                    "Later − earlier round (95% CI)",
                    "Test",
                    "p",
                ],
                rows,
                note,
            )
        )
    return tables


def _model_tables(payload: dict[str, Any]) -> list[dict[str, Any]]:
    model = payload["model"]
    if not model:
        return []
    rows = [
        [
            r["cohort"],
            r["level"],
            num(r["n"]),
            _ci(r["auc"], r["auc_ci"]),
            *_classification_cells(r),
        ]
        for r in model["table2"]
    ]
    columns = ["Cohort", "Level", "n", "AUC", "ACC", "SE", "SP", "PPV", "NPV", "F1", "Kappa"]
    tables = [
        _table(
            f"The AI model alone ({model['name']}, threshold {model['threshold']})",
            columns,
            rows,
            "Case level = soft vote (mean probability over the case's images).",
        )
    ]
    if model["vs_readers"]:
        tables.append(
            _table(
                "The AI model against each reader (cases read; paired DeLong)",
                ["Reader", "Round", "AUC model", "AUC reader", "Model − reader (95% CI)", "p"],
                [
                    [
                        r["reader"],
                        r["modality"],
                        num(r["auc_model"]),
                        num(r["auc_reader"]),
                        _ci(r["diff"], r["ci"]),
                        p_value(r["p"]),
                    ]
                    for r in model["vs_readers"]
                ],
            )
        )
    return tables


def _table4_tables(payload: dict[str, Any]) -> list[dict[str, Any]]:
    block = payload["table4"]
    tables = []
    if block["cases"]:
        columns = ["case", "cohort", "truth", "histology", "error", "n_wrong", "wrong_by"]
        tables.append(
            _table(
                "Table 4: misjudged cases",
                columns,
                [
                    [num(r.get(c)) if c == "truth" else (r.get(c) or "") for c in columns]
                    for r in block["cases"]
                ],
                "Features of each case are in the cases export.",
            )
        )
    for summary in block["summaries"]:
        tables.append(_raw_table(f"Features of the errors: {summary['who']}", summary))
    return tables


def _rate(block: dict[str, Any] | None) -> str:
    """`rate (count/of)`; – when the rate is undefined (no cases)."""
    if not block:
        return DASH
    return f"{num(block['rate'])} ({block['count']}/{block['of']})"


def _agreement_tables(payload: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = payload.get("agreement") or []
    if not blocks:
        return []
    method = blocks[0]["fleiss_kappa_ci_method"]
    tables = [
        _table(
            "Agreement between readers: Fleiss' kappa per round",
            ["Round", "Readers", "Cases", "Fleiss κ (95% CI)", "z (κ = 0)", "p"],
            [
                [
                    b["modality"],
                    num(len(b["readers"])),
                    num(b["cases"]),
                    _ci(b["fleiss_kappa"], b["fleiss_kappa_ci"]),
                    num(b["fleiss_kappa_z"], 2),
                    p_value(b["fleiss_kappa_p"]),
                ]
                for b in blocks
            ],
            f"Fleiss 1971; CI: {method}; z on the Fleiss, Nee & Landis 1979 null SE.",
        )
    ]
    for b in blocks:
        tables.append(
            _table(
                f"Cohen's kappa between pairs of readers, {b['modality']}",
                ["", *b["readers"]],
                [
                    [reader, *(num(k) for k in row)]
                    for reader, row in zip(b["readers"], b["cohen_kappa"], strict=True)
                ],
                "Cohen 1960 (scikit-learn), on the binary calls.",
            )
        )
    return tables


def _reading_time_tables(payload: dict[str, Any]) -> list[dict[str, Any]]:
    block = payload.get("reading_time")
    if not block:
        return []
    tables = [
        _table(
            "Reading time per case: change between rounds (later − earlier)",
            [
                "Reader",
                "Rounds",
                "Cases",
                "Median before (s)",
                "Median after (s)",
                "Hodges–Lehmann shift (95% CI), s",
                "Wilcoxon p",
            ],
            [
                [
                    r["reader"],
                    f"{r['modality_a']} → {r['modality_b']}",
                    num(r["cases"]),
                    num(r["median_a"], 1),
                    num(r["median_b"], 1),
                    _ci(r["hodges_lehmann"], r["hodges_lehmann_ci"], 1),
                    p_value(r["wilcoxon_p"]),
                ]
                for r in block["paired"]
            ],
            "Wilcoxon signed-rank test (scipy); Hodges–Lehmann median of Walsh averages with its "
            "distribution-free CI (Hollander, Wolfe & Chicken 2014, §3.3). Server time from the "
            "case first shown to the read submitted.",
        )
    ]
    model = block.get("mixed_model")
    if model:
        note = (
            f"Linear mixed model of log time, round fixed, crossed random intercepts for reader "
            f"(variance {num(model['var_reader'], 4)}) and case ({num(model['var_case'], 4)}), "
            f"residual {num(model['var_residual'], 4)}; {model['observations']} reads; "
            f"statsmodels MixedLM (REML), Wald CI; converged: {num(model['converged'])}."
        )
        tables.append(
            _table(
                f"Reading time: mixed model (ratio to {model['reference']})",
                ["Round", "Time ratio (95% CI)", "p"],
                [
                    [r["modality"], _ci(r["ratio"], r["ci"]), p_value(r["p"])]
                    for r in model["ratios"]
                ],
                note,
            )
        )
    return tables


def _reliance_rows(block: dict[str, Any]) -> list[list[str]]:
    return [
        [
            entry["reader"],
            num(entry["cases"]),
            _rate(entry["agreement_before"]),
            _rate(entry["agreement_after"]),
            _rate(entry["switch_to_ai_when_ai_right"]),
            _rate(entry["switch_to_ai_when_ai_wrong"]),
            _rate(entry["rair"]),
            _rate(entry["rsr"]),
            num(entry["weight_of_advice_mean"]),
        ]
        for entry in [*block["readers"], {**block["pooled"], "reader": "all readers (pooled)"}]
    ]


def _reliance_table(payload: dict[str, Any]) -> list[dict[str, Any]]:
    block = payload.get("reliance")
    if not block:
        return []
    columns = ["Reader", "Cases", "Agrees with AI before", "Agrees with AI after"]
    columns += ["Switch to AI, AI right", "Switch to AI, AI wrong", "RAIR", "RSR"]
    columns += ["Weight of advice"]
    note = (
        f"{block['before']} → {block['after']}; AI call = probability > {block['threshold']}. "
        "Switches are over the cases whose unassisted call differed from the AI's. "
        "RAIR = CAIR/(CAIR + ISR), RSR = CSR/(CSR + IAIR) (Schemmer et al. 2023, IUI '23); "
        "weight of advice (final − initial)/(100·AI − initial) (Yaniv 2004). Rates as rate "
        "(count/of); – where no case qualifies."
    )
    tables = [_table("Reliance on the AI", columns, _reliance_rows(block), note)]
    control = block.get("bias_control")
    if control:
        tables.append(
            _table(
                "Reliance measures on the bias-control cases (no AI after the lock)",
                columns,
                _reliance_rows(control),
                f"{control['before']} → {control['after']}: the AI was not shown, so a "
                '"switch to the AI" here is a re-read\'s own change, the baseline for the '
                "assisted cases above.",
            )
        )
    return tables


def _seniority_mrmc_tables(payload: dict[str, Any]) -> list[dict[str, Any]]:
    block = payload.get("seniority_mrmc")
    if not block:
        return []
    rows = []
    for level, entry in block.items():
        result = entry["mrmc"]
        if result is None:
            rows.append([level, ", ".join(entry["readers"]), entry["note"], "", "", ""])
            continue
        test = result["rrrc"]
        rows.append(
            [
                level,
                ", ".join(entry["readers"]),
                "; ".join(
                    f"{m}: {_ci(f['rrrc']['estimate'], f['rrrc']['ci'])}"
                    for m, f in result["modality_fom"].items()
                ),
                _ci(test["diff"], test["ci"]),
                f"F {num(test['f'])}, df {num(test['df1'], 1)}/{num(test['df2'], 1)}",
                p_value(test["p"]),
            ]
        )
    return [
        _table(
            "MRMC per seniority group (Obuchowski–Rockette, DeLong covariance, RRRC)",
            [
                "Seniority",
                "Readers",
                "Reader-averaged AUC per round (95% CI)",
                "Later − earlier (95% CI)",
                "Test",
                "p",
            ],
            rows,
            "Groups of fewer than two readers have no MRMC analysis.",
        )
    ]


def _methods_table(payload: dict[str, Any]) -> dict[str, Any]:
    methods = payload.get("methods") or {}
    return _table(
        "Which method each interval and test uses",
        ["Statistic", "Method"],
        [[name.replace("_", " "), text] for name, text in methods.items()],
    )


def _design_tables(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The study design's sections: bias control, questionnaires, randomisation."""
    tables = []
    if payload.get("bias_control"):
        tables.append(_table(
            "Sequential reading: locked → final, bias-control cases apart",
            ["reader", "cases", "bias control", "mean confidence change", "decisions changed"],
            [[r["reader"], str(r["cases"]), "yes" if r["bias_control"] else "no",
              num(r["mean_confidence_change"], 2), str(r["decisions_changed"])]
             for r in payload["bias_control"]],
            "Bias-control cases stay without the AI after the lock: their change is a re-read's.",
        ))  # fmt: skip
    if payload.get("questionnaires"):
        tables.append(_table(
            "Questionnaires per round and seniority",
            ["round", "seniority", "instrument", "score", "n", "mean", "SD", "min", "max"],
            [[str(r["round"]), r["seniority"], r["instrument"], r["score"], str(r["n"]),
              num(r["mean"], 1), num(r["sd"], 1) if r["sd"] is not None else "",
              num(r["min"], 1), num(r["max"], 1)] for r in payload["questionnaires"]],
            "SUS 0–100; NASA-TLX raw (unweighted mean of six 0–100 subscales); trust: mean 1–7.",
        ))  # fmt: skip
    described = payload.get("randomisation")
    if described and described["sessions"]:
        within = described["within_reader"]
        tables.append(_table(
            f"Randomisation ({described['design']})",
            ["reader", "round", "seed", "cases", "arm", "bias-control cases"],
            [[s["reader"], str(s["round"]), s["seed"], str(s["cases"]), s.get("arm", ""),
              str(s.get("bias_control_cases", ""))] for s in described["sessions"]],
            f"{described['method']} {described['order_method']} Between a reader's sessions: "
            f"{within['pairs']} pairs, {within['identical_pairs']} identical orders.",
        ))  # fmt: skip
    return tables


@register.simple_tag
def report_tables(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's tables, their cells formatted: `{% report_tables payload as tables %}`."""
    tables: list[dict[str, Any]] = []
    if payload["reader_metrics"]:
        tables.append(_reader_table(payload))
    if payload["changes"]:
        tables.append(_change_table(payload))
    if payload["seniority"]:
        tables.append(_seniority_table(payload))
    tables += _mrmc_tables(payload)
    tables += _seniority_mrmc_tables(payload)
    tables += _agreement_tables(payload)
    tables += _reading_time_tables(payload)
    tables += _reliance_table(payload)
    tables += _model_tables(payload)
    for block in payload["table1"]:
        title = (
            f"Table 1, {block['cohort']} cohort: {block['cases']} cases "
            f"({block['malignant']} malignant, {block['benign']} benign)"
        )
        tables.append(_raw_table(title, block, "Median (Q1, Q3) or count (%)."))
    tables += _table4_tables(payload)
    if payload.get("methods"):
        tables.append(_methods_table(payload))
    tables += _design_tables(payload)
    return tables
