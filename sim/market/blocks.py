"""Blockspace: the blocks of a tick, shared by every agent's transactions and by the rest of the chain.

A tick holds whole blocks: ``block_time`` apart, so ``tick / block_time`` of them, the fraction
carried to the next tick (the pace does not depend on the tick length). Each block holds at most
``gas_limit`` gas.

The rest of the chain is **background demand** that fills every block. Its transactions pay gas
prices spread log-normally around the tick's gas price ``p`` (the scenario's gas series: what
everyone else paid) with log standard deviation ``sigma``: the share of a block's gas that pays
less than ``b`` is ``F(b) = Φ(ln(b/p)/sigma)`` (with ``sigma = 0``, 0 below ``p`` and 1 from it).
An agent's transaction bidding ``b`` displaces background that pays less, cheapest first, so in
each block the agents bidding ``b`` or more hold at most ``F(b) · gas_limit`` gas. Agents send in
bid order (highest first, as a block builder orders them), so the room left at bid ``b`` in a
block is ``F(b) · gas_limit`` less the gas of the agents' transactions already in it:

- a transaction bidding below the clearing price (``F(b) · gas_limit`` smaller than its gas) lands
  in no block of the tick;
- agents' gas never exceeds a block's limit (``F ≤ 1``), however many agents bid above
  everyone else;
- what does not fit waits for a later tick (its sender decides whether to resend it).

A transaction lands whole in one block (first fit, in block order). Without a network section a
model has no :class:`BlockMarket` and every transaction lands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: The normal distribution's 90 % quantile: ``sigma = ln(p90 / p) / Z90`` when a gas series gives
#: the 90th percentile of the prices paid beside their central value.
Z90 = 1.2815515655446004

__all__ = ["Z90", "BlockMarket", "background_share", "sigma_from_p90"]


def background_share(bid_gwei: float, price_gwei: float, sigma: float) -> float:
    """Share of a block's background gas that pays less than ``bid_gwei`` [-].

    Args:
        bid_gwei: the transaction's gas price bid [gwei]; ``inf`` outbids everyone.
        price_gwei: the tick's gas price, the background's median [gwei].
        sigma: standard deviation of the log of the background's prices [-].

    Returns:
        ``Φ(ln(bid/price)/sigma)``, or the threshold ``bid ≥ price`` for ``sigma = 0``.
    """
    if bid_gwei == math.inf or price_gwei <= 0:
        return 1.0
    if sigma <= 0 or bid_gwei <= 0:
        return 1.0 if bid_gwei >= price_gwei else 0.0
    z = math.log(bid_gwei / price_gwei) / sigma
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def sigma_from_p90(price_gwei: np.ndarray, p90_gwei: np.ndarray) -> np.ndarray:
    """Background spread from a series' central value and 90th percentile [-].

    ``ln(p90 / price) / Z90``, the log-normal whose median is ``price`` and whose 90 % quantile
    is ``p90``; 0 where the 90th percentile is not above the price (or either is not positive).
    """
    price = np.asarray(price_gwei, dtype=np.float64)
    p90 = np.asarray(p90_gwei, dtype=np.float64)
    ok = (price > 0) & (p90 > price)
    ratio = np.divide(p90, price, out=np.ones_like(price), where=ok)
    return np.where(ok, np.log(ratio) / Z90, 0.0)


@dataclass
class BlockMarket:
    """The blocks of the current tick and the agents' gas in each.

    Attributes:
        block_time: time between blocks [s].
        gas_limit: most gas per block [gas].
        carry: fraction of a block carried to the next tick [-].
        used: agents' gas in each block of the current tick [gas].
        price: the tick's gas price, the background's median [gwei].
        sigma: the background's log spread this tick [-].
        landed_gas: agents' gas landed this tick [gas].
        txs: transactions landed this tick per sender (an agent group's label).
        priced_out: per sender, members that had a transaction to send this tick and landed
            none (keepers, or vaults of a borrower cohort).
    """

    block_time: float
    gas_limit: float
    carry: float = 0.0
    used: np.ndarray = field(default_factory=lambda: np.zeros(0))
    price: float = 0.0
    sigma: float = 0.0
    landed_gas: float = 0.0
    txs: dict[str, int] = field(default_factory=dict)
    priced_out: dict[str, int] = field(default_factory=dict)

    def open_tick(self, dt: float, price_gwei: float, sigma: float) -> None:
        """Start a tick of ``dt`` seconds at gas price ``price_gwei`` with spread ``sigma``."""
        blocks = dt / self.block_time + self.carry
        whole = math.floor(blocks + 1e-9)
        self.carry = max(blocks - whole, 0.0)
        self.used = np.zeros(whole)
        self.price = float(price_gwei)
        self.sigma = float(sigma)
        self.landed_gas = 0.0
        for tally in (self.txs, self.priced_out):
            for sender in tally:
                tally[sender] = 0

    @property
    def n_blocks(self) -> int:
        """Blocks in the current tick."""
        return self.used.size

    @property
    def capacity(self) -> float:
        """Gas the current tick's blocks hold [gas]."""
        return self.n_blocks * self.gas_limit

    @property
    def fullest(self) -> float:
        """The largest share of a block's limit held by agents this tick [-]."""
        return float(self.used.max() / self.gas_limit) if self.used.size else 0.0

    def room(self, bid_gwei: float) -> float:
        """Gas an agent bidding ``bid_gwei`` may hold in each block [gas]."""
        return background_share(bid_gwei, self.price, self.sigma) * self.gas_limit

    def fits(self, bid_gwei: float, gas: float, wanted: int | None = None) -> int:
        """How many transactions of ``gas`` each would land at ``bid_gwei`` (at most ``wanted``).

        Args:
            bid_gwei: the sender's gas price bid [gwei].
            gas: gas used by each transaction [gas], > 0.
            wanted: how many the sender has (None: as many as fit).

        Returns:
            The count that fits in this tick's blocks, each whole in one block.
        """
        if wanted == 0 or self.used.size == 0:
            return 0
        free = self.room(bid_gwei) - self.used
        count = int(np.floor(np.maximum(free, 0.0) / gas).sum())
        return count if wanted is None else min(count, wanted)

    def refuse(self, sender: str, members: int) -> None:
        """Count ``members`` of ``sender`` that had a transaction to send and landed none."""
        if members > 0:
            self.priced_out[sender] = self.priced_out.get(sender, 0) + members

    def use(self, bid_gwei: float, gas: float, n: int, sender: str = "") -> int:
        """Place ``n`` transactions of ``gas`` each at ``bid_gwei``, first fit in block order.

        Args:
            bid_gwei: the sender's gas price bid [gwei].
            gas: gas used by each transaction [gas], > 0.
            n: how many (at most what :meth:`fits` allows).
            sender: the sending agent group's label, for the tally.

        Returns:
            How many were placed (``n`` when :meth:`fits` allowed them).
        """
        if n <= 0 or self.used.size == 0:
            return 0
        room = self.room(bid_gwei)
        placed = 0
        for j in range(self.used.size):
            k = math.floor(max(room - self.used[j], 0.0) / gas)
            if k <= 0:
                continue
            k = min(k, n - placed)
            self.used[j] += k * gas
            placed += k
            if placed == n:
                break
        self.landed_gas += placed * gas
        if sender:
            self.txs[sender] = self.txs.get(sender, 0) + placed
        return placed

    def send(self, bid_gwei: float, gas: float, wanted: int, sender: str = "") -> int:
        """Land as many of ``wanted`` transactions as fit (:meth:`fits`, then :meth:`use`).

        Returns:
            How many landed; the caller counts its members left out with :meth:`refuse`.
        """
        n = self.fits(bid_gwei, gas, wanted)
        self.use(bid_gwei, gas, n, sender)
        return n
