"""Axis labels with units: KPIs (from :data:`sim.metrics.KPIS`) and swept scenario parameters.

A swept parameter is named by its scenario field's label and shown in its unit, both the
schema's metadata (:func:`sim.scenario.paths.field_at`): ``crash depth, ETH [-]`` for
``collateral.ETH.price.crash.depth``; a ``scale`` parameter is a multiplier of the scenario's
value (``× base``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim.metrics import KPI_BY_NAME, N_RUNS, RISK_STATS

#: What each ensemble statistic of a KPI is called on an axis.
STAT_NAMES = {
    "mean": "mean",
    "std": "standard deviation",
    "p05": "5 % quantile",
    "p50": "median",
    "p95": "95 % quantile",
    "var95": "VaR95 (95 % quantile over seeds)",
    "var99": "VaR99 (99 % quantile over seeds)",
    "es95": "ES95 (mean of the worst 5 %)",
    "lar95": "95 % quantile over seeds",
}
#: Units of the ensemble columns that are not KPIs (the risk statistics of a sweep point, the
#: run counts).
EXTRA_UNITS = {
    **{k.name: k.unit for k in RISK_STATS},
    "n": "count",
    "n_failed": "count",
    N_RUNS: "count",
}


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """A count with its noun in the right number: ``1 run``, ``3 runs``, ``0 runs``.

    Args:
        n: the count.
        noun: the noun in the singular (``run``, ``seed``, ``design point``).
        plural: the plural when it is not ``noun + "s"``.
    """
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def kpi_unit(kpi: str) -> str:
    """The unit of a KPI or ensemble column (``Dai``, ``count``, ``-``, ...)."""
    if kpi in KPI_BY_NAME:
        return KPI_BY_NAME[kpi].unit
    if kpi in EXTRA_UNITS:
        return EXTRA_UNITS[kpi]
    if kpi.endswith(f"_{N_RUNS}"):  # the runs behind a KPI's statistics
        return "count"
    for name, spec in KPI_BY_NAME.items():
        if kpi.startswith(f"{name}_"):
            return spec.unit
    if kpi.startswith("bad_debt") or kpi.startswith("liquidated_debt"):
        return "Dai"
    return "-"


def kpi_label(kpi: str, stat: str | None = None, prefix: str = "") -> str:
    """An axis label: ``"bad_debt_max, mean [M Dai]"``.

    Args:
        kpi: the KPI's name.
        stat: the ensemble statistic (``mean``, ``var95``, ...), if any.
        prefix: a scale prefix of the unit (``"M "``), when values were divided.
    """
    unit = kpi_unit(kpi)
    text = kpi if stat is None else f"{kpi}, {STAT_NAMES.get(stat, stat)}"
    return f"{text} [{prefix}{unit}]" if unit != "-" or not prefix else f"{text} [× {prefix}]"


def parameter_label(name: str, spec: Mapping[str, Any] | None = None) -> str:
    """An axis label for a swept parameter, with its unit: the schema field's label and unit.

    Args:
        name: the parameter's key (its column in ``points.parquet``).
        spec: its entry in ``batch.json``'s ``sweep.parameters`` (``kind``, ``paths``,
            ``unit``), if known; without a ``unit`` the schema's is used.

    Returns:
        ``"start price over OSM, ETH-A [-]"`` (``ilks.ETH-A.liquidation.buf``: the field's label
        and the named entries or list items on its path), ``"debt ceiling, ETH-A [Dai]"`` or,
        for a ``scale`` parameter, ``"debt_scale [× base value]"``; the name itself where the
        path is no scenario field.
    """
    from sim.scenario.paths import field_at, parts_of
    from sim.scenario.schema import Scenario

    spec = spec or {}
    if spec.get("kind") == "scale":
        return f"{name} [× base value]"
    path = str((spec.get("paths") or [name])[0])
    found = field_at(Scenario, path)
    unit = spec.get("unit") or (found.unit if found is not None else None) or "-"
    if found is None:
        return f"{name} [{unit}]"
    parts = parts_of(path)
    where = [f"{held} {key}" if isinstance(key, int) else str(key) for held, key in found.keys]
    if not where and len(parts) > 1:
        where = [".".join(parts[:-1])]
    return f"{', '.join([found.title, *where])} [{unit}]"
