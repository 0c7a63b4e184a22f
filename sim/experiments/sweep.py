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

The command line may change a sweep without editing its file (:class:`CommandLine`,
``cdpsim sweep FILE --n K --seeds S --set path=value``): ``n`` is the design's size (Morris
trajectories, Sobol base samples, random or LHS points; a grid's ``levels``, when it splits
ranges), checked against the design as written and blamed on the option; ``seeds`` the seeds
per point; ``--set`` overrides of the base scenario, after the file's ``overrides``. The
sweep's record in ``batch.json`` keeps the file's values (``as_written``) and the command
line's (``command_line``) apart; the default folder names them
(``runs/sweep-<name>-n4-seeds1-set-<digest>``), and ``--resume`` refuses other ones.

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
import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
from sim.experiments.pools import prewarm
from sim.experiments.store import (
    BatchFolder,
    StoreError,
    SweepFolder,
    recorded_path,
    sha256_file,
    sha256_text,
)
from sim.experiments.sweep_checks import PointOverrides, SweepParameter, check_sweep, plain
from sim.experiments.sweep_schema import MAX_RUNS, MAX_VALUES, SCENARIO_FILE_MESSAGE
from sim.files import overrides_digest, set_folder
from sim.scenario import ErrorItem, Scenario, ScenarioError
from sim.scenario.yamlfile import DataPath, read_yaml

# ---------------------------------------------------------------------------------------- model


@dataclass(frozen=True)
class CommandLine:
    """What ``cdpsim sweep`` changes of a sweep file: its size, its seeds, its base.

    Attributes:
        n: the design's size (``--n``): Morris trajectories, Sobol base samples, random or LHS
            points, or the levels a grid splits its ranges into; ``None``: the file's.
        seeds: seeds per point (``--seeds``), derived from the file's ``master_seed``;
            ``None``: the file's.
        overrides: ``--set path=value`` overrides of the base scenario, after the file's.
    """

    n: int | None = None
    seeds: int | None = None
    overrides: tuple[str, ...] = ()

    def record(self) -> dict[str, Any]:
        """How ``batch.json``'s sweep section records it (``command_line``)."""
        digest = overrides_digest(self.overrides) if self.overrides else None
        return {"n": self.n, "seeds": self.seeds, "set": list(self.overrides), "set_digest": digest}

    def words(self) -> str:
        """The options as typed (``--n 4 --seeds 1``), or a phrase when there are none."""
        return _options_text(self.record())


def _options_text(record: Mapping[str, Any]) -> str:
    """``--n 4 --seeds 1 --set a=b`` from a ``command_line`` record."""
    words = [f"--n {record['n']}"] if record.get("n") is not None else []
    if record.get("seeds") is not None:
        words.append(f"--seeds {record['seeds']}")
    words += [f"--set {o}" for o in record.get("set") or []]
    return " ".join(words) if words else "no --n, --seeds or --set"


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
        command_line: what the command line changed (``--n``, ``--seeds``, ``--set``).
        as_written: the file's own ``design`` and ``seeds``, before the command line.
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
    command_line: CommandLine = CommandLine()
    as_written: dict[str, Any] = field(default_factory=dict)

    @property
    def base_overrides(self) -> tuple[str, ...]:
        """Every override of the base: the file's, then the command line's ``--set``."""
        return self.overrides + self.command_line.overrides

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
            "set": list(self.command_line.overrides),
            "as_written": dict(self.as_written),
            "command_line": self.command_line.record(),
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


def load_sweep(
    path: str | Path,
    data_dirs: Sequence[str | Path] = (),
    command_line: CommandLine | None = None,
) -> Sweep:
    """Load and validate a sweep file, its base scenario and every design point.

    Args:
        path: the sweep file.
        data_dirs: folders besides the base scenario's own that its data files may come from.
        command_line: ``--n``, ``--seeds`` and ``--set`` of ``cdpsim sweep`` (none: the file
            as written).

    Returns:
        The sweep, every point's scenario validated.

    Raises:
        ScenarioError: every problem, as ``file:line: field: message`` (``file (--n 3):
            design.n: message`` for an option), before any run.
    """
    path = Path(path)
    data, lines = read_yaml(path)
    return sweep_from_data(
        data,
        filename=str(path),
        base_dir=path.parent,
        lines=lines,
        data_dirs=data_dirs,
        command_line=command_line,
    )


