"""Analysis of a sweep folder: the points table, sensitivity indices and scenario discovery.

Everything here reads tables (the runs table, the points table) and the ``sweep`` section of
``batch.json``; nothing runs the model, so an analysis can be repeated on a finished sweep.

- :func:`points_table` — one row per design point: its parameters, how many runs succeeded,
  failed and are not done yet (``n``, ``n_failed``, ``n_missing``: an interrupted sweep's
  table is of the runs done, and ``batch.json`` says ``"complete":
  false``), each analysed KPI's mean, standard deviation and 5/50/95 % quantiles over the
  seeds, and the risk statistics of :data:`sim.metrics.RISK_STATS` (Value at Risk and expected
  shortfall of the realised deficit ``bad_debt_max``, probability of bad debt, Liquidations at
  Risk).
- :func:`sensitivity_table` / :func:`sensitivity` — Sobol' indices (``SALib.analyze.sobol``:
  first-order ``S1`` and total ``ST`` with bootstrap confidence half-widths) or Morris
  elementary effects (``SALib.analyze.morris``: ``mu_star``, its confidence, ``sigma``), computed
  on each point's **mean over seeds**: the seeds are common random numbers, so the mean removes
  seed noise without mixing it into the indices. Refused on an incomplete sweep.
- :func:`discover` — scenario discovery (as in EMA Workbench): the boxes of parameter space where
  a KPI is above (or, for KPIs where low is bad, below) a threshold. It works on **per-run
  rows** (the runs table), so a box's ``density`` reads as the probability, over seeds and
  points in the box, that the KPI crosses the threshold. Methods: ``cart`` (scikit-learn's
  decision tree: every leaf in which more than half of the runs are cases of interest is a
  box; always installed, the default) and ``prim`` (EMA Workbench's Patient Rule Induction
  Method, with its peeling trajectory; an optional extra, ``pip install 'cdpsim[prim]'``, as it
  brings statsmodels, seaborn and an optimisation library that nothing else needs). When the
  threshold is crossed in :data:`ALMOST_EVERYWHERE` of the runs or more, there is no box, and
  the result says so. Results go to ``discovery/<kpi>-<above|below>-<X>-<method>.parquet``
  (PRIM also ``…-<method>-trajectory.parquet``); :func:`load_discoveries` reads them back.

Units: KPI statistics are in the KPI's unit (``sim.metrics.KPIS``); Sobol indices are shares of
the variance [-]; Morris ``mu_star`` and ``sigma`` are in the KPI's unit per whole range of the
parameter (the elementary effect of a step divided by the step as a fraction of the range);
``coverage``, ``density`` and ``mass`` are shares [-]; box bounds are in the parameter's unit
(seconds for durations, printed as ``59m46s``).
"""

from __future__ import annotations

import errno
import json
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.atomic import replacing, write_parquet
from sim.experiments.store import RUNS_TABLE, BatchFolder, StoreError, load_runs
from sim.experiments.store import is_complete as store_is_complete
from sim.metrics import KPI_BY_NAME, ensemble_kpi_stats, risk_stats
from sim.rundir import BATCH_MANIFEST, BATCH_RUNS, STATUS_FAILED, STATUS_OK
from sim.validate import describe, plain_name, shape_problem, table_problem

#: The points table of a sweep folder.
POINTS_TABLE = "points.parquet"
#: The sensitivity indices of a Sobol or Morris sweep.
SENSITIVITY_TABLE = "sensitivity.parquet"
#: Second-order Sobol indices (designs with ``second_order: true``).
SENSITIVITY2_TABLE = "sensitivity2.parquet"
#: The folder of discovery results inside a sweep folder.
DISCOVERY = "discovery"
#: Run counts of each point in the points table: ok, failed, not done yet (interrupted sweep).
COUNT_COLUMNS = ("n", "n_failed", "n_missing")

#: Columns of the sensitivity table, in order.
SENSITIVITY_COLUMNS = (
    "method",
    "kpi",
    "parameter",
    "S1",
    "S1_conf",
    "ST",
    "ST_conf",
    "mu_star",
    "mu_star_conf",
    "sigma",
    "mu",
)
#: Columns of a discovery table, in order.
BOX_COLUMNS = (
    "box",
    "method",
    "coverage",
    "density",
    "mass",
    "parameter",
    "lower",
    "upper",
    "restricted",
)
#: Columns of a PRIM peeling trajectory, in order.
TRAJECTORY_COLUMNS = ("step", "coverage", "density", "mass", "n_restricted", "selected")

Method = Literal["cart", "prim"]
#: Discovery methods.
METHODS: tuple[str, ...] = ("cart", "prim")
#: Smallest share of the runs a box may hold (CART's leaves, PRIM's ``mass_min``) [-].
MIN_BOX_MASS = 0.05
#: CART: deepest tree, so that a box has at most this many cuts (readable boxes).
CART_MAX_DEPTH = 3
#: CART: a leaf is a box when more than this share of its runs are cases of interest (most of
#: them: a leaf of exactly half is not a box) [-].
CART_MIN_DENSITY = 0.5
#: PRIM: share of the box peeled (or pasted) per step (EMA Workbench's default) [-].
PRIM_ALPHA = 0.05
#: PRIM: the box chosen on the peeling trajectory is the one of highest coverage (then density)
#: whose density reaches this; when none does, the densest [-].
PRIM_DENSITY_GOAL = 0.8
#: Both methods: when at least this share of all runs are cases of interest, the threshold is
#: crossed almost everywhere and no box is sought (every box would be nearly the whole space) [-].
ALMOST_EVERYWHERE = PRIM_DENSITY_GOAL
#: Sides of a threshold: the cases of interest are the runs whose KPI is above, or below, it.
SIDES: tuple[str, ...] = ("above", "below")
#: Suffix of a PRIM peeling trajectory's file in ``discovery/``.
TRAJECTORY_SUFFIX = "-trajectory"
#: A discovery file's stem: ``<kpi>-<side>-<X>-<method>`` (``<kpi>-above-<X>`` before the
#: method was in the name).
_DISCOVERY_STEM = re.compile(
    r"^(?P<kpi>\w+?)-(?P<side>above|below)-(?P<x>.+?)(?:-(?P<method>cart|prim))?$"
)
#: Key of a discovery file's Parquet metadata (kpi, side, threshold, method, counts, note).
_DISCOVERY_META = b"cdpsim-discovery"
#: Columns of a runs table every reader needs (the rest are KPIs and swept parameters).
RUNS_TABLE_COLUMNS = ("run_id", "scenario", "status")
#: Numbers of a runs table besides the KPIs.
RUNS_TABLE_NUMBERS = ("seed", "ticks", "wall_time_s")
#: What ``batch.json``'s ``sweep`` section holds, as far as the readers read it (``*``: every
#: item); a missing field or ``null`` is allowed.
SWEEP_SHAPE: dict[str, tuple[type, ...]] = {
    "sweep.name": (str,),
    "sweep.description": (str,),
    "sweep.file": (str,),
    "sweep.base": (str,),
    "sweep.design": (dict,),
    "sweep.design.kind": (str,),
    "sweep.parameters": (list,),
    "sweep.parameters.*": (dict,),
    "sweep.parameters.*.name": (str,),
    "sweep.parameters.*.kind": (str,),
    "sweep.parameters.*.paths": (list,),
    "sweep.parameters.*.paths.*": (str,),
    "sweep.parameters.*.range": (list,),
    "sweep.parameters.*.range.*": (float,),
    "sweep.parameters.*.values": (list,),
    "sweep.parameters.*.values.*": (str, float, bool),
    "sweep.parameters.*.dist": (str,),
    "sweep.parameters.*.unit": (str,),
    "sweep.kpis": (list,),
    "sweep.kpis.*": (str,),
    "sweep.seeds": (list,),
    "sweep.seeds.*": (int,),
    "sweep.complete": (bool,),
}
#: What a discovery file's metadata holds.
_DISCOVERY_META_SHAPE: dict[str, tuple[type, ...]] = {
    "kpi": (str,),
    "side": (str,),
    "threshold": (float,),
    "method": (str,),
    "n_runs": (int,),
    "n_cases": (int,),
    "note": (str,),
    "complete": (bool,),
}


