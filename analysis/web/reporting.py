"""The reporting pack: what the platform itself knows for a study's report under STARD-AI (2025),
CLAIM (2024 update) and DECIDE-AI (2022), from the database and the audit log, with every item it
cannot know listed as "to be filled in".

Read-only and light: no pandas, scipy or torch (software versions come from package metadata and
the model version's stored provenance, never from importing torch). The flow diagram is a
hand-built SVG: a column of boxes and arrows whose size follows the text is a few lines here,
where matplotlib would load its whole stack for it and give a raster-minded layout.
"""

from __future__ import annotations

import importlib.metadata
import platform
import statistics
from collections import Counter
from datetime import datetime
from itertools import combinations
from typing import Any
from xml.sax.saxutils import escape

from django.db.models import Count, Q

from inference.worker.models import Prediction
from readerstudy.accounts.models import Reader
from readerstudy.audit.models import AuditEvent
from readerstudy.reading.models import Read, ReadingSession, Round, WashoutOverride
from readerstudy.studies.models import Case, CaseImage, Study

TO_FILL = "to be filled in"

PACKAGES = ("readerstudy", "Django", "numpy", "scipy", "statsmodels", "pandas", "scikit-learn")

DEIDENTIFICATION = {
    "method": (
        "DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile, with the Retain "
        "Longitudinal Temporal Information with Modified Dates and Clean Pixel Data options "
        "(readerstudy.studies.imaging.deid): attributes removed, emptied or replaced per PS3.15 "
        "Table E.1-1 (tables of dicom-anonymizer), recursively through sequences; private "
        "attributes removed; UIDs derived from the original; dates shifted per patient; "
        "PatientIdentityRemoved YES and the method codes recorded in every stored copy."
    ),
    "pseudonym": "HMAC-SHA256 of the patient id with a per-study secret.",
    "burned_in_text": (
        "Pixels outside the ultrasound region (from the DICOM header, detected, or set by the "
        "coordinator) are blanked before anything is stored; images without a region are held "
        "back from readers until one is set."
    ),
    "readers_see": (
        "De-identified display renditions under opaque, per-session labels; never the truth, "
        "histology, pseudonym, file names or other readers' reads."
    ),
}

