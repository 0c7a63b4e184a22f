"""The Vow's MKR auction houses: the Flopper (dss ``flop.sol``) and the Flapper (``flap.sol``).

Free debt that surplus cannot cover is sold in **debt auctions** (:class:`Flopper`): a reverse
auction of newly minted MKR for a fixed ``sump`` of Dai. Surplus above ``sin + bump + hump`` is
sold in **surplus auctions** (:class:`Flapper`): an English auction of ``bump`` Dai for MKR,
which is burned. The Vow (:mod:`sim.protocol.vow`) kicks both and keeps the MKR ledger.

Auction parameters (dss names): ``beg`` minimum relative improvement of a bid [-] (0.05 = 5 %;
dss stores ``1 + beg``), ``ttl`` bid lifetime [s], ``tau`` auction duration [s], ``pad``
multiplier of the MKR lot when a debt auction without bids is restarted [-] (1.2 = +20 %).
Per auction: ``bid`` (Dai for flop, MKR for flap), ``lot`` (MKR for flop, Dai for flap),
``guy`` (high bidder, index into the house's ``names``), ``tic`` (bid expiry [s], 0 = no bid),
``end`` (auction end [s]).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.protocol import numeric as num
from sim.protocol.table import AuctionTable
from sim.protocol.vat import ProtocolError, Vat

if TYPE_CHECKING:
    from sim.protocol.vow import Vow

#: The Vow's account name in the Vat.
VOW = "vow"

#: The Flapper's account name in the Vat (Dai on sale) and in the MKR ledger (MKR bid).
FLAP = "flap"


def replay(
    start: float,
    deltas: np.ndarray,
    checked: np.ndarray | bool = False,
    total: float = 0.0,
) -> float | None:
    """A balance after adding ``deltas`` to ``start`` one at a time, as a loop of calls would.

    Batch versions of the houses' calls apply many balance changes at once; this gives the
    balance that the calls one after another would leave, bit for bit (a running sum in order),
    or ``None`` when a call of the loop would not have gone through as planned: a debit
    (negative delta) the balance does not :func:`~sim.protocol.numeric.covers` at its turn (only
    where ``checked``), or one the clamp at zero would change. The caller then falls back to the
    loop, which raises or clamps exactly as it always did.

    Args:
        start: the balance before the batch.
        deltas: the changes in call order (credits positive, debits negative).
        checked: per delta (or for all): whether the call checks that the balance covers it.
        total: the unit's total for the numeric policy.
    """
    running = np.cumsum(np.concatenate(([start], deltas)))
    debit = deltas < 0
    if not debit.any():
        return float(running[-1])
    after = running[1:]
    if (after[debit] < 0).any():
        return None
    check = debit & checked
    if check.any():
        before = running[:-1]
        if not num.covers_array(before[check], -deltas[check], total).all():
            return None
    return float(running[-1])


def _in_order(codes: np.ndarray) -> np.ndarray:
    """The distinct values of ``codes`` in order of first appearance."""
    _, first = np.unique(codes, return_index=True)
    return codes[np.sort(first)]


# Auction arrays of the Vow's houses: name -> (dtype, fill value).
_HOUSE_FIELDS: dict[str, tuple[type, object]] = {
    "bid": (np.float64, 0.0),
    "lot": (np.float64, 0.0),
    "guy": (np.int32, -1),
    "tic": (np.float64, 0.0),
    "end": (np.float64, 0.0),
    "active": (np.bool_, False),
    "start_tick": (np.int64, -1),
    "end_tick": (np.int64, -1),
    "lot0": (np.float64, 0.0),
    "bids": (np.int64, 0),
}


class _House(AuctionTable):
    """Growable struct-of-arrays store shared by the Flopper and the Flapper."""

    kind = ""
    FIELDS = _HOUSE_FIELDS
    bid: np.ndarray
    lot: np.ndarray
    guy: np.ndarray
    tic: np.ndarray
    end: np.ndarray
    active: np.ndarray
    start_tick: np.ndarray
    end_tick: np.ndarray
    lot0: np.ndarray
    bids: np.ndarray

    def __init__(self, vow: Vow, beg: float, ttl: float, tau: float) -> None:
        self.vow = vow
        self.beg = float(beg)
        self.ttl = float(ttl)
        self.tau = float(tau)
        #: 1 until the Vow's ``cage`` (then kicks and deals stop and auctions can be yanked).
        self.live = 1
        self._init_table(16)

    @property
    def vat(self) -> Vat:
        """The Vat (the Vow's)."""
        return self.vow.vat

    def _new(self, gal: str, lot: float, bid: float, now: float) -> int:
        """Store a new auction with ``guy = gal`` and return its id."""
        i = self.kicks
        self._grow(i + 1)
        self.kicks += 1
        self.bid[i] = bid
        self.lot[i] = lot
        self.lot0[i] = lot
        self.guy[i] = self.name_id(gal)
        self.tic[i] = 0.0
        self.end[i] = now + self.tau
        self._set_active(i, True)
        self.start_tick[i] = self.vat.log.tick
        return i

    def _check_id(self, id: int) -> int:
        id = int(id)
        if id < 0 or id >= self.kicks or not self.active[id]:
            raise ProtocolError(f"{self.kind}/guy-not-set: auction {id} is not running")
        return id

    def _check_biddable(self, id: int, now: float) -> None:
        if not (self.tic[id] > now or self.tic[id] == 0):
            raise ProtocolError(f"{self.kind}/already-finished-tic")
        if not self.end[id] > now:
            raise ProtocolError(f"{self.kind}/already-finished-end")

    def tick(self, id: int, now: float, actor: str = "keeper") -> None:
        """Restart an auction that ended without bids: ``end = now + tau`` (dss ``tick``).

        Raises:
            ProtocolError: when the auction is not over or has a bid.
        """
        id = self._check_id(id)
        if not self.end[id] < now:
            raise ProtocolError(f"{self.kind}/not-finished")
        if self.tic[id] != 0:
            raise ProtocolError(f"{self.kind}/bid-already-placed")
        self._restart(id)
        self.end[id] = now + self.tau
        self.vat.log.add("tick", auction=id, actor=actor, collateral=float(self.lot[id]))

    def _restart(self, id: int) -> None:
        """Extra changes on ``tick`` (the Flopper raises the lot)."""

    def _batch_ids(self, ids: np.ndarray | list[int]) -> np.ndarray | None:
        """``ids`` as an array if they are distinct running auctions, else ``None``."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.kicks):
            return None
        if ids.size > 1 and np.unique(ids).shape[0] != ids.shape[0]:
            return None
        if not self.active[ids].all():
            return None
        return ids

    def tick_many(self, ids: np.ndarray, now: float, actor: str = "keeper") -> None:
        """:meth:`tick` each auction of ``ids`` in order, in one go.

        The result is that of the calls one after another; when one of them would raise, the
        calls are made one after another (and it raises at that one).
        """
        batch = self._batch_ids(ids)
        if batch is not None and batch.size:
            if (self.end[batch] < now).all() and (self.tic[batch] == 0).all():
                self._restart_many(batch)
                self.end[batch] = now + self.tau
                self.vat.log.add("tick", auction=batch, actor=actor, collateral=self.lot[batch])
                return
        for i in np.asarray(ids).reshape(-1):
            self.tick(int(i), now, actor=actor)

    def _restart_many(self, ids: np.ndarray) -> None:
        """:meth:`_restart` of distinct auctions."""

    def _done_batch(self, ids: np.ndarray, now: float) -> np.ndarray | None:
        """``ids`` if they are distinct running auctions that can be dealt now, else ``None``."""
        batch = self._batch_ids(ids)
        if batch is None:
            return None
        tic = self.tic[batch]
        if not ((tic != 0) & ((tic < now) | (self.end[batch] < now))).all():
            return None
        return batch

    def _check_done(self, id: int, now: float) -> int:
        id = self._check_id(id)
        tic = self.tic[id]
        if not (tic != 0 and (tic < now or self.end[id] < now)):
            raise ProtocolError(f"{self.kind}/not-finished")
        return id

    def _close(self, id: int) -> None:
        self._set_active(id, False)
        self.end_tick[id] = self.vat.log.tick

    def winner(self, id: int) -> str:
        """Name of the current high bidder of auction ``id``."""
        return self.names[int(self.guy[id])]

    def _check_yank(self, id: int) -> int:
        if self.live:
            raise ProtocolError(f"{self.kind}/still-live")
        return self._check_id(id)


class Flopper(_House):
    """Debt auctions (dss ``Flopper``): newly minted MKR sold for a fixed ``sump`` of Dai.

    Bidders ``dent`` the MKR ``lot`` down (each cut at least ``beg``) for the fixed Dai ``bid``.
    The first dent pays the Vow, which cancels ``min(bid, Ash)`` of auctioned debt (``kiss``);
    later dents refund the previous bidder. ``deal`` mints the final lot to the winner.

    Attributes:
        vow: the Vow (auctions are kicked by :meth:`Vow.flop`).
        beg: minimum relative lot decrease [-].
        pad: lot multiplier on ``tick`` [-].
        ttl: bid lifetime [s].
        tau: auction duration [s].
    """

    kind = "Flopper"

    def __init__(
        self,
        vow: Vow,
        *,
        beg: float = 0.05,
        pad: float = 1.5,
        ttl: float = 3 * 3600.0,
        tau: float = 2 * 86400.0,
    ) -> None:
        super().__init__(vow, beg, ttl, tau)
        self.pad = float(pad)

    def kick(self, gal: str, lot: float, bid: float, now: float) -> int:
        """Start a debt auction selling up to ``lot`` MKR for ``bid`` Dai paid to ``gal``."""
        if not self.live:
            raise ProtocolError("Flopper/not-live")
        return self._new(gal, lot, bid, now)

    def cage(self) -> None:
        """Stop debt auctions (dss ``cage``, called by ``Vow.cage``): ``live = 0``.

        Source: makerdao/dss@fa4f6630:src/flop.sol lines 170-173.
        """
        self.live = 0

    def yank(self, id: int, actor: str = "keeper") -> float:
        """Cancel a debt auction after ``cage``: the bid is refunded as new Dai (dss ``yank``).

        ``vat.suck(vow, guy, bid)``: the Vow books the sin, the high bidder (the Vow itself
        before any dent) gets its Dai back. Source: makerdao/dss@fa4f6630:src/flop.sol
        lines 174-179.

        Returns:
            The Dai refunded [Dai].
        """
        id = self._check_yank(id)
        bid = float(self.bid[id])
        self.vat.suck(VOW, self.winner(id), bid)
        self._close(id)
        self.vat.log.add("yank", auction=id, actor=actor, collateral=float(self.lot[id]), dai=bid)
        return bid

    def dent(self, id: int, lot: float, bid: float, who: str, now: float) -> None:
        """Accept less MKR for the fixed Dai bid (dss ``dent``).

        Args:
            id: auction id.
            lot: new MKR lot [MKR], ``(1 + beg)·lot <= current lot``.
            bid: the auction's Dai bid (must equal it) [Dai].
            who: bidder (a Vat Dai account).
            now: current time [s].

        Raises:
            ProtocolError: when dss would revert (nothing is changed).
        """
        id = self._check_id(id)
        self._check_biddable(id, now)
        lot, bid = float(lot), float(bid)
        cur_bid = float(self.bid[id])
        cur_lot = float(self.lot[id])
        if not num.same(bid, cur_bid):
            raise ProtocolError("Flopper/not-matching-bid")
        if not lot < cur_lot:
            raise ProtocolError("Flopper/lot-not-lower")
        if not (1.0 + self.beg) * lot <= cur_lot or lot < 0:
            raise ProtocolError("Flopper/insufficient-decrease")
        who_id = self.name_id(who)
        if self.guy[id] != who_id:
            guy = self.winner(id)
            self.vat.move(who, guy, cur_bid)  # raises before any change if who lacks Dai
            if self.tic[id] == 0:
                # The first bid pays the Vow: clear as much auctioned debt as possible.
                self.vow.flop_dai += cur_bid
                self.vow.kiss(min(cur_bid, self.vow.Ash))
            self.guy[id] = who_id
        self.lot[id] = lot
        self.tic[id] = now + self.ttl
        self.bids[id] += 1
        self.vat.log.add(
            "dent",
            auction=id,
            actor=who,
            collateral=lot,
            dai=cur_bid,
            price=cur_bid / lot if lot > 0 else np.nan,
        )

    def _restart(self, id: int) -> None:
        self.lot[id] *= self.pad

    def _restart_many(self, ids: np.ndarray) -> None:
        self.lot[ids] *= self.pad

    def dent_many(self, ids: np.ndarray, lots: np.ndarray, who: str, now: float) -> None:
        """:meth:`dent` each auction of ``ids`` to its lot of ``lots``, at its own bid, in order.

        One batch: the Dai moves, the Vow's ``kiss`` of each first bid and the event rows are
        those of the calls one after another, bit for bit; when one of the calls would raise
        (or a balance would be clamped), the calls are made one after another instead.
        """
        lots = np.asarray(lots, dtype=np.float64).reshape(-1)
        if not self._dent_batch(ids, lots, who, now):
            for i, lot in zip(np.asarray(ids).reshape(-1), lots, strict=True):
                self.dent(int(i), float(lot), float(self.bid[int(i)]), who, now)

    def _dent_batch(self, ids: np.ndarray, lots: np.ndarray, who: str, now: float) -> bool:
        batch = self._batch_ids(ids)
        if batch is None:
            return False
        if batch.size == 0:
            return True
        ids = batch
        tic, cur_lot, cur_bid = self.tic[ids], self.lot[ids], self.bid[ids]
        if not (((tic > now) | (tic == 0)) & (self.end[ids] > now)).all():
            return False
        if not ((lots < cur_lot) & ((1.0 + self.beg) * lots <= cur_lot) & (lots >= 0)).all():
            return False
        who_id = self.name_id(who)
        guy = self.guy[ids]
        if (guy == who_id).any():
            return False  # raising one's own lot cut needs no Dai: the plain calls handle it
        vat, vow = self.vat, self.vow
        total = vat.dai_total()
        # The bidder pays each bid to the previous bidder (the Vow for a first bid).
        payer = replay(vat.dai.get(who, 0.0), -cur_bid, True, total)
        if payer is None or (cur_bid < 0).any():
            return False
        first = tic == 0
        vow_id = self.find_name(VOW)
        if ((guy == vow_id) != first).any():
            return False  # the Vow leads only auctions nobody bid on (a first bid pays it)
        credits: dict[str, float] = {}
        for code in _in_order(guy[~first]):
            name = self.names[int(code)]
            credits[name] = replay(vat.dai.get(name, 0.0), cur_bid[~first & (guy == code)])  # type: ignore[assignment]
        # The first bids pay the Vow, which cancels min(bid, Ash) of auctioned debt (kiss).
        paid = cur_bid[first]
        if paid.size:
            ash = vow.Ash
            steps = np.cumsum(np.concatenate(([ash], -paid)))  # Ash before each kiss, if all fit
            before = steps[:-1]
            over = np.flatnonzero(paid > before)
            rad = paid.copy()
            if over.size:
                k = int(over[0])
                rad[k] = before[k]
                rad[k + 1 :] = 0.0
            ash_after = replay(ash, -rad, True, total)
            # The Vow's Dai: + bid (the move), − rad (the heal), per first bid.
            vow_moves = np.empty(2 * paid.size)
            vow_moves[0::2] = paid
            vow_moves[1::2] = -rad
            checked = np.zeros(2 * paid.size, dtype=bool)
            checked[1::2] = True
            vow_dai = replay(vat.dai.get(VOW, 0.0), vow_moves, checked, total)
            if VOW in credits or ash_after is None or vow_dai is None:
                return False
            sin = replay(vat.sin.get(VOW, 0.0), -rad, True, total)
            vice = replay(vat.vice, -rad)
            debt = replay(vat.debt, -rad)
            flop_dai = replay(vow.flop_dai, paid)
            if sin is None or vice is None or debt is None:
                return False
        # Everything checked: apply.
        vat.dai[who] = payer
        for name, value in credits.items():
            vat.dai[name] = value
        if paid.size:
            vow.flop_dai = flop_dai
            vow.Ash = ash_after
            vat.dai[VOW] = vow_dai
            vat.sin[VOW] = sin
            vat.vice = vice
            vat.debt = debt
        self.guy[ids] = who_id
        self.lot[ids] = lots
        self.tic[ids] = now + self.ttl
        self.bids[ids] += 1
        with np.errstate(divide="ignore", invalid="ignore"):
            price = np.where(lots > 0, cur_bid / lots, np.nan)
        self.vat.log.add("dent", auction=ids, actor=who, collateral=lots, dai=cur_bid, price=price)
        return True

    def deal_many(self, ids: np.ndarray, now: float, actor: str = "keeper") -> None:
        """:meth:`deal` each auction of ``ids`` in order, in one go (see :meth:`dent_many`)."""
        batch = self._done_batch(ids, now)
        if batch is None:
            for i in np.asarray(ids).reshape(-1):
                self.deal(int(i), now, actor=actor)
            return
        if batch.size == 0:
            return
        ids = batch
        lots = self.lot[ids]
        bids = self.bid[ids]
        guy = self.guy[ids]
        vow = self.vow
        for code in _in_order(guy):
            name = self.names[int(code)]
            vow.mkr[name] = replay(vow.mkr.get(name, 0.0), lots[guy == code])  # type: ignore[assignment]
        vow.mkr_minted = replay(vow.mkr_minted, lots)  # type: ignore[assignment]
        self._set_active(ids, False)
        self.end_tick[ids] = self.vat.log.tick
        with np.errstate(divide="ignore", invalid="ignore"):
            price = np.where(lots > 0, bids / lots, np.nan)
        self.vat.log.add("deal", auction=ids, actor=actor, collateral=lots, dai=bids, price=price)

    def deal(self, id: int, now: float, actor: str = "keeper") -> float:
        """Settle a finished debt auction: mint the lot of MKR to the winner (dss ``deal``).

        Returns:
            The MKR minted.

        Raises:
            ProtocolError: when the auction has no bid or is not over.
        """
        id = self._check_done(id, now)
        lot = float(self.lot[id])
        self.vow.mint_mkr(self.winner(id), lot)
        self._close(id)
        self.vat.log.add(
            "deal",
            auction=id,
            actor=actor,
            collateral=lot,
            dai=float(self.bid[id]),
            price=float(self.bid[id]) / lot if lot > 0 else np.nan,
        )
        return lot


class Flapper(_House):
    """Surplus auctions (dss ``Flapper``): a fixed ``bump`` of Dai sold for MKR, which is burned.

    Bidders ``tend`` the MKR ``bid`` up (each raise at least ``beg``); the previous bidder gets
    its MKR back. ``deal`` gives the Dai to the winner and burns the winning MKR.

    Attributes:
        vow: the Vow (auctions are kicked by :meth:`Vow.flap`).
        beg: minimum relative bid increase [-].
        ttl: bid lifetime [s].
        tau: auction duration [s].
        lid: most Dai on sale in surplus auctions at once [Dai] (dss ``lid``; it bounds how many
            surplus auctions can run, whatever the surplus).
        fill: Dai on sale in running surplus auctions [Dai] (dss ``fill``).
    """

    kind = "Flapper"

    def __init__(
        self,
        vow: Vow,
        *,
        beg: float = 0.05,
        ttl: float = 3 * 3600.0,
        tau: float = 2 * 86400.0,
        lid: float = np.inf,
    ) -> None:
        super().__init__(vow, beg, ttl, tau)
        self.lid = float(lid)
        self.fill = 0.0

    def has_room(self, lot: float) -> bool:
        """Whether a surplus auction of ``lot`` Dai fits under ``lid`` (dss ``Flapper/overflow-lid``)."""
        return num.covers(self.lid, self.fill + lot)

    def kick(self, lot: float, bid: float, now: float, src: str = VOW) -> int:
        """Start a surplus auction of ``lot`` Dai moved from ``src`` (dss ``kick``).

        Raises:
            ProtocolError: when ``fill + lot`` would exceed ``lid``; nothing is changed.
        """
        if not self.live:
            raise ProtocolError("Flapper/not-live")
        if not self.has_room(lot):
            raise ProtocolError(
                f"Flapper/overflow-lid: {self.fill!r} Dai on sale, lid {self.lid!r}, lot {lot!r}"
            )
        self.vat.move(src, FLAP, lot)
        self.fill += lot
        return self._new(src, lot, bid, now)

    def cage(self, rad: float) -> None:
        """Stop surplus auctions, ``rad`` of the Dai on sale back to the Vow (dss ``cage``).

        Source: makerdao/dss@fa4f6630:src/flap.sol lines 167-170.
        """
        self.live = 0
        self.vat.move(FLAP, VOW, rad)

    def yank(self, id: int, actor: str = "keeper") -> float:
        """Cancel a surplus auction after ``cage``: the MKR bid back to its bidder (dss ``yank``).

        Source: makerdao/dss@fa4f6630:src/flap.sol lines 171-176.

        Returns:
            The MKR returned [MKR].
        """
        id = self._check_yank(id)
        bid = float(self.bid[id])
        if bid > 0:
            self.vow.move_mkr(FLAP, self.winner(id), bid)
        self._close(id)
        self.vat.log.add("yank", auction=id, actor=actor, collateral=bid, dai=float(self.lot[id]))
        return bid

    def tend(self, id: int, lot: float, bid: float, who: str, now: float) -> None:
        """Bid more MKR for the Dai lot (dss ``tend``).

        Args:
            id: auction id.
            lot: the auction's Dai lot (must equal it) [Dai].
            bid: new MKR bid [MKR], ``> current`` and ``>= (1 + beg)·current``.
            who: bidder (an MKR holder in :attr:`Vow.mkr`).
            now: current time [s].

        Raises:
            ProtocolError: when dss would revert or ``who`` lacks the MKR (nothing is changed).
        """
        id = self._check_id(id)
        self._check_biddable(id, now)
        lot, bid = float(lot), float(bid)
        cur_bid = float(self.bid[id])
        cur_lot = float(self.lot[id])
        if not num.same(lot, cur_lot):
            raise ProtocolError("Flapper/lot-not-matching")
        if not bid > cur_bid:
            raise ProtocolError("Flapper/bid-not-higher")
        if not bid >= (1.0 + self.beg) * cur_bid:
            raise ProtocolError("Flapper/insufficient-increase")
        who_id = self.name_id(who)
        new_bidder = self.guy[id] != who_id
        need = bid if new_bidder else bid - cur_bid
        have = self.vow.mkr.get(who, 0.0)
        if not num.covers(have, need, self.vow.mkr_total()):
            raise ProtocolError(f"Flapper/insufficient-mkr: {who} has {have!r} MKR, needs {need!r}")
        if new_bidder:
            if cur_bid > 0:
                self.vow.move_mkr(who, self.winner(id), cur_bid)
            self.guy[id] = who_id
        self.vow.move_mkr(who, FLAP, bid - cur_bid)
        self.bid[id] = bid
        self.tic[id] = now + self.ttl
        self.bids[id] += 1
        self.vat.log.add(
            "tend",
            auction=id,
            actor=who,
            collateral=bid,
            dai=cur_lot,
            price=cur_lot / bid if bid > 0 else np.nan,
        )

    def tend_many(self, ids: np.ndarray, bids: np.ndarray, who: str, now: float) -> None:
        """:meth:`tend` each auction of ``ids`` (its own lot) to its bid of ``bids``, in order.

        One batch: the MKR moves and the event rows are those of the calls one after another,
        bit for bit; when one of the calls would raise (or a balance would be clamped), the
        calls are made one after another instead.
        """
        bids = np.asarray(bids, dtype=np.float64).reshape(-1)
        if not self._tend_batch(ids, bids, who, now):
            for i, bid in zip(np.asarray(ids).reshape(-1), bids, strict=True):
                self.tend(int(i), float(self.lot[int(i)]), float(bid), who, now)

    def _tend_batch(self, ids: np.ndarray, bids: np.ndarray, who: str, now: float) -> bool:
        batch = self._batch_ids(ids)
        if batch is None:
            return False
        if batch.size == 0:
            return True
        ids = batch
        tic, cur_bid = self.tic[ids], self.bid[ids]
        if not (((tic > now) | (tic == 0)) & (self.end[ids] > now)).all():
            return False
        if not ((bids > cur_bid) & (bids >= (1.0 + self.beg) * cur_bid)).all():
            return False
        who_id = self.name_id(who)
        guy = self.guy[ids]
        if (guy == who_id).any():
            return False  # raising one's own bid pays only the increase: the plain calls
        vow = self.vow
        total = vow.mkr_total()
        # Per auction, the bidder first needs its whole bid, then pays the previous bid back
        # (when there is one) and the increase into the Flapper.
        refund = cur_bid > 0
        steps = np.empty(2 * ids.size)
        steps[0::2] = np.where(refund, -cur_bid, np.nan)
        steps[1::2] = -(bids - cur_bid)
        kept = ~np.isnan(steps)
        starts = (np.cumsum(kept) - kept)[0::2]  # position of each call's first step
        steps = steps[kept]
        have = vow.mkr.get(who, 0.0)
        payer = replay(have, steps, True, total)
        if payer is None:
            return False
        # Each call first checks that the balance at its start covers its whole bid.
        at_start = np.cumsum(np.concatenate(([have], steps)))[starts]
        if not num.covers_array(at_start, bids, total).all():
            return False
        credits: dict[str, float] = {}
        for code in _in_order(guy[refund]):
            name = self.names[int(code)]
            credits[name] = replay(vow.mkr.get(name, 0.0), cur_bid[refund & (guy == code)])  # type: ignore[assignment]
        flap = replay(vow.mkr.get(FLAP, 0.0), bids - cur_bid)
        vow.mkr[who] = payer
        for name, value in credits.items():
            vow.mkr[name] = value
        vow.mkr[FLAP] = flap  # type: ignore[assignment]
        self.guy[ids] = who_id
        self.bid[ids] = bids
        self.tic[ids] = now + self.ttl
        self.bids[ids] += 1
        lots = self.lot[ids]
        with np.errstate(divide="ignore", invalid="ignore"):
            price = np.where(bids > 0, lots / bids, np.nan)
        self.vat.log.add("tend", auction=ids, actor=who, collateral=bids, dai=lots, price=price)
        return True

    def deal_many(self, ids: np.ndarray, now: float, actor: str = "keeper") -> None:
        """:meth:`deal` each auction of ``ids`` in order, in one go (see :meth:`tend_many`)."""
        batch = self._done_batch(ids, now)
        if batch is not None and batch.size:
            if self._deal_batch(batch, actor):
                return
        elif batch is not None:
            return
        for i in np.asarray(ids).reshape(-1):
            self.deal(int(i), now, actor=actor)

    def _deal_batch(self, ids: np.ndarray, actor: str) -> bool:
        vat, vow = self.vat, self.vow
        lots = self.lot[ids]
        bids = self.bid[ids]
        guy = self.guy[ids]
        if (lots < 0).any() or (bids < 0).any():
            return False
        dai_flap = replay(vat.dai.get(FLAP, 0.0), -lots, True, vat.dai_total())
        mkr_flap = replay(vow.mkr.get(FLAP, 0.0), -bids, True, vow.mkr_total())
        fill = replay(self.fill, -lots)
        if dai_flap is None or mkr_flap is None or fill is None:
            return False
        credits: dict[str, float] = {}
        for code in _in_order(guy):
            name = self.names[int(code)]
            if name == FLAP:
                return False
            credits[name] = replay(vat.dai.get(name, 0.0), lots[guy == code])  # type: ignore[assignment]
        vat.dai[FLAP] = dai_flap
        for name, value in credits.items():
            vat.dai[name] = value
        vow.mkr[FLAP] = mkr_flap
        vow.mkr_burned = replay(vow.mkr_burned, bids)  # type: ignore[assignment]
        self.fill = fill
        self._set_active(ids, False)
        self.end_tick[ids] = self.vat.log.tick
        with np.errstate(divide="ignore", invalid="ignore"):
            price = np.where(bids > 0, lots / bids, np.nan)
        self.vat.log.add("deal", auction=ids, actor=actor, collateral=bids, dai=lots, price=price)
        return True

    def deal(self, id: int, now: float, actor: str = "keeper") -> float:
        """Settle a finished surplus auction: Dai to the winner, winning MKR burned (dss ``deal``).

        Returns:
            The MKR burned.

        Raises:
            ProtocolError: when the auction has no bid or is not over.
        """
        id = self._check_done(id, now)
        lot = float(self.lot[id])
        bid = float(self.bid[id])
        self.vat.move(FLAP, self.winner(id), lot)
        self.vow.burn_mkr(FLAP, bid)
        self.fill = num.debit(self.fill, lot)
        self._close(id)
        self.vat.log.add(
            "deal",
            auction=id,
            actor=actor,
            collateral=bid,
            dai=lot,
            price=lot / bid if bid > 0 else np.nan,
        )
        return bid
