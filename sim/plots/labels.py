"""Axis labels with units: KPIs (from :data:`sim.metrics.KPIS`) and swept scenario parameters.

A parameter's unit comes from the scenario schema: the ``[unit]`` in its field's description,
``s`` for durations, ``1/yr`` for annual rates, ``-`` otherwise; a ``scale`` parameter is a
multiplier of the scenario's value (``× base``).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, PlainSerializer
from pydantic.fields import FieldInfo

from sim.metrics import KPI_BY_NAME, RISK_STATS
from sim.units import format_duration

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
EXTRA_UNITS = {**{k.name: k.unit for k in RISK_STATS}, "n": "count", "n_failed": "count"}
_BRACKETED = re.compile(r"\[([^\]]+)\]")


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


def _unwrap(tp: Any) -> list[Any]:
    """The concrete types behind an annotation (unions, optionals and Annotated flattened)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(tp) for t in _unwrap(arg)]
    return [tp]


def schema_field(path: str) -> FieldInfo | None:
    """The schema field a dotted scenario path leads to (``ilks.ETH-A.liquidation.buf``).

    Mapping keys (ilk and collateral names) and list indexes are stepped over; in a union
    (``liquidation: clip | flip``) the first member that has the field wins.

    Returns:
        The field, or ``None`` when the path leads nowhere in the schema.
    """
    from sim.scenario.schema import Scenario

    candidates: list[Any] = [Scenario]
    found: FieldInfo | None = None
    for part in path.split("."):
        following: list[Any] = []
        found = None
        for tp in candidates:
            for concrete in _unwrap(tp):
                origin = typing.get_origin(concrete)
                if isinstance(concrete, type) and issubclass(concrete, BaseModel):
                    field = concrete.model_fields.get(part)
                    if field is not None:
                        found = found or field
                        following.append(field.annotation)
                elif origin is dict:
                    following.append(typing.get_args(concrete)[1])
                elif origin is list and part.isdigit():
                    following.append(typing.get_args(concrete)[0])
        if not following:
            return None
        candidates = following
    return found


def field_unit(field: FieldInfo | None) -> str:
    """A schema field's unit: ``[unit]`` in its description, ``s`` for a duration, ``-`` else."""
    if field is None:
        return "-"
    if any(isinstance(m, PlainSerializer) and m.func is format_duration for m in field.metadata):
        return "s"
    description = field.description or ""
    bracketed = _BRACKETED.search(description)
    if bracketed:
        return bracketed.group(1)
    if "/yr" in description or "per year" in description or "annual" in description:
        return "1/yr"
    return "-"


def parameter_label(name: str, spec: Mapping[str, Any] | None = None) -> str:
    """An axis label for a swept parameter, with its unit.

    Args:
        name: the parameter's key (its column in ``points.parquet``).
        spec: its entry in ``batch.json``'s ``sweep.parameters`` (``kind``, ``paths``,
            ``unit``), if known; without a ``unit`` the schema's is used.

    Returns:
        ``"ilks.ETH-A.liquidation.buf [-]"``, ``"ilks.ETH-A.line [Dai]"`` or, for a ``scale``
        parameter, ``"borrowers debt [× base value]"``.
    """
    spec = spec or {}
    if spec.get("kind") == "scale":
        return f"{name} [× base value]"
    if spec.get("unit"):
        return f"{name} [{spec['unit']}]"
    paths = spec.get("paths") or [name]
    return f"{name} [{field_unit(schema_field(str(paths[0])))}]"
