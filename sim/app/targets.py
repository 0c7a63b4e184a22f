"""What the dashboard was asked to show: a scenario file (live run) or a run, batch or sweep folder.

:func:`resolve` checks the target once, before the server starts (``cdpsim dashboard`` exits 2
with the message otherwise); :func:`scenario_of_run` turns a run folder back into the scenario
and seed it ran with, to run it again live. No solara here.

The dashboard reads files only under its :attr:`Target.roots`: the folder shown (a scenario
file's own folder) and the ``--data-dir`` folders. A run folder's manifest is data from that
folder, so what it names (the batch's scenario file, a replayed CSV) is read only when it lies
under a root too (:func:`inside`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sim.results import FolderError, folder_kind, read_run_manifest
from sim.scenario import Scenario, ScenarioError, load_scenario, validate_data

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

    @property
    def roots(self) -> tuple[Path, ...]:
        """The folders the dashboard may read files under, resolved.

        The folder shown (a scenario file's own folder) and the data folders.
        """
        shown = self.path.parent if self.kind == "scenario" else self.path
        return tuple(Path(p).resolve() for p in (shown, *self.data_dirs))

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


def inside(path: str | Path, roots: Sequence[Path]) -> bool:
    """Whether ``path``, symlinks followed, lies in one of the (resolved) folders ``roots``."""
    try:
        found = Path(path).resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return False
    return any(found.is_relative_to(root) for root in roots)


def check_inside(path: str | Path, roots: Sequence[Path]) -> None:
    """Refuse ``path`` unless it lies in one of ``roots`` (:func:`inside`).

    Raises:
        TargetError: saying which folders the dashboard reads.
    """
    if not inside(path, roots):
        raise TargetError(
            f"{path} is outside the folders this dashboard reads ({_listed(roots)}); "
            "start cdpsim dashboard on that folder, or add it with --data-dir"
        )


def _listed(roots: Sequence[Path]) -> str:
    return ", ".join(str(r) for r in roots)


def scenario_of_run(folder: str | Path, roots: Sequence[Path]) -> tuple[Scenario, int]:
    """The resolved scenario a run folder was made from, and its seed, read only under ``roots``.

    Data files (replayed prices) are looked for next to the scenario file the run came from
    when that file is still where the batch found it and lies under a root, else in the run
    folder; either way a data file must lie in that folder or under a root.

    Args:
        folder: the run folder.
        roots: the folders the dashboard may read (:attr:`Target.roots`).

    Raises:
        TargetError: not a run folder, its manifest is damaged, a folder outside ``roots``, or
            a data file that would have to come from outside them.
        ScenarioError: the recorded scenario no longer validates (a data file is missing).
    """
    folder = Path(folder)
    check_inside(folder, roots)
    try:
        manifest = read_run_manifest(folder)
    except FolderError as exc:
        raise TargetError(str(exc)) from None
    if not isinstance(manifest.get("scenario"), dict):
        raise TargetError(f"{folder}: not a cdpsim run folder (no manifest.json of a run)")
    source = (manifest.get("batch") or {}).get("scenario_file")
    base, outside = folder, None
    if isinstance(source, str) and source and not source.startswith("<"):
        source_path = folder.parent.parent / source  # relative to the batch folder
        if not inside(source_path.parent, roots):
            outside = source_path.parent.resolve()
        elif source_path.is_file():
            base = source_path.parent.resolve()
    try:
        scenario = validate_data(
            manifest["scenario"],
            filename=str(folder / "manifest.json"),
            base_dir=base,
            data_dirs=roots,
        )
    except ScenarioError as exc:
        if outside is None:
            raise
        raise TargetError(
            f"its scenario file {source_path.name} is in {outside}, outside the folders this "
            f"dashboard reads ({_listed(roots)}); to run it live with the data files next to that file, "
            f"restart cdpsim dashboard with --data-dir {outside} (without it: {exc})"
        ) from None
    return scenario, int(manifest.get("seed", scenario.seed))
