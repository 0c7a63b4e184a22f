"""Keepers: liquidators with Dai capital who bark unsafe vaults and buy auctioned collateral.

Each tick a keeper, in an order drawn by the model:

1. ``bark`` every unsafe vault it sees (the Dog pays ``tip + chip·tab`` per auction);
2. ``redo`` Clipper auctions that need a reset (paid the same incentive when it applies);
3. ``take`` Clipper lots whose current price is at least ``discount`` below the market price,
   best discounts first, as far as its Dai lasts (vectorised: a cumulative sum of the costs);
4. sells the collateral it bought at the market price (DaiJoin/GemJoin ``exit`` and ``join``).

Keeper profit is its Dai plus the market value of any collateral it still holds, minus its
starting capital.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.scenario import KeeperSpec

if TYPE_CHECKING:
    from sim.model import ProtocolModel


class Keeper(mesa.Agent):
    """One keeper (mesa agent).

    Attributes:
        name: the keeper's account name in the Vat.
        capital: Dai at the start [Dai].
        discount: required discount of the auction price below the market price [-].
    """

    def __init__(self, model: ProtocolModel, spec: KeeperSpec, name: str):
        super().__init__(model)
        self.spec = spec
        self.name = name
        self.capital = float(spec.dai)
        self.discount = spec.strategy.discount
        model.vat.join_dai(name, self.capital)

    @property
    def dai(self) -> float:
        """Dai held in the Vat [Dai]."""
        return self.model.vat.dai.get(self.name, 0.0)

    def profit(self) -> float:
        """Dai plus the market value of held collateral, minus starting capital [Dai]."""
        model = self.model
        held = 0.0
        for ilk_name, spec in model.spec.ilks.items():
            held += model.vat.gem.get((ilk_name, self.name), 0.0) * model.market.price(
                spec.collateral
            )
        return self.dai + held - self.capital

    def step(self) -> None:
        """Bark, redo and take on every ilk with a Clipper."""
        model = self.model
        for ilk_name, clip in model.clippers.items():
            unsafe = model.vat.ilks[ilk_name].unsafe()
            if unsafe.size:
                model.dog.bark(ilk_name, unsafe, self.name, model.now)
            if clip.active_ids().size:
                self._take(ilk_name, clip)

    def _take(self, ilk_name: str, clip) -> None:
        model = self.model
        now = model.now
        ids = clip.active_ids()
        done, price = clip.status(ids, now)
        if done.any() and clip.stopped < 2:
            clip.redo(ids[done], self.name, now)
            ids = clip.active_ids()
            done, price = clip.status(ids, now)
        collateral = model.spec.ilks[ilk_name].collateral
        market = model.market.price(collateral)
        good = ~done & (price <= market * (1.0 - self.discount)) & (price > 0)
        if not good.any() or clip.stopped >= 3:
            return
        ids, price = ids[good], price[good]
        order = np.argsort(price, kind="stable")  # cheapest relative to market first
        ids, price = ids[order], price[order]
        lot = clip.lot[ids]
        tab = clip.tab[ids]
        cost = np.minimum(lot * price, tab)
        budget = self.dai
        spent_before = np.cumsum(cost) - cost
        affordable = spent_before < budget
        if not affordable.any():
            return
        ids, price, lot, cost = (
            ids[affordable],
            price[affordable],
            lot[affordable],
            cost[affordable],
        )
        left = budget - spent_before[affordable]
        # The last affordable lot may be bought in part with what is left.
        amt = np.where(cost <= left, lot, left / price)
        slice_, _owe = clip.take(ids, amt, price, self.name, now)
        bought = float(np.sum(slice_))
        if bought > 0:
            self._sell(ilk_name, bought, market)

    def _sell(self, ilk_name: str, amount: float, price: float) -> None:
        """Sell collateral at the market price for Dai, keeping it in the Vat."""
        vat = self.model.vat
        vat.exit_gem(ilk_name, self.name, amount)
        vat.join_dai(self.name, amount * price)