#: Errors of writing a discovery that mean a file or folder is in the way (the user's to move),
#: unlike a full disk.
_IN_THE_WAY = (errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.EACCES, errno.EPERM, errno.EROFS)


class AnalysisError(ValueError):
    """An analysis cannot be done as asked (a user-facing message)."""


# ---------------------------------------------------------------------------------------- folder


def sweep_section(folder: str | Path) -> dict[str, Any]:
    """The ``sweep`` section of a sweep folder's ``batch.json``.

    Raises:
        StoreError: ``folder`` is not a batch folder.
        AnalysisError: it is a batch folder, but not a sweep's.
    """
    manifest = BatchFolder(Path(folder)).read_manifest()
    if manifest is None:
        raise StoreError(f"{folder}: not a cdpsim sweep folder (no batch.json)")
    section = manifest.get("sweep")
    if not section:
        raise AnalysisError(f"{folder}: a batch folder, but not a sweep's (cdpsim sweep makes one)")
    return check_sweep(folder, section)


def check_sweep(folder: str | Path, section: Any) -> dict[str, Any]:
    """``batch.json``'s ``sweep`` section, if it is of the shape ``cdpsim sweep`` writes.

    Args:
        folder: the sweep folder (for messages).
        section: the section as read.

    Returns:
        The section.

    Raises:
        AnalysisError: the first field of the wrong kind (:data:`SWEEP_SHAPE`), a parameter
            without a name or a range that is not ``[low, high]``.
    """
    problem = (
        f"'sweep' is {describe(section)}, not an object"
        if not isinstance(section, dict)
        else shape_problem({"sweep": section}, SWEEP_SHAPE)
    )
    if problem is None:
        for k, p in enumerate(section.get("parameters") or []):
            if not p.get("name"):
                problem = f"'sweep.parameters.{k}' has no name"
            elif p.get("range") is not None and len(p["range"]) != 2:
                problem = f"'sweep.parameters.{k}.range' is not [low, high]"
            if problem:
                break
    if problem:
        raise AnalysisError(
            f"{Path(folder) / BATCH_MANIFEST}: {problem}; the sweep's record is damaged (run "
            "the sweep again into a new folder)"
        )
    return section


def is_complete(folder: str | Path) -> bool:
    """Whether every run of the sweep is done and ok (``complete`` in ``batch.json``).

    A sweep interrupted or stopped before its last run, or with runs that failed or were lost,
    says ``"complete": false`` (its points table counts them in ``n_failed`` and ``n_missing``).
    """
    manifest = BatchFolder(Path(folder)).read_manifest()
    return manifest is not None and store_is_complete(manifest)


def _incomplete_message(folder: str | Path, what: str) -> str:
    return (
        f"{folder}: the sweep is incomplete (batch.json says complete: false: runs are missing, "
        f"lost or failed), so {what}; run the rest with cdpsim sweep SWEEP.yaml --out {folder} "
        "--resume (--retry-failed to run the failed ones again too)"
    )


def parameter_names(section: dict[str, Any]) -> list[str]:
    """The swept parameters' names (column names) in sweep-file order."""
    return [p["name"] for p in (section.get("parameters") or [])]


def _write(table: pd.DataFrame, path: Path) -> None:
    """Write a Parquet table atomically (temporary file + rename; nothing left on failure)."""
    write_parquet(path, table)


def read_table(path: Path) -> pd.DataFrame:
    """A Parquet table of an output folder.

    Raises:
        AnalysisError: something other than a file is there, or it is not readable Parquet.
    """
    import pyarrow as pa

    if path.exists() and not path.is_file():
        raise AnalysisError(f"{path}: not a file (a Parquet table was expected)")
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise AnalysisError(f"{path}: cannot be read as Parquet ({exc})") from None


def check_runs(table: pd.DataFrame, folder: str | Path, where: Path) -> pd.DataFrame:
    """A batch's or sweep's runs table, if the readers can use it.

    It has :data:`RUNS_TABLE_COLUMNS`, numbers in its KPI columns, and one row per run id, each
    the name of a folder in ``runs/`` (never a path leading out of the batch folder).

    Args:
        table: the runs table.
        folder: the batch folder.
        where: where the table was read from (``runs.parquet``, or the ``runs/`` folder).

    Raises:
        AnalysisError: the first problem, naming ``where``.
    """
    hint = (
        "move it out of the folder and the runs are read from their folders"
        if where.name == RUNS_TABLE
        else "the run folders are damaged"
    )
    problem = table_problem(
        table,
        required=RUNS_TABLE_COLUMNS,
        numbers=[*RUNS_TABLE_NUMBERS, *(c for c in table.columns if c in KPI_BY_NAME)],
        keys=["run_id"],
    )
    if problem is None:
        for run_id in table["run_id"]:
            if not plain_name(run_id):
                problem = f"run id {run_id!r} is not the name of a folder in {BATCH_RUNS}/"
                break
    if problem:
        raise AnalysisError(f"{where}: {problem}; {hint}")
    return table


