"""Analysis of a sweep folder: the points table, sensitivity indices and scenario discovery.

Everything here reads tables (the runs table, the points table) and the ``sweep`` section of
``batch.json``; nothing runs the model, so an analysis can be repeated on a finished sweep.

- :func:`points_table` — one row per design point: its parameters, how many runs succeeded and
  failed, each analysed KPI's mean, standard deviation and 5/50/95 % quantiles over the seeds,
  and the risk statistics of :data:`sim.metrics.RISK_STATS` (Value at Risk, expected
  shortfall, probability of bad debt, Liquidations at Risk).
- :func:`sensitivity_table` / :func:`sensitivity` — Sobol' indices (``SALib.analyze.sobol``:
  first-order ``S1`` and total ``ST`` with bootstrap confidence half-widths) or Morris
  elementary effects (``SALib.analyze.morris``: ``mu_star``, its confidence, ``sigma``), computed
  on each point's **mean over seeds**: the seeds are common random numbers, so the mean removes
  seed noise without mixing it into the indices.
- :func:`discover` — scenario discovery (as in EMA Workbench): the boxes of parameter space where
  a KPI exceeds a threshold. It works on **per-run rows** (the runs table), so a box's
  ``density`` reads as the probability, over seeds and points in the box, that the KPI exceeds
  the threshold. Methods: ``cart`` (scikit-learn's decision tree: every leaf where most runs
  exceed the threshold is a box; always installed, the default) and ``prim`` (EMA Workbench's
  Patient Rule Induction Method, with its peeling trajectory; an optional extra,
  ``pip install 'cdpsim[prim]'``, as it brings statsmodels, seaborn and an optimisation
  library that nothing else needs).

Units: KPI statistics are in the KPI's unit (``sim.metrics.KPIS``); Sobol indices are shares of
the variance [-]; Morris ``mu_star`` and ``sigma`` are in the KPI's unit per whole range of the
parameter (the elementary effect of a step divided by the step as a fraction of the range);
``coverage``, ``density`` and ``mass`` are shares [-].
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.experiments.store import RUNS_TABLE, BatchFolder, StoreError, load_runs
from sim.metrics import KPI_BY_NAME, ensemble_kpi_stats, risk_stats
from sim.rundir import STATUS_FAILED, STATUS_OK

#: The points table of a sweep folder.
POINTS_TABLE = "points.parquet"
#: The sensitivity indices of a Sobol or Morris sweep.
SENSITIVITY_TABLE = "sensitivity.parquet"
#: Second-order Sobol indices (designs with ``second_order: true``).
SENSITIVITY2_TABLE = "sensitivity2.parquet"
#: The folder of discovery results inside a sweep folder.
DISCOVERY = "discovery"

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
#: CART: a leaf is a box when at least this share of its runs exceed the threshold [-].
CART_MIN_DENSITY = 0.5
#: PRIM: share of the box peeled (or pasted) per step (EMA Workbench's default) [-].
PRIM_ALPHA = 0.05
#: PRIM: the box chosen on the peeling trajectory is the one of highest coverage (then density)
#: whose density reaches this; when none does, the densest [-].
PRIM_DENSITY_GOAL = 0.8


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
    if not isinstance(section, dict):
        raise AnalysisError(f"{folder}: a batch folder, but not a sweep's (cdpsim sweep makes one)")
    return section


def parameter_names(section: dict[str, Any]) -> list[str]:
    """The swept parameters' names (column names) in sweep-file order."""
    return [p["name"] for p in section.get("parameters", [])]


