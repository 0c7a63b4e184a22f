"""``cdpsim sweep`` and ``cdpsim discover``: parameter sweeps and the boxes found in them.

``cdpsim sweep FILE [--n K] [--seeds S] [--set path=value]...`` runs a sweep file as written or
at another size: ``--n`` the design's size, ``--seeds`` the seeds per point, ``--set`` overrides
of the base scenario (:class:`sim.experiments.sweep.CommandLine`); the default folder names
them, and ``--resume`` refuses others. After the indices of a Sobol or Morris design, a
``warning:`` on stderr says when the design is too small to rank the top parameters (their
confidence intervals overlap; :func:`sim.experiments.sensitivity.ranking_note`).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import click

from sim.cli import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    EXIT_RUN_FAILED,
    MAX_SEEDS,
    _backend_option,
    _batch_report,
    _data_dir_option,
    _err,
    _force_resume_option,
    _out,
    _oversubscribe_option,
    _Path,
    _retry_failed_option,
    _run_experiment,
    _scheduler_option,
    _sigterm_as_interrupt,
    _workers,
    _workers_option,
    main,
)
from sim.scenario import ScenarioError

#: Largest ``--n`` (a sweep's limit of runs, :data:`sim.experiments.sweep.MAX_RUNS`).
MAX_N = 1_000_000


@main.command()
@click.argument("sweep_file", type=_Path(path_type=Path))
@_workers_option
@_oversubscribe_option
@_backend_option
@_scheduler_option
@click.option(
    "--out",
    type=_Path(path_type=Path),
    default=None,
    help="Sweep folder (default: runs/sweep-<name>, so that --resume finds it again).",
)
@click.option(
    "--resume", is_flag=True, help="Continue the sweep in --out: run only the runs missing there."
)
@click.option(
    "--keep",
    type=click.Choice(["full", "summary"]),
    default="summary",
    show_default=True,
    help="summary: keep only each run's manifest and KPIs — all a sweep's tables and indices "
    "are computed from, while thousands of full run folders take gigabytes; full: also each "
    "run's Parquet files.",
)
@_retry_failed_option
@_force_resume_option
@_data_dir_option
@click.option(
    "--n",
    "n",
    type=click.IntRange(1, MAX_N),
    default=None,
    help="The design's size instead of the file's: Morris trajectories, Sobol base samples (a "
    "power of two), random or LHS points, or the levels a grid splits its ranges into.",
)
@click.option(
    "--seeds",
    "n_seeds",
    type=click.IntRange(1, MAX_SEEDS),
    default=None,
    help="Seeds per point instead of the file's, derived from its master_seed.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a field of the base scenario at every point, after the file's overrides, "
    "e.g. --set clock.duration=6h (repeatable).",
)
def sweep(
    sweep_file: Path,
    workers: int | None,
    oversubscribe: bool,
    backend: str,
    scheduler: str | None,
    out: Path | None,
    resume: bool,
    keep: str,
    retry_failed: bool,
    force: bool,
    data_dirs: tuple[Path, ...],
    n: int | None,
    n_seeds: int | None,
    overrides: tuple[str, ...],
) -> None:
    """Run a parameter sweep (a file like scenarios/sweeps/*.yaml) into a sweep folder.

    The sweep file, its base scenario and every design point are validated first (all errors
    at once, exit 2). Every point runs with the same seeds; OUT is a batch folder
    (batch.json, runs/, runs.parquet) plus points.parquet (statistics per point: mean,
    quantiles, VaR and expected shortfall of the realised deficit, probability of bad debt,
    LaR) and, for Sobol and Morris designs, sensitivity.parquet. Ctrl-C keeps the finished
    runs and writes points.parquet for them (n_missing per point; batch.json says complete:
    false until every run is ok); the same command with --resume runs only what is missing
    (and lost: runs whose worker died), rewrites the tables and computes the indices again.
    --n, --seeds and --set run the file at another size or on a changed base (a trial at a
    small size first); batch.json records them apart from the file's values, the default folder
    is named by them (runs/sweep-<name>-n4-seeds1[-set-<digest>]), and --resume refuses others.
    Then: cdpsim discover OUT --kpi K --above X (or --below X).
    """
    from sim.experiments.pools import prewarm
    from sim.experiments.sensitivity import format_sensitivity
    from sim.experiments.sweep import CommandLine, default_out, load_sweep, run_sweep

    if scheduler is not None and backend != "dask":
        raise click.UsageError("--scheduler needs --backend dask")
    _sigterm_as_interrupt()
    prewarm(backend, workers)  # the workers' imports overlap the sweep's validation
    try:
        command_line = CommandLine(n=n, seeds=n_seeds, overrides=overrides)
        spec = load_sweep(sweep_file, data_dirs=data_dirs, command_line=command_line)
    except ScenarioError as exc:
        _err(str(exc))
        sys.exit(EXIT_BAD_INPUT)
    workers = _workers(workers, backend, scheduler, oversubscribe)
    out = out if out is not None else default_out(spec)
    args = sys.argv[1:]
    given_out = "--out" in args or any(a.startswith("--out=") for a in args)
    argv = ["cdpsim", *args, *([] if given_out else ["--out", str(out)])]
    command = shlex.join(argv)
    result = _run_experiment(
        lambda progress: run_sweep(
            spec,
            workers=workers,
            backend=backend,
            scheduler=scheduler,
            out=out,
            resume=resume,
            keep=keep,  # type: ignore[arg-type]
            progress=progress,
            command=command,
            retry_failed=retry_failed,
            force=force,
            oversubscribe=oversubscribe,
        ),
        out,
        argv,
        kept_note=(
            " (points.parquet is of those: n_missing per point, complete: false in batch.json)"
        ),
    )
    n_points, n_seeds = len(spec.points), len(spec.seeds)
    _out(
        f"{spec.name}: {n_points} point{'' if n_points == 1 else 's'} × {n_seeds} "
        f"seed{'' if n_seeds == 1 else 's'} ({spec.design['kind']}) → {out / 'points.parquet'}"
        f"{_points_runs(result.points)}"
    )
    warning = _points_warning(result.points)
    if warning:
        _err(f"warning: {warning}")
    if result.sensitivity is not None:
        _out(f"sensitivity → {out / 'sensitivity.parquet'}")
        _out(format_sensitivity(result.sensitivity))
        for note in _ranking_notes(result.sensitivity):
            _err(f"warning: {note}")
    _batch_report(result.runs, out, risk=False)


def _ranking_notes(table: Any) -> list[str]:
    """The sensitivity table's ranking notes, one per KPI whose top parameters are not ranked."""
    from sim.experiments.sensitivity import RANKING_COLUMN

    if RANKING_COLUMN not in table:
        return []
    return [str(n) for n in dict.fromkeys(table[RANKING_COLUMN].fillna("")) if n]


def _points_runs(points: Any) -> str:
    """`` (statistics over n = 4 runs per point)``: the ``n_runs`` of the points table."""
    from sim.metrics import N_RUNS

    if N_RUNS not in points or not len(points):
        return ""
    low, high = int(points[N_RUNS].min()), int(points[N_RUNS].max())
    n = f"{low}" if low == high else f"{low}–{high}"
    return f" (statistics over n = {n} run{'' if high == 1 else 's'} per point)"


def _points_warning(points: Any) -> str | None:
    """The warning when a point's VaR/ES/LaR rest on too few runs (the fewest over points)."""
    from sim.metrics import N_RUNS, tail_warning

    if N_RUNS not in points or not len(points):
        return None
    counts = points[N_RUNS][points[N_RUNS] > 0]
    if not len(counts):
        return None
    several = counts.nunique() > 1
    what = "VaR/ES/LaR at 95 % and the 5 %/95 % quantiles of each point"
    return tail_warning(int(counts.min()), what, fewest=several)


@main.command()
@click.argument("sweep_dir", type=_Path(path_type=Path))
@click.option("--kpi", required=True, help="The KPI, e.g. bad_debt_max.")
@click.option(
    "--above",
    type=float,
    default=None,
    help="Threshold in the KPI's unit: the cases of interest are the runs above it.",
)
@click.option(
    "--below",
    type=float,
    default=None,
    help="Threshold in the KPI's unit: the cases are the runs below it (for KPIs where low is "
    "bad: min_cr_p05, dai_supply_min). Give --above or --below.",
)
@click.option(
    "--method",
    type=click.Choice(["cart", "prim"]),
    default="cart",
    show_default=True,
    help="cart: scikit-learn's decision tree, a box per leaf in which more than half of the "
    "runs are cases (always installed); prim: EMA Workbench's PRIM with its peeling trajectory "
    "(pip install 'cdpsim[prim]').",
)
def discover(
    sweep_dir: Path, kpi: str, above: float | None, below: float | None, method: str
) -> None:
    """Find the regions of a sweep's parameter space where a KPI is above (or below) a threshold.

    Works on the sweep's ok runs (every seed of every point). Writes
    SWEEP_DIR/discovery/<kpi>-above-<X>-<method>.parquet (or -below-; box, method, coverage,
    density, mass, parameter, lower, upper, restricted) and, for PRIM, its
    -trajectory.parquet, and prints the boxes. When the threshold is crossed in most runs
    (80 % or more) there is no box, and it says so.
    """
    from sim.experiments.discovery import format_discovery
    from sim.experiments.errors import AnalysisError
    from sim.experiments.store import StoreError
    from sim.experiments.sweep_analysis import discover as find_boxes

    if (above is None) == (below is None):
        raise click.UsageError("give --above X or --below X (one of them)")
    try:
        result = find_boxes(
            sweep_dir,
            kpi=kpi,
            above=above,
            below=below,
            method=method,  # type: ignore[arg-type]
        )
    except (AnalysisError, StoreError) as exc:
        _err(str(exc))
        sys.exit(EXIT_BAD_INPUT)
    except OSError as exc:  # its table could not be written (disk full, no permission)
        _err(f"cannot write {exc.filename or sweep_dir}: {exc.strerror or exc}")
        sys.exit(EXIT_RUN_FAILED)
    _out(format_discovery(result))
    sys.exit(EXIT_OK)
