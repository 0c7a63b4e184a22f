"""Gas: the network's gas price per tick and what a transaction costs.

A gas process has the same interface as the price processes
(``path(n_ticks, dt, rng, z=None) -> ndarray`` of length ``n_ticks + 1``) and returns the
gas price of each tick [gwei]: what the rest of the chain pays, the background demand of
:mod:`sim.market.blocks`, which decides what lands. Each landed transaction
costs ``gas_used · gas_price · 10⁻⁹`` ETH (:func:`tx_cost_eth`); multiply by the ETH price for
USD or Dai.

Processes: :class:`ConstantGas`, :class:`SpikeGas` (a scripted spike) and
:class:`~sim.market.prices.Replay` (re-exported here) for a CSV series such as
``gas_mean_gwei`` read with :func:`~sim.market.prices.read_series_csv`.

Gas used per call (``GAS_*``, :data:`GAS_USED`): the Liquidations 1.x figures are on record —
the MakerDAO forum's table of auction costs, July 2020 ("[Signal Request] Increasing the 'dust'
amount", forum.makerdao.com/t/3445: kick 257k, tend 100k, dent 86k, deal 52k gas, rounded
figures of mainnet transactions); the others are **assumed** (no citable figure was found: the
gas tests of dss's ``clip.t.sol`` print theirs only when run), each with its rationale below.
They depend on storage state (cold/warm slots, refunds), on the calling contract (DSProxy,
flash-swap callee) and on the hard fork; override them in a scenario (``network.gas_used``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.market.prices import Replay, _check_grid, _require, tick_times

#: ETH per gwei.
GWEI = 1e-9

#: Dog.bark + Clipper.kick: ``vat.grab``, Dog/Clipper accounting, a new auction's storage,
#: ``vat.suck`` for the keeper incentive (``tip + chip·tab``). Assumed 450 000 gas.
GAS_BARK = 450_000
#: Clipper.take paying with Dai already in the Vat (no callback). Assumed 300 000 gas.
GAS_TAKE = 300_000
#: Clipper.take with a flash callback that sells the collateral on a DEX within the
#: transaction (exchange calldata and swap included). Assumed 700 000 gas.
GAS_TAKE_FLASH = 700_000
#: Clipper.redo: new ``top`` from the OSM, restart, possibly the incentive. Assumed 200 000 gas.
GAS_REDO = 200_000
#: Cat.bite + Flipper.kick (Liquidations 1.x): 257 000 gas on record (forum table, July 2020).
GAS_BITE = 257_000
#: Flipper.tend (raise the Dai bid; ``vat.move`` to the previous bidder): 100 000 gas on record.
GAS_TEND = 100_000
#: Flipper.dent (lower the lot; collateral back to the vault owner): 86 000 gas on record.
GAS_DENT = 86_000
#: Flipper/Flopper/Flapper.deal (settle a finished auction): 52 000 gas on record (Flipper's).
GAS_DEAL = 52_000
#: Flipper.tick (restart an auction that ended without bids). Assumed 60 000 gas.
GAS_TICK = 60_000
#: Vow.flop + Flopper.kick, or Vow.flap + Flapper.kick. Assumed 200 000 gas.
GAS_FLOP = 200_000
#: A borrower's vault action through a DSProxy (join/exit plus ``frob``: a top-up, a repayment, a
#: leveraged draw). Assumed 300 000 gas (the forum's figures: over 550 k to open a vault, about
#: 400 k to unwind one).
GAS_FROB = 300_000
#: Closing a vault through a DSProxy (wipe all, free all, exit): about 400 000 gas, the forum's
#: estimate ("[Signal Request] Increasing `dust` value", forum.makerdao.com/t/5122, Nov 2020).
GAS_CLOSE = 400_000
#: An oracle relayer's update (Median.poke with the feeds' signatures, then OSM.poke).
#: Assumed 250 000 gas.
GAS_POKE = 250_000
#: A PSM swap (sellGem/buyGem through its join). Assumed 150 000 gas.
GAS_PSM = 150_000

#: Gas used per call name (the assumptions above), for lookup by action name.
GAS_USED: dict[str, int] = {
    "bark": GAS_BARK,
    "take": GAS_TAKE,
    "take_flash": GAS_TAKE_FLASH,
    "redo": GAS_REDO,
    "bite": GAS_BITE,
    "tend": GAS_TEND,
    "dent": GAS_DENT,
    "deal": GAS_DEAL,
    "tick": GAS_TICK,
    "flop": GAS_FLOP,
    "flap": GAS_FLOP,
    "frob": GAS_FROB,
    "close": GAS_CLOSE,
    "poke": GAS_POKE,
    "psm_swap": GAS_PSM,
}

__all__ = [
    "GAS_BARK",
    "GAS_BITE",
    "GAS_CLOSE",
    "GAS_DEAL",
    "GAS_DENT",
    "GAS_FLOP",
    "GAS_FROB",
    "GAS_POKE",
    "GAS_PSM",
    "GAS_REDO",
    "GAS_TAKE",
    "GAS_TAKE_FLASH",
    "GAS_TEND",
    "GAS_TICK",
    "GAS_USED",
    "GWEI",
    "ConstantGas",
    "Replay",
    "SpikeGas",
    "tx_cost_eth",
]


@dataclass(frozen=True)
class ConstantGas:
    """The same gas price every tick.

    Attributes:
        gwei: gas price [gwei], ≥ 0.
    """

    gwei: float

    def __post_init__(self) -> None:
        _require(
            math.isfinite(self.gwei) and self.gwei >= 0, f"gwei must be >= 0, got {self.gwei!r}"
        )

    def path(
        self, n_ticks: int, dt: float, rng: np.random.Generator, z: np.ndarray | None = None
    ) -> np.ndarray:
        """Inclusion price at the ``n_ticks + 1`` tick boundaries [gwei]; uses no randomness."""
        _check_grid(n_ticks, dt)
        return np.full(n_ticks + 1, float(self.gwei))


@dataclass(frozen=True)
class SpikeGas:
    """A scripted gas spike.

    ``base`` before ``at``; ``peak`` from ``at`` to ``at + over``; afterwards an exponential
    return to ``base`` with half-life ``decay``:
    ``base + (peak − base)·2^(−(t − at − over)/decay)``.

    Attributes:
        base: normal gas price [gwei], ≥ 0.
        peak: gas price during the spike [gwei], ≥ 0.
        at: start of the spike [s since start], ≥ 0.
        over: how long the peak lasts [s], ≥ 0.
        decay: half-life of the return to ``base`` [s], > 0.
    """

    base: float
    peak: float
    at: float
    over: float
    decay: float

    def __post_init__(self) -> None:
        for name in ("base", "peak", "at", "over"):
            value = getattr(self, name)
            _require(math.isfinite(value) and value >= 0, f"{name} must be >= 0, got {value!r}")
        _require(
            math.isfinite(self.decay) and self.decay > 0,
            f"decay must be > 0 s, got {self.decay!r}",
        )

    def level(self, t: np.ndarray) -> np.ndarray:
        """Inclusion price [gwei] at times ``t`` [s]."""
        t = np.asarray(t, dtype=np.float64)
        end = self.at + self.over
        # clip keeps the exponent ≤ 0 before the decay starts (those values are replaced anyway)
        after = self.base + (self.peak - self.base) * np.exp2(
            -np.maximum(t - end, 0.0) / self.decay
        )
        return np.where(t < self.at, self.base, np.where(t <= end, self.peak, after))

    def path(
        self, n_ticks: int, dt: float, rng: np.random.Generator, z: np.ndarray | None = None
    ) -> np.ndarray:
        """Inclusion price at the ``n_ticks + 1`` tick boundaries [gwei]; uses no randomness."""
        return self.level(tick_times(n_ticks, dt))


def tx_cost_eth(
    gas_used: float | np.ndarray, gas_price_gwei: float | np.ndarray
) -> float | np.ndarray:
    """Cost of a transaction [ETH]: ``gas_used · gas_price_gwei · 10⁻⁹``.

    Args:
        gas_used: gas consumed by the call [gas] (e.g. :data:`GAS_BARK`).
        gas_price_gwei: price paid per unit of gas [gwei] (the bid: first price, before EIP-1559).

    Returns:
        The fee in ETH (scalar or array, broadcast).
    """
    return gas_used * gas_price_gwei * GWEI
