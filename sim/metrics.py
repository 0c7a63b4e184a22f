"""KPIs of one run, computed once from its tables (DESIGN.md section 8).

Every KPI is a plain float or int; definitions are in :data:`KPI_DEFINITIONS`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

KPI_DEFINITIONS: dict[str, str] = {
    "bad_debt_final": "Vow debt covered neither by its Dai nor by running auctions, at the end [Dai]",
    "bad_debt_max": "largest bad debt during the run [Dai]",
    "liquidated_debt": "debt confiscated by liquidations (Σ due of started auctions) [Dai]",
    "liquidations": "number of liquidation auctions started",
    "auctions_zero_bid": (
        "finished auctions that sold collateral for < 1 % of its market value at their end"
    ),
    "penalty_collected": "Σ over finished auctions of min(raised, tab) − due, when positive [Dai]",
    "collateral_sold": "collateral sold by liquidation auctions, at market value at sale end [USD]",
    "dai_supply_start": "Dai supply (Vat debt) at the start [Dai]",
    "dai_supply_end": "Dai supply at the end [Dai]",
    "dai_supply_min": "lowest Dai supply during the run [Dai]",
    "mkr_minted": "MKR minted by debt auctions over the run (when an mkr section exists) [MKR]",
    "keeper_profit": (
        "Σ keepers' Dai plus held collateral at market value, minus capital and gas spent [Dai]"
    ),
    "min_cr_p05": "lowest 5th-percentile collateral ratio over ilks and ticks [-]",
}


def _price_at_end(auctions: pd.DataFrame, timeseries: pd.DataFrame) -> np.ndarray:
    """Market price of each auction's collateral when it ended (the last tick if running)."""
    prices = np.full(len(auctions), np.nan)
    for ilk in auctions["ilk"].unique():
        column = f"price[{ilk}]"
        if column not in timeseries:
            continue
        mask = (auctions["ilk"] == ilk).to_numpy()
        ticks = auctions.loc[mask, "end_tick"].to_numpy()
        series = timeseries[column].to_numpy()
        ticks = np.where(ticks < 0, len(series) - 1, np.minimum(ticks, len(series) - 1))
        prices[mask] = series[ticks]
    return prices


def summarize(
    timeseries: pd.DataFrame,
    auctions: pd.DataFrame,
    *,
    keeper_profit: float,
) -> dict[str, Any]:
    """The run's KPIs (see :data:`KPI_DEFINITIONS`).

    Args:
        timeseries: the per-tick table.
        auctions: the auction table.
        keeper_profit: Σ keeper profit [Dai].

    Returns:
        KPI name → value.
    """
    out: dict[str, Any] = {}
    bad = timeseries["bad_debt"].to_numpy()
    out["bad_debt_final"] = float(bad[-1])
    out["bad_debt_max"] = float(bad.max())
    out["liquidated_debt"] = float(auctions["due"].sum()) if len(auctions) else 0.0
    out["liquidations"] = len(auctions)
    if len(auctions):
        finished = (auctions["end_tick"] >= 0).to_numpy()
        sold = auctions["collateral_sold"].to_numpy()
        raised = auctions["dai_raised"].to_numpy()
        value = sold * _price_at_end(auctions, timeseries)
        zero = finished & (sold > 0) & (raised < 0.01 * value)
        out["auctions_zero_bid"] = int(np.count_nonzero(zero))
        penalty = np.minimum(raised, auctions["tab"].to_numpy()) - auctions["due"].to_numpy()
        out["penalty_collected"] = float(np.sum(np.where(finished, np.maximum(penalty, 0), 0)))
        out["collateral_sold"] = float(np.nansum(value))
    else:
        out["auctions_zero_bid"] = 0
        out["penalty_collected"] = 0.0
        out["collateral_sold"] = 0.0
    supply = timeseries["dai_supply"].to_numpy()
    out["dai_supply_start"] = float(supply[0])
    out["dai_supply_end"] = float(supply[-1])
    out["dai_supply_min"] = float(supply.min())
    if "mkr_minted" in timeseries:
        out["mkr_minted"] = float(timeseries["mkr_minted"].iloc[-1])
    out["keeper_profit"] = float(keeper_profit)
    p05 = [c for c in timeseries.columns if c.startswith("cr_p05[")]
    values = timeseries[p05].to_numpy() if p05 else np.array([np.nan])
    out["min_cr_p05"] = float(np.nanmin(values)) if np.isfinite(values).any() else float("nan")
    return out
