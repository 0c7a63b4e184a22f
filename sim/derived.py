"""Quantities derived from a run's or a batch's tables, computed once for every reader.

The figures (:mod:`sim.plots`), the report (:mod:`sim.report`) and the notebooks show these;
they do not compute them. Tables in, arrays or tables out: no files (:mod:`sim.results` reads
them), no matplotlib, no formatting.

Of one run (its ``timeseries.parquet`` and ``auctions.parquet``):

- :func:`liquidated_debt`: cumulative liquidated debt per tick (Σ ``due`` by ``start_tick``);
- :func:`ilk_total`: a per-ilk field summed over the ilks per tick (unsafe debt, auctions
  running);
- :func:`auction_outcomes` and :func:`auction_counts`: what each finished auction paid against
  the market price, zero-bid auctions marked, and how many there are of each;
- :func:`started_per_bin`: a per-tick count (auctions started) summed over bins of ticks;
- :func:`percent_of`: a price as % of its value at the start.

Of a batch (the runs table, the runs' tables stacked with a ``run_id`` column):

- :func:`run_paths`: one column's path per run (ticks × runs);
- :func:`liquidated_debt_paths`: cumulative liquidated debt per run and tick;
- :func:`percent_of_start`: each run's path as % of its start;
- :func:`quantile_bands`: quantiles over the runs per tick (the fan chart's bands);
- :func:`is_ok`: the runs that finished (status ``ok``).

The KPIs of a run (:func:`sim.metrics.summarize`) and the statistics over runs
(:func:`sim.metrics.value_at_risk`, :func:`sim.metrics.ensemble_kpi_stats`, ...) are in
:mod:`sim.metrics`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sim.metrics import ZERO_BID_FRACTION
from sim.record import col
from sim.rundir import STATUS_OK

#: Percent per unit.
PERCENT = 100.0
#: The quantiles of a fan's bands, low to high: 5–95 %, 25–75 % and the median.
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Columns of :func:`auction_outcomes`.
OUTCOME_COLUMNS = ("ilk", "end_tick", "time", "paid", "market", "ratio", "zero_bid")


# ------------------------------------------------------------------------------------- one run


def ilk_total(timeseries: pd.DataFrame, field: str) -> np.ndarray:
    """``field[ILK]`` summed over the ilks, per tick (zeros when no ilk has the field).

    Args:
        timeseries: the run's ``timeseries.parquet``.
        field: a per-ilk field (``unsafe_debt``, ``auctions_active``, ...).

    Returns:
        One value per row of ``timeseries``, in the field's unit.
    """
    names = [c for c in timeseries.columns if c.startswith(f"{field}[")]
    if not names:
        return np.zeros(len(timeseries))
    return timeseries[names].to_numpy(dtype=float).sum(axis=1)


def liquidated_debt(timeseries: pd.DataFrame, auctions: pd.DataFrame | None) -> np.ndarray:
    """Cumulative liquidated debt per tick of a run: Σ ``due`` of the auctions started so far.

    Its last value is the run's ``liquidated_debt`` KPI.

    Args:
        timeseries: the run's ``timeseries.parquet`` (one row per tick from tick 0).
        auctions: the run's ``auctions.parquet`` (``None`` or empty: no auctions).

    Returns:
        One value per row of ``timeseries`` [Dai].
    """
    out = np.zeros(len(timeseries))
    if auctions is not None and len(auctions):
        ticks = np.clip(auctions["start_tick"].to_numpy(dtype=np.int64), 0, len(timeseries) - 1)
        np.add.at(out, ticks, auctions["due"].to_numpy(dtype=float))
    return np.cumsum(out)


def auction_outcomes(
    timeseries: pd.DataFrame,
    auctions: pd.DataFrame | None,
    *,
    zero_bid_fraction: float = ZERO_BID_FRACTION,
) -> pd.DataFrame:
    """Finished auctions that sold collateral, with the price they paid and the market's.

    Args:
        timeseries: the run's per-tick table (``price[ILK]``, ``dai_price``, ``time``).
        auctions: the run's ``auctions.parquet`` (``None`` or empty: no auctions).
        zero_bid_fraction: below this fraction of the market value an auction counts as
            zero-bid (the ``auctions_zero_bid`` KPI's rule) [-].

    Returns:
        One row per finished auction with ``collateral_sold > 0``: ``ilk``, ``end_tick``,
        ``time`` (naive UTC; the tick without a ``time`` column), ``paid`` (Dai raised at the
        Dai price per token sold) [USD/token], ``market`` (the collateral's market price at the
        end tick) [USD/token], ``ratio`` (paid / market) [-] and ``zero_bid`` (bool).
    """
    if auctions is None or len(auctions) == 0:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in OUTCOME_COLUMNS})
    done = auctions[(auctions["end_tick"] >= 0) & (auctions["collateral_sold"] > 0)]
    last = len(timeseries) - 1
    ticks = np.minimum(done["end_tick"].to_numpy(dtype=np.int64), last)
    dai_price = (
        timeseries["dai_price"].to_numpy(dtype=float)[ticks]
        if "dai_price" in timeseries
        else np.ones(len(done))
    )
    market = np.full(len(done), np.nan)
    ilks = done["ilk"].astype(str).to_numpy()
    for ilk in pd.unique(ilks):
        if col("price", ilk) in timeseries:
            mask = ilks == ilk
            market[mask] = timeseries[col("price", ilk)].to_numpy(dtype=float)[ticks[mask]]
    paid = (
        done["dai_raised"].to_numpy(dtype=float)
        * dai_price
        / done["collateral_sold"].to_numpy(dtype=float)
    )
    if "time" in timeseries:
        times = pd.to_datetime(timeseries["time"], utc=True).dt.tz_localize(None).to_numpy()
    out = pd.DataFrame(
        {
            "ilk": ilks,
            "end_tick": ticks,
            "time": times[ticks] if "time" in timeseries else ticks,
            "paid": paid,
            "market": market,
        }
    )
    out["ratio"] = out["paid"] / out["market"]
    out["zero_bid"] = out["ratio"] < zero_bid_fraction
    return out


def auction_counts(auctions: pd.DataFrame | None, outcomes: pd.DataFrame) -> dict[str, int]:
    """How many auctions a run started, how many sold, were zero-bid, still run at its end.

    Args:
        auctions: the run's ``auctions.parquet`` (``None``: no auctions).
        outcomes: its :func:`auction_outcomes`.

    Returns:
        ``started``, ``sold`` (finished with a sale), ``zero_bid`` (of those) and ``running``
        (``end_tick`` < 0) [count].
    """
    started = 0 if auctions is None else len(auctions)
    running = 0 if started == 0 else int((auctions["end_tick"] < 0).sum())
    return {
        "started": started,
        "sold": len(outcomes),
        "zero_bid": int(outcomes["zero_bid"].sum()),
        "running": running,
    }


def started_per_bin(counts: np.ndarray, per_bin: int) -> tuple[np.ndarray, np.ndarray]:
    """A per-tick count (``liquidations[ILK]``: auctions started) summed over bins of ticks.

    Tick 0 is the initial state: the bins start at tick 1, ``per_bin`` ticks each (the last
    one shorter if the run does not fill it).

    Args:
        counts: one count per tick, from tick 0.
        per_bin: ticks per bin (at least 1).

    Returns:
        The first tick of each bin, and its sum.
    """
    starts = np.arange(1, len(counts), per_bin)
    if not len(starts):
        return starts, np.zeros(0)
    return starts, np.add.reduceat(counts[1:], starts - 1)


def percent_of(values: np.ndarray, start: float) -> np.ndarray:
    """A series as % of its value at the start (``start``: 100 %; a start of 0 gives NaN).

    Args:
        values: the series (a price) [its unit].
        start: the value at the start it is relative to [the same unit].

    Returns:
        ``values`` [% of ``start``].
    """
    base = start / PERCENT if start else np.nan
    return np.asarray(values, dtype=float) / base


# -------------------------------------------------------------------------------------- batches


def is_ok(runs: pd.DataFrame) -> pd.Series:
    """Which runs of a runs table finished (status ``ok``); every run without a status column."""
    if "status" not in runs:
        return pd.Series(True, index=runs.index)
    return runs["status"].astype(str) == STATUS_OK


def run_paths(
    timeseries: pd.DataFrame, column: str, run_ids: Sequence[str], ticks: pd.Index
) -> pd.DataFrame:
    """One column's path per run: the batch's stacked time series as a (ticks × runs) table.

    Args:
        timeseries: the runs' time series stacked, with a ``run_id`` column.
        column: the column (``price[ETH-A]``, ``bad_debt``, ...).
        run_ids: the runs.
        ticks: the ticks to report (the index of the result): NaN where a run has none.
    """
    mine = timeseries[timeseries["run_id"].isin(run_ids)]
    return mine.pivot(index="tick", columns="run_id", values=column).reindex(ticks)


def liquidated_debt_paths(
    auctions: pd.DataFrame | None,
    ticks: pd.Index,
    last_ticks: Mapping[str, int] | pd.Series | None = None,
) -> pd.DataFrame:
    """Cumulative liquidated debt per run and tick: Σ ``due`` of the auctions started so far.

    Args:
        auctions: the auctions of every run, with a ``run_id`` column.
        ticks: the ticks to report (the index of the result).
        last_ticks: each run's last recorded tick, by run id. Given, the table has a column
            per run in it (0 until the first auction, also for runs without any) and NaN after
            the run's last tick: a run that ended sooner is not drawn on as if nothing more
            were liquidated. Without it, runs without auctions are absent and every path runs
            to the last of ``ticks``.

    Returns:
        A (ticks × runs) table [Dai].
    """
    if auctions is None or len(auctions) == 0:
        paths = pd.DataFrame(index=ticks, dtype=float)
    else:
        per_tick = auctions.groupby(["start_tick", "run_id"], observed=True)["due"].sum().unstack()
        per_tick = per_tick.reindex(ticks.union(per_tick.index)).fillna(0.0).cumsum()
        paths = per_tick.reindex(ticks)
    if last_ticks is None:
        return paths
    last = pd.Series(last_ticks, dtype=float)
    paths = paths.reindex(columns=last.index, fill_value=0.0)
    after = ticks.to_numpy(dtype=float)[:, None] > last.to_numpy()[None, :]
    return paths.mask(after)


def percent_of_start(paths: pd.DataFrame) -> pd.DataFrame:
    """Each run's path as % of its first finite value (a start of 0 gives NaN).

    Args:
        paths: a (ticks × runs) table (:func:`run_paths`).
    """
    first = paths.bfill().iloc[0] if len(paths) else pd.Series(dtype=float)
    return paths / first.replace(0.0, np.nan) * PERCENT


def quantile_bands(values: np.ndarray, quantiles: Sequence[float] = QUANTILES) -> np.ndarray:
    """The ``quantiles`` of each row of a (ticks × runs) array, over its finite values.

    A tick no run reached (all NaN: runs of different lengths) gets NaN, without numpy's
    "All-NaN slice" warning.

    Returns:
        A (quantiles × ticks) array.
    """
    out = np.full((len(quantiles), values.shape[0]), np.nan)
    has = np.isfinite(values).any(axis=1)
    if has.any():
        out[:, has] = np.nanquantile(values[has], quantiles, axis=1)
    return out


__all__ = [
    "OUTCOME_COLUMNS",
    "PERCENT",
    "QUANTILES",
    "auction_counts",
    "auction_outcomes",
    "ilk_total",
    "is_ok",
    "liquidated_debt",
    "liquidated_debt_paths",
    "percent_of",
    "percent_of_start",
    "quantile_bands",
    "run_paths",
    "started_per_bin",
]