#: The sampling designs' smallest ``n`` (SALib's Morris and Sobol designs, a Latin hypercube).
_MIN_N = {"random": 1, "lhs": 2, "sobol": 2, "morris": 2}
#: What ``n`` counts, per design kind.
_N_MEANS = {
    "random": "points",
    "lhs": "points",
    "sobol": "base samples (n·(D+2) points)",
    "morris": "trajectories (n·(D+1) points)",
}


def _n_problem(data: Any, n: int) -> tuple[str, str] | None:
    """What is wrong with ``--n n`` for the design as written: ``(field, message)``, or ``None``.

    A design of no known kind is left to the file's own checks (which report it).
    """
    design = data.get("design") if isinstance(data, dict) else None
    kind = design.get("kind") if isinstance(design, dict) else None
    if kind == "grid":
        parameters = data.get("parameters")
        ranges = isinstance(parameters, dict) and any(
            isinstance(p, dict) and "range" in p for p in parameters.values()
        )
        if not ranges:
            return (
                "design.levels",
                "a grid runs every combination of its parameters' values, so --n does not "
                "size it; change the values in the sweep file (--n sets the levels a grid "
                "splits ranges into)",
            )
        if not 2 <= n <= MAX_VALUES:
            return "design.levels", f"a grid splits a range into 2 to {MAX_VALUES:,} levels"
        return None
    if kind not in _MIN_N:
        return None
    if n < _MIN_N[kind]:
        return "design.n", f"a {kind} design needs n ≥ {_MIN_N[kind]} {_N_MEANS[kind]}"
    if kind == "sobol" and not designs.is_power_of_two(n):
        below = 1 << (n.bit_length() - 1)
        return (
            "design.n",
            f"a Sobol design needs n a power of two (Saltelli's sampling keeps the Sobol' "
            f"sequence's balance only then); try {below} or {below * 2}",
        )
    return None


def with_command_line(
    data: Any, command_line: CommandLine, filename: str = "<sweep>"
) -> tuple[Any, dict[str, Any]]:
    """The sweep data with ``--n`` and ``--seeds`` applied, and the file's values they replace.

    Args:
        data: the sweep file's data (not changed).
        command_line: the options.
        filename: the sweep file, for messages.

    Returns:
        ``(data, as_written)``: a copy with ``design.n`` (a grid's ``design.levels``) and
        ``seeds`` set, and the file's own ``design`` and ``seeds``.

    Raises:
        ScenarioError: ``--n`` does not fit the design (blamed on the option, e.g.
            ``crash_sobol.yaml (--n 3): design.n: a Sobol design needs n a power of two``).
    """
    if not isinstance(data, dict):
        return data, {}
    as_written = {"design": copy.deepcopy(data.get("design")), "seeds": data.get("seeds")}
    out = dict(data)
    n = command_line.n
    if n is not None:
        problem = _n_problem(data, n)
        if problem is not None:
            raise ScenarioError([ErrorItem(f"{filename} (--n {n})", None, *problem)])
        design = data.get("design")
        if isinstance(design, dict) and design.get("kind") in ("grid", *_MIN_N):
            key = "levels" if design["kind"] == "grid" else "n"
            out["design"] = {**design, key: n}
    if command_line.seeds is not None:
        out["seeds"] = command_line.seeds
    return out, as_written


