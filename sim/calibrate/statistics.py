"""Summary statistics of one run: what a calibration target or a validation case compares.

A statistic is a number computed from a run's tables (its time series, its auction table and
its KPIs), optionally restricted to some ilks. Every KPI of :mod:`sim.metrics` is one; this
module adds the figures the public record of a crash gives and the KPIs do not:

- ``zero_bid_share``: finished auctions that sold collateral for under 1 % of its market value,
  over the finished auctions;
- ``given_away_usd``: the market value of the collateral those auctions sold [USD];
- ``first_zero_bid_hour``: when the first of them ended [h after the start] (NaN if none);
- ``effective_penalty``: the penalty collected over the debt liquidated;
- ``mean_auction_minutes``: the mean duration of the finished auctions [min];
- ``takers``: the distinct keepers that won (bought from) an auction;
- ``debt_auction_dai``: Dai raised by debt auctions (flop) by the end [Dai];
- ``dai_peak`` [USD] and ``dai_peak_hour`` [h after the start]: the highest Dai price and when;
  ``within_h`` limits both to the first hours of the run (a record that covers one day);
- ``dai_low`` [USD] and ``dai_low_hour`` [h after the start]: the lowest Dai price and when
  (``within_h`` as for the peak);
- ``psm_gem_growth``: the stablecoin the PSM took in over the run, ``psm_debt`` at the end less
  at the start [Dai] (the PSM mints one Dai per token; negative when it paid out);
- ``dai_supply_change``: Dai supply (the Vat's ``debt``) at the end less at the start [Dai];
- ``psm_depeg_loss``: what the PSM paid above market for stablecoin it took below par,
  ``Σ max(Δpsm_debt, 0)·max(1 − psm_gem_price, 0)`` over ticks [USD] — its loss had the
  stablecoin stayed where it was taken (0 without a stablecoin price).

``compute(result, spec)`` evaluates one; :data:`STATISTICS` lists them with their units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from sim.metrics import KPI_BY_NAME, _auction_kpis, sold_value_usd, zero_bid_mask


class RunTables(Protocol):
    """What a statistic reads: a :class:`~sim.runner.RunResult` or a loaded run folder."""

    timeseries: pd.DataFrame
    auctions: pd.DataFrame
    summary: Mapping[str, Any]


@dataclass(frozen=True)
class Statistic:
    """A statistic's name, unit and one-line meaning."""

    name: str
    unit: str
    description: str
    by_ilk: bool  #: ``ilks:`` restricts it to some ilks


_EXTRA = (
    Statistic(
        "zero_bid_share", "", "share of finished auctions won with ~0 bids (<1 % of value)", True
    ),
    Statistic(
        "given_away_usd", "USD", "market value of the collateral sold in those auctions", True
    ),
    Statistic(
        "first_zero_bid_hour",
        "h",
        "hours from the start to the end of the first such auction",
        True,
    ),
    Statistic("effective_penalty", "", "penalty collected over debt liquidated", True),
    Statistic("mean_auction_minutes", "min", "mean duration of the finished auctions", True),
    Statistic("takers", "", "distinct keepers that bought from an auction", True),
    Statistic(
        "debt_auction_dai", "Dai", "Dai raised by debt auctions by the end of the run", False
    ),
    Statistic("dai_peak", "USD", "highest Dai price (within within_h hours of the start)", False),
    Statistic("dai_peak_hour", "h", "hours from the start to that peak", False),
    Statistic("dai_low", "USD", "lowest Dai price (within within_h hours of the start)", False),
    Statistic("dai_low_hour", "h", "hours from the start to that low", False),
    Statistic("psm_gem_growth", "Dai", "stablecoin the PSM took in: psm_debt end − start", False),
    Statistic("dai_supply_change", "Dai", "Dai supply at the end less at the start", False),
    Statistic(
        "psm_depeg_loss",
        "USD",
        "par paid above market for stablecoin the PSM took below par",
        False,
    ),
)
#: KPIs of the auction table, which ``ilks:`` can restrict.
_AUCTION_KPIS = (
    "liquidated_debt",
    "vaults_liquidated",
    "auctions",
    "auctions_zero_bid",
    "penalty_collected",
    "keeper_incentives",
    "collateral_sold_usd",
)
STATISTICS: dict[str, Statistic] = {
    **{
        k.name: Statistic(k.name, k.unit, k.definition, k.name in _AUCTION_KPIS)
        for k in KPI_BY_NAME.values()
    },
    **{s.name: s for s in _EXTRA},
}


