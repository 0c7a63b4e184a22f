"""Keepers: liquidators with Dai capital, a gas bid and a latency.

The MKR bidders of the Vow's debt and surplus auctions are in :mod:`sim.agents.mkr_bidder`.

Each tick a keeper whose transactions land (its gas bid reaches the tick's inclusion price),
in an order drawn by the model, works every ilk:

- **Liquidations 2.0 (Clipper)**: ``bark`` unsafe vaults when the reward ``tip + chip·tab``
  beats the gas; ``redo`` auctions that need a reset; ``take`` lots whose price is at least
  ``discount`` below the market value (net of gas), best first, as far as its Dai lasts — or,
  with flash liquidity, as far as selling the lot into the market pays for it.
- **Liquidations 1.x (Flipper)**: ``bite`` unsafe vaults; ``deal`` finished auctions; ``tick``
  expired ones without bids; the ``default`` strategy bids (``tend``) up to the lot's market
  value less ``discount``, then ``dent``s the lot down while the tab is still covered; the
  ``lowball`` strategy bids a tiny amount on every auction nobody has bid on.

Bought collateral is sold into the market (price impact) and the proceeds buy Dai in the Dai
market. A keeper with latency ``L`` sees prices ``L`` late and auctions ``L`` after they start.
Each transaction costs ``gas used × gas price`` in ETH, valued at the ETH market price.

Keeper profit = Dai + market value of held collateral − starting capital − gas spent [Dai].
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.market.gas import tx_cost_eth
from sim.protocol import numeric as num
from sim.protocol.clip import Clipper
from sim.protocol.flip import Flipper
from sim.scenario import KeeperSpec, LowballStrategy

if TYPE_CHECKING:
    from sim.model import ProtocolModel


class Keeper(mesa.Agent):
    """One keeper (a mesa agent).

    Attributes:
        name: the keeper's account name in the Vat.
        capital: Dai at the start [Dai].
        discount: required discount below the market value [-].
        gas_bid: gas price bid [gwei], or None to pay each tick's inclusion price.
        latency: delay in ticks before the keeper sees a price or an auction.
        flash: Dutch takes with flash liquidity.
        gas_usd: value of the gas spent so far [USD].
    """

    def __init__(self, model: ProtocolModel, spec: KeeperSpec, name: str):
        super().__init__(model)
        self.spec = spec
        self.name = name
        self.capital = float(spec.dai)
        self.lowball = isinstance(spec.strategy, LowballStrategy)
        self.discount = 0.0 if self.lowball else spec.strategy.discount
        self.gas_bid = spec.gas_bid_gwei
        self.latency = round(spec.latency / model.dt)
        self.flash = spec.flash
        self.gas_usd = 0.0
        self._house_list: list[tuple[str, Clipper | Flipper, bool, str]] | None = None
        model.vat.join_dai(name, self.capital)

    # ------------------------------------------------------------------ accounts
    @property
    def dai(self) -> float:
        """Dai held in the Vat [Dai]."""
        return self.model.vat.dai.get(self.name, 0.0)

    def profit(self) -> float:
        """Profit so far [Dai]: ``dai − capital + (collateral − gas spent) / Dai price``.

        Keepers hold and count Dai. The collateral — in its gem accounts, plus the lots of
        running English auctions it leads (its bid has left its Dai; the lot is its own if the
        auction ends now) — is valued at the market price and the gas was paid in ETH: both are
        USD amounts, turned into Dai at the Dai market price.
        """
        model = self.model
        held_usd = 0.0
        for ilk, spec in model.spec.ilks.items():
            price = model.market.price(spec.collateral)
            lot = model.vat.gem.get((ilk, self.name), 0.0)
            flip = model.flippers.get(ilk)
            me = flip.find_name(self.name) if flip is not None else -1
            if me >= 0:
                ids = flip.active_ids()
                lot += float(flip.lot[ids][flip.guy[ids] == me].sum())
            held_usd += lot * price
        return self.dai - self.capital + (held_usd - self.gas_usd) / model.dai_market.price()

    def _gas_price(self) -> float:
        """The gas price this keeper pays per unit of gas this tick [gwei]."""
        return self.model.gas_price if self.gas_bid is None else self.gas_bid

    def lands(self) -> bool:
        """Whether this keeper's transactions are included this tick."""
        return self.gas_bid is None or self.gas_bid >= self.model.gas_price

    def gas_cost(self, gas_used: float) -> float:
        """Cost of one transaction using ``gas_used`` [USD]."""
        return tx_cost_eth(gas_used, self._gas_price()) * self.model.eth_price()

    def _pay_gas(self, gas_used: float, n: int) -> None:
        self.gas_usd += n * self.gas_cost(gas_used)

    def seen_price(self, asset: str) -> float:
        """The market price as this keeper sees it (``latency`` ticks late) [USD/token]."""
        return self.model.price_seen(asset, self.latency)

    # ------------------------------------------------------------------ tick
    def step(self) -> None:
        """Work every ilk's liquidations, then sell what was bought."""
        if not self.lands():
            return
        for ilk_name, house, dutch, _asset in self._houses():
            if dutch:
                self._bark(ilk_name)
                if house.active_ids().size:
                    self._take(ilk_name, house)
            else:
                self._bite(ilk_name)
                if house.active_ids().size:
                    self._english(ilk_name, house)
        self._sell_all()

    def _houses(self) -> list[tuple[str, Clipper | Flipper, bool, str]]:
        """``(ilk, auction house, is Dutch, collateral)`` per ilk, resolved on first use."""
        if self._house_list is None:
            model = self.model
            self._house_list = [
                (name, model.liquidator(name), name in model.clippers, spec.collateral)
                for name, spec in model.spec.ilks.items()
            ]
        return self._house_list

    # ------------------------------------------------------------------ Liquidations 2.0
    def _candidates(self, ilk_name: str) -> np.ndarray:
        """Unsafe vaults this keeper has seen (unsafe at the OSM price ``latency`` ago too)."""
        model = self.model
        book = model.vat.ilks[ilk_name]
        idx = book.unsafe()
        if idx.size and self.latency:
            spot_seen = model.spot_seen(ilk_name, self.latency)
            idx = idx[book.art[idx] * book.rate > book.ink[idx] * spot_seen]
        return idx

    def _bark(self, ilk_name: str) -> None:
        idx = self._candidates(ilk_name)
        if idx.size == 0 or self.lowball:
            return
        model = self.model
        clip = model.clippers[ilk_name]
        dog = model.dog
        if (
            clip.stopped >= 1
            or min(dog.Hole - dog.Dirt, dog.ilks[ilk_name].hole - dog.ilks[ilk_name].dirt) <= 0
        ):
            return
        cost = self.gas_cost(self.model.gas_used["bark"])
        if cost > 0:
            # Bark only where the incentive (Dai) pays for the gas.
            book = model.vat.ilks[ilk_name]
            tab = book.art[idx] * book.rate * clip.chop
            idx = idx[clip.tip + clip.chip * tab > cost / model.dai_market.price()]
        if idx.size:
            ids = model.dog.bark(ilk_name, idx, self.name, model.now)
            self._pay_gas(self.model.gas_used["bark"], ids.size)

    def _seen(self, house: Clipper | Flipper, ids: np.ndarray) -> np.ndarray:
        """Which auctions started at least ``latency`` ticks ago."""
        return self.model.tick - house.start_tick[ids] >= self.latency

    def _take(self, ilk_name: str, clip: Clipper) -> None:
        if self.lowball:
            return
        model = self.model
        now = model.now
        ids, done, price = clip.status_active(now)
        stale = done if not self.latency else done & self._seen(clip, ids)
        if stale.any() and clip.stopped < 2:
            reset = clip.redo(ids[stale], self.name, now)
            self._pay_gas(self.model.gas_used["redo"], reset.size)
            ids, done, price = clip.status_active(now)
        if self.latency:
            seen = self._seen(clip, ids)
            ids, done, price = ids[seen], done[seen], price[seen]
            if ids.size == 0:
                return
        if clip.stopped >= 3:
            return
        asset = model.spec.ilks[ilk_name].collateral
        market = self.seen_price(asset) / model.dai_market.price()  # [Dai/token]
        cheap = ~done & (price > 0) & (price <= market * (1.0 - self.discount))
        if not cheap.any():
            return
        ids, price = ids[cheap], price[cheap]
        gas_used = self.model.gas_used["take_flash"] if self.flash else self.model.gas_used["take"]
        gas = self.gas_cost(gas_used) / model.dai_market.price()  # [Dai]
        lot = clip.lot[ids]
        owe = np.minimum(lot * price, clip.tab[ids])
        # The collateral a take buys is owe/price; it must be worth more than owe plus gas.
        good = (owe / price) * market - owe > gas
        if not good.any():
            return
        ids, price, lot, owe = ids[good], price[good], lot[good], owe[good]
        order = np.argsort(price / market, kind="stable")  # deepest discount first
        ids, price, lot, owe = ids[order], price[order], lot[order], owe[order]
        if self.flash:
            n = self._flash_prefix(asset, owe / price, owe, gas)
            if n == 0:
                return
            ids, price, lot, owe = ids[:n], price[:n], lot[:n], owe[:n]
            amt = lot
            borrowed = float(owe.sum())
            model.vat.join_dai(self.name, borrowed)  # flash-borrowed Dai
        else:
            budget = self.dai
            spent_before = np.cumsum(owe) - owe
            ok = spent_before < budget
            if not ok.any():
                return
            ids, price, lot, owe = ids[ok], price[ok], lot[ok], owe[ok]
            left = budget - spent_before[ok]
            amt = np.where(owe <= left, lot, left / price)
        slice_, _paid = clip.take(ids, amt, price, self.name, now)
        self._pay_gas(gas_used, int(np.count_nonzero(slice_)))
        if self.flash:
            # Sell the lots within the same transaction and repay the flash loan in full.
            self._sell_all()
            model.vat.exit_dai(self.name, borrowed)  # raises if the sale did not cover it

    def _flash_prefix(self, asset: str, tokens: np.ndarray, owe: np.ndarray, gas: float) -> int:
        """How many of the ordered lots a flash take can buy and still repay the loan.

        Selling the first ``k`` lots into the market (impact included) and buying Dai must
        return at least their cost plus gas; the proceeds are concave in ``k``, so the
        largest such ``k`` is found by bisection on quotes.
        """
        model = self.model
        cum_tokens, cum_owe = np.cumsum(tokens), np.cumsum(owe)

        def pays(k: int) -> bool:
            usd = model.market.quote_sell(asset, float(cum_tokens[k - 1]))
            return model.dai_market.quote_buy_dai(usd) >= float(cum_owe[k - 1]) + k * gas

        lo, hi = 0, len(tokens)
        if pays(hi):
            return hi
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if pays(mid):
                lo = mid
            else:
                hi = mid
        return lo

    # ------------------------------------------------------------------ Liquidations 1.x
    def _bite(self, ilk_name: str) -> None:
        idx = self._candidates(ilk_name)
        if idx.size == 0:
            return
        model = self.model
        ids = model.cat.bite(ilk_name, idx, self.name, model.now)
        self._pay_gas(self.model.gas_used["bite"], ids.size)

    def _english(self, ilk_name: str, flip: Flipper) -> None:
        model = self.model
        now = model.now
        ids = flip.active_ids()
        tic, end = flip.tic[ids], flip.end[ids]
        # Finished: a bid has expired, or the auction reached its end.
        finished = ((tic != 0) & (tic < now)) | (end < now)
        if finished.any():
            has_bid = finished & (tic != 0)
            dealt = flip.deal(ids[has_bid], now)
            self._pay_gas(self.model.gas_used["deal"], int(np.count_nonzero(dealt)))
            expired = finished & (tic == 0)
            ticked = flip.tick(ids[expired], now)
            self._pay_gas(self.model.gas_used["tick"], int(np.count_nonzero(ticked)))
            ids = flip.active_ids()
        if ids.size == 0:
            return
        if self.latency:
            ids = ids[self._seen(flip, ids)]
        me = flip.name_id(self.name)
        ids = ids[flip.guy[ids] != me]  # never outbid oneself
        if ids.size == 0:
            return
        bid, lot, tab = flip.bid[ids], flip.lot[ids], flip.tab[ids]
        if self.lowball:
            fresh = (bid == 0) & (flip.tic[ids] == 0)
            if fresh.any():
                tiny = np.minimum(self.spec.strategy.bid, tab[fresh])
                ok = flip.tend(ids[fresh], lot[fresh], tiny, self.name, now)
                self._pay_gas(self.model.gas_used["tend"], int(np.count_nonzero(ok)))
            return
        asset = model.spec.ilks[ilk_name].collateral
        dai_price = model.dai_market.price()
        market = self.seen_price(asset) / dai_price  # [Dai/token]: bids are in Dai
        beg = flip.beg
        tend_phase = (bid < tab) & ~num.same_array(bid, tab)
        # tend: bid the most it is worth to us, if that beats the current bid by beg.
        worth = (
            lot * market * (1.0 - self.discount)
            - self.gas_cost(self.model.gas_used["tend"]) / dai_price
        )
        target = np.minimum(tab, worth)
        can_tend = (
            tend_phase
            & (target > bid)
            & ((target >= bid * (1.0 + beg)) | num.covers_array(target, tab))
        )
        if can_tend.any():
            ok = flip.tend(ids[can_tend], lot[can_tend], target[can_tend], self.name, now)
            self._pay_gas(self.model.gas_used["tend"], int(np.count_nonzero(ok)))
        # dent: at the full tab, ask for less collateral while the tab is still covered.
        dent_phase = ~tend_phase
        want = tab / (market * (1.0 - self.discount))
        can_dent = dent_phase & (want * (1.0 + beg) <= lot)
        if can_dent.any():
            ok = flip.dent(ids[can_dent], want[can_dent], tab[can_dent], self.name, now)
            self._pay_gas(self.model.gas_used["dent"], int(np.count_nonzero(ok)))

    # ------------------------------------------------------------------ selling
    def _sell_all(self) -> None:
        """Sell all held collateral into its market and buy Dai with the proceeds."""
        model = self.model
        vat = model.vat
        for ilk_name, _house, _dutch, asset in self._houses():
            held = vat.gem.get((ilk_name, self.name), 0.0)
            if held <= 0:
                continue
            vat.exit_gem(ilk_name, self.name, held)
            usd = model.market.sell(asset, held)
            vat.join_dai(self.name, model.dai_market.buy_dai(usd))
