"""Print pyproject.toml's dependencies (and those of the extras named) one a line, for pip -r.

The image installs the dependencies in a layer of their own, before the source is copied, so a
change of code rebuilds only the last layers; pip cannot install a project's dependencies without
the project, hence these few lines.   usage: python requirements.py PYPROJECT [EXTRA ...]
"""

from __future__ import annotations

import sys
import tomllib

with open(sys.argv[1], "rb") as handle:
    project = tomllib.load(handle)["project"]
lines = list(project["dependencies"])
for extra in sys.argv[2:]:
    lines += project["optional-dependencies"][extra]
print("\n".join(lines))
