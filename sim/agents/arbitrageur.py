"""PSM arbitrageur: trades the Peg Stability Module against the Dai market.

When Dai trades above ``par·(1 + tin)``, it sells stablecoin to the PSM for Dai and sells that Dai
in the market until the price is back at that level (or the PSM's ``line`` is reached); when Dai
trades below ``par·(1 − tout)``, it buys Dai in the market and redeems it for stablecoin from the
PSM (as far as the PSM holds stablecoin). With a network section its swap is one transaction at
the tick's gas price; in a tick whose blocks have no room for it, it waits.

A stablecoin with a market price (``system.psm.price``; the model's ``gem_price`` ``g`` [USD per
token]) that can leave the peg: the PSM still swaps it at par (dss-psm ``sellGem``/``buyGem`` read
no price), so the arbitrageur trades stablecoin market → PSM → Dai market. Per token of
stablecoin, with the Dai price ``p`` [USD/Dai]:

- mint leg: buy the token for ``g`` USD, ``sellGem`` it for ``1 − tin`` Dai, sell the Dai for
  about ``p·(1 − tin)`` USD; it pays while ``p·(1 − tin) > g``, i.e. ``p > g/(1 − tin)``, so it
  sells Dai until ``p = g/(1 − tin)`` (or the PSM's room or its own USD run out);
- redeem leg: buy ``1 + tout`` Dai for about ``p·(1 + tout)`` USD, ``buyGem`` one token, sell it
  for ``g`` USD; it pays while ``g > p·(1 + tout)``, i.e. ``p < g/(1 + tout)``, so it buys Dai
  until ``p = g/(1 + tout)`` (or the PSM's stablecoin or its own USD run out).

The stablecoin's market is taken as infinitely deep (the arbitrageur trades it at ``g`` without
moving it). Without a price (the default) the stablecoin is worth par and the band is the one
above, ``par·(1 + tin)`` and ``par·(1 − tout)`` (the first-order form of ``1/(1 − tin)`` and
``1/(1 + tout)``, kept so that runs without a stablecoin price are unchanged bit for bit).
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
        usd: stablecoin held [USD] (with a stablecoin price: USD, the stablecoin bought and sold
            at its market price within each trade).
        profit_usd: realised profit [USD].
    """

    def __init__(self, model: ProtocolModel, usd: float):
        super().__init__(model)
        self.usd = float(usd)
        self.start_usd = float(usd)

    def step(self) -> None:
        """Pull the Dai price back towards the PSM's band."""
        model = self.model
        if model.gem_path is not None:
            self._step_priced(model.gem_price)
            return
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

    def _step_priced(self, gem_price: float) -> None:
        """One trade against a stablecoin priced ``gem_price`` [USD/token] (module docstring)."""
        model = self.model
        psm, market, vat = model.psm, model.dai_market, model.vat
        upper, lower = gem_price / (1.0 - psm.tin), gem_price / (1.0 + psm.tout)
        price = market.price()
        if lower <= price <= upper:
            return
        if price > upper:
            dai_to_sell = market.arbitrage_room(upper)  # > 0
            gem = min(dai_to_sell / (1.0 - psm.tin), psm.room(), self.usd / gem_price)
        else:
            dai_to_buy = -market.arbitrage_room(lower)  # > 0
            gem = min(dai_to_buy / (1.0 + psm.tout), psm.gem)
        if gem <= 0 or land(model, ONE, "psm_swap", "arbitrageur").size == 0:
            return
        if price > upper:
            self.usd -= gem * gem_price  # bought in the stablecoin market
            dai = psm.sell_gem(ARB, gem)
            vat.exit_dai(ARB, dai)
            self.usd += market.sell_dai(dai)
            return
        cost = market.quote_cost_dai(gem * (1.0 + psm.tout))
        if cost > self.usd:
            return
        self.usd -= cost
        vat.join_dai(ARB, market.buy_dai(cost))
        psm.buy_gem(ARB, gem)
        self.usd += gem * gem_price  # sold in the stablecoin market

    def profit(self) -> float:
        """Stablecoin gained plus Dai left in the Vat [USD]."""
        return self.usd - self.start_usd + self.model.vat.dai.get(ARB, 0.0)
