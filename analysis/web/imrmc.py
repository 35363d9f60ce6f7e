"""The study's current reads in iMRMC's input format (FDA/DIDSR iMRMC; also read by RJafroc's
``DfReadDataFile(format = "iMRMC")``), streamed.

The format (iMRMC's ``DataFormat.java`` help text; RJafroc's ``ReadImrmc``): free-text study
description lines, then ``N0:``, ``N1:``, ``NR:``, ``NM:`` lines (non-diseased cases, diseased
cases, readers, modalities), then ``BEGIN DATA:``, then one ``reader,case,modality,score`` row
per rating, and a truth row per case with reader ``-1``, modality ``0`` and score 0/1. IDs are
integers (RJafroc requires integer case ids): readers and cases are numbered here, and the
description lines say which number is whom. Written by hand: no library writes this format,
and it is a header and four comma-separated integers per row.
"""

from __future__ import annotations

from collections.abc import Iterator

from analysis.web.selectors import modality_label, study_imrmc_reads
from readerstudy.studies.models import Study

CHUNK_LINES = 2000


def _clean(text: str) -> str:
    """One description line: no line breaks, and no leading N0/N1/NR/NM a parser could take."""
    return " ".join(str(text).split())


def imrmc_chunks(*, study: Study) -> Iterator[str]:
    """The iMRMC input file of the study's current reads (score: the 0–100 confidence)."""
    reads = study_imrmc_reads(study=study)
    # Numbering first (three small DISTINCT queries), so the rows can stream afterwards.
    names = reads.order_by().values_list("session__reader__user__username", flat=True)
    readers = {name: i + 1 for i, name in enumerate(sorted(set(names.distinct())))}
    case_rows = reads.order_by().values_list("case_id", "case__key", "case__truth_malignant")
    case_keys = {case_id: key for case_id, key, _ in case_rows.distinct()}
    truth = {case_id: bool(malignant) for case_id, _, malignant in case_rows.distinct()}
    rounds = dict(
        reads.order_by().values_list("session__round__index", "session__round__assisted").distinct()
    )
    cases = {case_id: i + 1 for i, case_id in enumerate(sorted(case_keys))}
    head = [
        f"readerstudy export of study {_clean(study.slug)} in iMRMC's input format",
        "score: the reader's confidence of malignancy (0-100), current revision of each read",
        "truth rows: reader -1, modality 0, score 1 for a malignant case",
        *(
            f"modality {index} = {modality_label(index=index, assisted=rounds[index])}"
            for index in sorted(rounds)
        ),
        *(f"reader {number} = {_clean(name)}" for name, number in readers.items()),
        *(f"case {cases[c]} = {_clean(case_keys[c])}" for c in sorted(cases)),
        f"N0: {sum(1 for c in cases if not truth[c])}",
        f"N1: {sum(1 for c in cases if truth[c])}",
        f"NR: {len(readers)}",
        f"NM: {len(rounds)}",
        "BEGIN DATA:",
    ]
    yield "\n".join(head) + "\n"
    lines = [f"-1,{cases[c]},0,{int(truth[c])}" for c in sorted(cases)]
    for reader, case_id, _, _, index, _, confidence in reads.iterator(chunk_size=CHUNK_LINES):
        lines.append(f"{readers[reader]},{cases[case_id]},{index},{confidence}")
        if len(lines) >= CHUNK_LINES:
            yield "\n".join(lines) + "\n"
            lines = []
    if lines:
        yield "\n".join(lines) + "\n"
