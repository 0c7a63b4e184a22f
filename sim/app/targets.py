"""What the dashboard was asked to show: a scenario file (live run) or a run, batch or sweep folder.

:func:`resolve` checks the target once, before the server starts (``cdpsim dashboard`` exits 2
with the message otherwise); :func:`scenario_of_run` turns a run folder back into the scenario
and seed it ran with, to run it again live. No solara here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sim.plots.folders import FolderError, check_run_manifest, folder_kind
from sim.rundir import read_manifest
from sim.scenario import Scenario, load_scenario, validate_data

#: Scenario file extensions.
SCENARIO_SUFFIXES = (".yaml", ".yml")

Kind = Literal["scenario", "run", "batch", "sweep"]


class TargetError(Exception):
    """The target cannot be shown (a one-line message for the user)."""


@dataclass(frozen=True)
class Target:
    """A scenario file or an output folder, and which of the two.

    Attributes:
        kind: ``scenario``, ``run``, ``batch`` or ``sweep``.
        path: the file or folder.
        data_dirs: for a scenario, extra folders its data files may come from.
    """

    kind: Kind
    path: Path
    data_dirs: tuple[str, ...] = field(default=())

    def scenario(self) -> Scenario:
        """The scenario of a ``scenario`` target.

        Raises:
            ScenarioError: the file is not a valid scenario.
        """
        return load_scenario(self.path, data_dirs=self.data_dirs)


def resolve(path: str | Path, data_dirs: Sequence[str | Path] = ()) -> Target:
    """Which kind of target ``path`` is.

    Raises:
        TargetError: a missing path, or neither a scenario file nor a cdpsim output folder.
    """
    path = Path(path)
    dirs = tuple(str(d) for d in data_dirs)
    if path.is_file():
        if path.suffix.lower() not in SCENARIO_SUFFIXES:
            raise TargetError(
                f"{path}: not a scenario file (*.yaml) nor a run, batch or sweep folder"
            )
        return Target("scenario", path, dirs)
    if not path.exists():
        what = "file" if path.suffix.lower() in SCENARIO_SUFFIXES else "file or folder"
        raise TargetError(f"{path}: no such {what}")
    try:
        kind = folder_kind(path)
    except FolderError as exc:
        raise TargetError(str(exc)) from None
    return Target(kind, path, dirs)  # type: ignore[arg-type]


def scenario_of_run(folder: str | Path) -> tuple[Scenario, int]:
    """The resolved scenario a run folder was made from, and its seed.

    Data files (replayed prices) are looked for next to the scenario file the run came from
    when that file is still where the batch found it, else in the run folder.

    Raises:
        TargetError: not a run folder, or its manifest is damaged.
        ScenarioError: the recorded scenario no longer validates (a data file is missing).
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None or not manifest.get("scenario"):
        raise TargetError(f"{folder}: not a cdpsim run folder (no manifest.json of a run)")
    try:
        check_run_manifest(folder, manifest)
    except FolderError as exc:
        raise TargetError(str(exc)) from None
    source = (manifest.get("batch") or {}).get("scenario_file")
    base = Path(source).parent if source and Path(source).is_file() else folder
    scenario = validate_data(
        manifest["scenario"], filename=str(folder / "manifest.json"), base_dir=base
    )
    return scenario, int(manifest.get("seed", scenario.seed))
