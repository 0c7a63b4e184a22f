"""A sweep folder's analysis, again on demand: read the folder, compute, write back.

The glue between the sweep folder (:class:`~sim.experiments.store.SweepFolder`, which reads and
writes every file) and the compute modules (:mod:`~sim.experiments.sensitivity`,
:mod:`~sim.experiments.discovery`, which touch none). Nothing here runs the model, so an
analysis can be repeated on a finished sweep; :func:`~sim.experiments.sweep.run_sweep` calls
:func:`sensitivity` as its last step. Public as ``sim.sensitivity`` and ``sim.discover``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.experiments.discovery import Discovery, Method, find_boxes, threshold_of
from sim.experiments.errors import AnalysisError
from sim.experiments.sensitivity import sensitivity_table
from sim.experiments.store import SweepFolder


def _incomplete_message(folder: str | Path, what: str) -> str:
    return (
        f"{folder}: the sweep is incomplete (batch.json says complete: false: runs are missing, "
        f"lost or failed), so {what}; run the rest with cdpsim sweep SWEEP.yaml --out {folder} "
        "--resume (--retry-failed to run the failed ones again too)"
    )


def sensitivity(folder: str | Path, *, require_complete: bool = True) -> pd.DataFrame:
    """Compute (again) the sensitivity indices of a sweep folder and write them.

    Reads ``points.parquet`` and writes ``sensitivity.parquet`` (and ``sensitivity2.parquet``
    with second-order Sobol indices): :func:`~sim.experiments.sensitivity.sensitivity_table`
    on each point's mean over seeds.

    Args:
        folder: a finished Sobol or Morris sweep folder.
        require_complete: refuse a sweep whose ``batch.json`` says it is incomplete (the
            indices need every point); :func:`~sim.experiments.sweep.run_sweep` passes
            ``False`` as it computes them before it marks the sweep complete.

    Returns:
        The indices (Sobol: shares of the variance [-]; Morris: the KPI's unit per whole range
        of the parameter).

    Raises:
        StoreError: not a batch folder.
        AnalysisError: not a sweep, not a Sobol or Morris design, an incomplete sweep, or no
            points table yet (or a damaged one).
    """
    store = SweepFolder(Path(folder))
    section = store.section()
    if require_complete and not store.is_complete():
        raise AnalysisError(_incomplete_message(store.path, "it has no indices"))
    points = store.read_points(section.get("kpis") or ())
    table, second = sensitivity_table(points, section)
    store.write_sensitivity(table, second)
    return table


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
    swept parameters (numeric ones): :func:`~sim.experiments.discovery.find_boxes`. Writes
    ``discovery/<kpi>-<side>-<X>-<method>.parquet`` and, for PRIM, its ``-trajectory``
    sibling; :meth:`SweepFolder.discoveries <sim.experiments.store.SweepFolder.discoveries>`
    reads them back.

    Args:
        folder: a sweep folder.
        kpi: a KPI of the runs table (``bad_debt_max``).
        above: the cases are the runs whose KPI is above this (the KPI's unit).
        below: the cases are the runs whose KPI is below this, for KPIs where low is bad
            (``min_cr_p05``, ``dai_supply_min``); give ``above`` or ``below``, not both.
        method: ``cart`` or ``prim``.

    Returns:
        The :class:`~sim.experiments.discovery.Discovery`, with the paths it was written to.

    Raises:
        StoreError: not a batch folder.
        AnalysisError: not a sweep, an unknown KPI or method, no threshold or both, no numeric
            parameter, PRIM not installed, a damaged runs table, a file in the way of the
            result.
        OSError: the result could not be written (a full disk).
    """
    side, threshold = threshold_of(method, above, below)
    store = SweepFolder(Path(folder))
    section = store.section()
    runs = store.read_runs()
    found = find_boxes(
        runs,
        section.get("parameters") or [],
        kpi=kpi,
        side=side,
        threshold=threshold,
        method=method,
        complete=store.is_complete(),
        where=str(store.path),
    )
    return store.write_discovery(found)


__all__ = ["discover", "sensitivity"]
