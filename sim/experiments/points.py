"""The points table of a sweep: one row per design point, from the runs table.

A table in, a table out; nothing here reads or writes a folder
(:class:`sim.experiments.store.SweepFolder` writes it as ``points.parquet``).

Each row holds the point's parameters, how many of its runs succeeded, failed and are not done
yet (``n``, ``n_failed``, ``n_missing``: an interrupted sweep's table is of the runs done),
each analysed KPI's mean, standard deviation and 5/50/95 % quantiles over the seeds with the
runs they rest on (``<kpi>_n_runs``: its finite values), and the risk statistics of
:data:`sim.metrics.RISK_STATS` (Value at Risk and expected shortfall of the realised deficit
``bad_debt_max``, probability of bad debt, Liquidations at Risk) with theirs (``n_runs``).

Units: KPI statistics are in the KPI's unit (``sim.metrics.KPIS``); counts are runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.metrics import N_RUNS, ensemble_kpi_stats, risk_stats
from sim.rundir import STATUS_FAILED, STATUS_OK

#: Run counts of each point in the points table: ok, failed, not done yet (interrupted sweep).
COUNT_COLUMNS = ("n", "n_failed", "n_missing")


def points_table(
    runs: pd.DataFrame, design: pd.DataFrame, kpis: Sequence[str], n_seeds: int
) -> pd.DataFrame:
    """One row per design point: parameters, run counts, KPI statistics and risk statistics.

    Args:
        runs: the runs table (a ``point`` column, ``status`` and the KPIs).
        design: the design: ``point`` and one column per parameter, one row per point (points
            without runs get ``n = 0`` and NaN statistics).
        kpis: the KPIs to summarise (``k_mean``, ``k_std``, ``k_p05``, ``k_p50``, ``k_p95``,
            ``k_n_runs``).
        n_seeds: the runs each point has when the sweep is complete (its seeds).

    Returns:
        ``point``, the parameter columns, ``n`` (ok runs), ``n_failed`` (failed runs),
        ``n_missing`` (runs not done yet: ``n_seeds − n − n_failed``, above zero only in an
        interrupted sweep), the KPI statistics over the ok runs (the KPI's unit; ``k_n_runs``:
        the runs behind them), then ``bad_debt_var95``, ``bad_debt_var99``, ``bad_debt_es95``
        [Dai], ``p_bad_debt`` [-], ``liquidated_debt_lar95`` [Dai]
        (:data:`sim.metrics.RISK_STATS`) and ``n_runs`` (the runs behind them).
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
        counts = [*COUNT_COLUMNS, N_RUNS, *(f"{kpi}_{N_RUNS}" for kpi in kpis)]
        for name in counts:
            table[name] = table[name].astype("int64")
    return table


__all__ = ["COUNT_COLUMNS", "points_table"]