def _write(table: pd.DataFrame, path: Path) -> None:
    """Write a Parquet table atomically (temporary file + rename)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    table.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def read_runs(folder: str | Path) -> pd.DataFrame:
    """The runs table of a sweep folder (``runs.parquet``, rebuilt from the run folders if absent)."""
    path = Path(folder) / RUNS_TABLE
    if path.is_file():
        return pd.read_parquet(path)
    return load_runs(folder, rebuild=True)


def read_points(folder: str | Path) -> pd.DataFrame:
    """The points table of a sweep folder.

    Raises:
        AnalysisError: the sweep has no points table yet (it has not finished a first pass).
    """
    path = Path(folder) / POINTS_TABLE
    if not path.is_file():
        raise AnalysisError(f"{folder}: no {POINTS_TABLE}; run the sweep first")
    return pd.read_parquet(path)


# ---------------------------------------------------------------------------------------- points


def points_table(runs: pd.DataFrame, design: pd.DataFrame, kpis: Sequence[str]) -> pd.DataFrame:
    """One row per design point: parameters, run counts, KPI statistics and risk statistics.

    Args:
        runs: the runs table (a ``point`` column, ``status`` and the KPIs).
        design: the design: ``point`` and one column per parameter, one row per point (points
            without runs get ``n = 0`` and NaN statistics).
        kpis: the KPIs to summarise (``k_mean``, ``k_std``, ``k_p05``, ``k_p50``, ``k_p95``).

    Returns:
        ``point``, the parameter columns, ``n`` (ok runs), ``n_failed``, the KPI statistics over
        the ok runs, then ``bad_debt_var95``, ``bad_debt_var99``, ``bad_debt_es95``,
        ``p_bad_debt``, ``liquidated_debt_lar95`` (:data:`sim.metrics.RISK_STATS`).
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
        for kpi in kpis:
            row.update(ensemble_kpi_stats(kpi, column(group, kpi)))
        row.update(risk_stats(column(group, "bad_debt_max"), column(group, "liquidated_debt")))
        rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):
        table["point"] = table["point"].astype("int64")
        table["n"] = table["n"].astype("int64")
        table["n_failed"] = table["n_failed"].astype("int64")
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
                seed=seed,
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


def sensitivity(folder: str | Path) -> pd.DataFrame:
    """Compute (again) the sensitivity indices of a sweep folder and write them.

    Writes ``sensitivity.parquet`` (and ``sensitivity2.parquet`` with second-order Sobol).

    Args:
        folder: a finished Sobol or Morris sweep folder.

    Returns:
        The indices (:func:`sensitivity_table`).

    Raises:
        StoreError: not a batch folder.
        AnalysisError: not a sweep, not a Sobol or Morris design, or no points table yet.
    """
    folder = Path(folder)
    section = sweep_section(folder)
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
    """Boxes of parameter space where a KPI exceeds a threshold.

    Attributes:
        kpi: the KPI.
        above: the threshold (KPI unit); a run is a case of interest when its KPI is above it.
        method: ``cart`` or ``prim``.
        boxes: :data:`BOX_COLUMNS`, one row per (box, parameter); a run is in a box when
            ``lower ≤ value ≤ upper`` for every parameter (unrestricted ones span the range).
        trajectory: PRIM's peeling trajectory (:data:`TRAJECTORY_COLUMNS`), else ``None``.
        path: the boxes' Parquet file.
        trajectory_path: the trajectory's Parquet file (PRIM).
        n_runs: the ok runs analysed.
        n_cases: of which above the threshold.
    """

    kpi: str
    above: float
    method: str
    boxes: pd.DataFrame
    trajectory: pd.DataFrame | None
    path: Path
    trajectory_path: Path | None
    n_runs: int
    n_cases: int


def number_text(x: float) -> str:
    """A threshold as written in file names: ``1000000``, ``0.5``, ``-3``."""
    if math.isfinite(x) and float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


def discovery_paths(folder: str | Path, kpi: str, above: float) -> tuple[Path, Path]:
    """``discovery/<kpi>-above-<X>.parquet`` and its ``-trajectory`` sibling."""
    stem = f"{kpi}-above-{number_text(above)}"
    base = Path(folder) / DISCOVERY
    return base / f"{stem}.parquet", base / f"{stem}-trajectory.parquet"


