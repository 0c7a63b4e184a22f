"""Parameter sweeps: a sweep file → validated design points → runs in a batch folder.

A sweep file (``scenarios/sweeps/*.yaml``) names a base scenario, fixed overrides, a design,
the swept parameters, the seeds run at every point and the KPIs to analyse::

    name: crash_sobol
    base: ../eth_crash_liq2.yaml             # relative to the sweep file
    overrides: {clock.duration: 1d}          # applied to the base first
    design: {kind: sobol, n: 256, second_order: false, seed: 0}
    parameters:
      ilks.ETH-A.liquidation.buf: {range: [1.05, 1.5]}                 # a scenario path
      ilks.ETH-A.liquidation.tail: {range: [20m, 4h]}                  # durations: seconds
      keepers.0.dai: {range: [1.0e6, 2.0e7], dist: loguniform}         # list items by index
      debt_scale: {scale: [borrowers.0.debt, ilks.ETH-A.line], range: [0.5, 2]}
    seeds: 4                                 # or [1, 5, 9]; none: the base scenario's seed
    kpis: [bad_debt_max, liquidated_debt]

Designs (:mod:`sim.experiments.designs`): ``grid`` (every combination of each parameter's
``values``, or of ``levels`` evenly spaced levels of its ``range``), ``random`` and ``lhs``
(``n`` points), ``sobol`` (Saltelli's design of ``n`` base samples, a power of two: ``n·(D+2)``
points, ``n·(2D+2)`` with ``second_order``) and ``morris`` (``n`` trajectories of ``D + 1``
points on ``levels`` levels). A parameter is a scenario path (``values`` or a ``range`` with a
``dist``, ``uniform`` or ``loguniform``), or a named ``scale`` that multiplies the base value of
every path it lists. Integer fields get the value rounded; durations are written with a unit and
held in seconds in the tables.

Validation is the scenario files': safe YAML with limits and line numbers, every problem at once
as ``file:line: field: message``, in the user's field names (never pydantic's internal labels)
and each once, worded by :mod:`sim.scenario.messages` ("did you mean" included). The file's
schema is :mod:`sim.experiments.sweep_schema`; :mod:`sim.experiments.sweep_checks` checks it in
layers, each on what the layers before found valid (the file's own fields, the base and the
fixed overrides, every parameter path in the base scenario and its fit to the design, each
parameter's values on their own; then, when all that is right, every design point), all before
any run. Each point is validated and dropped, so that validation's memory does not grow with
the design (a sweep holds its design table; a point's scenario is built again when its run is
handed to a worker: :class:`~sim.experiments.sweep_checks.PointScenarios`,
:class:`SweepSpecs`); at most :data:`MAX_RUNS` runs. A scenario file given as a sweep file is
told so (:data:`SCENARIO_FILE_MESSAGE`), decided on the top-level keys as every command does
(:func:`sim.files.is_sweep_data`).

Runs: every design point runs with the same seeds (common random numbers: a difference between
points is the parameters', not the luck of the draw) through the batch layer
(:func:`sim.experiments.batch.execute_all`: any executor, one atomic run folder per run,
``--resume``, failures kept as rows). The run of point ``k`` with seed ``s`` is
``<name>-p<k>-seed<s>``; its manifest's ``batch.parameters`` holds ``point`` and the parameter
values, so ``runs.parquet`` has a ``point`` column and one column per parameter. Then
``points.parquet`` (:mod:`sim.experiments.points`) and, for Sobol and Morris designs,
``sensitivity.parquet`` (:mod:`sim.experiments.sweep_analysis`) are written, and
``batch.json`` says ``"complete": true`` once every run is ok. An interrupted sweep stays
``"complete": false`` with ``points.parquet`` of the runs done (``n_missing`` per point) and no
indices, until ``--resume`` finishes it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiments import designs, sweep_analysis
from sim.experiments.batch import (
    BatchInputError,
    Input,
    Keep,
    Progress,
    RunSpec,
    batch_manifest,
    run_in_folder,
)
from sim.experiments.points import points_table
from sim.experiments.store import (
    BatchFolder,
    SweepFolder,
    recorded_path,
    sha256_file,
    sha256_text,
)
from sim.experiments.sweep_checks import PointOverrides, SweepParameter, check_sweep, plain
from sim.experiments.sweep_schema import MAX_RUNS, SCENARIO_FILE_MESSAGE
from sim.scenario import Scenario
from sim.scenario.yamlfile import DataPath, read_yaml

# ---------------------------------------------------------------------------------------- model


@dataclass(frozen=True, eq=False)
class Sweep:
    """A validated sweep: its base scenario, parameters, design points and their scenarios.

    Attributes:
        name: the sweep's name (run ids and the default folder ``runs/sweep-<name>``).
        description: free text.
        file: the sweep file as given (``<sweep>`` for one built from data).
        base_file: the base scenario file.
        base_sha256: hash of the base file's text (``--resume`` refuses another base).
        base: the base scenario with the fixed overrides.
        overrides: the fixed overrides as ``path=value``.
        design: the design as written, with defaults (``kind``, ``n``, ``seed``, …).
        parameters: the swept parameters, in file order.
        seeds: the seeds every point runs with.
        master_seed: the seed ``seeds: N`` derives them from.
        kpis: the KPIs analysed.
        points: ``point`` and one column per parameter (durations in seconds).
        scenarios: each point's validated scenario, built when indexed
            (:class:`~sim.experiments.sweep_checks.PointScenarios`: a sweep holds its design,
            not a scenario per point).
        point_overrides: each point's ``path=value`` settings, made when indexed.
    """

    name: str
    description: str
    file: str
    base_file: Path
    base_sha256: str
    base: Scenario
    overrides: tuple[str, ...]
    design: dict[str, Any]
    parameters: tuple[SweepParameter, ...]
    seeds: tuple[int, ...]
    master_seed: int
    kpis: tuple[str, ...]
    points: pd.DataFrame
    scenarios: Sequence[Scenario]
    point_overrides: Sequence[tuple[str, ...]]

    @property
    def n_runs(self) -> int:
        """Design points × seeds."""
        return len(self.points) * len(self.seeds)

    def run_id(self, point: int, seed: int) -> str:
        """``<name>-p<point>-seed<seed>``, the point zero-padded to the design's width."""
        width = len(str(max(len(self.points) - 1, 0)))
        return f"{self.name}-p{point:0{width}d}-seed{seed}"

    def parameter_names(self) -> list[str]:
        """The parameters' names (table columns), in file order."""
        return [p.name for p in self.parameters]

    def specs(self, out: Path, keep: Keep = "summary") -> SweepSpecs:
        """The runs, point by point, each point with every seed, built as they are taken."""
        return SweepSpecs(self, out, keep)

    def section(self, out: Path | None = None) -> dict[str, Any]:
        """The ``sweep`` section of ``batch.json`` (files relative to the sweep folder ``out``)."""
        levels = self.design.get("levels") if self.design["kind"] == "grid" else None
        return {
            "name": self.name,
            "description": self.description,
            "file": self.file if out is None else recorded_path(self.file, out),
            "base": str(self.base_file) if out is None else recorded_path(self.base_file, out),
            "overrides": list(self.overrides),
            "design": {**self.design, "points": len(self.points)},
            "parameters": [p.record(levels) for p in self.parameters],
            "kpis": list(self.kpis),
            "seeds": list(self.seeds),
            "master_seed": self.master_seed,
            "points": len(self.points),
            "runs": self.n_runs,
        }

    def identity(self) -> dict[str, Any]:
        """What must not change for ``--resume`` to continue a sweep: design and parameters."""
        section = self.section()
        return {"design": section["design"], "parameters": section["parameters"]}