# Each statistic the report uses, its reference, and the test that holds it to a published output.
STATISTICS: list[dict[str, str]] = [
    {
        "statistic": "AUC with CI; paired and unpaired AUC comparison",
        "method": "empirical AUC, DeLong variance (Sun & Xu 2014 algorithm), Wald CI",
        "reference": "DeLong, DeLong & Clarke-Pearson 1988, Biometrics 44:837",
        "validation": "pROC's aSAH outputs and pROC 1.18 itself on random data",
        "test": "tests/analysis/test_roc.py, test_against_proc.py, test_unpaired.py",
    },
    {
        "statistic": "MRMC: RRRC, FRRC, RRFC",
        "method": "Obuchowski–Rockette with Hillis df and max(Cov2 − Cov3, 0); DeLong or jackknife",
        "reference": "Obuchowski & Rockette 1995; Hillis 2007, Stat Med 26:596; Hillis 2008",
        "validation": "OR-DBM MRMC 2.51 on Van Dyke, Franken and Federica; RJafroc",
        "test": "tests/analysis/test_mrmc_reference.py, test_cli_references.py",
    },
    {
        "statistic": "MRMC of sensitivity / specificity",
        "method": "OR with jackknife over the diseased (non-diseased) cases",
        "reference": "Smith, Hillis & Pesce, MRMCaov",
        "validation": "MRMCaov binary_sens on Van Dyke",
        "test": "tests/analysis/test_cli_references.py",
    },
    {
        "statistic": "Proportions (sensitivity, specificity, accuracy, PPV, NPV)",
        "method": "Wilson score interval (Wald as an option, as in the seed paper)",
        "reference": "Wilson 1927, JASA 22:209",
        "validation": "statsmodels proportion_confint; the seed paper's Tables 2 and 3",
        "test": "tests/analysis/test_metrics.py",
    },
    {
        "statistic": "Paired Δsensitivity / Δspecificity",
        "method": "Newcombe hybrid score (default), Tango, Agresti–Min; McNemar mid-p",
        "reference": "Fagerland, Lydersen & Laake 2013 (BMC MRM 13:91), 2017 ch. 8",
        "validation": "contingencytables (R) tests on Cavo et al. 2012",
        "test": "tests/analysis/test_paired.py, test_cli_references.py",
    },
    {
        "statistic": "Agreement",
        "method": "Fleiss' kappa with a case-bootstrap CI; Cohen's kappa matrix",
        "reference": "Fleiss 1971, Psychol Bull 76:378; Cohen 1960",
        "validation": "Fleiss 1971's worked example (κ 0.430)",
        "test": "tests/analysis/test_agreement.py",
    },
    {
        "statistic": "Reading time",
        "method": "Wilcoxon signed-rank, Hodges–Lehmann CI; mixed model of log time",
        "reference": "Hollander, Wolfe & Chicken 2014 §3.3; statsmodels MixedLM",
        "validation": "a hand-computed example; the CI inverts scipy's exact Wilcoxon test; "
        "the mixed model recovers a known time ratio",
        "test": "tests/analysis/test_reading_time.py",
    },
    {
        "statistic": "Reliance on the AI (RAIR, RSR, switches, weight of advice)",
        "method": "counting definitions over the cases read unassisted and assisted",
        "reference": "Schemmer et al. 2023, IUI '23; Yaniv 2004",
        "validation": "hand-worked examples from the definitions",
        "test": "tests/analysis/test_reliance.py",
    },
    {
        "statistic": "Study size (power)",
        "method": "Hillis–Obuchowski–Berbaum power for RRRC, FRRC, RRFC from pilot OR components",
        "reference": "Hillis, Obuchowski & Berbaum 2011, Acad Radiol 18:129",
        "validation": "RJafroc SsPowerGivenJK on Van Dyke",
        "test": "tests/analysis/test_power.py",
    },
]


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _days(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return round((later - earlier).total_seconds() / 86400, 2)


def _versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def _flow(study: Study) -> dict[str, Any]:
    """Cases in, cases read, and per reader and round who read what, when; washout gaps."""
    cases = Case.objects.filter(study=study)
    by_cohort = dict(
        cases.values_list("cohort")
        .annotate(n=Count("pk"))
        .order_by("cohort")
        .values_list("cohort", "n")
    )
    read_cases = cases.filter(cohort__in=study.reading_cohorts)
    held = read_cases.filter(images__needs_review=True).distinct().count()
    rounds = list(Round.objects.filter(study=study).order_by("index"))
    sessions = {
        (s.reader_id, s.round_id): s
        for s in ReadingSession.objects.filter(round__study=study).annotate(
            current_reads=Count("reads", filter=Q(reads__superseded_by__isnull=True))
        )
    }
    overrides = {
        (o.reader_id, o.round_id): o.reason
        for o in WashoutOverride.objects.filter(round__study=study)
    }
    readers = []
    for reader in Reader.objects.filter(enrolments__study=study).select_related("user"):
        entry: dict[str, Any] = {
            "reader": reader.user.username,
            "seniority": reader.seniority,
            "years_experience": reader.years_experience,
            "rounds": [],
        }
        previous: ReadingSession | None = None
        for round_row in rounds:
            session = sessions.get((reader.pk, round_row.pk))
            item: dict[str, Any] = {"round": round_row.index, "assisted": round_row.assisted}
            if session is None:
                item.update(started_at=None, completed_at=None, cases_read=0, cases_assigned=0)
            else:
                item.update(
                    started_at=_iso(session.started_at),
                    completed_at=_iso(session.completed_at),
                    cases_read=session.current_reads,
                    cases_assigned=len(session.permutation),
                )
            if round_row.index > 1:
                item["washout_days"] = _days(
                    session.started_at if session else None,
                    previous.completed_at if previous else None,
                )
                item["washout_override"] = overrides.get((reader.pk, round_row.pk))
            entry["rounds"].append(item)
            previous = session
        readers.append(entry)
    gaps = [
        r["washout_days"]
        for entry in readers
        for r in entry["rounds"]
        if r.get("washout_days") is not None
    ]
    return {
        "cases_imported": cases.count(),
        "cases_by_cohort": by_cohort,
        "reading_cohorts": list(study.reading_cohorts),
        "cases_to_read": read_cases.count(),
        "cases_held_back": held,
        "malignant_to_read": read_cases.filter(truth_malignant=True).count(),
        "washout_required_days": study.washout_days,
        "washout_days": {
            "min": min(gaps) if gaps else None,
            "median": statistics.median(gaps) if gaps else None,
            "max": max(gaps) if gaps else None,
        },
        "readers": readers,
        "rounds": [
            {
                "round": r.index,
                "assisted": r.assisted,
                "status": r.status,
                "opened_at": _iso(r.opened_at),
                "closed_at": _iso(r.closed_at),
                "readers_started": sum(1 for (_, rid), s in sessions.items() if rid == r.pk),
                "readers_completed": sum(
                    1
                    for (_, rid), s in sessions.items()
                    if rid == r.pk and s.completed_at is not None
                ),
                "reads": Read.objects.filter(session__round=r, superseded_by__isnull=True).count(),
            }
            for r in rounds
        ],
    }


def _randomisation(study: Study) -> dict[str, Any]:
    sessions = list(ReadingSession.objects.filter(round__study=study).order_by("pk"))
    repeats = sum(1 for a, b in combinations(sessions, 2) if a.permutation == b.permutation)
    return {
        "method": (
            "Each reading session's case order is a permutation from numpy's PCG64 seeded with "
            "128 bits of the operating system's CSPRNG (Python secrets); it is redrawn if it "
            "equals the reader's order in another round or another reader's in the same round."
        ),
        "sessions": len(sessions),
        "seeds_stored": sum(1 for s in sessions if s.seed),
        "orders_repeated": repeats,
        "orders_differ": repeats == 0,
        "allocation": "every reader reads every case in every round (fully crossed)",
    }


def _visibility(study: Study) -> list[dict[str, Any]]:
    always = [
        "the case's de-identified images (display renditions) with zoom, pan, brightness, "
        "contrast and the lesion box",
        "the answer form: decision, confidence 0–100"
        + (", ultrasound features" if study.collect_features else ""),
    ]
    rounds = []
    for r in Round.objects.filter(study=study).order_by("index"):
        shown = list(always)
        if r.assisted:
            shown.append(
                f"the AI's malignancy probability and its class (malignant when > "
                f"{study.ai_threshold})"
            )
            shown.append("the AI's heatmap (Grad-CAM) as an overlay with an opacity slider")
        rounds.append(
            {
                "round": r.index,
                "assisted": r.assisted,
                "shown": shown,
                "never_shown": DEIDENTIFICATION["readers_see"],
            }
        )
    return rounds


def _software(study: Study) -> dict[str, Any]:
    model = study.ai_model
    out: dict[str, Any] = {"platform": _versions(), "model": None}
    if model is None:
        return out
    training = model.training or {}
    computed = sorted(
        set(
            Prediction.objects.filter(model_version=model, image__case__study=study)
            .values_list("computed_with", flat=True)
            .distinct()
        )
    )
    out["model"] = {
        "name": model.name,
        "architecture": model.architecture,
        "checkpoint_sha256": model.checkpoint_sha256,
        "preprocessing": model.preprocessing,
        "torch": training.get("torch"),
        "torchvision": training.get("torchvision"),
        "initialisation": training.get("initialisation"),
        "training_config": training.get("config"),
        "validation_metrics": model.validation_metrics,
        "registered_at": _iso(model.created_at),
        "threshold": study.ai_threshold,
        "computed_with": computed,
    }
    return out


def _deidentification(study: Study) -> dict[str, Any]:
    images = CaseImage.objects.filter(case__study=study)
    return {
        **DEIDENTIFICATION,
        "images": images.count(),
        "regions_by_source": dict(
            images.values_list("region_source")
            .annotate(n=Count("pk"))
            .values_list("region_source", "n")
        ),
        "images_needing_review": images.filter(needs_review=True).count(),
    }


def _data_access(study: Study) -> dict[str, Any]:
    events = AuditEvent.objects.filter(study=study)
    exports: Counter[str] = Counter()
    exporters: Counter[str] = Counter()
    for data, actor in events.filter(action="analysis.exported").values_list(
        "data", "actor__username"
    ):
        exports[str((data or {}).get("kind", ""))] += 1
        exporters[actor or "system"] += 1
    first = events.order_by("at").values_list("at", flat=True).first()
    last = events.order_by("-at").values_list("at", flat=True).first()
    return {
        "events": events.count(),
        "first_event_at": _iso(first),
        "last_event_at": _iso(last),
        "by_action": dict(
            events.values_list("action")
            .annotate(n=Count("pk"))
            .order_by("action")
            .values_list("action", "n")
        ),
        "exports_by_kind": dict(sorted(exports.items())),
        "exports_by_user": dict(sorted(exporters.items())),
        "report_views": events.filter(action="report.viewed").count(),
        "actors": sorted(
            {a for a in events.values_list("actor__username", flat=True).distinct() if a}
        ),
        "chain": "hash-chained; check with manage.py audit_verify or GET /api/audit/verify/",
    }


def _item(guideline: str, topic: str, where: str | None) -> dict[str, str]:
    return {
        "guideline": guideline,
        "topic": topic,
        "status": "from the platform" if where else TO_FILL,
        "where": where or TO_FILL,
    }


def _checklist() -> list[dict[str, str]]:
    """Topics of the three guidelines, each pointing at the pack's section that fills it or
    marked to be filled in (the platform cannot know it)."""
    items = [
        ("STARD-AI", "title, abstract, introduction, objectives and hypotheses", None),
        ("STARD-AI", "eligibility criteria and source of the participants (cases)", None),
        ("STARD-AI", "flow of participants: cases and readers, with a diagram", "flow"),
        ("STARD-AI", "reference standard (histopathology) and its rationale", None),
        ("STARD-AI", "index test: the AI system, version and threshold", "software.model"),
        ("STARD-AI", "data handling and de-identification", "deidentification"),
        ("STARD-AI", "statistical methods, estimates of accuracy with CIs", "statistics"),
        ("STARD-AI", "intended use, clinical role and setting of the AI", None),
        ("STARD-AI", "registration, protocol, funding, conflicts of interest", None),
        ("CLAIM", "data sources, collection dates and inclusion criteria", None),
        ("CLAIM", "de-identification methods", "deidentification"),
        ("CLAIM", "preprocessing of the images", "software.model.preprocessing"),
        ("CLAIM", "model: architecture, initialisation, training details", "software.model"),
        ("CLAIM", "software and library versions", "software.platform"),
        ("CLAIM", "data partitions (train / validation / test) by patient", "flow"),
        ("CLAIM", "ground truth: definition, rationale, annotators", None),
        ("CLAIM", "performance metrics and statistical measures of significance", "statistics"),
        ("CLAIM", "external validation on data from another site", "flow.cases_by_cohort"),
        ("CLAIM", "failure analysis: misjudged cases", "the report's Table 4"),
        ("DECIDE-AI", "users: number, seniority and experience of the readers", "flow.readers"),
        ("DECIDE-AI", "what the users could see in each round", "visibility"),
        ("DECIDE-AI", "how the AI's output was presented and used", "visibility"),
        ("DECIDE-AI", "randomisation and order of the cases", "randomisation"),
        ("DECIDE-AI", "washout and learning between the rounds", "flow.washout_days"),
        ("DECIDE-AI", "reliance on the AI, agreement, reading time", "the report's blocks"),
        ("DECIDE-AI", "user training and familiarisation before the study", None),
        ("DECIDE-AI", "safety: errors and harms, human factors and usability", None),
        ("DECIDE-AI", "data access and audit", "data_access"),
    ]
    return [_item(*item) for item in items]


def _box(y: int, width: int, lines: list[str]) -> tuple[str, int]:
    height = 14 + 18 * len(lines)
    text = "".join(
        f'<text x="{width // 2}" y="{y + 24 + 18 * i}" text-anchor="middle" '
        f'font-family="sans-serif" font-size="13" fill="#1b1b1b">{escape(line)}</text>'
        for i, line in enumerate(lines)
    )
    rect = (
        f'<rect x="20" y="{y}" width="{width - 40}" height="{height}" rx="6" '
        f'fill="#f4f6f8" stroke="#4a5a6a"/>'
    )
    return rect + text, height


def flow_svg(flow: dict[str, Any]) -> str:
    """The flow of cases and readers as an SVG document (boxes top to bottom, arrows between)."""
    width = 560
    cohorts = ", ".join(f"{k} {v}" for k, v in flow["cases_by_cohort"].items()) or "none"
    boxes: list[list[str]] = [
        [f"Cases imported: {flow['cases_imported']}", f"by cohort: {cohorts}"],
        [
            f"Cases to read ({', '.join(flow['reading_cohorts'])}): {flow['cases_to_read']}",
            f"malignant {flow['malignant_to_read']}; held back for review "
            f"{flow['cases_held_back']}",
        ],
    ]
    gaps = flow["washout_days"]
    for r in flow["rounds"]:
        if r["round"] > 1:
            boxes.append(
                [
                    f"Washout (required {flow['washout_required_days']} days)",
                    "actual: "
                    + (
                        f"min {gaps['min']}, median {gaps['median']}, max {gaps['max']} days"
                        if gaps["min"] is not None
                        else "no reader has started yet"
                    ),
                ]
            )
        boxes.append(
            [
                f"Round {r['round']} ({'assisted' if r['assisted'] else 'unassisted'}, "
                f"{r['status']})",
                f"readers started {r['readers_started']}, completed {r['readers_completed']}; "
                f"current reads {r['reads']}",
            ]
        )
    parts, y = [], 10
    for i, lines in enumerate(boxes):
        svg, height = _box(y, width, lines)
        parts.append(svg)
        y += height
        if i < len(boxes) - 1:
            parts.append(
                f'<line x1="{width // 2}" y1="{y}" x2="{width // 2}" y2="{y + 22}" '
                f'stroke="#4a5a6a" marker-end="url(#arrow)"/>'
            )
            y += 26
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y + 10}" '
        f'viewBox="0 0 {width} {y + 10}" role="img" aria-label="Flow of cases and readers">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#4a5a6a"/></marker>'
        "</defs>"
    )
    return head + "".join(parts) + "</svg>"


def reporting_pack(*, study: Study) -> dict[str, Any]:
    """Everything the platform can fill in for the study's report, as strict JSON."""
    flow = _flow(study)
    return {
        "study": {"slug": study.slug, "title": study.title, "status": study.status},
        "guidelines": {
            "STARD-AI": "Sounderajah et al. 2025, Nat Med (STARD-AI)",
            "CLAIM": "Tejani et al. 2024, Radiol Artif Intell 6:e240300 (CLAIM 2024 update)",
            "DECIDE-AI": "Vasey et al. 2022, Nat Med 28:924 (DECIDE-AI)",
        },
        "flow": flow,
        "flow_svg": flow_svg(flow),
        "randomisation": _randomisation(study),
        "visibility": _visibility(study),
        "software": _software(study),
        "deidentification": _deidentification(study),
        "statistics": STATISTICS,
        "data_access": _data_access(study),
        "checklist": _checklist(),
    }