def _hours(timeseries: pd.DataFrame) -> np.ndarray:
    """Each tick's time in hours after the start."""
    t = pd.to_datetime(timeseries["time"])
    return (t - t.iloc[0]).dt.total_seconds().to_numpy() / 3600.0


def _auctions_of(auctions: pd.DataFrame, ilks: Sequence[str] | None) -> pd.DataFrame:
    if ilks is None or len(auctions) == 0:
        return auctions
    return auctions[auctions["ilk"].isin(list(ilks))]


def compute(
    run: RunTables,
    name: str,
    *,
    ilks: Sequence[str] | None = None,
    within_h: float | None = None,
) -> float:
    """One statistic of one run.

    Args:
        run: the run's tables.
        name: a key of :data:`STATISTICS`.
        ilks: count only these ilks' auctions (statistics of the auction table).
        within_h: look only at the first ``within_h`` hours (``dai_peak``, ``dai_peak_hour``).

    Returns:
        The value (NaN when it is undefined, e.g. the first zero-bid hour of a run without one).

    Raises:
        KeyError: an unknown statistic.
    """
    if name not in STATISTICS:
        raise KeyError(name)
    ts = run.timeseries
    auctions = _auctions_of(run.auctions, ilks)
    if name in _AUCTION_KPIS:
        return (
            float(_auction_kpis(ts, auctions)[name])
            if ilks is not None
            else float(run.summary[name])
        )
    if name in KPI_BY_NAME:
        return float(run.summary[name])
    if name in ("dai_peak", "dai_peak_hour"):
        hours = _hours(ts)
        dai = ts["dai_price"].to_numpy(dtype=np.float64)
        inside = hours <= within_h if within_h is not None else np.ones(len(dai), bool)
        peak = int(np.argmax(np.where(inside, dai, -np.inf)))
        return float(dai[peak] if name == "dai_peak" else hours[peak])
    if name in ("dai_low", "dai_low_hour"):
        hours = _hours(ts)
        dai = ts["dai_price"].to_numpy(dtype=np.float64)
        inside = hours <= within_h if within_h is not None else np.ones(len(dai), bool)
        low = int(np.argmin(np.where(inside, dai, np.inf)))
        return float(dai[low] if name == "dai_low" else hours[low])
    if name == "psm_gem_growth":
        psm = ts["psm_debt"].to_numpy(dtype=np.float64)
        return float(psm[-1] - psm[0])
    if name == "dai_supply_change":
        supply = ts["dai_supply"].to_numpy(dtype=np.float64)
        return float(supply[-1] - supply[0])
    if name == "psm_depeg_loss":
        if "psm_gem_price" not in ts:
            return 0.0
        taken = np.maximum(np.diff(ts["psm_debt"].to_numpy(dtype=np.float64)), 0.0)
        below = np.maximum(1.0 - ts["psm_gem_price"].to_numpy(dtype=np.float64)[1:], 0.0)
        return float(np.sum(taken * below))
    if name == "debt_auction_dai":
        return float(ts["debt_auction_dai"].iloc[-1]) if "debt_auction_dai" in ts else 0.0
    if len(auctions) == 0:
        return 0.0 if name in ("given_away_usd", "takers") else float("nan")
    finished = (auctions["end_tick"] >= 0).to_numpy()
    zero = zero_bid_mask(ts, auctions)
    if name == "zero_bid_share":
        return float(zero.sum() / finished.sum()) if finished.any() else float("nan")
    if name == "given_away_usd":
        return float(np.nansum(sold_value_usd(ts, auctions)[zero]))
    if name == "first_zero_bid_hour":
        if not zero.any():
            return float("nan")
        return float(_hours(ts)[int(auctions["end_tick"].to_numpy()[zero].min())])
    if name == "effective_penalty":
        kpis = _auction_kpis(ts, auctions)
        debt = kpis["liquidated_debt"]
        return float(kpis["penalty_collected"] / debt) if debt > 0 else float("nan")
    if name == "mean_auction_minutes":
        durations = auctions["duration_s"].to_numpy(dtype=np.float64)[finished]
        return float(durations.mean() / 60.0) if len(durations) else float("nan")
    if name == "takers":
        bought = finished & (auctions["collateral_sold"].to_numpy(dtype=np.float64) > 0)
        winners = auctions["winner"].to_numpy(dtype=object)[bought]
        return float(len({w for w in winners if isinstance(w, str) and w}))
    raise AssertionError(name)  # every name of STATISTICS is handled above