# ---------------------------------------------------------------------------------------- loading


def load_sweep(path: str | Path, data_dirs: Sequence[str | Path] = ()) -> Sweep:
    """Load and validate a sweep file, its base scenario and every design point.

    Args:
        path: the sweep file.
        data_dirs: folders besides the base scenario's own that its data files may come from.

    Returns:
        The sweep, every point's scenario validated.

    Raises:
        ScenarioError: every problem, as ``file:line: field: message``, before any run.
    """
    path = Path(path)
    data, lines = read_yaml(path)
    return sweep_from_data(
        data, filename=str(path), base_dir=path.parent, lines=lines, data_dirs=data_dirs
    )


def sweep_from_data(
    data: Any,
    *,
    filename: str = "<sweep>",
    base_dir: str | Path = ".",
    lines: Mapping[DataPath, int] | None = None,
    data_dirs: Sequence[str | Path] = (),
) -> Sweep:
    """Validate sweep data (a sweep file's YAML as Python data).

    Args:
        data: the sweep as a mapping.
        filename: name used in messages.
        base_dir: the folder ``base`` is relative to.
        lines: the YAML line of each data path (for messages).
        data_dirs: extra data folders of the base scenario.

    Returns:
        The validated sweep.

    Raises:
        ScenarioError: every problem, before any run.
    """
    checked = check_sweep(
        data, filename=filename, base_dir=base_dir, lines=lines, data_dirs=data_dirs
    )
    spec = checked.spec
    return Sweep(
        name=spec.name,
        description=spec.description,
        file=filename,
        base_file=checked.base_file,
        base_sha256=sha256_text(checked.base_file.read_text(encoding="utf-8")),
        base=checked.base,
        overrides=checked.overrides,
        design=spec.design.model_dump(),
        parameters=checked.parameters,
        seeds=checked.seeds,
        master_seed=spec.master_seed,
        kpis=tuple(spec.kpis),
        points=checked.points,
        scenarios=checked.scenarios,
        point_overrides=PointOverrides(checked.scenarios),
    )


