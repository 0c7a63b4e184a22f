"""Gas bidding: the price an agent's transactions bid for blockspace, and its pending nonce.

One :class:`GasBidder` per account (a keeper) or per bot setting (a borrower cohort, whose vaults
share one). Strategies (``keepers[].gas``, ``borrowers[].gas``):

- none: bid the tick's gas price (what everyone else pays);
- ``fixed``: the same bid every tick;
- ``lognormal``: one bid drawn per account at the start (a spread of bot settings);
- ``market``: the tick's gas price plus a premium, up to a cap;
- ``geometric``: pymaker's ``GeometricGasPrice``, the makerdao keepers' strategy — while a
  transaction is pending it is re-sent at ``initial · coefficient^k`` after ``k`` intervals of
  ``every`` seconds, up to ``cap``; once it lands the next starts at ``initial`` again.

An account has one nonce sequence: while its first transaction is pending (its bid lands nothing),
none of its later ones land. :attr:`GasBidder.pending_since` records when that began.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from sim.scenario import FixedGasBid, GasBid, GeometricGasBid, LognormalGasBid

if TYPE_CHECKING:
    from sim.model import ProtocolModel

#: Most geometric bumps counted (the cap binds long before; keeps the power finite).
MAX_BUMPS = 10_000


class GasBidder:
    """The gas bid of one account or bot setting.

    Attributes:
        gas: the strategy (None: bid the tick's gas price).
        pending_since: when the pending transaction was first sent [s], None when none is.
    """

    def __init__(self, model: ProtocolModel, gas: GasBid | None, stream: np.random.Generator):
        self.model = model
        self.gas = gas
        self.pending_since: float | None = None
        self._own: float | None = None
        if isinstance(gas, LognormalGasBid):
            self._own = gas.median * math.exp(gas.sigma * float(stream.standard_normal()))

    def bid(self) -> float:
        """This tick's bid [gwei]."""
        gas = self.gas
        if gas is None:
            return self.model.gas_price
        if isinstance(gas, FixedGasBid):
            return gas.gwei
        if isinstance(gas, LognormalGasBid):
            return float(self._own)
        if isinstance(gas, GeometricGasBid):
            if self.pending_since is None:
                return min(gas.initial, gas.cap)
            bumps = math.floor((self.model.now - self.pending_since) / gas.every + 1e-9)
            return min(gas.cap, gas.initial * gas.coefficient ** min(bumps, MAX_BUMPS))
        return min(gas.cap, self.model.gas_price * (1.0 + gas.premium))

    def stuck(self) -> None:
        """Its transaction did not land: it stays pending (from now, if it was not already)."""
        if self.pending_since is None:
            self.pending_since = self.model.now

    def landed(self) -> None:
        """What was pending landed: the next transaction starts afresh."""
        self.pending_since = None


def land(
    model: ProtocolModel, ids: np.ndarray, call: str, sender: str, bid: float | None = None
) -> np.ndarray:
    """The first of ``ids`` whose ``call`` transactions land this tick; the rest wait.

    For agents that bid the tick's gas price (``bid`` None), one transaction per id: MKR bidders,
    the PSM arbitrageur. Without a network everything lands.

    Args:
        model: the model (its blocks and gas used per call).
        ids: what each transaction acts on (auction ids, ...), in sending order.
        call: the call's name in ``model.gas_used``.
        sender: the sending group's label in the blocks' tally.
        bid: the gas bid [gwei] (None: the tick's gas price).

    Returns:
        The prefix of ``ids`` that landed.
    """
    blocks = model.blocks
    if blocks is None or ids.size == 0:
        return ids
    price = model.gas_price if bid is None else bid
    n = blocks.send(price, model.gas_used[call], ids.size, sender)
    blocks.refuse(sender, ids.size - n)
    return ids[:n]
