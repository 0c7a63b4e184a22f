"""Gas: the network's inclusion price per tick, transaction inclusion and transaction cost.

A gas process has the same interface as the price processes
(``path(n_ticks, dt, rng, z=None) -> ndarray`` of length ``n_ticks + 1``) and returns the
inclusion price of each tick [gwei]: the lowest gas price that still gets a transaction into a
block during that tick. A transaction bidding at least that price lands in the tick
(:func:`lands`); otherwise it waits or is dropped (the caller decides). Each landed transaction
costs ``gas_used · gas_price · 10⁻⁹`` ETH (:func:`tx_cost_eth`); multiply by the ETH price for
USD or Dai.

Processes: :class:`ConstantGas`, :class:`SpikeGas` (a scripted spike) and
:class:`~sim.market.prices.Replay` (re-exported here) for a CSV series such as
``gas_mean_gwei`` read with :func:`~sim.market.prices.read_series_csv`.

Gas used per call (``GAS_*``, :data:`GAS_USED`): **modelling assumptions**, order-of-magnitude
figures for mainnet calls of the dss contracts from keepers, not measured by this project and
not taken from a dss source. They depend on storage state (cold/warm slots, refunds), on the
calling contract (DSProxy, flash-swap callee) and on the hard fork; override them in a scenario
(``network.gas_used``) when calibrating. Rationale for each is in its comment.
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
#: Cat.bite + Flipper.kick (Liquidations 1.x). Assumed 350 000 gas.
GAS_BITE = 350_000
#: Flipper.tend (raise the Dai bid; ``vat.move`` to the previous bidder). Assumed 120 000 gas.
GAS_TEND = 120_000
#: Flipper.dent (lower the lot; collateral back to the vault owner). Assumed 120 000 gas.
GAS_DENT = 120_000
#: Flipper/Flopper/Flapper.deal (settle a finished auction). Assumed 100 000 gas.
GAS_DEAL = 100_000
#: Flipper.tick (restart an auction that ended without bids). Assumed 60 000 gas.
GAS_TICK = 60_000
#: Vow.flop + Flopper.kick, or Vow.flap + Flapper.kick. Assumed 200 000 gas.
GAS_FLOP = 200_000
#: A borrower's vault action through a DSProxy (join/exit plus ``frob``). Assumed 300 000 gas.
GAS_FROB = 300_000

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
}

__all__ = [
    "GAS_BARK",
    "GAS_BITE",
    "GAS_DEAL",
    "GAS_DENT",
    "GAS_FLOP",
    "GAS_FROB",
    "GAS_REDO",
    "GAS_TAKE",
    "GAS_TAKE_FLASH",
    "GAS_TEND",
    "GAS_TICK",
    "GAS_USED",
    "GWEI",
    "BlockSlots",
    "ConstantGas",
    "Replay",
    "SpikeGas",
    "inclusion_probability",
    "lands",
    "tx_cost_eth",
]


@dataclass(frozen=True)
class ConstantGas:
    """The same inclusion price every tick.

    Attributes:
        gwei: inclusion price [gwei], ≥ 0.
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
        base: normal inclusion price [gwei], ≥ 0.
        peak: inclusion price during the spike [gwei], ≥ 0.
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
        """Inclusion price at times ``t`` [s] [gwei]."""
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


def lands(
    gas_bid_gwei: float | np.ndarray, inclusion_gwei: float | np.ndarray
) -> bool | np.ndarray:
    """Whether a transaction lands in a tick: its gas bid ≥ the tick's inclusion price.

    Args:
        gas_bid_gwei: the transaction's gas price bid [gwei] (scalar or array).
        inclusion_gwei: the tick's inclusion price [gwei] (scalar or array; broadcast).

    Returns:
        ``bool`` for scalar inputs, otherwise a boolean array.
    """
    landed = np.greater_equal(gas_bid_gwei, inclusion_gwei)
    if np.ndim(landed) == 0:
        return bool(landed)
    return landed


def inclusion_probability(bid_gwei: float, inclusion_gwei: float, spread: float) -> float:
    """Probability that one block of the tick includes a transaction bidding ``bid_gwei``.

    Within a tick, each block's inclusion price is log-normal around the tick's price (the
    gas process's value) with log standard deviation ``spread``: a bid at the tick's price
    lands in half the blocks, one well above it in nearly all, one well below in few. With
    ``spread = 0`` inclusion is the single threshold of :func:`lands`.

    Args:
        bid_gwei: the transaction's gas price bid [gwei].
        inclusion_gwei: the tick's inclusion price [gwei].
        spread: standard deviation of the log of a block's inclusion price [-].

    Returns:
        ``Φ(ln(bid/inclusion)/spread)``.
    """
    if inclusion_gwei <= 0:
        return 1.0
    if spread <= 0 or bid_gwei <= 0:
        return 1.0 if bid_gwei >= inclusion_gwei else 0.0
    z = math.log(bid_gwei / inclusion_gwei) / spread
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


@dataclass
class BlockSlots:
    """The transactions an account can land per tick: block capacity times inclusion.

    A tick spans ``blocks`` blocks (``tick / block_time``, fractional blocks carried over to the
    next tick so the pace does not depend on the tick length); the account sends at most
    ``per_block`` transactions per block, and each lands with the block's inclusion probability
    (:func:`inclusion_probability`), drawn as a binomial. ``per_block = None`` means no limit:
    everything lands if any block of the tick includes the account's bid.

    Attributes:
        blocks: blocks per tick [-].
        per_block: most transactions per block, or None for no limit.
        carry: fraction of a block's capacity carried to the next tick [-].
    """

    blocks: float
    per_block: int | None
    carry: float = 0.0

    def draw(self, p: float, rng: np.random.Generator) -> float:
        """Transactions landed this tick (``inf`` without a limit), given inclusion ``p``.

        Draws from ``rng`` only when the outcome is random (``0 < p < 1``).
        """
        if self.per_block is None:
            if p >= 1.0:
                return math.inf
            if p <= 0.0:
                return 0.0
            some_block = -math.expm1(self.blocks * math.log1p(-p))  # 1 − (1 − p)^blocks
            return math.inf if rng.random() < some_block else 0.0
        capacity = self.per_block * self.blocks + self.carry
        whole = math.floor(capacity)
        self.carry = capacity - whole
        if p >= 1.0 or whole == 0:
            return float(whole)
        if p <= 0.0:
            return 0.0
        return float(rng.binomial(whole, p))


def tx_cost_eth(
    gas_used: float | np.ndarray, gas_price_gwei: float | np.ndarray
) -> float | np.ndarray:
    """Cost of a transaction [ETH]: ``gas_used · gas_price_gwei · 10⁻⁹``.

    Args:
        gas_used: gas consumed by the call [gas] (e.g. :data:`GAS_BARK`).
        gas_price_gwei: price paid per unit of gas [gwei] (the bid, under first-price inclusion).

    Returns:
        The fee in ETH (scalar or array, broadcast).
    """
    return gas_used * gas_price_gwei * GWEI
