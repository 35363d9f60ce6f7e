"""Set up Django for a benchmark script on a throwaway database and media folder.

The developer's var/ is never touched: VAR_DIR points to a temporary folder (SQLite there unless
DATABASE_URL is set, in which case the caller chooses a database of its own). Every temporary
folder a benchmark makes is removed when it exits: phantoms and renditions are hundreds of MB a run.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def scratch_dir(prefix: str = "readerstudy-bench-") -> Path:
    """A new temporary folder, removed with its contents when the benchmark exits."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def django_setup(*, migrate: bool = True) -> Path:
    sys.path.insert(0, str(ROOT))
    var_dir = scratch_dir()
    os.environ["VAR_DIR"] = str(var_dir)
    (var_dir / "static").mkdir()  # whitenoise warns about a missing STATIC_ROOT otherwise
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "readerstudy.settings")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
    return var_dir