def read_runs(folder: str | Path) -> pd.DataFrame:
    """The runs table of a sweep folder (``runs.parquet``, rebuilt from the run folders if absent).

    Raises:
        AnalysisError: the table is unreadable or damaged (:func:`check_runs`).
    """
    path = Path(folder) / RUNS_TABLE
    if path.exists() or path.is_symlink():
        return check_runs(read_table(path), folder, path)
    return check_runs(load_runs(folder, rebuild=True), folder, Path(folder) / BATCH_RUNS)


def read_points(folder: str | Path) -> pd.DataFrame:
    """The points table of a sweep folder.

    Raises:
        AnalysisError: the sweep has no points table yet (it has not finished a first pass),
            or it is unreadable or has no ``point`` column.
    """
    path = Path(folder) / POINTS_TABLE
    if not path.exists():
        raise AnalysisError(f"{folder}: no {POINTS_TABLE}; run the sweep first")
    table = read_table(path)
    problem = table_problem(table, required=["point"], whole=["point"], keys=["point"])
    if problem:
        raise AnalysisError(f"{path}: {problem}; it is not a points table as cdpsim writes it")
    return table


# ---------------------------------------------------------------------------------------- points


def points_table(
    runs: pd.DataFrame, design: pd.DataFrame, kpis: Sequence[str], n_seeds: int
) -> pd.DataFrame:
    """One row per design point: parameters, run counts, KPI statistics and risk statistics.

    Args:
        runs: the runs table (a ``point`` column, ``status`` and the KPIs).
        design: the design: ``point`` and one column per parameter, one row per point (points
            without runs get ``n = 0`` and NaN statistics).
        kpis: the KPIs to summarise (``k_mean``, ``k_std``, ``k_p05``, ``k_p50``, ``k_p95``).
        n_seeds: the runs each point has when the sweep is complete (its seeds).

    Returns:
        ``point``, the parameter columns, ``n`` (ok runs), ``n_failed`` (failed runs),
        ``n_missing`` (runs not done yet: ``n_seeds − n − n_failed``, above zero only in an
        interrupted sweep), the KPI statistics over the ok runs, then ``bad_debt_var95``,
        ``bad_debt_var99``, ``bad_debt_es95``, ``p_bad_debt``, ``liquidated_debt_lar95``
        (:data:`sim.metrics.RISK_STATS`).
    """
    ok: dict[int, pd.DataFrame] = {}
    failed: dict[int, int] = {}
    if len(runs) and "point" in runs:
        status = runs["status"]
        for point, group in runs[status == STATUS_OK].groupby("point"):
            ok[int(point)] = group
        counts = runs[status == STATUS_FAILED].groupby("point").size()
        failed = {int(k): int(v) for k, v in counts.items()}
    empty = np.array([], dtype=np.float64)

    def column(group: pd.DataFrame | None, name: str) -> np.ndarray:
        if group is None or name not in group:
            return empty
        return pd.to_numeric(group[name], errors="coerce").to_numpy(dtype=np.float64)

    rows = []
    for record in design.to_dict("records"):
        point = int(record["point"])
        group = ok.get(point)
        row: dict[str, Any] = dict(record)
        row["point"] = point
        row["n"] = 0 if group is None else len(group)
        row["n_failed"] = failed.get(point, 0)
        row["n_missing"] = max(n_seeds - row["n"] - row["n_failed"], 0)
        for kpi in kpis:
            row.update(ensemble_kpi_stats(kpi, column(group, kpi)))
        row.update(risk_stats(column(group, "bad_debt_max"), column(group, "liquidated_debt")))
        rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):
        table["point"] = table["point"].astype("int64")
        for name in COUNT_COLUMNS:
            table[name] = table[name].astype("int64")
    return table


def write_points(folder: str | Path, table: pd.DataFrame) -> Path:
    """Write ``points.parquet`` into a sweep folder; return its path."""
    path = Path(folder) / POINTS_TABLE
    _write(table, path)
    return path


# ---------------------------------------------------------------------------------------- indices


def _ordered_means(points: pd.DataFrame, kpi: str) -> np.ndarray:
    """A KPI's per-point mean over seeds, in design-point order."""
    column = f"{kpi}_mean"
    if column not in points:
        raise AnalysisError(
            f"the points table has no {column} (is {kpi!r} among the sweep's kpis?)"
        )
    return points.sort_values("point")[column].to_numpy(dtype=np.float64)


def _bootstrap_seed(seed: int) -> int:
    """A non-zero bootstrap seed derived from ``seed``.

    SALib's Sobol analysis draws its bootstrap unseeded when given 0 (``if seed:``), so that
    equal inputs would give different confidence intervals.
    """
    return int(np.random.SeedSequence(seed).generate_state(1)[0]) or 1


