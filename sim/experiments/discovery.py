"""Scenario discovery: the boxes of parameter space where a KPI crosses a threshold.

As in EMA Workbench, on **per-run rows** (the runs table), so a box's ``density`` reads as the
probability, over seeds and points in the box, that the KPI crosses the threshold. Frames in, a
:class:`Discovery` out; nothing here reads or writes a folder (the glue,
:func:`sim.experiments.sweep_analysis.discover`, reads the runs table and writes
``discovery/<kpi>-<above|below>-<X>-<method>.parquet`` through
:class:`sim.experiments.store.SweepFolder`, which also reads them back).

- :func:`cart_boxes`: scikit-learn's decision tree; every leaf in which more than half of the
  runs are cases of interest is a box (always installed, the default);
- :func:`prim_box`: EMA Workbench's Patient Rule Induction Method with its peeling trajectory
  (an optional extra, ``pip install 'cdpsim[prim]'``, as it brings statsmodels, seaborn and an
  optimisation library that nothing else needs);
- :func:`find_boxes`: the cases of a runs table (above, or below, the threshold) and one
  method's boxes; when the threshold is crossed in :data:`ALMOST_EVERYWHERE` of the runs or
  more, there is no box, and the result says so;
- :class:`Discovery`: the one result type, of :func:`find_boxes` and of the files read back
  (the CLI, the plots, the report and the dashboard take it); :func:`format_discovery` prints it.

Units: ``coverage``, ``density`` and ``mass`` are shares [-]; thresholds are in the KPI's unit;
box bounds are in the parameter's unit (seconds for durations, printed as ``59m46s``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.experiments.errors import AnalysisError
from sim.formatting import kpi_amount, number_text, parameter_value
from sim.metrics import KPI_BY_NAME, unit_of
from sim.rundir import STATUS_OK

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


def discovery_stem(kpi: str, side: str, threshold: float, method: str) -> str:
    """A discovery's name: ``<kpi>-<side>-<X>-<method>`` (``X`` by :func:`number_text`).

    Args:
        kpi: the KPI.
        side: ``above`` or ``below``.
        threshold: the threshold, in the KPI's unit (``1000000``, ``1.3``).
        method: ``cart`` or ``prim`` (so that one method's result never replaces the other's).
    """
    return f"{kpi}-{side}-{number_text(threshold)}-{method}"


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
        path: the boxes' Parquet file (``None`` until written).
        trajectory_path: the trajectory's Parquet file (PRIM, once written), else ``None``.
        n_runs: the ok runs analysed (``None`` when not counted).
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
    trajectory: pd.DataFrame | None = None
    path: Path | None = None
    trajectory_path: Path | None = None
    n_runs: int | None = None
    n_cases: int | None = None
    note: str = ""
    units: dict[str, str | None] = field(default_factory=dict)
    complete: bool = True

    @property
    def name(self) -> str:
        """The file's stem: ``<kpi>-<side>-<X>-<method>`` (a file read back: its own stem)."""
        if self.path is not None:
            return self.path.stem
        return discovery_stem(self.kpi, self.side, self.threshold, self.method)

    @property
    def label(self) -> str:
        """``bad_debt_max above 1,000,000 Dai (CART)``: what the boxes are of, for titles."""
        amount = kpi_amount(self.threshold, unit_of(self.kpi))
        return f"{self.kpi} {self.side} {amount} ({self.method.upper()})"


def threshold_of(method: str, above: float | None, below: float | None) -> tuple[str, float]:
    """The side and the threshold a discovery asks for, checked.

    Args:
        method: ``cart`` or ``prim``.
        above: the cases are the runs whose KPI is above this (the KPI's unit).
        below: the cases are the runs whose KPI is below this; give ``above`` or ``below``.

    Returns:
        ``(side, threshold)``: ``above`` or ``below``, and the threshold as a float.

    Raises:
        AnalysisError: an unknown method, no threshold or both, a threshold that is not finite.
    """
    if method not in METHODS:
        raise AnalysisError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if (above is None) == (below is None):
        raise AnalysisError("give a threshold: --above X or --below X (one of them)")
    side = "above" if above is not None else "below"
    threshold = float(above if above is not None else below)  # type: ignore[arg-type]
    if not math.isfinite(threshold):
        raise AnalysisError(f"--{side} must be a finite number (got {threshold})")
    return side, threshold


def _bounds(
    parameters: Sequence[Mapping[str, Any]], x: pd.DataFrame
) -> dict[str, tuple[float, float]]:
    """Each parameter's whole span: its range, else its values' (or the data's) min and max."""
    out = {}
    for p in parameters:
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


