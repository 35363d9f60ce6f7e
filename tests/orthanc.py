"""Starting a real Orthanc PACS (Debian's `orthanc` + `orthanc-dicomweb`) for integration tests.

On free ports (HTTP and DICOM), with a temporary storage folder and a config JSON that enables
the DICOMweb plugin and HTTP basic authentication, so the client's credentials are exercised.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

PLUGIN_NAMES = ("libOrthancDicomWeb.so",)
PLUGIN_DIRS = (Path("/usr/share/orthanc/plugins"), Path("/usr/lib/orthanc"))
USER, PASSWORD = "pacs-test", "orthanc-secret"


def orthanc_binary() -> str | None:
    return shutil.which("Orthanc") or next(
        (str(p) for p in (Path("/usr/sbin/Orthanc"), Path("/usr/bin/Orthanc")) if p.exists()), None
    )


def dicomweb_plugin() -> Path | None:
    for folder in PLUGIN_DIRS:
        for path in sorted(folder.glob("libOrthancDicomWeb.so*")):
            return path
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Orthanc:
    url: str  # the REST API root
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def dicomweb(self) -> str:
        return f"{self.url}/dicom-web"

    @property
    def auth(self) -> tuple[str, str]:
        return USER, PASSWORD

    def upload(self, data: bytes) -> dict[str, str]:
        """Store one DICOM file through the REST API (`POST /instances`)."""
        response = requests.post(f"{self.url}/instances", data=data, auth=self.auth, timeout=30)
        response.raise_for_status()
        answer: dict[str, str] = response.json()
        assert answer["Status"] in ("Success", "AlreadyStored"), answer
        return answer

    def clear(self) -> None:
        for patient in requests.get(f"{self.url}/patients", auth=self.auth, timeout=30).json():
            requests.delete(f"{self.url}/patients/{patient}", auth=self.auth, timeout=30)


@contextmanager
def orthanc_start(folder: Path) -> Iterator[Orthanc]:
    binary, plugin = orthanc_binary(), dicomweb_plugin()
    assert binary, "orthanc must be installed"
    assert plugin, "orthanc-dicomweb must be installed"
    http, dicom = free_port(), free_port()
    storage = folder / "storage"
    storage.mkdir(parents=True)
    config = {
        "Name": "readerstudy-test",
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "HttpPort": http,
        "DicomPort": dicom,
        "DicomAet": "RSTEST",
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": True,
        "RegisteredUsers": {USER: PASSWORD},
        "Plugins": [str(plugin)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True},
        "StorageCompression": False,
        "HttpCompressionEnabled": False,
    }
    (folder / "orthanc.json").write_text(json.dumps(config))
    log = folder / "orthanc.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, str(folder / "orthanc.json")], stdout=out, stderr=subprocess.STDOUT
        )
    server = Orthanc(url=f"http://127.0.0.1:{http}", process=process, log=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"Orthanc exited at start:\n{log.read_text()[-3000:]}")
            try:
                if requests.get(f"{server.url}/system", auth=server.auth, timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"Orthanc did not answer in 30 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        plugins = requests.get(f"{server.url}/plugins", auth=server.auth, timeout=5).json()
        assert "dicom-web" in plugins, f"the DICOMweb plugin did not load: {plugins}"
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class FlakyProxy:
    """A real HTTP proxy in front of Orthanc that answers the first try of every request with a
    503 (or resets its connection), as an overloaded PACS or load balancer does; a retry of the
    same request goes through."""

    def __init__(self, target: str, *, reset: bool = False) -> None:
        import http.server
        import threading

        self.target, self.reset = target, reset
        self.requests = self.failed = 0
        seen: set[tuple[str, str]] = set()
        lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _forward(self) -> None:
                with lock:
                    proxy.requests += 1
                    fail = (self.command, self.path) not in seen
                    seen.add((self.command, self.path))
                    proxy.failed += fail
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if fail and proxy.reset:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fail:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = requests.request(
                    self.command, proxy.target + self.path, headers=headers, data=body, timeout=30
                )
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FlakyProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
