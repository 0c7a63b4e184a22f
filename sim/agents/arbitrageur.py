"""PSM arbitrageur: trades the Peg Stability Module against the Dai market.

When Dai trades above ``par·(1 + tin)``, it sells stablecoin to the PSM for Dai and sells that Dai
in the market until the price is back at that level (or the PSM's ``line`` is reached); when Dai
trades below ``par·(1 − tout)``, it buys Dai in the market and redeems it for stablecoin from the
PSM (as far as the PSM holds stablecoin). With a network section its swap is one transaction at
the tick's gas price; in a tick whose blocks have no room for it, it waits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.agents.bidding import land

if TYPE_CHECKING:
    from sim.model import ProtocolModel

ARB = "psm-arbitrageur"
#: One transaction (the swap), for :func:`~sim.agents.bidding.land`.
ONE = np.zeros(1, dtype=np.int64)


class PsmArbitrageur(mesa.Agent):
    """One arbitrageur with a stablecoin balance [USD].

    Attributes:
        usd: stablecoin held [USD].
        profit_usd: realised profit [USD].
    """

    def __init__(self, model: ProtocolModel, usd: float):
        super().__init__(model)
        self.usd = float(usd)
        self.start_usd = float(usd)

    def step(self) -> None:
        """Pull the Dai price back towards the PSM's band."""
        model = self.model
        psm, market, vat = model.psm, model.dai_market, model.vat
        par = model.spec.system.par
        upper, lower = par * (1.0 + psm.tin), par * (1.0 - psm.tout)
        price = market.price()
        if lower <= price <= upper or land(model, ONE, "psm_swap", "arbitrageur").size == 0:
            return
        if price > upper:
            dai_to_sell = market.arbitrage_room(upper)  # > 0
            gem = min(dai_to_sell / (1.0 - psm.tin), psm.room(), self.usd)
            if gem <= 0:
                return
            dai = psm.sell_gem(ARB, gem)
            self.usd -= gem
            vat.exit_dai(ARB, dai)
            self.usd += market.sell_dai(dai)
        elif price < lower:
            dai_to_buy = -market.arbitrage_room(lower)  # > 0
            gem = min(dai_to_buy / (1.0 + psm.tout), psm.gem)
            if gem <= 0:
                return
            cost = market.quote_cost_dai(gem * (1.0 + psm.tout))
            if cost > self.usd:
                return
            self.usd -= cost
            vat.join_dai(ARB, market.buy_dai(cost))
            psm.buy_gem(ARB, gem)
            self.usd += gem

    def profit(self) -> float:
        """Stablecoin gained plus Dai left in the Vat [USD]."""
        return self.usd - self.start_usd + self.model.vat.dai.get(ARB, 0.0)
