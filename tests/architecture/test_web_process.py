"""The web process never imports torch: only GPU task bodies load the AI core.

Checked in a fresh interpreter (this test session has imported torch long before), after the
whole web start-up: settings, every app, the admin, the WSGI handler and every URL pattern's view.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import django
django.setup()
from django.urls import URLPattern, URLResolver, get_resolver
import readerstudy.wsgi  # the handler gunicorn loads, with every middleware

def walk(patterns):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns)
        elif isinstance(entry, URLPattern):
            yield entry.callback

views = list(walk(get_resolver().url_patterns))
heavy = ("torch", "torchvision", "pandas", "scipy", "sklearn", "statsmodels", "matplotlib", "cv2")
print(json.dumps({"views": len(views), "loaded": [m for m in heavy if m in sys.modules]}))
"""


def test_the_web_process_never_imports_torch_and_loads_the_science_stacks_on_first_use() -> None:
    """No torch ever; pandas, scipy, OpenCV and the rest only on the first report or import, so
    gunicorn answers its first request in about a second (tests/benchmarks/bench_startup.py)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "readerstudy.settings"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["views"] > 20, "the probe resolved too few views to mean anything"
    assert probe["loaded"] == []
