"""The dashboard's page, in the shape of mesa's examples' ``app.py``.

``solara run sim.app.app`` (what ``cdpsim dashboard`` starts) serves :data:`page`. What it shows
comes from the environment variable :data:`sim.app.TARGET_ENV`, set by
:func:`sim.app.server.serve`: a scenario file (a live run) or a run, batch or sweep folder.
"""

from __future__ import annotations

import os

from sim.app import DATA_DIRS_ENV, TARGET_ENV
from sim.app.targets import TargetError, resolve
from sim.app.views import Dashboard

_path = os.environ.get(TARGET_ENV, "")
_dirs = [d for d in os.environ.get(DATA_DIRS_ENV, "").split(os.pathsep) if d]
try:
    target, problem = (resolve(_path, _dirs), "") if _path else (None, f"{TARGET_ENV} is not set")
except TargetError as exc:
    target, problem = None, str(exc)

page = Dashboard(target, problem)
page  # noqa: B018  (as in mesa's examples: the element Solara serves)
