"""Importing cases from a PACS over DICOMweb: a worklist CSV → QIDO-RS → WADO-RS → the file import.

A worklist is the import manifest with the `file` column replaced by what names the image in the
PACS: `study_instance_uid` (optionally `series_instance_uid`, `sop_instance_uid`) or
`accession_number`. Each row must name exactly one image, because its lesion box belongs to one
image. Every row is resolved (QIDO-RS) before anything is retrieved, and every problem — a bad
value, an image the PACS does not have, a row naming several — is reported at once with its row.
The images are then retrieved (WADO-RS, in their stored transfer syntax) into a temporary folder
beside a manifest, and that folder goes through `cases_import`: the same validation,
de-identification, renditions and all-or-nothing rule as a file import. Nothing identifiable is
kept: the folder is removed when the import ends, whatever its outcome.

Transient failures (5xx answers, refused or reset connections, timeouts) are retried with
exponential backoff by urllib3's `Retry` on the HTTP session; what still fails is reported.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

from readerstudy.accounts.models import User
from readerstudy.errors import ImportRejected
from readerstudy.studies.manifest import MAX_ROWS, manifest_parse
from readerstudy.studies.models import Study
from readerstudy.studies.sources import MANIFEST_NAME

if TYPE_CHECKING:
    import requests
    from dicomweb_client import DICOMwebClient

    from readerstudy.studies.importing import ImportSummary

# (phase, done, total): phase is "resolving", "retrieving" or "importing"
PhaseProgress = Callable[[str, int, int], None]
ID_COLUMNS = ("study_instance_uid", "series_instance_uid", "sop_instance_uid", "accession_number")
RETRY_STATUSES = (429, 500, 502, 503, 504)
CONCURRENCY = 4  # parallel requests to one PACS: enough to hide latency, gentle on the server
WORKLIST_MAX_BYTES = 32 << 20


class PacsUnavailable(ImportRejected):
    """The PACS did not answer (after the retries): nothing was imported."""


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str
    username: str
    password: str
    token: str
    qido_prefix: str | None
    wado_prefix: str | None
    stow_prefix: str | None
    timeout: float
    retries: int = 5


def endpoint_names() -> list[str]:
    return sorted(settings.PACS_ENDPOINTS)


def endpoint_get(name: str) -> Endpoint:
    config = settings.PACS_ENDPOINTS.get(name)
    if config is None:
        known = ", ".join(endpoint_names()) or "none (set PACS_URL or PACS_ENDPOINTS_FILE)"
        raise ImportRejected(f"No PACS endpoint named {name!r} is configured; configured: {known}.")
    return Endpoint(name=name, **config)


def session_make(endpoint: Endpoint, *, backoff: float = 0.5) -> requests.Session:
    """An HTTP session with the endpoint's credentials that retries transient failures."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    session = requests.Session()
    retries = endpoint.retries
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,  # STOW-RS (POST) of the same instances is idempotent too
        raise_on_status=False,  # the last answer is returned, and reported with its status
    )
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=CONCURRENCY * 2)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if endpoint.username:
        session.auth = (endpoint.username, endpoint.password)
    if endpoint.token:
        session.headers["Authorization"] = f"Bearer {endpoint.token}"
    return session


def client_make(endpoint: Endpoint) -> DICOMwebClient:
    from dicomweb_client import DICOMwebClient

    client = DICOMwebClient(
        endpoint.url,
        session=session_make(endpoint),
        qido_url_prefix=endpoint.qido_prefix,
        wado_url_prefix=endpoint.wado_prefix,
        stow_url_prefix=endpoint.stow_prefix,
        timeout=endpoint.timeout,
    )
    client.set_http_retry_params(retry=False)  # one retry policy: the session's
    return client


def unavailable(endpoint: Endpoint, error: Exception) -> PacsUnavailable:
    return PacsUnavailable(
        f"The PACS {endpoint.name!r} did not answer at {endpoint.url} ({type(error).__name__}) "
        "after retries; nothing was imported.",
        extra={"errors": [f"PACS {endpoint.name}: {error}"]},
    )


# --- the worklist ---------------------------------------------------------------------------


@dataclass
class WorklistRow:
    row: int
    values: dict[str, str]  # the manifest's columns
    study: str
    series: str
    sop: str
    accession: str

    def describe(self) -> str:
        if self.sop:
            return f"SOPInstanceUID {self.sop}"
        if self.series:
            return f"SeriesInstanceUID {self.series}"
        if self.study:
            return f"StudyInstanceUID {self.study}"
        return f"AccessionNumber {self.accession}"


