"""Liquidations 2.0: Dog, Clipper and Dutch-auction price curves (dss ``dog``, ``clip``, ``abaci``).

The Dog confiscates unsafe vaults (``bark``) within the room left under the system limit ``Hole``
and the ilk limit ``hole``, and hands the collateral to the ilk's Clipper, which sells it in a
Dutch auction: the price starts at ``top = feed_price · buf`` and falls along a price curve; any
keeper may ``take`` collateral at the current price; an auction that ran too long (``tail``) or
fell too far (``cusp``) must be reset (``redo``) at a fresh ``top``.

Units (floats in natural units, the dss names):

- ``tab``: Dai still to raise in an auction (debt · ``chop``) [Dai].
- ``lot``: collateral still for sale [tokens].
- ``usr``: the liquidated vault, an index in the ilk's vault book.
- ``tic``: the time the auction (re)started [s since the simulation start].
- ``top``: the starting price of the auction [Dai/token].
- ``tau``: seconds until the linear curve reaches zero [s].
- ``cut``: multiplicative price decrease per ``step`` (stairstep) or per second (exponential) [-].
- ``step``: length of one stair of the stairstep curve [s].
- ``chop``: liquidation penalty as a multiplier (1.13 = 13 %) [-].
- ``buf``: multiplier of the feed price giving ``top`` [-].
- ``tail``: age after which an auction must be reset [s].
- ``cusp``: fraction of ``top`` below which an auction must be reset [-].
- ``chip``: keeper incentive as a fraction of ``tab`` [-].
- ``tip``: flat keeper incentive [Dai].
- ``chost``: ``dust · chop``, the least ``tab`` a partial take may leave [Dai].
- ``hole`` / ``Hole``: the most Dai (``tab``) that may be on auction for the ilk / the system [Dai].
- ``dirt`` / ``Dirt``: the Dai (``tab``) now on auction for the ilk / the system [Dai].

Every operation is vectorised over arrays of vault indices or auction ids; dss applies them one
call at a time, and where calls interact (the ``hole`` room in ``bark``) the call order is
reproduced in index order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.protocol import numeric as num
from sim.protocol.table import AuctionTable
from sim.protocol.vat import ProtocolError, Vat
from sim.protocol.vow import VOW, Vow

#: Price-curve kinds understood by :class:`Curve` (dss ``LinearDecrease``,
#: ``StairstepExponentialDecrease``, ``ExponentialDecrease``).
CURVE_KINDS = ("linear", "stairstep", "exponential")


def _first_occurrences(idx: np.ndarray) -> np.ndarray:
    """``idx`` without repeats, keeping the first occurrence of each value, in order."""
    if idx.size < 2 or np.all(idx[1:] > idx[:-1]):
        return idx
    order = np.argsort(idx, kind="stable")
    ordered = idx[order]
    first = np.ones(idx.shape[0], dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    return idx[np.sort(order[first])]


# ---------------------------------------------------------------------------------- price curves
def linear_price(top: np.ndarray | float, dur: np.ndarray | float, tau: float) -> np.ndarray:
    """Linear decrease to zero over ``tau`` seconds (dss ``LinearDecrease``).

    ``price = top · (tau − dur) / tau`` while ``dur < tau``, else ``0``.

    Args:
        top: starting price [Dai/token].
        dur: seconds since the auction (re)started [s].
        tau: seconds until the price reaches zero [s].

    Returns:
        The price [Dai/token], broadcast over ``top`` and ``dur``.
    """
    top = np.asarray(top, dtype=np.float64)
    dur = np.asarray(dur, dtype=np.float64)
    if tau <= 0:
        return np.zeros(np.broadcast_shapes(top.shape, dur.shape))
    return np.where(dur < tau, top * ((tau - dur) / tau), 0.0)


def stairstep_price(
    top: np.ndarray | float, dur: np.ndarray | float, cut: float, step: float
) -> np.ndarray:
    """Stairstep exponential decrease (dss ``StairstepExponentialDecrease``).

    ``price = top · cut^floor(dur / step)``: the price drops by the factor ``cut`` every ``step``
    seconds and is flat in between.

    Args:
        top: starting price [Dai/token].
        dur: seconds since the auction (re)started [s].
        cut: price multiplier per step [-] (0 < cut ≤ 1).
        step: length of one step [s].

    Returns:
        The price [Dai/token], broadcast over ``top`` and ``dur``.
    """
    top = np.asarray(top, dtype=np.float64)
    dur = np.asarray(dur, dtype=np.float64)
    stairs = np.floor(dur / step)
    if stairs.ndim == 1 and stairs.shape[0] > 16:
        # Many auctions: cut^k from a table of np.power(cut, k) (the same numbers, computed once).
        top_k = float(stairs.max(initial=0.0))
        if stairs.min(initial=0.0) >= 0 and top_k < _STAIRS_MAX:
            return top * _stairs(cut, int(top_k))[stairs.astype(np.int64)]
    return top * np.power(cut, stairs)


#: Longest stair table kept (steps); a sale that ran longer is priced by np.power directly.
_STAIRS_MAX = 1 << 20
#: cut → ``np.power(cut, [0, 1, 2, ...])``, a few of them (a sweep may try many cuts).
_STAIRS: dict[float, np.ndarray] = {}


def _stairs(cut: float, k: int) -> np.ndarray:
    """``np.power(cut, j)`` for ``j = 0 … k`` at least (cached per ``cut``)."""
    table = _STAIRS.get(cut)
    if table is None or table.shape[0] <= k:
        size = max(k + 1, 256, 0 if table is None else 2 * table.shape[0])
        if table is None and len(_STAIRS) >= 8:
            _STAIRS.clear()
        table = _STAIRS[cut] = np.power(cut, np.arange(size, dtype=np.float64))
    return table


def exponential_price(top: np.ndarray | float, dur: np.ndarray | float, cut: float) -> np.ndarray:
    """Continuous exponential decrease (dss ``ExponentialDecrease``).

    ``price = top · cut^dur`` with ``cut`` the multiplier per second.

    Args:
        top: starting price [Dai/token].
        dur: seconds since the auction (re)started [s].
        cut: price multiplier per second [-] (0 < cut ≤ 1).

    Returns:
        The price [Dai/token], broadcast over ``top`` and ``dur``.
    """
    top = np.asarray(top, dtype=np.float64)
    dur = np.asarray(dur, dtype=np.float64)
    return top * np.power(cut, dur)


@dataclass(frozen=True)
class Curve:
    """A Dutch-auction price curve (dss ``calc``, an abacus).

    Attributes:
        kind: ``"linear"``, ``"stairstep"`` or ``"exponential"``.
        tau: seconds to reach zero, linear only [s].
        cut: price multiplier per ``step`` (stairstep) or per second (exponential) [-].
        step: length of one stair, stairstep only [s].
    """

    kind: str
    tau: float = 0.0
    cut: float = 1.0
    step: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in CURVE_KINDS:
            raise ValueError(f"unknown curve kind {self.kind!r}; expected one of {CURVE_KINDS}")
        if self.kind == "linear" and not self.tau > 0:
            raise ValueError(f"linear curve needs tau > 0, got {self.tau!r}")
        if not 0 < self.cut <= 1:
            raise ValueError(f"curve cut must be in (0, 1], got {self.cut!r}")
        if not self.step > 0:
            raise ValueError(f"curve step must be > 0, got {self.step!r}")

    def price(self, top: np.ndarray | float, dur: np.ndarray | float) -> np.ndarray:
        """Price after ``dur`` seconds of an auction that started at ``top`` [Dai/token]."""
        if self.kind == "linear":
            return linear_price(top, dur, self.tau)
        if self.kind == "stairstep":
            return stairstep_price(top, dur, self.cut, self.step)
        return exponential_price(top, dur, self.cut)


# ---------------------------------------------------------------------------------- Clipper
#: Per-sale columns of a Clipper: dtype and the value of an unused slot.
_SALE_FIELDS: dict[str, tuple[type, object]] = {
    "usr": (np.int64, 0),
    "tab": (np.float64, 0.0),
    "lot": (np.float64, 0.0),
    "tic": (np.float64, 0.0),
    "top": (np.float64, 0.0),
    "active": (np.bool_, False),
    "start_tick": (np.int64, 0),
    "end_tick": (np.int64, 0),
    "tab0": (np.float64, 0.0),
    "lot0": (np.float64, 0.0),
    "due": (np.float64, 0.0),
    "raised": (np.float64, 0.0),
    "sold": (np.float64, 0.0),
    "returned": (np.float64, 0.0),
    "redos": (np.int64, 0),
    "coin": (np.float64, 0.0),
    "winner": (object, ""),
}


class Clipper(AuctionTable):
    """Dutch-auction house of one ilk (dss ``Clipper``); sales held as growable arrays.

    Sale ids are integers from 0 upward, never reused. Each per-sale column is a numpy view of
    length ``kicks`` (one row per sale ever started):

    - ``usr``: liquidated vault (index in the ilk's book).
    - ``tab`` [Dai], ``lot`` [tokens], ``tic`` [s], ``top`` [Dai/token]: the dss sale. After
      the end, ``lot`` is 0 and ``tab`` is the shortfall (Dai not raised, 0 when fully paid).
    - ``active``: whether the sale is running.
    - ``start_tick`` / ``end_tick``: model ticks of the kick and of the end (-1 while running).
    - ``tab0`` [Dai], ``lot0`` [tokens]: ``tab`` and ``lot`` at the kick.
    - ``due``: debt confiscated from the vault, ``tab0 / chop`` [Dai].
    - ``raised`` [Dai], ``sold`` [tokens]: proceeds and collateral taken so far.
    - ``returned``: leftover collateral given back to the vault owner [tokens].
    - ``redos``: number of resets; ``coin``: keeper incentives paid for kick and redos [Dai].
    - ``winner``: name of the last taker (``""`` if none).

    Attributes:
        vat: the Vat.
        ilk: ilk name.
        vow: the Vow (its Vat account receives the proceeds and pays the incentives).
        feed_price: returns the OSM current price divided by ``par`` [Dai/token] (dss
            ``getFeedPrice``).
        feed_valid: returns whether that price is valid (the OSM's ``has``; None: always).
        buf: ``top = feed_price · buf`` [-].
        tail: age after which a sale needs a reset [s].
        cusp: ``price / top`` below which a sale needs a reset [-].
        chip: keeper incentive per Dai of ``tab`` [-].
        tip: flat keeper incentive [Dai].
        curve: the price curve.
        chop: liquidation penalty [-] (the Dog's, used for ``chost``).
        chost: ``dust · chop`` cached by :meth:`upchost` [Dai].
        stopped: circuit breaker: 0 none, 1 no kick, 2 also no redo, 3 also no take.
        dog: the Dog to notify with ``digs`` (set by :meth:`Dog.add_ilk`), or None.
        account: the Clipper's account name in the Vat, ``"clip:<ilk>"``.
        kicks: number of sales ever started.
    """

    FIELDS = _SALE_FIELDS

    def __init__(
        self,
        vat: Vat,
        ilk: str,
        vow: Vow,
        feed_price: Callable[[], float],
        *,
        feed_valid: Callable[[], bool] | None = None,
        buf: float = 1.0,
        tail: float = np.inf,
        cusp: float = 0.0,
        chip: float = 0.0,
        tip: float = 0.0,
        curve: Curve = Curve("stairstep", cut=0.99, step=90.0),
        chop: float = 1.0,
        stopped: int = 0,
        capacity: int = 64,
    ) -> None:
        """Create the auction house of ``ilk`` (see the class attributes for the parameters)."""
        if ilk not in vat.ilks:
            raise ProtocolError(f"Clipper: unknown ilk {ilk!r}")
        self.vat = vat
        self.ilk = ilk
        self.vow = vow
        self.feed_price = feed_price
        self.feed_valid = feed_valid
        self.buf = float(buf)
        self.tail = float(tail)
        self.cusp = float(cusp)
        self.chip = float(chip)
        self.tip = float(tip)
        self.curve = curve
        self.chop = float(chop)
        self.stopped = int(stopped)
        self.dog: Dog | None = None
        self.account = f"clip:{ilk}"
        self._status_memo: tuple | None = None
        self.chost = 0.0
        self._init_table(capacity)
        self.upchost()

    # ------------------------------------------------------------------ administration
    def upchost(self) -> float:
        """Recache ``chost = dust · chop`` from the Vat's ``dust`` (dss ``upchost``) [Dai]."""
        self.chost = self.vat.ilks[self.ilk].dust * self.chop
        return self.chost

    def has_price(self) -> bool:
        """Whether the feed price is valid (dss clip.sol ``getFeedPrice`` requires it)."""
        return self.feed_valid is None or bool(self.feed_valid())

    def _top(self) -> tuple[float, float]:
        """The feed price and ``top = feed · buf``.

        Raises:
            ProtocolError: the feed price is invalid (a voided OSM; dss clip.sol
                ``getFeedPrice`` line 216, ``Clipper/invalid-price``), or ``top`` is not
                positive (``Clipper/zero-top-price``).
        """
        if not self.has_price():
            raise ProtocolError("Clipper/invalid-price")
        feed = float(self.feed_price())
        top = feed * self.buf
        if not top > 0:
            raise ProtocolError("Clipper/zero-top-price")
        return feed, top

    def _check_ids(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.kicks):
            raise ProtocolError("Clipper/not-running-auction: unknown sale id")
        return ids

    # ------------------------------------------------------------------ auctions
    def kick(
        self,
        tab: np.ndarray,
        lot: np.ndarray,
        usr: np.ndarray,
        kpr: str,
        now: float,
    ) -> np.ndarray:
        """Start one sale per element (dss ``kick``); the collateral must already be in ``account``.

        ``top = feed_price · buf``; the keeper ``kpr`` receives ``tip + chip · tab`` per sale,
        minted from the Vow (``suck``) when ``tip`` or ``chip`` is positive.

        Args:
            tab: Dai to raise per sale [Dai] (> 0).
            lot: collateral for sale [tokens] (> 0).
            usr: liquidated vault per sale.
            kpr: keeper receiving the incentive.
            now: current time [s].

        Returns:
            The new sale ids.

        Raises:
            ProtocolError: stopped (level ≥ 1), a non-positive ``tab`` or ``lot``, or no price;
                nothing is changed.
        """
        tab = np.asarray(tab, dtype=np.float64).reshape(-1)
        lot = np.broadcast_to(np.asarray(lot, dtype=np.float64), tab.shape)
        usr = np.broadcast_to(np.asarray(usr, dtype=np.int64), tab.shape)
        if self.stopped >= 1:
            raise ProtocolError("Clipper/stopped-incorrect: kick is stopped")
        if np.any(~(tab > 0)):
            raise ProtocolError("Clipper/zero-tab")
        if np.any(~(lot > 0)):
            raise ProtocolError("Clipper/zero-lot")
        _, top = self._top()
        n = tab.shape[0]
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        self._grow(self.kicks + n)
        ids = np.arange(self.kicks, self.kicks + n, dtype=np.int64)
        self.kicks += n
        coin = np.zeros(n)
        if self.tip > 0 or self.chip > 0:
            coin = self.tip + self.chip * tab
            self.vat.suck(VOW, kpr, float(coin.sum()))
        self.usr[ids] = usr
        self.tab[ids] = tab
        self.lot[ids] = lot
        self.tic[ids] = now
        self.top[ids] = top
        self._status_memo = None
        self._set_active(ids, True)
        self.start_tick[ids] = self.vat.log.tick
        self.end_tick[ids] = -1
        self.tab0[ids] = tab
        self.lot0[ids] = lot
        self.due[ids] = tab / self.chop
        self.raised[ids] = 0.0
        self.sold[ids] = 0.0
        self.returned[ids] = 0.0
        self.redos[ids] = 0
        self.coin[ids] = coin
        self.winner[ids] = ""
        log = self.vat.log
        log.add(
            "kick",
            ilk=self.ilk,
            vault=usr,
            auction=ids,
            actor=kpr,
            collateral=lot,
            dai=tab,
            price=np.full(n, top),
        )
        if self.tip > 0 or self.chip > 0:
            log.add("suck", ilk=self.ilk, vault=usr, auction=ids, actor=kpr, dai=coin)
        return ids

    def status(self, ids: np.ndarray, now: float) -> tuple[np.ndarray, np.ndarray]:
        """Whether sales need a reset, and their current price (dss ``getStatus``).

        ``price = curve(top, now − tic)``; ``done = now − tic > tail or price / top < cusp``,
        and only running sales can be done.

        Args:
            ids: sale ids.
            now: current time [s].

        Returns:
            ``(done, price)`` per id; ``price`` in [Dai/token].
        """
        ids = self._check_ids(ids)
        return self._status(ids, now)

    def status_active(self, now: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(ids, done, price)`` of every running sale at ``now``.

        Memoised until a sale starts, ends or is reset, so that several keepers looking in the
        same tick compute the prices once.
        """
        ids = self.active_ids()
        memo = self._status_memo
        if memo is not None and memo[0] == now and memo[1] is ids:
            return ids, memo[2], memo[3]
        done, price = self._status(ids, now)
        self._status_memo = (now, ids, done, price)
        return ids, done, price

    def _status(self, ids: np.ndarray, now: float) -> tuple[np.ndarray, np.ndarray]:
        top = self.top[ids]
        dur = now - self.tic[ids]
        price = self.curve.price(top, dur)
        with np.errstate(divide="ignore", invalid="ignore"):
            fallen = price / top < self.cusp
        done = self.active[ids] & ((dur > self.tail) | fallen)
        return done, price

    def redo(self, ids: np.ndarray, kpr: str, now: float) -> np.ndarray:
        """Reset the sales that need it (dss ``redo``); the others are left alone.

        ``tic ← now``, ``top ← feed_price · buf``. The keeper receives ``tip + chip · tab`` per
        reset sale (``suck`` from the Vow) only when ``tip`` or ``chip`` is positive and the sale
        is worth it: ``tab ≥ chost`` and ``lot · feed_price ≥ chost``.

        Args:
            ids: candidate sale ids.
            kpr: keeper calling.
            now: current time [s].

        Returns:
            The ids actually reset.

        Raises:
            ProtocolError: stopped (level ≥ 2), unknown id, or no valid price (a sale to reset
                and an invalid feed: ``Clipper/invalid-price``); nothing is changed. ``take``
                reads no feed price (dss clip.sol): it goes on with an invalid one.
        """
        if self.stopped >= 2:
            raise ProtocolError("Clipper/stopped-incorrect: redo is stopped")
        ids = _first_occurrences(self._check_ids(ids))
        done, _ = self._status(ids, now)
        ids = ids[done]
        if ids.size == 0:
            return ids
        feed, top = self._top()
        self.tic[ids] = now
        self.top[ids] = top
        self._status_memo = None  # prices and reset flags changed
        self.redos[ids] += 1
        tab = self.tab[ids]
        lot = self.lot[ids]
        coin = np.zeros(ids.shape[0])
        if self.tip > 0 or self.chip > 0:
            worth = (tab >= self.chost) & (lot * feed >= self.chost)
            coin = np.where(worth, self.tip + self.chip * tab, 0.0)
            total = float(coin.sum())
            if total > 0:
                self.vat.suck(VOW, kpr, total)
                self.coin[ids] += coin
        log = self.vat.log
        usr = self.usr[ids]
        log.add(
            "redo",
            ilk=self.ilk,
            vault=usr,
            auction=ids,
            actor=kpr,
            collateral=lot,
            dai=tab,
            price=np.full(ids.shape[0], top),
        )
        paid = coin > 0
        if paid.any():
            log.add(
                "suck", ilk=self.ilk, vault=usr[paid], auction=ids[paid], actor=kpr, dai=coin[paid]
            )
        return ids

    def take(
        self,
        ids: np.ndarray,
        amt: np.ndarray | float,
        max_price: np.ndarray | float,
        who: str,
        now: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Buy collateral at the current price (dss ``take``, elementwise over distinct ids).

        Per sale: refused (``slice = owe = 0``) if it is not running, needs a reset, or its
        price exceeds ``max_price``. Otherwise ``slice = min(lot, amt)``, ``owe = slice · price``;
        if ``owe > tab``: ``owe = tab``, ``slice = owe / price``; else if ``owe < tab`` and
        ``slice < lot`` and ``tab − owe < chost``: refused when ``tab ≤ chost`` (no partial
        purchase), else ``owe = tab − chost``, ``slice = owe / price``. The buyer ``who`` receives
        ``Σ slice`` collateral and pays ``Σ owe`` Dai to the Vow. A sale whose lot is gone ends;
        a sale whose tab is paid ends and returns its leftover lot to the vault owner (account
        ``"owner"``). The Dog's ``dirt`` falls by ``owe`` (by ``tab + owe`` when the lot is gone).

        Args:
            ids: sale ids (distinct).
            amt: most collateral to buy per sale [tokens].
            max_price: highest acceptable price per sale [Dai/token].
            who: buyer (pays Dai from, and receives collateral into, its Vat account).
            now: current time [s].

        Returns:
            ``(slice, owe)`` per id: collateral bought [tokens] and Dai paid [Dai].

        Raises:
            ProtocolError: stopped (level 3), unknown or repeated id, or ``who`` lacks the Dai;
                nothing is changed.
        """
        if self.stopped >= 3:
            raise ProtocolError("Clipper/stopped-incorrect: take is stopped")
        ids = self._check_ids(ids)
        if _first_occurrences(ids).shape[0] != ids.shape[0]:
            raise ProtocolError("Clipper/take: repeated sale id")
        amt = np.broadcast_to(np.asarray(amt, dtype=np.float64), ids.shape)
        max_price = np.broadcast_to(np.asarray(max_price, dtype=np.float64), ids.shape)
        done, price = self._status(ids, now)
        tab = self.tab[ids]
        lot = self.lot[ids]
        ok = self.active[ids] & ~done & (max_price >= price)

        slice_ = np.minimum(lot, np.maximum(amt, 0.0))
        owe = slice_ * price
        chost = self.chost
        with np.errstate(divide="ignore", invalid="ignore"):
            # Don't collect more than tab: pay tab, buy what it affords. An owe within rounding
            # of tab pays tab (the numeric policy): it is a whole take, not a dusty partial one.
            over = num.covers_array(owe, tab)
            owe = np.where(over, tab, owe)
            slice_ = np.where(over, np.minimum(tab / price, lot), slice_)
            # A partial take must leave at least chost of tab (or take everything).
            dusty = ~over & (owe < tab) & (slice_ < lot) & (tab - owe < chost)
            ok &= ~(dusty & ((tab <= chost) | ~(price > 0)))
            owe = np.where(dusty, tab - chost, owe)
            slice_ = np.where(dusty, owe / price, slice_)
        slice_ = np.where(ok, slice_, 0.0)
        owe = np.where(ok, owe, 0.0)

        total_owe = float(owe.sum())
        have = self.vat.dai.get(who, 0.0)
        if not num.covers(have, total_owe, self.vat.dai_total()):
            raise ProtocolError(f"Clipper/take: {who} has {have!r} Dai, needs {total_owe!r}")
        if not ok.any():
            return slice_, owe

        tab_left = np.where(ok, tab - owe, tab)
        lot_left = np.where(ok, lot - slice_, lot)
        self.vat.flux(self.ilk, self.account, who, float(slice_.sum()))
        self.vat.move(who, VOW, total_owe)
        lot_gone = ok & (lot_left <= 0)
        tab_paid = ok & ~lot_gone & (tab_left <= 0)
        lot_left = np.where(lot_gone, 0.0, lot_left)
        tab_left = np.where(tab_paid, 0.0, tab_left)
        if self.dog is not None:
            self.dog.digs(self.ilk, float(np.where(lot_gone, tab_left + owe, owe).sum()))
        leftover = np.where(tab_paid, lot_left, 0.0)
        if tab_paid.any():
            self.vat.flux(self.ilk, self.account, "owner", float(leftover.sum()))

        i = ids[ok]
        self.tab[i] = tab_left[ok]
        self.lot[i] = np.where(tab_paid, 0.0, lot_left)[ok]
        self.raised[i] += owe[ok]
        self.sold[i] += slice_[ok]
        self.returned[i] += leftover[ok]
        bought = ids[ok & (slice_ > 0)]
        self.winner[bought] = who
        ended = ids[lot_gone | tab_paid]
        if ended.size:
            self._set_active(ended, False)
        self.end_tick[ended] = self.vat.log.tick
        self.vat.log.add(
            "take",
            ilk=self.ilk,
            vault=self.usr[i],
            auction=i,
            actor=who,
            collateral=slice_[ok],
            dai=owe[ok],
            price=price[ok],
        )
        return slice_, owe

    def yank(self, id: int, to: str) -> tuple[float, float, int]:
        """Cancel a running sale, its collateral to ``to`` (dss ``yank``, called by ``End.snip``).

        ``dog.digs(ilk, tab)``, the ``lot`` moved from the Clipper to ``to``, the sale removed.
        The sale's record keeps its ``tab`` (Dai not raised); its ``lot`` becomes 0 and
        ``winner`` is ``to``. Source: makerdao/dss@fa4f6630:src/clip.sol lines 466-472.

        Args:
            id: sale id.
            to: account receiving the collateral (the End).

        Returns:
            ``(tab, lot, usr)`` of the sale before it was removed [Dai, tokens, vault index].

        Raises:
            ProtocolError: the sale is not running.
        """
        id = int(self._check_ids(np.array([id]))[0])
        if not self.active[id]:
            raise ProtocolError("Clipper/not-running-auction")
        tab, lot, usr = float(self.tab[id]), float(self.lot[id]), int(self.usr[id])
        if self.dog is not None:
            self.dog.digs(self.ilk, tab)
        self.vat.flux(self.ilk, self.account, to, lot)
        self.lot[id] = 0.0
        self.winner[id] = to
        self._set_active(id, False)
        self.end_tick[id] = self.vat.log.tick
        self._status_memo = None
        return tab, lot, usr

    # ------------------------------------------------------------------ views
    def running_tab(self) -> float:
        """Dai still to raise by the running sales, ``Σ tab`` [Dai]."""
        ids = self.active_ids()
        return float(self.tab[ids].sum()) if ids.size else 0.0

    def records(self) -> dict[str, np.ndarray]:
        """One row per sale ever started: ``id``, the per-sale columns, ``ilk`` and ``kind``.

        Returns:
            Column name → array of length ``kicks`` (copies).
        """
        out: dict[str, np.ndarray] = {"id": np.arange(self.kicks, dtype=np.int64)}
        for name in _SALE_FIELDS:
            out[name] = self._cols[name][: self.kicks].copy()
        out["ilk"] = np.full(self.kicks, self.ilk, dtype=object)
        out["kind"] = np.full(self.kicks, "clip", dtype=object)
        return out


# ---------------------------------------------------------------------------------- Dog
@dataclass
class DogIlk:
    """The Dog's settings and state for one ilk.

    Attributes:
        clip: the ilk's Clipper.
        chop: liquidation penalty [-] (1.13 = 13 %).
        hole: most ``tab`` on auction at once for this ilk [Dai].
        dirt: ``tab`` now on auction for this ilk [Dai].
    """

    clip: Clipper
    chop: float
    hole: float
    dirt: float = 0.0


def plan_bark(art: np.ndarray, rate: float, chop: float, dust: float, room: float) -> np.ndarray:
    """Debt to confiscate from each candidate vault, as dss would in sequential ``bark`` calls.

    Candidates (all unsafe, with collateral) are served in order while ``room > 0``. A vault
    whose ``tab = art · rate · chop`` fits in the room is taken whole (found with a cumulative
    sum). The first one that does not fit gets ``dart = room / rate / chop``; if that leaves a
    dusty vault (``(art − dart) · rate < dust``) it is taken whole instead (overshooting the
    room, which ends the liquidations); else the partial is done if ``dart · rate ≥ dust``
    (filling the room) or refused (dss reverts that call only), and the next vaults are tried
    with the same room.

    Args:
        art: normalised debt of the candidates, in call order.
        rate: the ilk's rate [-].
        chop: liquidation penalty [-].
        dust: the ilk's dust [Dai].
        room: ``min(Hole − Dirt, hole − dirt)`` [Dai].

    Returns:
        ``dart`` per candidate (0 for those not liquidated).
    """
    art = np.asarray(art, dtype=np.float64)
    n = art.shape[0]
    dart = np.zeros(n)
    tab = art * (rate * chop)
    pos = 0
    while pos < n and room > 0:
        cum = np.cumsum(tab[pos:])
        # A vault fits when the room covers its tab up to rounding (the numeric policy).
        fit = int(np.searchsorted(cum, room + num.tolerance(room), side="right"))
        if fit:
            dart[pos : pos + fit] = art[pos : pos + fit]
            room -= float(cum[fit - 1])
            pos += fit
        if pos >= n or room <= 0:
            break
        part = room / rate / chop  # < art[pos]: that vault does not fit whole
        if (art[pos] - part) * rate < dust:
            dart[pos] = art[pos]  # leaves no dusty vault; room is now overdrawn
            break
        if part * rate >= dust:
            dart[pos] = part  # room is now exactly used up
            break
        # Dusty partial auction: dss reverts this call; later vaults see the same room. Only a
        # vault that fits whole or is taken whole by the dust rule can still be liquidated.
        rest = art[pos + 1 :]
        fits = num.covers_array(room, tab[pos + 1 :]) | ((rest - part) * rate < dust)
        nxt = np.flatnonzero(fits)
        if nxt.size == 0:
            break
        pos += 1 + int(nxt[0])
    return dart


class Dog:
    """Liquidation module 2.0 (dss ``Dog``): starts Clipper auctions for unsafe vaults.

    Attributes:
        vat: the Vat.
        vow: the Vow (queues the confiscated debt with ``fess``).
        Hole: most ``tab`` on auction at once, all ilks [Dai].
        Dirt: ``tab`` now on auction, all ilks [Dai].
        ilks: per-ilk settings and state.
    """

    def __init__(self, vat: Vat, vow: Vow, Hole: float = np.inf) -> None:
        """Create a Dog with the system limit ``Hole`` [Dai]."""
        self.vat = vat
        self.vow = vow
        self.Hole = float(Hole)
        self.Dirt = 0.0
        self.ilks: dict[str, DogIlk] = {}
        #: 1 until ``End.cage`` (dss ``live``; ``bark`` requires it).
        self.live = 1

    def cage(self) -> None:
        """Stop liquidations (dss ``cage``): ``live = 0``.

        Source: makerdao/dss@fa4f6630:src/dog.sol lines 245-248 (``bark`` requires ``live``).
        """
        self.live = 0

    def add_ilk(self, clip: Clipper, *, chop: float, hole: float = np.inf) -> DogIlk:
        """Register the Clipper of ``clip.ilk`` with its penalty ``chop`` and limit ``hole`` [Dai].

        Sets the Clipper's ``chop``, its ``dog`` and recaches its ``chost``.
        """
        entry = DogIlk(clip=clip, chop=float(chop), hole=float(hole))
        self.ilks[clip.ilk] = entry
        clip.chop = entry.chop
        clip.dog = self
        clip.upchost()
        return entry

    def chop(self, ilk_name: str) -> float:
        """Liquidation penalty of the ilk [-]."""
        return self.ilks[ilk_name].chop

    def bark(self, ilk_name: str, idx: np.ndarray, kpr: str, now: float) -> np.ndarray:
        """Liquidate the unsafe vaults among ``idx`` within the room left (dss ``bark``).

        Only vaults with ``art > 0``, ``ink > 0`` and ``ink · spot < art · rate`` (``spot > 0``)
        are liquidated, in the order given, while ``room = min(Hole − Dirt, hole − dirt)`` lasts
        (see :func:`plan_bark` for the partial liquidation and ``dust`` rules). For each:
        ``dink = ink · dart / art`` collateral and ``dart`` debt are grabbed into the Clipper,
        ``due = dart · rate`` is queued in the Vow, ``tab = due · chop`` is added to ``Dirt`` and
        ``dirt``, and a sale is kicked (paying ``kpr`` its incentive).

        Args:
            ilk_name: the ilk.
            idx: candidate vault indices (repeats are ignored).
            kpr: keeper calling (receives the kick incentives).
            now: current time [s].

        Returns:
            The ids of the sales started (one per liquidated vault, in call order).

        Raises:
            ProtocolError: the ilk's Clipper is stopped (level ≥ 1) or has no price; nothing is
                changed.
        """
        if not self.live:
            raise ProtocolError("Dog/not-live")
        entry = self.ilks[ilk_name]
        clip = entry.clip
        ilk = self.vat.ilks[ilk_name]
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        idx = _first_occurrences(idx)
        if ilk.spot <= 0 or idx.size == 0:
            return np.zeros(0, dtype=np.int64)
        ink = ilk.ink[idx]
        art = ilk.art[idx]
        # dink = ink·dart/art must be positive (dss "Dog/null-auction").
        unsafe = (art > 0) & (ink > 0) & (ink * ilk.spot < art * ilk.rate)
        if not unsafe.any():
            return np.zeros(0, dtype=np.int64)
        room = min(self.Hole - self.Dirt, entry.hole - entry.dirt)
        if not room > 0:
            return np.zeros(0, dtype=np.int64)
        if clip.stopped >= 1:
            raise ProtocolError("Clipper/stopped-incorrect: kick is stopped")
        clip._top()  # raises before anything changes when there is no price
        cand_ink = ink[unsafe]
        cand_art = art[unsafe]
        dart = plan_bark(cand_art, ilk.rate, entry.chop, ilk.dust, room)
        hit = dart > 0
        if not hit.any():
            return np.zeros(0, dtype=np.int64)
        vaults = idx[unsafe][hit]
        dart = dart[hit]
        # dink = ink·dart/art, exactly ink for whole vaults (plan_bark returns dart == art).
        dink = np.where(dart == cand_art[hit], cand_ink[hit], cand_ink[hit] * dart / cand_art[hit])
        due = self.vat.grab(ilk_name, vaults, dink, dart, gem_to=clip.account)
        self.vow.fess(float(due.sum()), now)
        tab = due * entry.chop
        total = float(tab.sum())
        self.Dirt += total
        entry.dirt += total
        ids = clip.kick(tab, dink, vaults, kpr, now)
        self.vat.log.add(
            "bark", ilk=ilk_name, vault=vaults, auction=ids, actor=kpr, collateral=dink, dai=due
        )
        return ids

    def digs(self, ilk_name: str, rad: float) -> None:
        """Remove ``rad`` of Dai from ``Dirt`` and the ilk's ``dirt`` (dss ``digs``) [Dai]."""
        entry = self.ilks[ilk_name]
        self.Dirt = max(self.Dirt - rad, 0.0)
        entry.dirt = max(entry.dirt - rad, 0.0)
