"""MKR bidders: the competing bidders of the Vow's debt (flop) and surplus (flap) auctions.

Each bidder has its own reservation, set by its profit ``margin`` [-] on the MKR market price
``P`` [USD/MKR] (the Dai price ``d`` [USD/Dai] converts the Dai side):

- debt auction (reverse English, dss ``Flopper``): the least MKR it accepts for the fixed Dai
  bid ``b`` is its reservation lot ``r = b·d·(1 + margin)/P`` [MKR];
- surplus auction (English, dss ``Flapper``): the most MKR it pays for the fixed Dai lot ``l`` is
  ``m = l·d/((1 + margin)·P)`` [MKR].

**Bidding.** A bidder not leading an auction makes the smallest improvement the auction
accepts, while that keeps within its reservation: it ``dent``s the lot to ``lot/(1 + beg)`` when
that is at least ``r``, and ``tend``s the bid to ``bid·(1 + beg)`` when that is at most ``m`` (the
first bid of a surplus auction is :data:`OPENING_FRACTION` of ``m``). Bidding only the minimal
improvement is what a rational bidder does in an ascending auction: a jump to its reservation
would give away the margin between its reservation and its rivals'. The bidders take turns
within a tick (:func:`step_bidders`: rounds in a fixed order until nobody bids) — a bidding war
runs to its end before the tick is over — so a debt auction's lot ends within a ``beg`` step of
the second-lowest reservation, ``[r₂/(1+beg), r₂·(1+beg))``, held by the bidder with the lowest
one; a surplus auction's bid likewise near the second-highest ``m``. (With a single bidder the
auction ends at its first bid: ``dump/(1+beg)`` for a debt auction.)

**Settling and restarting.** Bidders ``deal`` auctions that ended, and restart (``tick``) an
expired auction nobody bid on only when they can bid on it at once: as many debt auctions as
their Dai pays for, surplus auctions while they hold MKR. (Restarting auctions nobody will bid
on would raise their lots by ``pad`` forever and fill the event log.)

**Rebalancing through the MKR market.** After bidding, each bidder trades MKR against Dai back
to its starting Dai: the winner of a debt auction sells the MKR it won, the winner of a surplus
auction buys back the MKR it paid — so its capital keeps serving the auctions over a long run,
as an arbitrageur's does. The MKR leg goes through the model's market for ``"MKR"``
(:class:`sim.market.depth.Market`): with an ``mkr.market`` depth in the scenario, MKR sold
lowers the MKR price (and MKR bought raises it) and the deviation fades with its half-life;
without one the market is infinitely deep and the price is the exogenous one. The Dai leg is
converted at the Dai market price, without impact on the Dai market. Bidders value MKR at the
current market price: they do not anticipate the impact of their own later sale, which shows in
the price the next tick's reservations are set from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.agents.bidding import land
from sim.protocol import numeric as num
from sim.protocol.vow import Flapper, Flopper

if TYPE_CHECKING:
    from sim.model import ProtocolModel
    from sim.scenario import Mkr

#: Holder of the MKR the bidders sell into the market (in the Vow's MKR ledger).
MARKET = "mkr-market"
#: The MKR bidders' label in the blocks' tally: their transactions bid the tick's gas price.
SENDER = "mkr"
#: The market asset name of MKR (:class:`sim.market.depth.Market`).
MKR = "MKR"
#: A bidder's first bid in a surplus auction nobody has bid on, as a fraction of the most MKR it
#: would pay [-]. Any positive opening works (rivals then raise it by ``beg`` steps); half the
#: maximum reaches competitive prices in a few steps and leaves a lone bidder half its margin.
OPENING_FRACTION = 0.5
#: Most bidding rounds in one tick (:func:`step_bidders`). A debt auction's lot falls by at
#: least ``beg`` per round, so a war from ``dump`` down to a reservation ``k`` times smaller takes
#: ``ln(k)/ln(1 + beg)`` rounds (about 470 for ``k`` = 10⁶ at ``beg`` 3 %).
MAX_ROUNDS = 10_000
#: Bisection steps of :meth:`MkrBidder._mkr_to_sell` (the bracket shrinks by 2⁻⁶⁰).
SELL_BISECTIONS = 60


def bidder_margins(spec: Mkr, rng: np.random.Generator) -> np.ndarray:
    """Each bidder's profit margin [-]: uniform in ``margin ± margin_spread``.

    Args:
        spec: the scenario's ``mkr`` section.
        rng: the run's ``mkr`` stream (drawn once, at build time).

    Returns:
        One margin per bidder, in bidder order.
    """
    draws = rng.uniform(-1.0, 1.0, spec.bidders)
    return spec.margin + spec.margin_spread * draws


def make_bidders(model: ProtocolModel, spec: Mkr, rng: np.random.Generator) -> list[MkrBidder]:
    """The scenario's MKR bidders ``mkr-bidder-1`` … with their own margins.

    Args:
        model: the model (bidders join their Dai in its Vat and their MKR in its Vow).
        spec: the scenario's ``mkr`` section.
        rng: the run's ``mkr`` stream.
    """
    margins = bidder_margins(spec, rng)
    return [
        MkrBidder(model, spec, f"mkr-bidder-{j + 1}", float(margin))
        for j, margin in enumerate(margins)
    ]


def step_bidders(bidders: Sequence[MkrBidder]) -> None:
    """One tick of the MKR bidders.

    Each deals the auctions that ended and restarts those it can bid on; then they bid in
    rounds, in bidder order, until a round passes without a bid (at most :data:`MAX_ROUNDS`);
    then each rebalances MKR and Dai through the market.
    """
    for bidder in bidders:
        bidder.settle()
    for _ in range(MAX_ROUNDS):
        placed = [bidder.bid_once() for bidder in bidders]  # every bidder gets its turn
        if not any(placed):
            break
    for bidder in bidders:
        bidder.rebalance()


def _one_step_down(lot: np.ndarray, beg: float) -> np.ndarray:
    """The largest lots ``x`` with ``(1 + beg)·x <= lot`` in float arithmetic (dss ``dent``)."""
    new = lot / (1.0 + beg)
    over = (1.0 + beg) * new > lot
    while over.any():
        new[over] = np.nextafter(new[over], 0.0)
        over = (1.0 + beg) * new > lot
    return new


class MkrBidder(mesa.Agent):
    """Bids in the Vow's debt and surplus auctions and trades MKR in the MKR market.

    See the module docstring for the strategy. The model runs all bidders together each tick
    (:func:`step_bidders`); :meth:`step` is one bidder's tick on its own.

    Attributes:
        name: its account name in the Vat and in the Vow's MKR ledger.
        margin: the profit it asks on the MKR market price [-].
        capital: Dai at the start, the balance it rebalances back to [Dai].
        start_mkr: MKR at the start [MKR].
    """

    def __init__(self, model: ProtocolModel, spec: Mkr, name: str, margin: float | None = None):
        super().__init__(model)
        self.name = name
        self.margin = float(spec.margin if margin is None else margin)
        self.capital = float(spec.dai)
        model.vat.join_dai(name, self.capital)
        model.vow.give_mkr(name, spec.mkr)
        self.start_mkr = float(spec.mkr)

    # ------------------------------------------------------------------ accounts
    @property
    def dai(self) -> float:
        """Dai held in the Vat [Dai]."""
        return self.model.vat.dai.get(self.name, 0.0)

    @property
    def mkr(self) -> float:
        """MKR held (not bid) [MKR]."""
        return self.model.vow.mkr.get(self.name, 0.0)

    def dai_bid(self) -> float:
        """Dai it has bid in the running debt auctions it leads [Dai]."""
        flop = self.model.vow.flopper
        ids = flop.active_ids()
        if ids.size == 0:
            return 0.0
        return float(flop.bid[ids][flop.guy[ids] == flop.name_id(self.name)].sum())

    def reservation_lot(self, bid: np.ndarray | float) -> np.ndarray | float:
        """The least MKR it accepts for a debt auction's Dai ``bid``: ``bid·d·(1+margin)/P`` [MKR]."""
        model = self.model
        return bid * model.dai_market.price() * (1.0 + self.margin) / model.mkr_price()

    def most_mkr(self, lot: np.ndarray | float) -> np.ndarray | float:
        """The most MKR it pays for a surplus auction's Dai ``lot``: ``lot·d/((1+margin)·P)`` [MKR]."""
        model = self.model
        return lot * model.dai_market.price() / ((1.0 + self.margin) * model.mkr_price())

    def profit(self) -> float:
        """Dai gained plus MKR gained, the MKR valued at the MKR market price in Dai [Dai].

        As for keepers, the lots of the running auctions it leads are its own if they end now:
        a debt auction's MKR lot (its Dai bid has left its balance) and a surplus auction's Dai
        lot (its MKR bid has left its balance).
        """
        model = self.model
        vow = model.vow
        mkr = self.mkr - self.start_mkr
        dai = self.dai - self.capital
        for house in (vow.flopper, vow.flapper):
            ids = house.active_ids()
            if ids.size:
                led = house.lot[ids][house.guy[ids] == house.name_id(self.name)].sum()
                if isinstance(house, Flopper):
                    mkr += float(led)
                else:
                    dai += float(led)
        return dai + mkr * model.mkr_price() / model.dai_market.price()

    # ------------------------------------------------------------------ tick
    def step(self) -> None:
        """This bidder's tick on its own: settle, bid until it has nothing to add, rebalance."""
        step_bidders([self])

    def settle(self) -> None:
        """``deal`` the auctions that ended, then restart the expired ones it can bid on."""
        model = self.model
        now = model.now
        vow = model.vow
        for house in (vow.flopper, vow.flapper):
            ids = house.active_ids()
            if ids.size == 0:
                continue
            tic, end = house.tic[ids], house.end[ids]
            ended = ids[(tic != 0) & ((tic < now) | (end < now))]
            ended = land(model, ended, "deal", SENDER)
            if ended.size:
                house.deal_many(ended, now, actor=self.name)
        self._restart_expired(vow.flopper, now)
        self._restart_expired(vow.flapper, now)

    def bid_once(self) -> bool:
        """One turn: the minimal improvement on every auction it does not lead, within reason.

        Returns:
            Whether it placed any bid.
        """
        model = self.model
        if not (model.mkr_price() > 0 and model.dai_market.price() > 0):
            return False
        dented = self._dent(model.vow.flopper, model.now)
        tended = self._tend(model.vow.flapper, model.now)
        return dented or tended

    def _dent(self, flop: Flopper, now: float) -> bool:
        """Undercut debt auctions by ``beg`` down to its reservation lot, as its Dai allows."""
        ids = flop.active_ids()
        if ids.size == 0:
            return False
        ids = ids[self._biddable(flop, ids, now)]
        if ids.size == 0:
            return False
        bid = flop.bid[ids]
        new = _one_step_down(flop.lot[ids].copy(), flop.beg)
        good = new >= self.reservation_lot(bid)
        if not good.any():
            return False
        ids, bid, new = ids[good], bid[good], new[good]
        # Each dent moves the fixed bid out of its Dai (refunded when outbid): pay in id order.
        paid = num.covers_array(self.dai, np.cumsum(bid), self.model.vat.dai_total())
        sent = land(self.model, np.flatnonzero(paid), "dent", SENDER)
        if sent.size:
            flop.dent_many(ids[sent], new[sent], self.name, now)
        return bool(sent.size)

    def _tend(self, flap: Flapper, now: float) -> bool:
        """Raise surplus auctions' MKR bids by ``beg`` up to its maximum, as its MKR allows."""
        ids = flap.active_ids()
        if ids.size == 0:
            return False
        ids = ids[self._biddable(flap, ids, now)]
        if ids.size == 0:
            return False
        bid = flap.bid[ids]
        most = self.most_mkr(flap.lot[ids])
        new = np.where(bid > 0, bid * (1.0 + flap.beg), OPENING_FRACTION * most)
        good = (new <= most) & (new > bid)
        if not good.any():
            return False
        ids, new = ids[good], new[good]
        # Not leading, it pays its whole new bid in MKR (the previous bidder is refunded).
        paid = num.covers_array(self.mkr, np.cumsum(new), self.model.vow.mkr_total())
        sent = land(self.model, np.flatnonzero(paid), "tend", SENDER)
        if sent.size:
            flap.tend_many(ids[sent], new[sent], self.name, now)
        return bool(sent.size)

    def _restart_expired(self, house: Flopper | Flapper, now: float) -> None:
        """``tick`` expired auctions without bids, as many as this bidder can bid on now."""
        ids = house.active_ids()
        if ids.size == 0:
            return
        expired = ids[(house.tic[ids] == 0) & (house.end[ids] < now)]
        if expired.size == 0:
            return
        if isinstance(house, Flopper):
            can = int(self.dai // max(house.bid[expired].max(), 1.0))
        else:
            can = expired.size if self.mkr > 0 else 0
        restart = land(self.model, expired[: max(can, 0)], "tick", SENDER)
        if restart.size:
            house.tick_many(restart, now, actor=self.name)

    def _biddable(self, house: Flopper | Flapper, ids: np.ndarray, now: float) -> np.ndarray:
        """Auctions still open to a bid that this bidder does not lead."""
        tic = house.tic[ids]
        return (
            (house.guy[ids] != house.name_id(self.name))
            & (house.end[ids] > now)
            & ((tic == 0) | (tic > now))
        )

    # ------------------------------------------------------------------ the MKR market
    def rebalance(self) -> None:
        """Trade MKR against Dai through the MKR market, back to the starting Dai balance.

        The Dai it has bid in debt auctions it leads is still its own (it comes back if it is
        outbid). Short of Dai, it sells the MKR that brings the Dai back (all it holds if that is
        not enough); over its Dai, it buys MKR with the excess it holds. The Dai leg converts at
        the Dai market price.
        """
        model = self.model
        mkr_price, dai_price = model.mkr_price(), model.dai_market.price()
        if not (mkr_price > 0 and dai_price > 0):
            return
        vat, vow = model.vat, model.vow
        gap = self.capital - self.dai - self.dai_bid()  # Dai short (> 0) or over (< 0) [Dai]
        if num.negligible(gap, self.capital):
            return
        if gap > 0:
            held = self.mkr
            if held <= 0:
                return
            sell = self._mkr_to_sell(gap * dai_price, held)
            usd = model.market.sell(MKR, sell)
            vow.move_mkr(self.name, MARKET, sell)
            vat.join_dai(self.name, usd / dai_price)
        else:
            spend = min(-gap, self.dai)  # the rest of the excess is in its bids for now
            if spend > 0:
                vat.exit_dai(self.name, spend)
                vow.give_mkr(self.name, model.market.buy(MKR, spend * dai_price))

    def _mkr_to_sell(self, usd: float, held: float) -> float:
        """The MKR whose sale brings ``usd`` [USD] (impact included), at most ``held`` [MKR].

        Proceeds rise with the amount sold and never exceed ``amount × price``, so the answer
        lies between ``usd/price`` and ``held``; bisection returns the bracket's upper end, which
        brings at least ``usd``.
        """
        market = self.model.market
        lo = usd / market.price(MKR)
        if lo >= held or market.quote_sell(MKR, held) <= usd:
            return held
        if market.quote_sell(MKR, lo) >= usd:  # no impact (an infinitely deep market)
            return lo
        hi = held
        for _ in range(SELL_BISECTIONS):
            mid = 0.5 * (lo + hi)
            if mid <= lo or mid >= hi:
                break
            if market.quote_sell(MKR, mid) >= usd:
                hi = mid
            else:
                lo = mid
        return hi
