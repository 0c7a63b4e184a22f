"""Keepers: liquidators with Dai capital, a gas bid and a latency.

The MKR bidders of the Vow's debt and surplus auctions are in :mod:`sim.agents.mkr_bidder`.

Each tick the keepers act in the order of their gas bids (highest first, as a block builder
orders transactions; ties in a random order), and each works every ilk as far as its
transactions fit in the tick's blocks at its bid (:mod:`sim.market.blocks`):

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
Each transaction costs ``gas used × gas bid`` in ETH (first price), valued at the ETH market
price.

One account, one nonce sequence: while a keeper's first transaction bids below what lands in the
tick's blocks, none of its later ones land either. A ``geometric`` bidder re-sends that pending
transaction at a higher price every ``every`` seconds (pymaker's ``GeometricGasPrice``, the
makerdao keepers' strategy); a ``fixed`` one stays stuck until the gas price falls to its bid.

Keeper profit = Dai + market value of held collateral − starting capital − gas spent [Dai].
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.agents.bidding import GasBidder
from sim.market.gas import tx_cost_eth
from sim.protocol import numeric as num
from sim.protocol.clip import Clipper
from sim.protocol.flip import Flipper
from sim.scenario import FixedGasBid, KeeperSpec, KickerStrategy, LowballStrategy

if TYPE_CHECKING:
    from sim.model import ProtocolModel

#: Fixed-point steps that refine an English ``dent`` target on the impact curve (the first
#: guess ignores impact; two steps bring it within rounding for any realistic depth).
DENT_ITERATIONS = 3
#: A Dutch taker holding less than this fraction of the cheapest lot it wants is out of Dai.
DRY_FRACTION = 0.01


class Keeper(mesa.Agent):
    """One keeper (a mesa agent).

    Attributes:
        name: the keeper's account name in the Vat.
        capital: Dai at the start [Dai].
        discount: required discount below the market value, after its own price impact [-].
        bidder: its gas bid (the strategy, first price) and pending nonce.
        latency: delay in ticks before the keeper sees a price or an auction.
        flash: Dutch takes with flash liquidity.
        gas_usd: value of the gas spent so far [USD].
        txs: transactions landed so far.
    """

    def __init__(self, model: ProtocolModel, spec: KeeperSpec, name: str):
        super().__init__(model)
        self.spec = spec
        self.name = name
        self.capital = float(spec.dai)
        self.lowball = isinstance(spec.strategy, LowballStrategy)
        #: Starts auctions only (``bark``/``bite``); never redoes, takes or bids.
        self.kicker = isinstance(spec.strategy, KickerStrategy)
        self.discount = 0.0 if self.lowball or self.kicker else spec.strategy.discount
        #: Starts auctions (bark/bite): all but market keepers set to bid only.
        self.kicks = getattr(spec.strategy, "kick", True)
        gas = spec.gas
        if gas is None and spec.gas_bid_gwei is not None:
            gas = FixedGasBid(kind="fixed", gwei=spec.gas_bid_gwei)
        #: The keeper's gas bid and pending nonce (each keeper of a lognormal group keeps its
        #: own bot setting for the whole run).
        self.bidder = GasBidder(model, gas, model.streams.keepers)
        #: The label of its group in the blocks' tally (``keepers.<name>``).
        self.sender = f"keepers.{spec.name}"
        self.latency = round(spec.latency / model.dt)
        #: Seconds from winning collateral to selling it (``settlement``).
        self.settlement = float(spec.settlement)
        #: Per ilk, the collateral waiting to be sold: (time won [s], amount [tokens]).
        self._settling: dict[str, list[tuple[float, float]]] = {}
        self.flash = spec.flash
        self.gas_usd = 0.0
        self.txs = 0
        #: The last tick in which it had work and none of its transactions landed.
        self.priced_out_tick = -1
        #: The last tick in which it wanted to bid but its Dai could not pay for any bid.
        self.dry_tick = -1
        calls = [
            (("bark",) if self.kicker else ("bark", "redo", "take_flash" if self.flash else "take"))
            if name in model.clippers
            else (("bite",) if self.kicker else ("bite", "deal", "tick", "tend", "dent"))
            for name in model.spec.ilks
        ]
        #: The call of this keeper that uses the least gas: if it does not land, nothing does.
        self._smallest = min((c for group in calls for c in group), key=model.gas_used.get)
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

    # ------------------------------------------------------------------ gas and transactions
    @property
    def pending_since(self) -> float | None:
        """When its pending transaction was first sent [s] (None: nothing pending)."""
        return self.bidder.pending_since

    def bid_gwei(self) -> float:
        """This tick's gas bid [gwei] (without a strategy, the tick's gas price)."""
        return self.bidder.bid()

    def _room(self, wanted: int | None, call: str) -> float:
        """How many of ``wanted`` ``call`` transactions still land this tick (None: how many can).

        Without a network every transaction lands (``wanted``, or ``inf`` for None).
        """
        blocks = self.model.blocks
        if blocks is None:
            return math.inf if wanted is None else wanted
        return blocks.fits(self.bidder.bid(), self.model.gas_used[call], wanted)

    def _spend(self, n: int, call: str) -> None:
        """Put ``n`` ``call`` transactions in this tick's blocks."""
        blocks = self.model.blocks
        if blocks is not None and n > 0:
            blocks.use(self.bidder.bid(), self.model.gas_used[call], n, self.sender)
        self.txs += n

    def idle(self) -> bool:
        """Whether it could do nothing this tick: priced out with work, or out of Dai.

        Out of Dai: it had lots it wanted to bid on and its Dai paid for none of them (a tend
        at its target bid, a dent at the tab; for a Dutch take, under 1 % of the cheapest lot).
        """
        tick = self.model.tick
        return self.priced_out_tick == tick or self.dry_tick == tick

    def lands(self) -> bool:
        """Whether the smallest of this keeper's transactions lands this tick."""
        return self._room(1, self._smallest) >= 1

    def _has_work(self) -> bool:
        """Whether any ilk has an unsafe vault or a running auction (something to send)."""
        model = self.model
        for ilk_name, house, _dutch, _asset in self._houses():
            book = model.vat.ilks[ilk_name]
            if house.active_ids().size or (book.spot > 0 and book.unsafe().size):
                return True
        return False

    def gas_cost(self, gas_used: float) -> float:
        """Cost of one transaction using ``gas_used`` [USD]."""
        return tx_cost_eth(gas_used, self.bidder.bid()) * self.model.eth_price()

    def _pay_gas(self, gas_used: float, n: int) -> None:
        self.gas_usd += n * self.gas_cost(gas_used)

    def seen_price(self, asset: str) -> float:
        """The market price as this keeper sees it (``latency`` ticks late) [USD/token]."""
        return self.model.price_seen(asset, self.latency)

    def _quote_dai(self, asset: str, tokens: np.ndarray) -> np.ndarray:
        """Dai each lot of ``tokens`` would bring, sold alone into its market now [Dai].

        The quote walks the market's impact curve (this keeper's own impact) and buys Dai in
        the Dai market; a keeper with latency scales it by the price it sees over the current.
        """
        model = self.model
        usd = model.market.quote_sell_each(asset, tokens)
        if self.latency:
            usd = usd * (self.seen_price(asset) / model.market.price(asset))
        return model.dai_market.quote_buy_dai_each(usd)

    # ------------------------------------------------------------------ tick
    def step(self) -> None:
        """Work every ilk's liquidations as far as its transactions land, then sell."""
        if not self.lands():
            # Its first transaction stays pending (or would): later nonces wait behind it.
            if self._has_work():
                self.bidder.stuck()
                self.model.blocks.refuse(self.sender, 1)
                self.priced_out_tick = self.model.tick
            if self._settling:
                self._sell_all()  # the exchange settles whether or not its transactions land
            return
        for ilk_name, house, dutch, _asset in self._houses():
            if dutch:
                if self.kicks:
                    self._bark(ilk_name)
                if house.active_ids().size and not self.kicker:
                    self._take(ilk_name, house)
            else:
                if self.kicks:
                    self._bite(ilk_name)
                if house.active_ids().size and not self.kicker:
                    self._english(ilk_name, house)
        self._sell_all()
        self.bidder.landed()  # what was pending landed (at this tick's bid)

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
        """Unsafe vaults this keeper has seen (unsafe at the OSM price ``latency`` ago too).

        None at ``spot`` 0 (a voided OSM): dss ``bark`` and ``bite`` require ``spot > 0``.
        """
        model = self.model
        book = model.vat.ilks[ilk_name]
        if book.spot <= 0:
            return np.zeros(0, dtype=np.int64)
        idx = book.unsafe()
        if idx.size and self.latency:
            spot_seen = model.spot_seen(ilk_name, self.latency)
            idx = idx[book.art[idx] * book.rate > book.ink[idx] * spot_seen]
        return idx

    def _takes(self) -> bool:
        """Whether this keeper takes Dutch lots: Dai or flash liquidity, and a bidding strategy."""
        return not (self.lowball or self.kicker) and (self.flash or self.dai > 0)

    def _bark(self, ilk_name: str) -> None:
        """``bark`` the unsafe vaults whose bark pays for its gas.

        It pays when the incentive ``tip + chip·tab`` plus, for a keeper that takes, the
        profit it expects from taking the lot — ``discount · min(tab, ink · market)`` less the
        take's gas — exceeds the bark's gas. Lowballers never bark.
        """
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
        dai_price = model.dai_market.price()
        cost = self.gas_cost(model.gas_used["bark"]) / dai_price  # [Dai]
        if cost > 0:
            book = model.vat.ilks[ilk_name]
            tab = book.art[idx] * book.rate * clip.chop
            worth = clip.tip + clip.chip * tab
            if self._takes():
                market = self.seen_price(model.spec.ilks[ilk_name].collateral) / dai_price
                take_gas = self.gas_cost(model.gas_used["take"]) / dai_price
                expected = self.discount * np.minimum(tab, book.ink[idx] * market) - take_gas
                worth = worth + np.maximum(expected, 0.0)
            idx = idx[worth > cost]
        idx = idx[: self._room(idx.size, "bark")]
        if idx.size:
            ids = model.dog.bark(ilk_name, idx, self.name, model.now)
            self._spend(idx.size, "bark")
            self._pay_gas(model.gas_used["bark"], ids.size)

    def _seen(self, house: Clipper | Flipper, ids: np.ndarray) -> np.ndarray:
        """Which auctions started at least ``latency`` ticks ago."""
        return self.model.tick - house.start_tick[ids] >= self.latency

    def _take(self, ilk_name: str, clip: Clipper) -> None:
        """``redo`` stale auctions, then ``take`` the lots that pay after the keeper's impact."""
        if self.lowball:
            return
        model = self.model
        now = model.now
        ids, done, price = clip.status_active(now)
        stale = done if not self.latency else done & self._seen(clip, ids)
        if stale.any() and clip.stopped < 2 and clip.has_price():  # redo reads the feed
            resets = ids[stale][: self._room(int(np.count_nonzero(stale)), "redo")]
            if resets.size:
                reset = clip.redo(resets, self.name, now)
                self._spend(resets.size, "redo")
                self._pay_gas(model.gas_used["redo"], reset.size)
                ids, done, price = clip.status_active(now)
        if self.latency:
            seen = self._seen(clip, ids)
            ids, done, price = ids[seen], done[seen], price[seen]
        if ids.size == 0 or clip.stopped >= 3:
            return
        asset = model.spec.ilks[ilk_name].collateral
        dai_price = model.dai_market.price()
        market = self.seen_price(asset) / dai_price  # [Dai/token]
        cheap = ~done & (price > 0) & (price <= market * (1.0 - self.discount))
        if not cheap.any():
            return
        ids, price = ids[cheap], price[cheap]
        owe = np.minimum(clip.lot[ids] * price, clip.tab[ids])  # Dai to take the whole lot
        call = "take_flash" if self.flash else "take"
        gas_used = model.gas_used[call]
        if self._room(1, call) < 1:
            return
        gas = self.gas_cost(gas_used) / dai_price  # [Dai]
        # Each lot must pay for its gas when sold alone (with the keeper's price impact) ...
        alone = self._quote_dai(asset, owe / price) - owe > gas
        ids, price, owe = ids[alone], price[alone], owe[alone]
        order = np.argsort(price / market, kind="stable")  # deepest discount first
        ids, price, owe = ids[order], price[order], owe[order]
        whole = clip.lot[ids]  # ask for the whole lot: the Clipper charges at most its tab
        if not self.flash:
            # Dai capital: the lots it can pay for, the last one in part.
            budget = self.dai
            spent_before = np.cumsum(owe) - owe
            ok = spent_before < budget
            ids, price, owe, whole = ids[ok], price[ok], owe[ok], whole[ok]
            left = budget - spent_before[ok]
            whole = np.where(owe <= left, whole, left / price)
            owe = np.minimum(owe, left)
        if not self.flash and ids.size and self.dai < DRY_FRACTION * float(owe.min()):
            self.dry_tick = model.tick
        tokens = owe / price
        # ... and the lots it takes must pay together (its impact grows with what it buys).
        n = min(self._prefix_that_pays(asset, tokens, owe, gas), self._room(ids.size, call))
        if n == 0:
            return
        ids, price, owe, whole = ids[:n], price[:n], owe[:n], whole[:n]
        if self.flash:
            borrowed = float(owe.sum())
            model.vat.join_dai(self.name, borrowed)  # flash-borrowed Dai
        slice_, _paid = clip.take(ids, whole, price, self.name, now)
        self._spend(n, call)
        self._pay_gas(gas_used, int(np.count_nonzero(slice_)))
        if self.flash:
            # Sell the lots within the same transaction and repay the flash loan in full.
            self._sell_all(immediately=True)
            model.vat.exit_dai(self.name, borrowed)  # raises if the sale did not cover it

    def _prefix_that_pays(self, asset: str, tokens: np.ndarray, owe: np.ndarray, gas: float) -> int:
        """How many of the ordered lots to take so that selling them still pays.

        Selling the first ``k`` lots into the market together (this keeper's own price impact
        included) and buying Dai must return at least their cost plus ``k`` takes' gas. The
        proceeds are concave in ``k`` and the costs convex (lots come cheapest first), so the
        lots that pay form a prefix, found by bisection on quotes.
        """
        model = self.model
        cum_tokens, cum_owe = np.cumsum(tokens), np.cumsum(owe)
        scale = self.seen_price(asset) / model.market.price(asset) if self.latency else 1.0

        def pays(k: int) -> bool:
            usd = model.market.quote_sell(asset, float(cum_tokens[k - 1])) * scale
            dai = model.dai_market.quote_buy_dai(usd)
            return dai >= float(cum_owe[k - 1]) + k * gas

        lo, hi = 0, len(tokens)
        if hi == 0 or pays(hi):
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
        """``bite`` unsafe vaults, each as often as it stays unsafe, within this tick's blocks."""
        idx = self._candidates(ilk_name)
        if idx.size == 0:
            return
        model = self.model
        ids = model.cat.bite(
            ilk_name, idx, self.name, model.now, max_bites=self._room(None, "bite")
        )
        self._spend(ids.size, "bite")
        self._pay_gas(model.gas_used["bite"], ids.size)

    def _english(self, ilk_name: str, flip: Flipper) -> None:
        """``deal``/``tick`` finished auctions, then bid (``tend``/``dent``) or lowball."""
        model = self.model
        now = model.now
        ids = flip.active_ids()
        tic, end = flip.tic[ids], flip.end[ids]
        # Finished: a bid has expired, or the auction reached its end.
        finished = ((tic != 0) & (tic < now)) | (end < now)
        if finished.any():
            has_bid = ids[finished & (tic != 0)]
            has_bid = has_bid[: self._room(has_bid.size, "deal")]
            dealt = flip.deal(has_bid, now)
            self._spend(has_bid.size, "deal")
            self._pay_gas(model.gas_used["deal"], int(np.count_nonzero(dealt)))
            expired = ids[finished & (tic == 0)]
            expired = expired[: self._room(expired.size, "tick")]
            ticked = flip.tick(expired, now)
            self._spend(expired.size, "tick")
            self._pay_gas(model.gas_used["tick"], int(np.count_nonzero(ticked)))
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
            fresh = np.flatnonzero((bid == 0) & (flip.tic[ids] == 0))
            fresh = fresh[: self._room(fresh.size, "tend")]
            if fresh.size:
                tiny = np.minimum(self.spec.strategy.bid, tab[fresh])
                ok = flip.tend(ids[fresh], lot[fresh], tiny, self.name, now)
                self._spend(fresh.size, "tend")
                self._pay_gas(model.gas_used["tend"], int(np.count_nonzero(ok)))
            return
        asset = model.spec.ilks[ilk_name].collateral
        dai_price = model.dai_market.price()
        beg = flip.beg
        keep = 1.0 - self.discount
        tend_phase = (bid < tab) & ~num.same_array(bid, tab)
        # tend: bid what the lot is worth to us — its sale after our own impact, less our
        # discount and the gas — if that beats the current bid by beg. (Quotes are per lot:
        # only the auctions in each phase are quoted.)
        tending = np.flatnonzero(tend_phase)
        if tending.size:
            t_bid, t_lot, t_tab = bid[tending], lot[tending], tab[tending]
            worth = (
                self._quote_dai(asset, t_lot) * keep
                - self.gas_cost(model.gas_used["tend"]) / dai_price
            )
            target = np.minimum(t_tab, worth)
            can = (target > t_bid) & (
                (target >= t_bid * (1.0 + beg)) | num.covers_array(target, t_tab)
            )
            can_tend = np.flatnonzero(can)
            if can_tend.size and self.dai < float(target[can_tend].min()):
                self.dry_tick = model.tick
            can_tend = can_tend[: self._room(can_tend.size, "tend")]
            if can_tend.size:
                ok = flip.tend(
                    ids[tending[can_tend]], t_lot[can_tend], target[can_tend], self.name, now
                )
                self._spend(can_tend.size, "tend")
                self._pay_gas(model.gas_used["tend"], int(np.count_nonzero(ok)))
        # dent: at the full tab, ask for the least collateral whose sale still covers the tab
        # with our discount (a few fixed-point steps on the impact curve from the linear guess).
        denting = np.flatnonzero(~tend_phase)
        if denting.size == 0:
            return
        d_lot, d_tab = lot[denting], tab[denting]
        market = self.seen_price(asset) / dai_price  # [Dai/token]
        want = d_tab / (market * keep)
        for _ in range(DENT_ITERATIONS):
            value = self._quote_dai(asset, want) * keep
            want = want * np.divide(d_tab, value, out=np.ones_like(d_tab), where=value > 0)
        can_dent = np.flatnonzero(want * (1.0 + beg) <= d_lot)
        if can_dent.size and self.dai < float(d_tab[can_dent].min()):
            self.dry_tick = model.tick
        can_dent = can_dent[: self._room(can_dent.size, "dent")]
        if can_dent.size:
            ok = flip.dent(ids[denting[can_dent]], want[can_dent], d_tab[can_dent], self.name, now)
            self._spend(can_dent.size, "dent")
            self._pay_gas(model.gas_used["dent"], int(np.count_nonzero(ok)))

    # ------------------------------------------------------------------ selling
    def _sell_all(self, immediately: bool = False) -> None:
        """Sell won collateral into its market and buy Dai with the proceeds.

        A flash take sells within its transaction (``immediately``). Otherwise the collateral
        settles on an exchange ``settlement`` seconds after it was won and is sold then, at that
        tick's market price (in a falling market, for less: the taker's inventory risk); its Dai
        is back only then. A lowballer keeps what it wins: it needs no Dai to bid, so it has no
        reason to sell into a crashing market (the zero-bid winners of March 2020 kept the ETH).
        """
        if self.lowball:
            return
        model = self.model
        vat = model.vat
        now = model.now
        for ilk_name, _house, _dutch, asset in self._houses():
            held = vat.gem.get((ilk_name, self.name), 0.0)
            if held <= 0:
                continue
            if not immediately and self.settlement > 0:
                queue = self._settling.setdefault(ilk_name, [])
                new = held - sum(amount for _, amount in queue)
                if new > 0:
                    queue.append((now, new))
                due = sum(amount for won, amount in queue if now - won >= self.settlement)
                queue[:] = [(won, amount) for won, amount in queue if now - won < self.settlement]
                held = min(due, held)
                if held <= 0:
                    continue
            vat.exit_gem(ilk_name, self.name, held)
            usd = model.market.sell(asset, held)
            vat.join_dai(self.name, model.dai_market.buy_dai(usd))
