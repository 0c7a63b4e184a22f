"""The environment: exogenous price and gas processes, blockspace, market depth (no protocol).

Exogenous paths are generated once per run at build time, one value per tick boundary
(an array of length ``n_ticks + 1``, index 0 = start of the run).
"""

from sim.market.blocks import BlockMarket
from sim.market.gas import (
    GAS_USED,
    ConstantGas,
    SpikeGas,
    tx_cost_eth,
)
from sim.market.prices import (
    GBM,
    YEAR,
    Bridge,
    DataError,
    JumpDiffusion,
    PriceProcess,
    Replay,
    Scripted,
    correlated_normals,
    read_series_csv,
    simulate,
    tick_times,
)

__all__ = [
    "GAS_USED",
    "GBM",
    "YEAR",
    "BlockMarket",
    "Bridge",
    "ConstantGas",
    "DataError",
    "JumpDiffusion",
    "PriceProcess",
    "Replay",
    "Scripted",
    "SpikeGas",
    "correlated_normals",
    "read_series_csv",
    "simulate",
    "tick_times",
    "tx_cost_eth",
]
