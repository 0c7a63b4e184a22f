"""Axis labels with units: KPIs (from :data:`sim.metrics.KPIS`) and swept scenario parameters.

A swept parameter is named by its scenario field's label and shown in its unit, both the
schema's metadata (:func:`sim.scenario.paths.field_at`): ``crash depth (ETH) [-]`` for
``collateral.ETH.price.crash.depth``, the path itself kept for small type under the label
(:func:`parameter_info`, the one place a sweep figure gets a parameter's name from); a
``scale`` parameter is a multiplier of the scenario's value (``× base``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ParameterLabel:
    """How a swept parameter is named in a figure.

    Attributes:
        name: the human name: the schema field's label and where on the path it sits
            (``crash depth (ETH)``), or the parameter's own name where its path is no field.
        unit: its unit (``-``, ``Dai``, ``s``, ``× base value`` for a ``scale`` parameter).
        path: the scenario path it sets (``collateral.ETH.price.crash.depth``; several joined
            by ``, ``), shown in small type under the name; ``None`` when it adds nothing (the
            name is the path).
    """

    name: str
    unit: str
    path: str | None = None

    @property
    def text(self) -> str:
        """The name with its unit: ``crash depth (ETH) [-]``."""
        return f"{self.name} [{self.unit}]"


def parameter_info(name: str, spec: Mapping[str, Any] | None = None) -> ParameterLabel:
    """A swept parameter's human name, unit and path, from the schema's field metadata.

    Args:
        name: the parameter's key (its column in ``points.parquet``; by default its path).
        spec: its entry in ``batch.json``'s ``sweep.parameters`` (``kind``, ``paths``,
            ``unit``), if known; without a ``unit`` the schema's is used.

    Returns:
        ``crash depth (ETH)`` in ``-`` for ``collateral.ETH.price.crash.depth`` (the field's
        label and the named entries or list items on its path: ``start price over OSM
        (ETH-A)``, ``capital per keeper (keepers 0)``); ``debt_scale`` in ``× base value`` for
        a ``scale`` parameter; the name itself where the path is no scenario field.
    """
    from sim.scenario.paths import field_at, parts_of
    from sim.scenario.schema import Scenario

    spec = spec or {}
    paths = [str(p) for p in spec.get("paths") or [name]]
    shown = ", ".join(paths)
    if spec.get("kind") == "scale":
        return ParameterLabel(name, "× base value", shown if shown != name else None)
    found = field_at(Scenario, paths[0])
    unit = str(spec.get("unit") or (found.unit if found is not None else None) or "-")
    if found is None:
        return ParameterLabel(name, unit, shown if shown != name else None)
    where: list[str] = []
    for path in paths:  # several paths (one parameter setting each): where each sits
        at = field_at(Scenario, path) if path != paths[0] else found
        if at is None:
            continue
        mine = [f"{held} {key}" if isinstance(key, int) else str(key) for held, key in at.keys]
        parts = parts_of(path)
        if not mine and len(parts) > 1:
            mine = [".".join(parts[:-1])]
        where += [w for w in mine if w not in where]
    human = found.title + (f" ({', '.join(where)})" if where else "")
    return ParameterLabel(human, unit, shown if shown != human else None)


def parameter_label(name: str, spec: Mapping[str, Any] | None = None) -> str:
    """An axis label for a swept parameter, with its unit (:func:`parameter_info`'s text).

    Args:
        name: the parameter's key (its column in ``points.parquet``).
        spec: its entry in ``batch.json``'s ``sweep.parameters``, if known.

    Returns:
        ``"start price over OSM (ETH-A) [-]"`` (``ilks.ETH-A.liquidation.buf``), ``"debt
        ceiling (ETH-A) [Dai]"`` or, for a ``scale`` parameter, ``"debt_scale [× base
        value]"``; the name itself where the path is no scenario field.
    """
    return parameter_info(name, spec).text


def parameter_infos(
    parameters: Sequence[Mapping[str, Any]] | None, names: Sequence[str]
) -> dict[str, ParameterLabel]:
    """:func:`parameter_info` of each name, its spec looked up in ``parameters`` by ``name``."""
    specs = {str(p.get("name")): p for p in parameters or ()}
    return {n: parameter_info(n, specs.get(n)) for n in names}