def sweep_from_data(
    data: Any,
    *,
    filename: str = "<sweep>",
    base_dir: str | Path = ".",
    lines: Mapping[DataPath, int] | None = None,
    data_dirs: Sequence[str | Path] = (),
    command_line: CommandLine | None = None,
) -> Sweep:
    """Validate sweep data (a sweep file's YAML as Python data).

    Args:
        data: the sweep as a mapping.
        filename: name used in messages.
        base_dir: the folder ``base`` is relative to.
        lines: the YAML line of each data path (for messages).
        data_dirs: extra data folders of the base scenario.
        command_line: ``--n``, ``--seeds`` and ``--set`` (:func:`with_command_line`).

    Returns:
        The validated sweep.

    Raises:
        ScenarioError: every problem, before any run.
    """
    command_line = command_line or CommandLine()
    data, as_written = with_command_line(data, command_line, filename)
    checked = check_sweep(
        data,
        filename=filename,
        base_dir=base_dir,
        lines=lines,
        data_dirs=data_dirs,
        cli_overrides=command_line.overrides,
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
        command_line=command_line,
        as_written=as_written,
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
        self._records: list[dict[str, Any]] | None = None

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
        if self._records is None:  # the design's rows, once (memory follows the design)
            # each value of its column's type, as the whole table's records give it
            self._records = sweep.points[self._names].to_dict("records")
        row = self._records[k]
        parameters = {"point": k, **{n: plain(row[n]) for n in self._names}}
        run_id = sweep.run_id(k, seed)
        return RunSpec(
            run_id=run_id,
            scenario=sweep.scenarios[k],
            scenario_file=str(sweep.base_file),
            overrides=sweep.base_overrides + tuple(sweep.point_overrides[k]),
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
    """``runs/sweep-<name>``: the same folder every time, so that ``--resume`` finds it.

    The command line's changes name their own folder, so that a sweep at trial size never
    replaces the sweep as written: ``runs/sweep-<name>-n4-seeds1`` for ``--n 4 --seeds 1``,
    and ``-set-<digest>`` (:func:`sim.files.set_folder`) for ``--set``.
    """
    cli = sweep.command_line
    name = f"sweep-{sweep.name}"
    if cli.n is not None:
        name += f"-n{cli.n}"
    if cli.seeds is not None:
        name += f"-seeds{cli.seeds}"
    return set_folder(Path("runs") / name, cli.overrides)


def check_resume(sweep: Sweep, out: Path) -> None:
    """Refuse ``--resume`` with other ``--n``, ``--seeds`` or ``--set`` than the sweep began with.

    Also, when ``out`` holds no sweep, name the folders next to it that hold this sweep (a
    sweep's default folder is named by its options: other options look in another folder).

    Raises:
        StoreError: what differs, and what to do.
    """
    existing = BatchFolder(out).read_manifest()
    if existing is None:
        others = _sweeps_named(sweep.name, out.parent) if out.parent.is_dir() else []
        if others:
            listed = "; ".join(f"{path} ({_options_text(record)})" for path, record in others)
            raise StoreError(
                f"{out}: there is no sweep to resume here; the default folder is named by "
                f"--n/--seeds/--set ({sweep.command_line.words()} here), and {sweep.name} was "
                f"started in: {listed}. Give the same options, or --out with the folder"
            )
        return
    section = existing.get("sweep")
    if not isinstance(section, dict):
        return  # not a sweep's: the store refuses it
    before = section.get("command_line")
    before = before if isinstance(before, dict) else {"n": None, "seeds": None, "set": []}
    now = sweep.command_line.record()
    keys = [k for k in ("n", "seeds", "set") if (before.get(k) or None) != (now[k] or None)]
    if keys:
        changed = ", ".join(f"--{k}" for k in keys)
        raise StoreError(
            f"{out} holds {section.get('name', 'a sweep')} started with "
            f"{_options_text(before)}; this command gives {sweep.command_line.words()} "
            f"(another {changed}): --resume continues a sweep only with the options it started "
            "with. Give the same ones, or choose another --out for the new sweep"
        )


def _sweeps_named(name: str, folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    """The sweep folders in ``folder`` named ``sweep-<name>…`` holding that sweep."""
    found = []
    for path in sorted(folder.glob(f"sweep-{name}*")):
        manifest = BatchFolder(path).read_manifest() if path.is_dir() else None
        section = manifest.get("sweep") if manifest else None
        if isinstance(section, dict) and section.get("name") == name:
            record = section.get("command_line")
            found.append((path, record if isinstance(record, dict) else {}))
    return found


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
    prewarm(backend, workers)  # the workers' imports overlap the sweep's validation
    if isinstance(path_or_spec, Sweep):
        sweep = path_or_spec
    elif isinstance(path_or_spec, Mapping):
        sweep = sweep_from_data(dict(path_or_spec), data_dirs=data_dirs)
    else:
        sweep = load_sweep(path_or_spec, data_dirs=data_dirs)
    if keep not in ("full", "summary"):
        raise BatchInputError([f"keep must be 'full' or 'summary', not {keep!r}"])
    out = Path(out) if out is not None else default_out(sweep)
    if resume:
        check_resume(sweep, out)
    specs = sweep.specs(out, keep)
    manifest = batch_manifest(
        [Input(str(sweep.base_file), sweep.base, sweep.base_sha256, sweep_data(sweep))],
        specs,
        out=out,
        seeds_record=list(sweep.seeds),
        master_seed=sweep.master_seed,
        overrides=sweep.base_overrides,
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
    "CommandLine",
    "Sweep",
    "SweepParameter",
    "SweepResult",
    "default_out",
    "load_sweep",
    "run_sweep",
    "sweep_from_data",
    "with_command_line",
]