def sobol_indices(
    y: np.ndarray,
    names: Sequence[str],
    *,
    second_order: bool = False,
    resamples: int = 100,
    conf_level: float = 0.95,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Sobol' first-order and total indices of one output over a Saltelli design.

    Args:
        y: the output at every design point, in the order of
            :func:`sim.experiments.designs.sobol_unit`.
        names: the parameters.
        second_order: the design includes the second-order points.
        resamples: bootstrap resamples for the confidence intervals.
        conf_level: confidence level of the intervals (``*_conf`` are half-widths).
        seed: seed of the bootstrap.

    Returns:
        ``(first, second)``: one row per parameter (``parameter``, ``S1``, ``S1_conf``, ``ST``,
        ``ST_conf``), and with ``second_order`` one row per pair (``parameter``,
        ``parameter2``, ``S2``, ``S2_conf``). All NaN when an output is missing (a point
        without ok runs) or constant (nothing to apportion).
    """
    from SALib.analyze import sobol

    d = len(names)
    nan = [math.nan] * d
    first = {"parameter": list(names), "S1": nan, "S1_conf": nan, "ST": nan, "ST_conf": nan}
    pairs = [(names[i], names[j]) for i in range(d) for j in range(i + 1, d)]
    second = None
    if second_order:
        second = {
            "parameter": [a for a, _ in pairs],
            "parameter2": [b for _, b in pairs],
            "S2": [math.nan] * len(pairs),
            "S2_conf": [math.nan] * len(pairs),
        }
    if np.all(np.isfinite(y)) and np.ptp(y) > 0:
        problem = {"num_vars": d, "names": list(names), "bounds": [[0.0, 1.0]] * d}
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            si = sobol.analyze(
                problem,
                y,
                calc_second_order=second_order,
                num_resamples=resamples,
                conf_level=conf_level,
                seed=_bootstrap_seed(seed),
            )
        first = {"parameter": list(names)} | {
            k: [float(v) for v in si[k]] for k in ("S1", "S1_conf", "ST", "ST_conf")
        }
        if second is not None:
            index = {n: i for i, n in enumerate(names)}
            second["S2"] = [float(si["S2"][index[a], index[b]]) for a, b in pairs]
            second["S2_conf"] = [float(si["S2_conf"][index[a], index[b]]) for a, b in pairs]
    return pd.DataFrame(first), (pd.DataFrame(second) if second is not None else None)


def morris_indices(
    x: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    *,
    num_levels: int = 4,
    resamples: int = 100,
    conf_level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Morris elementary-effect statistics of one output over Morris trajectories.

    Args:
        x: the design, ``(points, parameters)``, in trajectory order; any strictly increasing
            transform of the unit coordinates will do (only the direction of each step is read).
        y: the output at every point.
        names: the parameters.
        num_levels: the design's grid levels.
        resamples: bootstrap resamples for ``mu_star_conf``.
        conf_level: confidence level of ``mu_star_conf`` (a half-width).
        seed: seed of the bootstrap.

    Returns:
        One row per parameter: ``parameter``, ``mu_star``, ``mu_star_conf``, ``sigma``, ``mu``
        (NaN when an output is missing).
    """
    from SALib.analyze import morris

    d = len(names)
    nan = [math.nan] * d
    out = {"parameter": list(names), "mu_star": nan, "mu_star_conf": nan, "sigma": nan, "mu": nan}
    if np.all(np.isfinite(y)):
        problem = {"num_vars": d, "names": list(names), "bounds": [[0.0, 1.0]] * d}
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            si = morris.analyze(
                problem,
                np.asarray(x, dtype=np.float64),
                y,
                num_resamples=resamples,
                conf_level=conf_level,
                num_levels=num_levels,
                seed=seed,
            )
        out = {"parameter": list(names)} | {
            k: [float(v) for v in si[k]] for k in ("mu_star", "mu_star_conf", "sigma", "mu")
        }
    return pd.DataFrame(out)


def sensitivity_table(
    points: pd.DataFrame, section: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Sensitivity indices of every KPI of a Sobol or Morris sweep, in long format.

    Args:
        points: the points table (:func:`points_table`).
        section: the ``sweep`` section of ``batch.json`` (design, parameters, kpis).

    Returns:
        ``(indices, second_order)``: :data:`SENSITIVITY_COLUMNS`, one row per (kpi,
        parameter), NaN where a method does not define a column; and for a Sobol design with
        ``second_order``, one row per (kpi, parameter pair) with ``S2``, ``S2_conf``.

    Raises:
        AnalysisError: the design is neither ``sobol`` nor ``morris``.
    """
    design = section.get("design", {})
    kind = design.get("kind")
    if kind not in ("sobol", "morris"):
        raise AnalysisError(
            f"sensitivity indices need a sobol or morris design; this sweep's is {kind!r} "
            "(use its points table, or cdpsim discover)"
        )
    names = parameter_names(section)
    options = {
        "resamples": int(design.get("resamples", 100)),
        "conf_level": float(design.get("conf_level", 0.95)),
        "seed": int(design.get("seed", 0)),
    }
    frames, pairs = [], []
    ordered = points.sort_values("point")
    for kpi in section.get("kpis", []):
        y = _ordered_means(points, kpi)
        if kind == "sobol":
            first, second = sobol_indices(
                y, names, second_order=bool(design.get("second_order")), **options
            )
            if second is not None:
                pairs.append(second.assign(method=kind, kpi=kpi))
        else:
            x = ordered[names].to_numpy(dtype=np.float64)
            first = morris_indices(x, y, names, num_levels=int(design.get("levels", 4)), **options)
        frames.append(first.assign(method=kind, kpi=kpi))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    for name in SENSITIVITY_COLUMNS:
        if name not in table:
            table[name] = np.nan
    table = table[list(SENSITIVITY_COLUMNS)]
    second_table = None
    if pairs:
        second_table = pd.concat(pairs, ignore_index=True)[
            ["method", "kpi", "parameter", "parameter2", "S2", "S2_conf"]
        ]
    return table, second_table


def sensitivity(folder: str | Path, *, require_complete: bool = True) -> pd.DataFrame:
    """Compute (again) the sensitivity indices of a sweep folder and write them.

    Writes ``sensitivity.parquet`` (and ``sensitivity2.parquet`` with second-order Sobol).

    Args:
        folder: a finished Sobol or Morris sweep folder.
        require_complete: refuse a sweep whose ``batch.json`` says it is incomplete (the
            indices need every point); :func:`~sim.experiments.sweep.run_sweep` passes
            ``False`` as it computes them before it marks the sweep complete.

    Returns:
        The indices (:func:`sensitivity_table`).

    Raises:
        StoreError: not a batch folder.
        AnalysisError: not a sweep, not a Sobol or Morris design, an incomplete sweep, or no
            points table yet.
    """
    folder = Path(folder)
    section = sweep_section(folder)
    if require_complete and not is_complete(folder):
        raise AnalysisError(_incomplete_message(folder, "it has no indices"))
    table, second = sensitivity_table(read_points(folder), section)
    _write(table, folder / SENSITIVITY_TABLE)
    if second is not None:
        _write(second, folder / SENSITIVITY2_TABLE)
    return table


def format_sensitivity(table: pd.DataFrame, top: int = 5) -> str:
    """The most influential parameters per KPI, as lines of text (total index or mu_star)."""
    lines = []
    for kpi, group in table.groupby("kpi", sort=False):
        method = group["method"].iloc[0]
        key, conf = ("ST", "ST_conf") if method == "sobol" else ("mu_star", "mu_star_conf")
        ranked = group.sort_values(key, ascending=False, na_position="last").head(top)
        unit = (
            "" if method == "sobol" else f" {KPI_BY_NAME[kpi].unit}" if kpi in KPI_BY_NAME else ""
        )
        lines.append(f"{kpi} ({method}, by {key}):")
        if ranked[key].isna().all():
            lines.append("  no index: the KPI is the same at every point, or a point has no ok run")
            continue
        width = max(len(p) for p in ranked["parameter"])
        for row in ranked.itertuples():
            value, half = getattr(row, key), getattr(row, conf)
            extra = f"  S1 {row.S1:.3f}" if method == "sobol" else f"  sigma {row.sigma:.4g}"
            lines.append(
                f"  {row.parameter.ljust(width)}  {key} {value:.4g} ± {half:.2g}{unit}{extra}"
            )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------- discovery


@dataclass(frozen=True)
class Discovery:
    """Boxes of parameter space where a KPI is above (or below) a threshold.

    Attributes:
        kpi: the KPI.
        side: ``above`` (a run is a case of interest when its KPI is above ``threshold``) or
            ``below`` (when it is below: for KPIs where low is bad, ``min_cr_p05``).
        threshold: the threshold, in the KPI's unit.
        method: ``cart`` or ``prim``.
        boxes: :data:`BOX_COLUMNS`, one row per (box, parameter); a run is in a box when
            ``lower ≤ value ≤ upper`` for every parameter (unrestricted ones span the range).
            Empty when there is no box (``note`` says why).
        trajectory: PRIM's peeling trajectory (:data:`TRAJECTORY_COLUMNS`), else ``None``.
        path: the boxes' Parquet file.
        trajectory_path: the trajectory's Parquet file (PRIM), else ``None``.
        n_runs: the ok runs analysed (``None`` in a file written before it was recorded).
        n_cases: of which cases of interest (``None`` likewise).
        note: why there is no box, when there is none; else empty.
        units: each parameter's unit (``"s"`` for durations; ``None``: its own).
        complete: the sweep had every run done (else the boxes are of the runs done so far).
    """

    kpi: str
    side: str
    threshold: float
    method: str
    boxes: pd.DataFrame
    trajectory: pd.DataFrame | None
    path: Path
    trajectory_path: Path | None
    n_runs: int | None
    n_cases: int | None
    note: str = ""
    units: dict[str, str | None] = field(default_factory=dict)
    complete: bool = True

    @property
    def name(self) -> str:
        """The file's stem: ``<kpi>-<side>-<X>-<method>``."""
        return self.path.stem

    @property
    def label(self) -> str:
        """``bad_debt_max above 1,000,000 Dai (CART)``: what the boxes are of, for titles."""
        amount = kpi_amount(self.kpi, self.threshold)
        return f"{self.kpi} {self.side} {amount} ({self.method.upper()})"


def number_text(x: float) -> str:
    """A threshold as written in file names: ``1000000``, ``0.5``, ``-3``."""
    if math.isfinite(x) and float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


def discovery_paths(
    folder: str | Path, kpi: str, threshold: float, method: str, side: str = "above"
) -> tuple[Path, Path]:
    """``discovery/<kpi>-<side>-<X>-<method>.parquet`` and its ``-trajectory`` sibling.

    Args:
        folder: the sweep folder.
        kpi: the KPI.
        threshold: the threshold (written by :func:`number_text`: ``1000000``, ``1.3``).
        method: ``cart`` or ``prim`` (so that one method's result never replaces the other's).
        side: ``above`` or ``below``.

    Returns:
        The boxes' path and the trajectory's (PRIM writes it).
    """
    stem = f"{kpi}-{side}-{number_text(threshold)}-{method}"
    base = Path(folder) / DISCOVERY
    return base / f"{stem}.parquet", base / f"{stem}{TRAJECTORY_SUFFIX}.parquet"


def duration_text(seconds: float) -> str:
    """A duration for reading: ``59m46s``, ``4h``, ``3h59m``, ``2d3h`` (rounded to its units)."""
    if not math.isfinite(seconds):
        return str(seconds)
    sign, s = ("-" if seconds < 0 else ""), abs(float(seconds))
    if s < 60:
        return f"{sign}{s:.3g}s"
    if s < 3600:
        m, r = divmod(round(s), 60)
        return f"{sign}{m}m{r:02d}s" if r else f"{sign}{m}m"
    if s < 86400:
        h, r = divmod(round(s / 60), 60)
        return f"{sign}{h}h{r:02d}m" if r else f"{sign}{h}h"
    d, r = divmod(round(s / 3600), 24)
    return f"{sign}{d}d{r}h" if r else f"{sign}{d}d"


def kpi_amount(kpi: str, value: float) -> str:
    """A KPI value with its unit: ``1,000,000 Dai``, ``1.3`` (a ratio), ``12`` (a count)."""
    unit = KPI_BY_NAME[kpi].unit if kpi in KPI_BY_NAME else ""
    if unit == "s":
        return duration_text(value)
    if unit in ("", "-", "count"):
        return _fmt(value)
    number = f"{value:,.0f}" if abs(value) >= 1000 else _fmt(value)
    return f"{number} {unit}"


def parameter_value(value: float, unit: str | None) -> str:
    """A parameter's value as printed: durations (``unit`` ``s``) with units, else 4 digits."""
    return duration_text(value) if unit == "s" else _fmt(value)


def _bounds(section: dict[str, Any], x: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Each parameter's whole span: its range, else its values' (or the data's) min and max."""
    out = {}
    for p in section.get("parameters") or []:
        name = p["name"]
        if name not in x:
            continue
        if p.get("range") is not None:
            low, high = p["range"]
        else:
            low, high = float(x[name].min()), float(x[name].max())
        out[name] = (float(low), float(high))
    return out


def _box_rows(
    box: int,
    method: str,
    stats: tuple[float, float, float],
    lows: dict[str, float],
    highs: dict[str, float],
    bounds: dict[str, tuple[float, float]],
) -> list[dict[str, Any]]:
    coverage, density, mass = stats
    rows = []
    for name, (low, high) in bounds.items():
        lower = max(low, lows.get(name, low))
        upper = min(high, highs.get(name, high))
        rows.append(
            {
                "box": box,
                "method": method,
                "coverage": coverage,
                "density": density,
                "mass": mass,
                "parameter": name,
                "lower": float(lower),
                "upper": float(upper),
                "restricted": bool(lower > low or upper < high),
            }
        )
    return rows


def cart_boxes(
    x: pd.DataFrame,
    y: np.ndarray,
    bounds: dict[str, tuple[float, float]],
    *,
    max_depth: int = CART_MAX_DEPTH,
    min_mass: float = MIN_BOX_MASS,
    min_density: float = CART_MIN_DENSITY,
) -> pd.DataFrame:
    """Boxes from a classification tree: its leaves where most runs are cases of interest.

    Args:
        x: one row per run, one column per parameter.
        y: whether each run is a case of interest.
        bounds: each parameter's whole span (for unrestricted sides).
        max_depth: the tree's depth.
        min_mass: smallest share of the runs in a leaf.
        min_density: a leaf is a box when the share of cases of interest among its runs is
            above this (0.5: more than half of them).

    Returns:
        :data:`BOX_COLUMNS`, boxes numbered by decreasing density (then coverage); a leaf that
        is the whole space (a tree without a split) is not a box.
    """
    from sklearn.tree import DecisionTreeClassifier

    n, cases = len(y), int(np.sum(y))
    if n == 0 or cases == 0:
        return pd.DataFrame(columns=list(BOX_COLUMNS))
    tree = DecisionTreeClassifier(
        max_depth=max_depth, min_samples_leaf=max(1, math.ceil(min_mass * n)), random_state=0
    )
    tree.fit(x.to_numpy(dtype=np.float64), y)
    t = tree.tree_
    names = list(x.columns)
    leaves: dict[int, tuple[dict[str, float], dict[str, float]]] = {}

    def walk(node: int, lows: dict[str, float], highs: dict[str, float]) -> None:
        left, right = t.children_left[node], t.children_right[node]
        if left == right:  # a leaf
            leaves[node] = (lows, highs)
            return
        name, cut = names[t.feature[node]], float(t.threshold[node])
        walk(left, lows, {**highs, name: min(highs.get(name, math.inf), cut)})
        walk(right, {**lows, name: max(lows.get(name, -math.inf), cut)}, highs)

    walk(0, {}, {})
    leaf_of = tree.apply(x.to_numpy(dtype=np.float64))
    found = []
    for leaf, (lows, highs) in leaves.items():
        inside = leaf_of == leaf
        k = int(np.sum(y[inside]))
        size = int(np.sum(inside))
        if size and k and k / size > min_density and (lows or highs):
            found.append(((k / cases, k / size, size / n), lows, highs))
    found.sort(key=lambda f: (-f[0][1], -f[0][0]))
    rows = []
    for box, (stats, lows, highs) in enumerate(found):
        rows += _box_rows(box, "cart", stats, lows, highs, bounds)
    return pd.DataFrame(rows, columns=list(BOX_COLUMNS))


def prim_box(
    x: pd.DataFrame,
    y: np.ndarray,
    bounds: dict[str, tuple[float, float]],
    *,
    min_mass: float = MIN_BOX_MASS,
    alpha: float = PRIM_ALPHA,
    density_goal: float = PRIM_DENSITY_GOAL,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One PRIM box (EMA Workbench) and its peeling trajectory.

    Args:
        x: one row per run, one column per parameter.
        y: whether each run is a case of interest.
        bounds: each parameter's whole span (for unrestricted sides).
        min_mass: PRIM's ``mass_min``.
        alpha: PRIM's peeling and pasting share.
        density_goal: the step chosen is the one of highest coverage (then density) whose
            density reaches this, else the densest.

    Returns:
        ``(boxes, trajectory)``: :data:`BOX_COLUMNS` for the chosen step (box 0; none when
        that step is the whole space) and :data:`TRAJECTORY_COLUMNS`.

    Raises:
        AnalysisError: EMA Workbench is not installed.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import prim
    except ImportError:
        raise AnalysisError(
            "--method prim needs EMA Workbench: pip install 'cdpsim[prim]' (or use the default, "
            "--method cart)"
        ) from None
    if len(y) == 0 or not np.any(y):
        return pd.DataFrame(columns=list(BOX_COLUMNS)), pd.DataFrame(
            columns=list(TRAJECTORY_COLUMNS)
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        algorithm = prim.Prim(
            x.reset_index(drop=True).astype(np.float64),
            np.asarray(y, dtype=bool),
            peel_alpha=alpha,
            paste_alpha=alpha,
            mass_min=min_mass,
        )
        found = algorithm.find_box()
    steps = found.peeling_trajectory.reset_index(drop=True)
    density = steps["density"].to_numpy(dtype=np.float64)
    coverage = steps["coverage"].to_numpy(dtype=np.float64)
    good = np.flatnonzero(density >= density_goal)
    if good.size:  # the highest coverage; of equal coverage, the densest
        chosen = int(good[np.lexsort((density[good], coverage[good]))[-1]])
    else:
        chosen = int(np.argmax(density))
    trajectory = pd.DataFrame(
        {
            "step": np.arange(len(steps), dtype=np.int64),
            "coverage": coverage,
            "density": density,
            "mass": steps["mass"].to_numpy(dtype=np.float64),
            "n_restricted": steps["res_dim"].to_numpy(dtype=np.int64),
            "selected": np.arange(len(steps)) == chosen,
        }
    )
    limits = found.box_lims[chosen]
    lows = {name: float(limits[name].iloc[0]) for name in limits.columns}
    highs = {name: float(limits[name].iloc[1]) for name in limits.columns}
    initial = found.box_lims[0]
    for name in limits.columns:  # a side PRIM did not move is unrestricted
        if lows[name] <= float(initial[name].iloc[0]):
            lows.pop(name)
        if highs[name] >= float(initial[name].iloc[1]):
            highs.pop(name)
    stats = (float(coverage[chosen]), float(density[chosen]), float(trajectory["mass"][chosen]))
    rows = _box_rows(0, "prim", stats, lows, highs, bounds) if lows or highs else []
    return pd.DataFrame(rows, columns=list(BOX_COLUMNS)), trajectory


def discover(
    folder: str | Path,
    *,
    kpi: str,
    above: float | None = None,
    below: float | None = None,
    method: Method = "cart",
) -> Discovery:
    """Find the boxes of parameter space where ``kpi`` is above ``above`` (or below ``below``).

    The cases are the sweep's ok runs (per-run rows: every seed of every point), the inputs the
    swept parameters (numeric ones). When the threshold is crossed almost everywhere (at least
    :data:`ALMOST_EVERYWHERE` of the runs) there is no box, and ``note`` says so. Writes
    ``discovery/<kpi>-<side>-<X>-<method>.parquet`` (:func:`discovery_paths`) and, for PRIM,
    its ``-trajectory`` sibling; :func:`load_discoveries` reads them back.

    Args:
        folder: a sweep folder.
        kpi: a KPI of the runs table (``bad_debt_max``).
        above: the cases are the runs whose KPI is above this (the KPI's unit).
        below: the cases are the runs whose KPI is below this, for KPIs where low is bad
            (``min_cr_p05``, ``dai_supply_min``); give ``above`` or ``below``, not both.
        method: ``cart`` or ``prim``.

    Returns:
        The :class:`Discovery`.

    Raises:
        StoreError: not a batch folder.
        AnalysisError: not a sweep, an unknown KPI or method, no threshold or both, no numeric
            parameter, PRIM not installed.
    """
    folder = Path(folder)
    if method not in METHODS:
        raise AnalysisError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if (above is None) == (below is None):
        raise AnalysisError("give a threshold: --above X or --below X (one of them)")
    side = "above" if above is not None else "below"
    threshold = float(above if above is not None else below)  # type: ignore[arg-type]
    if not math.isfinite(threshold):
        raise AnalysisError(f"--{side} must be a finite number (got {threshold})")
    section = sweep_section(folder)
    runs = read_runs(folder)
    if kpi not in KPI_BY_NAME or (len(runs) and kpi not in runs):
        known = [k for k in KPI_BY_NAME if not len(runs) or k in runs]
        if kpi in KPI_BY_NAME:
            raise AnalysisError(
                f"{folder}: its runs table has no KPI {kpi!r} (it has: {', '.join(known) or 'none'})"
            )
        raise AnalysisError(f"unknown KPI {kpi!r}; expected one of {', '.join(known)}")
    names = [
        n for n in parameter_names(section) if n in runs and pd.api.types.is_numeric_dtype(runs[n])
    ]
    if not names:
        raise AnalysisError(f"{folder}: no numeric swept parameter to find boxes in")
    ok = runs[(runs["status"] == STATUS_OK)] if len(runs) else runs
    values = pd.to_numeric(ok[kpi], errors="coerce") if len(ok) else pd.Series(dtype=float)
    finite = np.isfinite(values.to_numpy(dtype=np.float64))
    ok, kpi_values = ok[finite], values.to_numpy(dtype=np.float64)[finite]
    x = ok[names].astype(np.float64).reset_index(drop=True)
    y = kpi_values > threshold if side == "above" else kpi_values < threshold
    bounds = _bounds(section, x)
    n_runs, n_cases = len(y), int(np.sum(y))
    trajectory = None
    note = ""
    empty = pd.DataFrame(columns=list(BOX_COLUMNS))
    crossed = "above" if side == "above" else "below"
    if n_cases == 0:
        boxes = empty
        note = f"no run is {crossed} the threshold"
    elif n_cases >= ALMOST_EVERYWHERE * n_runs:
        boxes = empty
        further = "higher" if side == "above" else "lower"
        note = (
            f"the threshold is crossed almost everywhere ({n_cases / n_runs:.0%} of the runs, "
            f"at least {ALMOST_EVERYWHERE:.0%}): no box; a {further} threshold asks where it "
            "is crossed"
        )
    else:
        if method == "cart":
            boxes = cart_boxes(x, y, bounds)
        else:
            boxes, trajectory = prim_box(x, y, bounds)
        if boxes.empty:
            note = (
                "no leaf of the tree in which more than half of the runs are cases (too few "
                "cases, or scattered)"
                if method == "cart"
                else "PRIM's chosen box is the whole space: the parameters do not separate "
                "the cases"
            )
    units = {p["name"]: p.get("unit") for p in (section.get("parameters") or []) if "name" in p}
    result = Discovery(
        kpi=kpi,
        side=side,
        threshold=threshold,
        method=method,
        boxes=boxes,
        trajectory=trajectory,
        path=discovery_paths(folder, kpi, threshold, method, side)[0],
        trajectory_path=None,
        n_runs=n_runs,
        n_cases=n_cases,
        note=note,
        units={k: units.get(k) for k in names},
        complete=is_complete(folder),
    )
    return _write_discovery(folder, result)


def _write_discovery(folder: Path, result: Discovery) -> Discovery:
    """Write a discovery's boxes (and PRIM's trajectory); the result with its paths."""
    path, trajectory_path = discovery_paths(
        folder, result.kpi, result.threshold, result.method, result.side
    )
    meta = {
        "kpi": result.kpi,
        "side": result.side,
        "threshold": result.threshold,
        "method": result.method,
        "n_runs": result.n_runs,
        "n_cases": result.n_cases,
        "note": result.note,
        "complete": result.complete,
    }
    try:
        path.parent.mkdir(exist_ok=True)
        _write_with_meta(result.boxes, path, meta)
        if result.trajectory is not None:
            _write(result.trajectory, trajectory_path)
        else:
            trajectory_path.unlink(missing_ok=True)  # an earlier run's, for boxes now replaced
    except OSError as exc:
        if exc.errno not in _IN_THE_WAY:  # a full disk, an I/O error: not the input's fault
            raise
        raise AnalysisError(
            f"{path}: cannot write the result ({exc.strerror or exc}); is {path.parent} a "
            "folder you may write in?"
        ) from None
    return replace(
        result,
        path=path,
        trajectory_path=trajectory_path if result.trajectory is not None else None,
    )


def _write_with_meta(table: pd.DataFrame, path: Path, meta: dict[str, Any]) -> None:
    """Write a Parquet table atomically with ``meta`` (JSON) in its file metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    metadata = dict(arrow.schema.metadata or {})
    metadata[_DISCOVERY_META] = json.dumps(meta, sort_keys=True).encode()
    with replacing(path) as tmp:
        pq.write_table(arrow.replace_schema_metadata(metadata), tmp)


def load_discoveries(folder: str | Path) -> list[Discovery]:
    """Every ``cdpsim discover`` result of a sweep folder, by file name.

    Reads ``discovery/<kpi>-<side>-<X>-<method>.parquet`` with its ``-trajectory`` sibling
    (PRIM), and files named ``<kpi>-above-<X>.parquet`` written before the method was in the
    name (their method is the boxes' ``method`` column). The plots and the report read
    discoveries through this.

    Args:
        folder: a sweep folder (one without ``discovery/`` has none).

    Returns:
        One :class:`Discovery` per boxes file, in file-name order; files whose name is not a
        discovery's are left out.
    """
    folder = Path(folder)
    base = folder / DISCOVERY
    if not base.is_dir():
        return []
    try:
        section = sweep_section(folder)
    except (StoreError, AnalysisError):
        section = {}
    units = {p["name"]: p.get("unit") for p in (section.get("parameters") or []) if "name" in p}
    found = []
    for file in sorted(base.glob("*.parquet")):
        if file.name.startswith(".") or file.stem.endswith(TRAJECTORY_SUFFIX):
            continue
        match = _DISCOVERY_STEM.match(file.stem)
        if match is None:
            continue
        try:
            threshold = float(match["x"])
        except ValueError:  # not a number: not a discovery's name
            continue
        boxes, meta = _read_discovery(file)
        method = match["method"] or (
            str(boxes["method"].iloc[0]) if len(boxes) and "method" in boxes else "cart"
        )
        trajectory_path = base / f"{file.stem}{TRAJECTORY_SUFFIX}.parquet"
        trajectory = _read_trajectory(trajectory_path) if trajectory_path.exists() else None
        found.append(
            Discovery(
                kpi=match["kpi"],
                side=match["side"],
                threshold=threshold,
                method=method,
                boxes=boxes,
                trajectory=trajectory,
                path=file,
                trajectory_path=trajectory_path if trajectory is not None else None,
                n_runs=meta.get("n_runs"),
                n_cases=meta.get("n_cases"),
                note=meta.get("note", ""),
                units={k: v for k, v in units.items() if k in set(boxes.get("parameter", []))},
                complete=bool(meta.get("complete", True)),
            )
        )
    return found


def _discovery_problem(file: Path, problem: str) -> AnalysisError:
    return AnalysisError(
        f"{file}: {problem}; it is not a result of cdpsim discover as it writes them: delete "
        "it, or run cdpsim discover again"
    )


def _read_discovery(file: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A discovery file's boxes and metadata, checked.

    Raises:
        AnalysisError: unreadable, without the boxes' columns or numbers, or with metadata that
            is not a JSON object of the fields :func:`discover` writes.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    boxes = read_table(file)
    try:
        raw = (pq.read_schema(file).metadata or {}).get(_DISCOVERY_META)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise _discovery_problem(file, f"its metadata cannot be read ({exc})") from None
    problem = table_problem(
        boxes,
        required=[c for c in BOX_COLUMNS if c not in ("method", "restricted")],
        numbers=["lower", "upper"],
        finite=["coverage", "density", "mass"],
        whole=["box"],
        nonnegative=["box", "coverage", "density", "mass"],
    )
    if problem:
        raise _discovery_problem(file, problem)
    try:
        meta = json.loads(raw) if raw else {}
    except ValueError:
        raise _discovery_problem(file, "its metadata is not JSON") from None
    problem = (
        f"its metadata is {describe(meta)}, not an object"
        if not isinstance(meta, dict)
        else shape_problem(meta, _DISCOVERY_META_SHAPE)
    )
    if problem:
        raise _discovery_problem(file, problem)
    return boxes, meta


def _read_trajectory(path: Path) -> pd.DataFrame:
    """A PRIM peeling trajectory, checked (:data:`TRAJECTORY_COLUMNS` but ``selected``)."""
    table = read_table(path)
    columns = [c for c in TRAJECTORY_COLUMNS if c != "selected"]
    problem = table_problem(
        table, required=columns, finite=columns, whole=["step", "n_restricted"], nonnegative=columns
    )
    if problem:
        raise _discovery_problem(path, problem)
    return table


def _fmt(value: float) -> str:
    return f"{value:.4g}"


#: How each method chooses its boxes, printed under them.
_RULES = {
    "cart": "a box is a leaf of the decision tree in which more than half of the runs are cases",
    "prim": f"the box of highest coverage whose density reaches {PRIM_DENSITY_GOAL:.0%} on "
    "PRIM's peeling trajectory, else the densest",
}


def format_discovery(result: Discovery) -> str:
    """The boxes as a table of text: one header line per box, one line per restricted parameter.

    Thresholds carry the KPI's unit (none for ratios and counts); bounds of duration
    parameters are durations (``59m46s``), the others numbers.
    """
    sign = ">" if result.side == "above" else "<"
    counts = ""
    if result.n_runs is not None and result.n_cases is not None:
        share = result.n_cases / result.n_runs if result.n_runs else math.nan
        counts = f" {result.n_cases} of {result.n_runs} ok runs ({share:.0%});"
    lines = [
        f"{result.kpi} {sign} {kpi_amount(result.kpi, result.threshold)}:{counts} "
        f"{result.method} boxes → {result.path}"
    ]
    if not result.complete:
        lines.append(
            "  the sweep is incomplete (interrupted): these are the runs done so far; "
            "cdpsim sweep --resume runs the rest"
        )
    if result.boxes.empty:
        lines.append(f"  no box: {result.note}" if result.note else "  no box")
        return "\n".join(lines)
    for box, group in result.boxes.groupby("box", sort=True):
        head = group.iloc[0]
        lines.append(
            f"  box {box}: coverage {head['coverage']:.2f}  density {head['density']:.2f}  "
            f"mass {head['mass']:.2f}"
        )
        restricted = group[group["restricted"]]
        width = max((len(p) for p in restricted["parameter"]), default=0)
        for row in restricted.itertuples():
            unit = result.units.get(row.parameter)
            lines.append(
                f"    {row.parameter.ljust(width)}  {parameter_value(row.lower, unit)} … "
                f"{parameter_value(row.upper, unit)}"
            )
    lines.append(f"  ({result.method.upper()}: {_RULES[result.method]})")
    return "\n".join(lines)


__all__ = [
    "ALMOST_EVERYWHERE",
    "BOX_COLUMNS",
    "COUNT_COLUMNS",
    "DISCOVERY",
    "METHODS",
    "POINTS_TABLE",
    "SENSITIVITY_COLUMNS",
    "SENSITIVITY_TABLE",
    "SIDES",
    "TRAJECTORY_COLUMNS",
    "TRAJECTORY_SUFFIX",
    "AnalysisError",
    "Discovery",
    "cart_boxes",
    "check_runs",
    "check_sweep",
    "discover",
    "discovery_paths",
    "duration_text",
    "format_discovery",
    "format_sensitivity",
    "is_complete",
    "kpi_amount",
    "load_discoveries",
    "morris_indices",
    "points_table",
    "prim_box",
    "read_table",
    "sensitivity",
    "sensitivity_table",
    "sobol_indices",
    "sweep_section",
]