def _rows(data: bytes) -> tuple[list[str], list[dict[str, str]]]:
    if len(data) > WORKLIST_MAX_BYTES:
        raise ImportRejected(f"The worklist is larger than {WORKLIST_MAX_BYTES} bytes.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportRejected(f"The worklist is not UTF-8 text: {error}") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = columns
    records: list[dict[str, str]] = []
    for record in reader:
        if len(records) >= MAX_ROWS:
            raise ImportRejected(f"The worklist has more than {MAX_ROWS} rows.")
        records.append({k: (v or "").strip() for k, v in record.items() if k is not None})
    return columns, records


def worklist_parse(data: bytes) -> tuple[list[str], list[WorklistRow], list[str]]:
    """The manifest's columns, the rows and every problem found without asking the PACS."""
    columns, records = _rows(data)
    errors: list[str] = []
    if "file" in columns:
        errors.append("a worklist names images by UID or accession number: remove its file column")
    if not any(name in columns for name in ("study_instance_uid", "accession_number")):
        errors.append("the worklist needs a study_instance_uid or an accession_number column")
    manifest_columns = [name for name in columns if name not in ID_COLUMNS and name != "file"]
    rows: list[WorklistRow] = []
    for number, record in enumerate(records, start=2):
        item = WorklistRow(
            row=number,
            values={name: record.get(name, "") for name in manifest_columns},
            study=record.get("study_instance_uid", ""),
            series=record.get("series_instance_uid", ""),
            sop=record.get("sop_instance_uid", ""),
            accession=record.get("accession_number", ""),
        )
        if not item.study and not item.accession:
            errors.append(f"row {number}: give a study_instance_uid or an accession_number")
        elif (item.series or item.sop) and not item.study and not item.accession:
            errors.append(f"row {number}: a series or SOP instance UID needs its study")
        rows.append(item)
    if not rows:
        errors.append("the worklist has no rows")
    # the manifest's own checks (values, boxes, cohorts by patient…) before anything is retrieved
    draft = _manifest_bytes(manifest_columns, rows, files=[_file_name(r) for r in rows])
    errors += manifest_parse(draft).errors
    return manifest_columns, rows, errors


def _file_name(row: WorklistRow) -> str:
    # by worklist row, not UID: the original UIDs identify the patient's study
    return f"row{row.row}.dcm"


def _manifest_bytes(columns: list[str], rows: list[WorklistRow], *, files: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*columns, "file"], lineterminator="\n")
    writer.writeheader()
    for row, file in zip(rows, files, strict=True):
        writer.writerow({**row.values, "file": file})
    return out.getvalue().encode()


# --- resolving and retrieving ---------------------------------------------------------------


@dataclass(frozen=True)
class Instance:
    study: str
    series: str
    sop: str


def _value(result: dict[str, Any], tag: str) -> str:
    values = result.get(tag, {}).get("Value") or [""]
    return str(values[0])


def _resolve(client: DICOMwebClient, row: WorklistRow) -> Instance | str:
    """The one instance a row names, or the row's error."""
    filters: dict[str, str] = {}
    if row.accession:
        filters["AccessionNumber"] = row.accession
    if row.series:
        filters["SeriesInstanceUID"] = row.series
    if row.sop:
        filters["SOPInstanceUID"] = row.sop
    results = client.search_for_instances(
        study_instance_uid=row.study or None,
        fields=["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"],
        search_filters=filters,
        limit=2,
    )
    found = {
        Instance(_value(r, "0020000D"), _value(r, "0020000E"), _value(r, "00080018"))
        for r in results
    }
    if not found:
        return f"row {row.row}: the PACS has no image for {row.describe()}"
    if len(found) > 1:
        return (
            f"row {row.row}: {row.describe()} names more than one image in the PACS; add its "
            "sop_instance_uid (a row is one image, with its lesion box)"
        )
    (instance,) = found
    if row.study and instance.study != row.study:  # a PACS that ignored the study in the path
        return f"row {row.row}: the PACS has no image for {row.describe()} in study {row.study}"
    return instance


def _parallel(function: Callable[[Any], Any], items: list[Any]) -> Iterator[Any]:
    pool = ThreadPoolExecutor(max_workers=CONCURRENCY)
    try:
        yield from pool.map(function, items)
    finally:  # after a failure, what has not started yet never starts
        pool.shutdown(wait=True, cancel_futures=True)