class SweepSpecs(Sequence[RunSpec]):
    """The runs of a sweep, point by point, each point with every seed; built when asked for.

    :attr:`run_ids` are known without building anything; ``specs[i]`` builds run ``i``'s
    :class:`~sim.experiments.batch.RunSpec`, with its point's scenario, only then — so the
    executor, which takes runs as workers free up, holds a few at a time.
    """

    def __init__(self, sweep: Sweep, out: Path, keep: Keep) -> None:
        self._sweep = sweep
        self._folder = BatchFolder(out)
        self._keep = keep
        self._names = sweep.parameter_names()
        self._n_seeds = len(sweep.seeds)

    def __len__(self) -> int:
        return len(self._sweep.points) * self._n_seeds

    @property
    def run_ids(self) -> list[str]:
        """Every run's id, in order."""
        sweep = self._sweep
        return [sweep.run_id(k, seed) for k in range(len(sweep.points)) for seed in sweep.seeds]

    def __getitem__(self, i: int) -> RunSpec:  # type: ignore[override]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"run {i} of {len(self)}")
        sweep = self._sweep
        k, j = divmod(i, self._n_seeds)
        seed = sweep.seeds[j]
        # one row as the whole table's records give it: each value of its column's type
        row = sweep.points[self._names].iloc[k : k + 1].to_dict("records")[0]
        parameters = {"point": k, **{n: plain(row[n]) for n in self._names}}
        run_id = sweep.run_id(k, seed)
        return RunSpec(
            run_id=run_id,
            scenario=sweep.scenarios[k],
            scenario_file=str(sweep.base_file),
            overrides=sweep.overrides + tuple(sweep.point_overrides[k]),
            seed=int(seed),
            folder=str(self._folder.run_folder(run_id)),
            keep=self._keep,
            parameters=parameters,
        )


# ---------------------------------------------------------------------------------------- running


@dataclass(frozen=True, eq=False)
class SweepResult:
    """A finished (or resumed) sweep.

    Attributes:
        folder: the sweep folder.
        sweep: the sweep.
        runs: the runs table (``runs.parquet``).
        points: the points table (``points.parquet``).
        sensitivity: the indices (``sensitivity.parquet``) of a Sobol or Morris design.
    """

    folder: Path
    sweep: Sweep
    runs: pd.DataFrame
    points: pd.DataFrame
    sensitivity: pd.DataFrame | None


def default_out(sweep: Sweep) -> Path:
    """``runs/sweep-<name>``: the same folder every time, so that ``--resume`` finds it."""
    return Path("runs") / f"sweep-{sweep.name}"


def _tables(out: Path, sweep: Sweep, runs: pd.DataFrame) -> pd.DataFrame:
    """Write ``points.parquet`` from the runs table and return it."""
    points = points_table(runs, sweep.points, sweep.kpis, len(sweep.seeds))
    SweepFolder(out).write_points(points)
    return points


