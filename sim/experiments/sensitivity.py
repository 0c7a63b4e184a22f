"""Sensitivity indices of a Sobol or Morris sweep: SALib on the points table.

Frames in, frames out; nothing here reads or writes a folder (the glue,
:func:`sim.experiments.sweep_analysis.sensitivity`, reads ``points.parquet`` and writes
``sensitivity.parquet`` through :class:`sim.experiments.store.SweepFolder`).

- :func:`sobol_indices`: Sobol' first-order ``S1`` and total ``ST`` indices
  (``SALib.analyze.sobol``) with bootstrap confidence half-widths, and second-order ``S2``;
- :func:`morris_indices`: Morris elementary effects (``SALib.analyze.morris``: ``mu_star``, its
  confidence, ``sigma``, ``mu``);
- :func:`sensitivity_table`: both for every KPI of a sweep, in long format
  (:data:`SENSITIVITY_COLUMNS`), computed on each point's **mean over seeds**: the seeds are
  common random numbers, so the mean removes seed noise without mixing it into the indices;
- :func:`format_sensitivity`: the most influential parameters per KPI, as text;
- :func:`ranking_note`: whether the indices rank the most influential parameter at all: when
  the bootstrap confidence intervals of the top-ranked parameters overlap, their order is not
  resolved by the design (too few points), and the note says which and how to resolve it. The
  table carries it in its :data:`RANKING_COLUMN`.

Units: Sobol indices are shares of the variance [-]; Morris ``mu_star``, ``sigma`` and ``mu``
are in the KPI's unit per whole range of the parameter (the elementary effect of a step divided
by the step as a fraction of the range).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.errors import AnalysisError
from sim.formatting import significant
from sim.metrics import unit_of

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
#: Columns of the second-order Sobol table, in order.
SENSITIVITY2_COLUMNS = ("method", "kpi", "parameter", "parameter2", "S2", "S2_conf")
#: The sensitivity table's last column: the KPI's ranking note (:func:`ranking_note`) on each
#: of its rows, empty when the design ranks its most influential parameter.
RANKING_COLUMN = "ranking"
#: The index that ranks the parameters, and its confidence half-width, per method.
RANKED_BY: dict[str, tuple[str, str]] = {
    "sobol": ("ST", "ST_conf"),
    "morris": ("mu_star", "mu_star_conf"),
}
#: Most tied parameters whose intervals a ranking note quotes (it names them all).
_SHOWN = 3
#: What a design's ``n`` counts, per method (for the note's advice).
_N_UNIT = {"sobol": "base samples", "morris": "trajectories"}


def parameter_names(section: dict[str, Any]) -> list[str]:
    """The swept parameters' names (column names) in sweep-file order.

    Args:
        section: the ``sweep`` section of ``batch.json`` (its ``parameters``).
    """
    return [p["name"] for p in (section.get("parameters") or [])]


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
        points: the points table (:func:`sim.experiments.points.points_table`).
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
    notes = {
        kpi: ranking_note(group, design, conf_level=options["conf_level"])
        for kpi, group in table.groupby("kpi", sort=False)
    }
    table[RANKING_COLUMN] = [notes.get(kpi) or "" for kpi in table["kpi"]]
    second_table = None
    if pairs:
        second_table = pd.concat(pairs, ignore_index=True)[list(SENSITIVITY2_COLUMNS)]
    return table, second_table


def ranking_note(
    group: pd.DataFrame, design: dict[str, Any], conf_level: float = 0.95
) -> str | None:
    """Whether one KPI's indices rank its most influential parameter; a warning when not.

    The parameters are ranked by ``ST`` (Sobol) or ``mu_star`` (Morris), each with its
    bootstrap confidence interval (the index ± its ``*_conf`` half-width). When the interval of
    a lower-ranked parameter reaches the top parameter's, the design cannot tell which of them
    matters most: the note names every parameter whose interval overlaps the top one's.

    Args:
        group: the sensitivity rows of one KPI (:data:`SENSITIVITY_COLUMNS`).
        design: the sweep's design (``kind``, ``n``), for the advice.
        conf_level: the intervals' confidence level [-].

    Returns:
        The note (``bad_debt_max: the order of buf and tip (by mu_star) is not resolved: …``),
        or ``None`` when the top parameter's interval is clear of every other's, or there is no
        index to rank (a constant KPI, a missing confidence interval).
    """
    if group.empty:
        return None
    method = str(group["method"].iloc[0])
    if method not in RANKED_BY:
        return None
    key, conf = RANKED_BY[method]
    ranked = group[[key, conf, "parameter"]].dropna(subset=[key])
    ranked = ranked.sort_values(key, ascending=False, kind="stable")
    if len(ranked) < 2 or ranked[conf].isna().any() or not ranked[key].iloc[0] > 0:
        return None
    top_low = ranked[key].iloc[0] - ranked[conf].iloc[0]
    tied = ranked[ranked[key] + ranked[conf] >= top_low]
    if len(tied) < 2:
        return None
    kpi = str(group["kpi"].iloc[0])
    unit = "" if method == "sobol" or not unit_of(kpi) else f" {unit_of(kpi)}"
    names = [str(p) for p in tied["parameter"]]
    listed = ", ".join(names[:-1]) + f" and {names[-1]}"
    shown = [
        f"{row.parameter} {significant(getattr(row, key))} ± {getattr(row, conf):.2g}{unit}"
        for row in tied.head(_SHOWN).itertuples()
    ]
    values = ", ".join(shown) + (f", … {len(tied) - _SHOWN} more" if len(tied) > _SHOWN else "")
    n = design.get("n")
    advice = "a larger design narrows them"
    if isinstance(n, int) and not isinstance(n, bool):
        advice += f": --n {2 * n} (now {n} {_N_UNIT.get(method, 'points')})"
    return (
        f"{kpi}: the order of {listed} (by {key}) is not resolved: their "
        f"{conf_level * 100:g} % confidence intervals overlap ({values}); {advice}"
    )


def format_sensitivity(table: pd.DataFrame, top: int = 5) -> str:
    """The most influential parameters per KPI, as lines of text (total index or mu_star).

    Args:
        table: the indices (:func:`sensitivity_table`).
        top: the parameters shown per KPI, by ``ST`` (Sobol) or ``mu_star`` (Morris).

    Returns:
        A heading per KPI and a line per parameter: the index with its confidence half-width
        (Morris's in the KPI's unit), then ``S1`` (Sobol) or ``sigma`` (Morris).
    """
    lines = []
    for kpi, group in table.groupby("kpi", sort=False):
        method = group["method"].iloc[0]
        key, conf = ("ST", "ST_conf") if method == "sobol" else ("mu_star", "mu_star_conf")
        ranked = group.sort_values(key, ascending=False, na_position="last").head(top)
        unit = "" if method == "sobol" or not unit_of(kpi) else f" {unit_of(kpi)}"
        lines.append(f"{kpi} ({method}, by {key}):")
        if ranked[key].isna().all():
            lines.append("  no index: the KPI is the same at every point, or a point has no ok run")
            continue
        width = max(len(p) for p in ranked["parameter"])
        for row in ranked.itertuples():
            value, half = getattr(row, key), getattr(row, conf)
            index = f"{key} {significant(value)} ± {half:.2g}{unit}"
            extra = f"S1 {row.S1:.3f}" if method == "sobol" else f"sigma {significant(row.sigma)}"
            lines.append(f"  {row.parameter.ljust(width)}  {index}  {extra}")
    return "\n".join(lines)


__all__ = [
    "RANKING_COLUMN",
    "SENSITIVITY2_COLUMNS",
    "SENSITIVITY_COLUMNS",
    "format_sensitivity",
    "morris_indices",
    "parameter_names",
    "ranking_note",
    "sensitivity_table",
    "sobol_indices",
]