def _http_status(error: Exception) -> int | None:
    response = getattr(error, "response", None)
    return None if response is None else int(response.status_code)


def pacs_resolve(
    *, endpoint: Endpoint, rows: list[WorklistRow], progress: PhaseProgress | None = None
) -> tuple[list[Instance | None], list[str]]:
    """QIDO-RS for every row: the instance it names (None where it failed) and the errors."""
    import requests

    client = client_make(endpoint)
    errors: list[str] = []
    instances: list[Instance | None] = []

    def one(row: WorklistRow) -> Instance | str:
        try:
            return _resolve(client, row)
        except requests.HTTPError as error:
            status = _http_status(error)
            if status is not None and status >= 500:
                raise unavailable(endpoint, error) from error
            return f"row {row.row}: the PACS refused the search for {row.describe()} ({status})"

    try:
        for done, answer in enumerate(_parallel(one, rows), start=1):
            if isinstance(answer, str):
                errors.append(answer)
                instances.append(None)
            else:
                instances.append(answer)
            if progress is not None:
                progress("resolving", done, len(rows))
    except (requests.ConnectionError, requests.Timeout, requests.exceptions.RetryError) as error:
        raise unavailable(endpoint, error) from error
    seen: dict[tuple[str, Instance], int] = {}
    for row, instance in zip(rows, instances, strict=True):
        if instance is None:
            continue
        key = (row.values.get("case_id", ""), instance)
        if key in seen:
            errors.append(f"row {row.row}: the same image as row {seen[key]} in the same case")
        seen.setdefault(key, row.row)
    return instances, errors


def pacs_retrieve(
    *,
    endpoint: Endpoint,
    rows: list[WorklistRow],
    instances: list[Instance],
    folder: Path,
    progress: PhaseProgress | None = None,
) -> list[str]:
    """WADO-RS each instance, in the transfer syntax the PACS stored it in, into `folder`;
    returns the file names (relative to `folder`)."""
    import pydicom
    import requests

    client = client_make(endpoint)

    def one(item: tuple[WorklistRow, Instance]) -> str:
        row, instance = item
        ds = client.retrieve_instance(
            instance.study,
            instance.series,
            instance.sop,
            media_types=(("application/dicom", "*"),),
        )
        name = _file_name(row)
        pydicom.dcmwrite(folder / name, ds, enforce_file_format=True)
        return name

    names: list[str] = []
    try:
        for done, name in enumerate(
            _parallel(one, list(zip(rows, instances, strict=True))), start=1
        ):
            names.append(name)
            if progress is not None:
                progress("retrieving", done, len(instances))
    except requests.HTTPError as error:
        status = _http_status(error)
        if status is not None and status < 500:
            raise ImportRejected(
                f"The PACS {endpoint.name!r} refused to send an image it had listed ({status}); "
                "nothing was imported.",
                extra={"errors": [str(error)]},
            ) from error
        raise unavailable(endpoint, error) from error
    except (requests.ConnectionError, requests.Timeout, requests.exceptions.RetryError) as error:
        raise unavailable(endpoint, error) from error
    return names


def pacs_import(
    *,
    study: Study,
    worklist: bytes,
    endpoint: str,
    actor: User | None,
    progress: PhaseProgress | None = None,
) -> ImportSummary:
    """Import the images a worklist names from a configured PACS, all or nothing."""
    from readerstudy.studies.importing import cases_import

    pacs = endpoint_get(endpoint)
    columns, rows, errors = worklist_parse(worklist)
    if not errors:
        instances, errors = pacs_resolve(endpoint=pacs, rows=rows, progress=progress)
    if errors:
        raise ImportRejected(
            f"The PACS import was rejected with {len(errors)} error(s); nothing was imported.",
            extra={"errors": errors},
        )
    with tempfile.TemporaryDirectory(prefix="pacs-import-") as tmp:
        folder = Path(tmp)
        resolved = [instance for instance in instances if instance is not None]
        files = pacs_retrieve(
            endpoint=pacs, rows=rows, instances=resolved, folder=folder, progress=progress
        )
        (folder / MANIFEST_NAME).write_bytes(_manifest_bytes(columns, rows, files=files))

        def importing(done: int, total: int) -> None:
            if progress is not None:
                progress("importing", done, total)

        return cases_import(study=study, path=folder, actor=actor, progress=importing)