def run_sweep(
    path_or_spec: str | Path | Sweep | Mapping[str, Any],
    *,
    workers: int | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    keep: Keep = "summary",
    progress: Callable[[Progress], None] | None = None,
    runner: Callable[[RunSpec], dict[str, Any]] | None = None,
    data_dirs: Sequence[str | Path] = (),
    command: str | None = None,
    retry_failed: bool = False,
    force: bool = False,
    oversubscribe: bool = False,
) -> SweepResult:
    """Run a sweep into a sweep folder and analyse it.

    Args:
        path_or_spec: a sweep file, a loaded :class:`Sweep`, or sweep data (a mapping; ``base``
            relative to the current folder).
        workers: worker processes (``None``: every core; 0 or 1: in this process); at most
            the cores and the runs to do, as :func:`sim.run_batch`'s.
        backend: ``local`` (process pool) or ``dask``.
        scheduler: a Dask scheduler address; none starts a local cluster.
        out: the sweep folder (default ``runs/sweep-<name>``).
        resume: continue the sweep in ``out``: run only what is missing.
        keep: ``summary`` (each run's manifest and KPIs: all a sweep's analysis reads) or
            ``full`` (also its Parquet files).
        progress: called after each run with a :class:`~sim.experiments.batch.Progress`.
        runner: the per-run function (default :func:`sim.experiments.batch.execute`); a
            stand-in model for tests.
        data_dirs: extra data folders of the base scenario.
        command: the command line, recorded in ``batch.json``.
        retry_failed: with ``resume``, run the ``failed`` runs again too.
        force: with ``resume``, continue although the base scenario, a data file it reads or
            the cdpsim or numpy version changed since the sweep started.
        oversubscribe: start ``workers`` local workers even beyond the cores.

    Returns:
        The :class:`SweepResult`; ``OUT`` holds ``batch.json`` (``"complete": true`` when
        every run is ok), ``runs/``, ``runs.parquet``, ``points.parquet`` and, for Sobol and
        Morris designs, ``sensitivity.parquet`` (computed again on every resume).

    Raises:
        ScenarioError: an invalid sweep (nothing ran).
        BatchInputError: an invalid argument (nothing ran).
        StoreError: ``out`` cannot hold this sweep, or its inputs changed (nothing ran).
        LockError: another process is writing ``out`` (nothing ran).
        ExecutorError: the executor cannot start (a new folder is removed again).
        BatchInterrupted: Ctrl-C; the finished runs are kept, ``batch.json`` says
            ``"complete": false`` and ``points.parquet`` is written for the runs done
            (``n_missing`` per point); no indices. ``resume=True`` runs the rest and rewrites
            both.
        BatchStopped: the worker processes kept dying; kept and written as on Ctrl-C.
        OSError: a table could not be written (the runs are kept; ``resume=True`` writes it).
    """
    if isinstance(path_or_spec, Sweep):
        sweep = path_or_spec
    elif isinstance(path_or_spec, Mapping):
        sweep = sweep_from_data(dict(path_or_spec), data_dirs=data_dirs)
    else:
        sweep = load_sweep(path_or_spec, data_dirs=data_dirs)
    if keep not in ("full", "summary"):
        raise BatchInputError([f"keep must be 'full' or 'summary', not {keep!r}"])
    out = Path(out) if out is not None else default_out(sweep)
    specs = sweep.specs(out, keep)
    manifest = batch_manifest(
        [Input(str(sweep.base_file), sweep.base, sweep.base_sha256, sweep_data(sweep))],
        specs,
        out=out,
        seeds_record=list(sweep.seeds),
        master_seed=sweep.master_seed,
        overrides=sweep.overrides,
        keep=keep,
        command=command,
        parameters=sweep.identity(),
        extra={"sweep": sweep.section(out)},
    )

    def stopped() -> None:
        # What is done, marked as such: complete false in batch.json, n_missing per point; no
        # indices (they need every point). --resume rewrites both once it is complete.
        with contextlib.suppress(OSError):  # the interruption is the news, not a full disk
            BatchFolder(out).set_complete(False)
            _tables(out, sweep, SweepFolder(out).read_runs())

    def finish(runs: pd.DataFrame) -> SweepResult:
        points = _tables(out, sweep, runs)
        indices = None
        if sweep.design["kind"] in designs.SENSITIVITY_KINDS:
            indices = sweep_analysis.sensitivity(out, require_complete=False)
        return SweepResult(out, sweep, runs, points, indices)

    return run_in_folder(
        specs,
        out,
        manifest,
        resume=resume,
        force=force,
        finish=finish,
        on_stop=stopped,
        workers=workers,
        backend=backend,
        scheduler=scheduler,
        progress=progress,
        runner=runner,
        retry_failed=retry_failed,
        oversubscribe=oversubscribe,
    )


def sweep_data(sweep: Sweep) -> tuple[tuple[str, str], ...]:
    """The data files the sweep's base scenario reads, with the SHA-256 of each."""
    return tuple((str(p.resolve()), sha256_file(p)) for p in sweep.base.data_files())


__all__ = [
    "MAX_RUNS",
    "SCENARIO_FILE_MESSAGE",
    "Sweep",
    "SweepParameter",
    "SweepResult",
    "default_out",
    "load_sweep",
    "run_sweep",
    "sweep_from_data",
]