def find_boxes(
    runs: pd.DataFrame,
    parameters: Sequence[Mapping[str, Any]],
    *,
    kpi: str,
    side: str,
    threshold: float,
    method: Method = "cart",
    complete: bool = True,
    where: str = "the sweep",
) -> Discovery:
    """The boxes of parameter space where ``kpi`` is on ``side`` of ``threshold``.

    The cases are the ok runs (per-run rows: every seed of every point) with a finite KPI, the
    inputs the swept parameters (numeric ones). When the threshold is crossed almost everywhere
    (at least :data:`ALMOST_EVERYWHERE` of the runs) there is no box, and ``note`` says so.

    Args:
        runs: the runs table (``status``, the KPI, one column per swept parameter).
        parameters: the swept parameters as the ``sweep`` section of ``batch.json`` lists them
            (``name``, ``range`` [the parameter's unit], ``unit``).
        kpi: a KPI of the runs table (``bad_debt_max``).
        side: ``above`` or ``below`` (:func:`threshold_of`).
        threshold: the threshold, in the KPI's unit.
        method: ``cart`` or ``prim``.
        complete: every run of the sweep is done (recorded in the result).
        where: what the runs are of, for messages (the sweep folder).

    Returns:
        The :class:`Discovery`, not written yet (``path`` is ``None``).

    Raises:
        AnalysisError: an unknown KPI, or one the runs table lacks; no numeric parameter; PRIM
            not installed.
    """
    if kpi not in KPI_BY_NAME or (len(runs) and kpi not in runs):
        known = [k for k in KPI_BY_NAME if not len(runs) or k in runs]
        if kpi in KPI_BY_NAME:
            raise AnalysisError(
                f"{where}: its runs table has no KPI {kpi!r} (it has: {', '.join(known) or 'none'})"
            )
        raise AnalysisError(f"unknown KPI {kpi!r}; expected one of {', '.join(known)}")
    names = [
        n
        for n in (p["name"] for p in parameters)
        if n in runs and pd.api.types.is_numeric_dtype(runs[n])
    ]
    if not names:
        raise AnalysisError(f"{where}: no numeric swept parameter to find boxes in")
    ok = runs[(runs["status"] == STATUS_OK)] if len(runs) else runs
    values = pd.to_numeric(ok[kpi], errors="coerce") if len(ok) else pd.Series(dtype=float)
    finite = np.isfinite(values.to_numpy(dtype=np.float64))
    ok, kpi_values = ok[finite], values.to_numpy(dtype=np.float64)[finite]
    x = ok[names].astype(np.float64).reset_index(drop=True)
    y = kpi_values > threshold if side == "above" else kpi_values < threshold
    bounds = _bounds(parameters, x)
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
    units = {p["name"]: p.get("unit") for p in parameters if "name" in p}
    return Discovery(
        kpi=kpi,
        side=side,
        threshold=threshold,
        method=method,
        boxes=boxes,
        trajectory=trajectory,
        n_runs=n_runs,
        n_cases=n_cases,
        note=note,
        units={k: units.get(k) for k in names},
        complete=complete,
    )


#: How each method chooses its boxes, printed under them.
_RULES = {
    "cart": "a box is a leaf of the decision tree in which more than half of the runs are cases",
    "prim": f"the box of highest coverage whose density reaches {PRIM_DENSITY_GOAL:.0%} on "
    "PRIM's peeling trajectory, else the densest",
}


def format_discovery(result: Discovery) -> str:
    """The boxes as a table of text: one header line per box, one line per restricted parameter.

    Thresholds carry the KPI's unit (none for ratios and counts); bounds of duration
    parameters are durations (``59m46s``), the others numbers (:mod:`sim.formatting`).

    Args:
        result: a discovery (its ``path`` is named as where the boxes went).

    Returns:
        The threshold with the counts of runs and cases, a line when the sweep is incomplete,
        the boxes (coverage, density, mass and the restricted parameters' bounds) or why there
        is none, and the rule the method chose its boxes by.
    """
    sign = ">" if result.side == "above" else "<"
    counts = ""
    if result.n_runs is not None and result.n_cases is not None:
        share = result.n_cases / result.n_runs if result.n_runs else math.nan
        counts = f" {result.n_cases} of {result.n_runs} ok runs ({share:.0%});"
    lines = [
        f"{result.kpi} {sign} {kpi_amount(result.threshold, unit_of(result.kpi))}:{counts} "
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
    "CART_MAX_DEPTH",
    "CART_MIN_DENSITY",
    "METHODS",
    "MIN_BOX_MASS",
    "PRIM_ALPHA",
    "PRIM_DENSITY_GOAL",
    "SIDES",
    "TRAJECTORY_COLUMNS",
    "Discovery",
    "Method",
    "cart_boxes",
    "discovery_stem",
    "find_boxes",
    "format_discovery",
    "prim_box",
    "threshold_of",
]