def _bounds(section: dict[str, Any], x: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Each parameter's whole span: its range, else its values' (or the data's) min and max."""
    out = {}
    for p in section.get("parameters", []):
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
        min_density: smallest share of cases of interest for a leaf to be a box.

    Returns:
        :data:`BOX_COLUMNS`, boxes numbered by decreasing density (then coverage).
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
        if size and k and k / size >= min_density:
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
        ``(boxes, trajectory)``: :data:`BOX_COLUMNS` for the chosen step (box 0) and
        :data:`TRAJECTORY_COLUMNS`.

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
    boxes = pd.DataFrame(
        _box_rows(0, "prim", stats, lows, highs, bounds), columns=list(BOX_COLUMNS)
    )
    return boxes, trajectory


def discover(
    folder: str | Path,
    *,
    kpi: str,
    above: float,
    method: Method = "cart",
) -> Discovery:
    """Find the boxes of parameter space where ``kpi`` exceeds ``above``, and write them.

    The cases are the sweep's ok runs (per-run rows: every seed of every point), the inputs the
    swept parameters (numeric ones). Writes ``discovery/<kpi>-above-<X>.parquet`` and, for PRIM,
    ``discovery/<kpi>-above-<X>-trajectory.parquet``.

    Args:
        folder: a sweep folder.
        kpi: a KPI of the runs table (``bad_debt_max``).
        above: the threshold, in the KPI's unit.
        method: ``cart`` or ``prim``.

    Returns:
        The :class:`Discovery`.

    Raises:
        StoreError: not a batch folder.
        AnalysisError: not a sweep, an unknown KPI or method, no numeric parameter, PRIM not
            installed.
    """
    folder = Path(folder)
    if method not in METHODS:
        raise AnalysisError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if not math.isfinite(above):
        raise AnalysisError(f"--above must be a finite number (got {above})")
    section = sweep_section(folder)
    runs = read_runs(folder)
    if kpi not in KPI_BY_NAME or (len(runs) and kpi not in runs):
        known = [k for k in KPI_BY_NAME if not len(runs) or k in runs]
        raise AnalysisError(f"unknown KPI {kpi!r}; expected one of {', '.join(known)}")
    names = [
        n for n in parameter_names(section) if n in runs and pd.api.types.is_numeric_dtype(runs[n])
    ]
    if not names:
        raise AnalysisError(f"{folder}: no numeric swept parameter to find boxes in")
    ok = runs[(runs["status"] == STATUS_OK)] if len(runs) else runs
    values = pd.to_numeric(ok[kpi], errors="coerce") if len(ok) else pd.Series(dtype=float)
    ok = ok[np.isfinite(values.to_numpy(dtype=np.float64))]
    x = ok[names].astype(np.float64).reset_index(drop=True)
    y = (
        (pd.to_numeric(ok[kpi]).to_numpy(dtype=np.float64) > above)
        if len(ok)
        else np.zeros(0, bool)
    )
    bounds = _bounds(section, x)
    trajectory = None
    if method == "cart":
        boxes = cart_boxes(x, y, bounds)
    else:
        boxes, trajectory = prim_box(x, y, bounds)
    path, trajectory_path = discovery_paths(folder, kpi, above)
    path.parent.mkdir(exist_ok=True)
    _write(boxes, path)
    if trajectory is not None:
        _write(trajectory, trajectory_path)
    else:
        trajectory_path.unlink(missing_ok=True)  # an earlier PRIM's, for boxes now replaced
    return Discovery(
        kpi=kpi,
        above=float(above),
        method=method,
        boxes=boxes,
        trajectory=trajectory,
        path=path,
        trajectory_path=trajectory_path if trajectory is not None else None,
        n_runs=len(y),
        n_cases=int(np.sum(y)),
    )


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def format_discovery(result: Discovery) -> str:
    """The boxes as a table of text: one header line per box, one line per restricted parameter."""
    share = result.n_cases / result.n_runs if result.n_runs else math.nan
    unit = KPI_BY_NAME[result.kpi].unit if result.kpi in KPI_BY_NAME else ""
    lines = [
        f"{result.kpi} > {_fmt(result.above)} {unit}: {result.n_cases} of {result.n_runs} ok "
        f"runs ({share:.0%}); {result.method} boxes → {result.path}"
    ]
    if result.boxes.empty:
        lines.append("  no box (no run, or too few, above the threshold)")
        return "\n".join(lines)
    for box, group in result.boxes.groupby("box", sort=True):
        head = group.iloc[0]
        lines.append(
            f"  box {box}: coverage {head['coverage']:.2f}  density {head['density']:.2f}  "
            f"mass {head['mass']:.2f}"
        )
        restricted = group[group["restricted"]]
        if restricted.empty:
            lines.append("    (the whole space)")
        width = max((len(p) for p in restricted["parameter"]), default=0)
        for row in restricted.itertuples():
            lines.append(f"    {row.parameter.ljust(width)}  {_fmt(row.lower)} … {_fmt(row.upper)}")
    return "\n".join(lines)


__all__ = [
    "BOX_COLUMNS",
    "DISCOVERY",
    "METHODS",
    "POINTS_TABLE",
    "SENSITIVITY_COLUMNS",
    "SENSITIVITY_TABLE",
    "TRAJECTORY_COLUMNS",
    "AnalysisError",
    "Discovery",
    "cart_boxes",
    "discover",
    "format_discovery",
    "format_sensitivity",
    "morris_indices",
    "points_table",
    "prim_box",
    "sensitivity",
    "sensitivity_table",
    "sobol_indices",
    "sweep_section",
]
