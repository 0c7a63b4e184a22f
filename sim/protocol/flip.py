"""Liquidations 1.x: Cat + Flipper (dss ``cat.sol``, ``flip.sol``), English auctions in float units.

The Cat ``bite``s unsafe vaults: it confiscates collateral and debt with ``vat.grab``, queues the
debt in the Vow (``fess``) and kicks a two-phase English auction in the ilk's Flipper:

1. **tend** — bidders raise the Dai ``bid`` for the fixed ``lot`` (each raise at least ``beg``)
   up to ``tab`` (debt plus penalty);
2. **dent** — once ``bid == tab``, bidders lower the collateral ``lot`` they accept for ``tab``
   (each cut at least ``beg``); the collateral given up goes back to the vault owner.

Each bid sets ``tic = now + ttl``; the auction is over when ``tic`` or ``end = kick + tau`` has
passed and can then be ``deal``-t (collateral to the winner). An auction nobody bid on can be
restarted with ``tick``. Any positive bid wins if nobody outbids it within ``ttl`` — the Black
Thursday mechanism.

Names and units (dss names, float natural units):

- ``bid``: current high bid [Dai]; ``lot``: collateral on offer [tokens].
- ``tab``: Dai to raise, ``due·chop`` [Dai]; ``due``: debt confiscated, ``dart·rate`` [Dai].
- ``guy``: current high bidder (index into :attr:`Flipper.names`, -1 = none yet).
- ``tic``: bid expiry [s], 0 = no bid yet; ``end``: auction end [s].
- ``usr``: the liquidated vault (index in the ilk's book).
- ``beg``: minimum relative bid increase / lot decrease [-] (0.03 = 3 %; dss stores ``1 + beg``).
- ``ttl``: bid lifetime [s]; ``tau``: auction duration [s].
- ``chop``: liquidation penalty multiplier [-] (1.13 = 13 % penalty).
- ``lump``: collateral per bite [tokens] (Liquidations 1.0).
- ``dunk``: Dai (tab) per auction [Dai]; ``box``: cap on Dai in auctions [Dai];
  ``litter``: Dai currently in auctions [Dai] (Liquidations 1.2).

Collateral on auction sits in the Vat gem account ``flip:<ilk>``; Dai raised goes to the Vow;
collateral returned in ``dent`` goes to the gem account ``owner``.

All auction methods are vectorised over arrays of auction ids: each element follows the dss rule
on its own and refused elements change nothing; a boolean mask of accepted elements is returned.
Ids in one call must be distinct.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.protocol import numeric as num
from sim.protocol.table import AuctionTable
from sim.protocol.vat import ProtocolError, Vat
from sim.protocol.vow import VOW

if TYPE_CHECKING:
    from sim.protocol.vow import Vow


#: Gem account receiving collateral returned to vault owners.
OWNER = "owner"

# Auction arrays: name -> (dtype, fill value of an unused slot).
_FIELDS: dict[str, tuple[type, object]] = {
    "bid": (np.float64, 0.0),
    "lot": (np.float64, 0.0),
    "guy": (np.int32, -1),
    "tic": (np.float64, 0.0),
    "end": (np.float64, 0.0),
    "usr": (np.int64, -1),
    "gal": (np.int32, -1),
    "tab": (np.float64, 0.0),
    "active": (np.bool_, False),
    "start_tick": (np.int64, -1),
    "end_tick": (np.int64, -1),
    "tab0": (np.float64, 0.0),
    "lot0": (np.float64, 0.0),
    "due": (np.float64, 0.0),
    "raised": (np.float64, 0.0),
    "sold": (np.float64, 0.0),
    "returned": (np.float64, 0.0),
    "winner": (object, ""),
    "bids": (np.int64, 0),
}


def _price(dai: np.ndarray, lot: np.ndarray) -> np.ndarray:
    """Price paid ``dai / lot`` [Dai/token], NaN where the lot is zero."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return np.where(lot > 0, dai / np.where(lot > 0, lot, 1.0), np.nan)


def _affordable(ok: np.ndarray, cost: np.ndarray, have: float, total: float) -> np.ndarray:
    """Accepted elements after paying ``cost`` from a balance ``have`` in index order.

    ``total`` is the scale of Dai balances (:meth:`Vat.dai_total`). An element the payer cannot
    afford at its turn is refused (dss would revert that call) and later ones are still tried,
    as separate transactions would be. Computed a run at a time: the longest prefix that fits
    (cumulative sums, added in order as a loop would), then the next element that fits on its
    own, and so on — one pass per refusal that is followed by an acceptance.
    """
    if num.covers(have, float(cost[ok].sum()), total):
        return ok
    ok = ok.copy()
    where = np.flatnonzero(ok)
    costs = cost[where]
    spent = 0.0
    start = 0
    m = where.shape[0]
    while start < m:
        # spent + c0, (spent + c0) + c1, ...: the loop's running sum, bit for bit.
        running = np.cumsum(np.concatenate(([spent], costs[start:])))[1:]
        fits = num.covers_array(have, running, total)
        if fits.all():
            break
        first = int(np.argmin(fits))
        if first:
            spent = float(running[first - 1])
        refused = start + first
        ok[where[refused]] = False
        alone = num.covers_array(have, spent + costs[refused + 1 :], total)
        nxt = np.flatnonzero(alone)
        if nxt.shape[0] == 0:
            ok[where[refused + 1 :]] = False
            break
        ok[where[refused + 1 : refused + 1 + int(nxt[0])]] = False
        start = refused + 1 + int(nxt[0])
    return ok


class Flipper(AuctionTable):
    """English collateral auctions of one ilk (dss ``Flipper``), as growable struct of arrays.

    Attributes:
        vat: the Vat.
        ilk: ilk name.
        beg: minimum relative bid increase / lot decrease [-].
        ttl: bid lifetime [s].
        tau: maximum auction duration [s].
        cat: the Cat to ``claw`` from on ``deal`` (None: nothing to claw).
        account: Vat gem account holding the collateral on auction (``flip:<ilk>``).
        names: bidder/recipient names; ``guy`` and ``gal`` index into it.
        kicks: number of auctions started (ids are ``0 .. kicks-1``, never reused).
        bid, lot, guy, tic, end, usr, gal, tab, active: dss state per auction id.
        start_tick, end_tick, tab0, lot0, due, raised, sold, returned, winner, bids:
            bookkeeping per auction id (``end_tick`` is -1 while running, ``winner`` "" if none).
    """

    FIELDS = _FIELDS
    bid: np.ndarray
    lot: np.ndarray
    guy: np.ndarray
    tic: np.ndarray
    end: np.ndarray
    usr: np.ndarray
    gal: np.ndarray
    tab: np.ndarray
    active: np.ndarray
    start_tick: np.ndarray
    end_tick: np.ndarray
    tab0: np.ndarray
    lot0: np.ndarray
    due: np.ndarray
    raised: np.ndarray
    sold: np.ndarray
    returned: np.ndarray
    winner: np.ndarray
    bids: np.ndarray

    def __init__(
        self,
        vat: Vat,
        ilk: str,
        *,
        beg: float = 0.05,
        ttl: float = 3 * 3600.0,
        tau: float = 2 * 86400.0,
        cat: Cat | None = None,
        capacity: int = 64,
    ) -> None:
        self.vat = vat
        self.ilk = ilk
        self.beg = float(beg)
        self.ttl = float(ttl)
        self.tau = float(tau)
        self.cat = cat
        self.account = f"flip:{ilk}"
        self._init_table(capacity)

    def _bid_args(
        self, ids: np.ndarray | int, lot: np.ndarray | float, bid: np.ndarray | float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Checked ids, and ``lot``/``bid`` broadcast to them as float arrays."""
        ids = self._ids(ids)
        lot = np.broadcast_to(np.asarray(lot, dtype=np.float64), ids.shape)
        bid = np.broadcast_to(np.asarray(bid, dtype=np.float64), ids.shape)
        return ids, lot, bid

    def _ids(self, ids: np.ndarray | int) -> np.ndarray:
        ids = np.atleast_1d(np.asarray(ids, dtype=np.int64))
        if np.any((ids < 0) | (ids >= self.kicks)):
            raise ProtocolError(f"Flipper/{self.ilk}: unknown auction id")
        return ids

    def _live(self, ids: np.ndarray, now: float) -> np.ndarray:
        """Biddable: running, bid not expired (``tic > now`` or no bid) and ``end > now``."""
        tic = self.tic[ids]
        return self.active[ids] & ((tic > now) | (tic == 0)) & (self.end[ids] > now)

    # ------------------------------------------------------------------ auction verbs
    def kick(
        self,
        usr: np.ndarray,
        gal: str,
        tab: np.ndarray,
        lot: np.ndarray,
        bid: np.ndarray | float,
        now: float,
        *,
        due: np.ndarray | None = None,
        src: str | None = None,
        actor: str = "cat",
    ) -> np.ndarray:
        """Start one auction per element (dss ``kick``).

        Args:
            usr: liquidated vault per auction (index in the ilk's book).
            gal: account receiving the Dai raised (the Vow).
            tab: Dai to raise per auction [Dai].
            lot: collateral on offer per auction [tokens].
            bid: starting bid [Dai] (0 for liquidations).
            now: current time [s].
            due: debt confiscated per auction [Dai] (bookkeeping; default ``tab``).
            src: gem account the collateral comes from; None when it already sits in
                :attr:`account` (the Cat grabs straight into it).
            actor: caller name, for the event log.

        Returns:
            The new auction ids.
        """
        usr = np.atleast_1d(np.asarray(usr, dtype=np.int64))
        n = usr.shape[0]
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        tab = np.broadcast_to(np.asarray(tab, dtype=np.float64), (n,))
        lot = np.broadcast_to(np.asarray(lot, dtype=np.float64), (n,))
        bid = np.broadcast_to(np.asarray(bid, dtype=np.float64), (n,))
        if np.any(lot < 0) or np.any(tab < 0) or np.any(bid < 0):
            raise ProtocolError("Flipper/kick: negative tab, lot or bid")
        if src is not None:
            self.vat.flux(self.ilk, src, self.account, float(lot.sum()))
        ids = np.arange(self.kicks, self.kicks + n, dtype=np.int64)
        self._grow(self.kicks + n)
        self.kicks += n
        self.bid[ids] = bid
        self.lot[ids] = lot
        self.guy[ids] = -1
        self.tic[ids] = 0.0
        self.end[ids] = now + self.tau
        self.usr[ids] = usr
        self.gal[ids] = self.name_id(gal)
        self.tab[ids] = tab
        self._set_active(ids, True)
        self.start_tick[ids] = self.vat.log.tick
        self.tab0[ids] = tab
        self.lot0[ids] = lot
        self.due[ids] = tab if due is None else due
        self.vat.log.add(
            "kick", ilk=self.ilk, vault=usr, auction=ids, actor=actor, collateral=lot, dai=tab
        )
        return ids

    def _pay(self, who: str, ids: np.ndarray, refund: np.ndarray, to_gal: np.ndarray) -> None:
        """Move Dai from ``who``: ``refund`` to each previous bidder, ``to_gal`` to the gal."""
        guy = self.guy[ids]
        has_guy = (guy >= 0) & (refund > 0)
        if has_guy.any():
            per_guy = np.bincount(guy[has_guy], weights=refund[has_guy])
            for g in np.flatnonzero(per_guy):  # a handful of bidders
                self.vat.move(who, self.names[g], float(per_guy[g]))
        if np.any(to_gal > 0):
            gal = self.gal[ids]
            per_gal = np.bincount(gal, weights=to_gal)
            for g in np.flatnonzero(per_gal):
                self.vat.move(who, self.names[g], float(per_gal[g]))

    def tend(
        self,
        ids: np.ndarray | int,
        lot: np.ndarray | float,
        bid: np.ndarray | float,
        who: str,
        now: float,
    ) -> np.ndarray:
        """Raise the Dai bid for the full lot (dss ``tend``), elementwise.

        Accepted iff the auction is biddable, ``lot`` equals the current lot, ``bid <= tab``,
        ``bid > current bid`` and ``bid >= (1 + beg)·current bid`` or ``bid == tab``, and
        ``who`` can pay. The previous bidder gets its bid back, the increment goes to ``gal``,
        and ``tic = now + ttl``.

        Args:
            ids: auction ids (distinct).
            lot: the current lot of each auction [tokens].
            bid: new bid per auction [Dai].
            who: the bidder (a Vat Dai account).
            now: current time [s].

        Returns:
            Mask of accepted elements.
        """
        ids, lot, bid = self._bid_args(ids, lot, bid)
        cur_bid = self.bid[ids]
        tab = self.tab[ids]
        at_tab = num.same_array(bid, tab)
        bid = np.where(at_tab, tab, bid)
        ok = (
            self._live(ids, now)
            & num.same_array(lot, self.lot[ids])
            & (bid <= tab)
            & (bid > cur_bid)
            & ((bid >= (1.0 + self.beg) * cur_bid) | at_tab)
        )
        who_id = self.name_id(who)
        own = self.guy[ids] == who_id
        refund = np.where(own, 0.0, cur_bid)
        increment = bid - cur_bid
        ok = _affordable(
            ok,
            np.where(ok, refund + increment, 0.0),
            self.vat.dai.get(who, 0.0),
            self.vat.dai_total(),
        )
        if not ok.any():
            return ok
        i = ids[ok]
        self._pay(who, i, refund[ok], increment[ok])
        self.guy[i] = who_id
        self.bid[i] = bid[ok]
        self.tic[i] = now + self.ttl
        self.bids[i] += 1
        lots = self.lot[i]
        self.vat.log.add(
            "tend",
            ilk=self.ilk,
            vault=self.usr[i],
            auction=i,
            actor=who,
            collateral=lots,
            dai=bid[ok],
            price=_price(bid[ok], lots),
        )
        return ok

    def dent(
        self,
        ids: np.ndarray | int,
        lot: np.ndarray | float,
        bid: np.ndarray | float,
        who: str,
        now: float,
    ) -> np.ndarray:
        """Lower the collateral accepted for the full tab (dss ``dent``), elementwise.

        Accepted iff the auction is biddable, ``bid == current bid == tab``, ``lot < current
        lot``, ``(1 + beg)·lot <= current lot`` and ``who`` can pay. A new bidder refunds the
        previous one; the collateral given up goes to the vault owner (gem account ``owner``);
        ``tic = now + ttl``.

        Args:
            ids: auction ids (distinct).
            lot: new (smaller) lot per auction [tokens].
            bid: the bid, equal to the auction's tab [Dai].
            who: the bidder (a Vat Dai account).
            now: current time [s].

        Returns:
            Mask of accepted elements.
        """
        ids, lot, bid = self._bid_args(ids, lot, bid)
        cur_lot = self.lot[ids]
        cur_bid = self.bid[ids]
        ok = (
            self._live(ids, now)
            & num.same_array(bid, cur_bid)
            & num.same_array(cur_bid, self.tab[ids])
            & (lot >= 0)
            & (lot < cur_lot)
            & ((1.0 + self.beg) * lot <= cur_lot)
        )
        who_id = self.name_id(who)
        refund = np.where(self.guy[ids] == who_id, 0.0, cur_bid)
        ok = _affordable(
            ok, np.where(ok, refund, 0.0), self.vat.dai.get(who, 0.0), self.vat.dai_total()
        )
        if not ok.any():
            return ok
        i = ids[ok]
        self._pay(who, i, refund[ok], np.zeros(i.shape))
        back = cur_lot[ok] - lot[ok]
        self.vat.flux(self.ilk, self.account, OWNER, float(back.sum()))
        self.returned[i] += back
        self.guy[i] = who_id
        self.lot[i] = lot[ok]
        self.tic[i] = now + self.ttl
        self.bids[i] += 1
        lots = lot[ok]
        self.vat.log.add(
            "dent",
            ilk=self.ilk,
            vault=self.usr[i],
            auction=i,
            actor=who,
            collateral=lots,
            dai=cur_bid[ok],
            price=_price(cur_bid[ok], lots),
        )
        return ok

    def deal(self, ids: np.ndarray | int, now: float, actor: str = "keeper") -> np.ndarray:
        """Settle finished auctions (dss ``deal``), elementwise.

        Accepted iff running with a bid (``tic != 0``) and ``tic < now`` or ``end < now``.
        The Cat ``claw``s the tab; the lot goes to the winner's gem account.

        Returns:
            Mask of accepted elements.
        """
        ids = self._ids(ids)
        tic = self.tic[ids]
        ok = self.active[ids] & (tic != 0) & ((tic < now) | (self.end[ids] < now))
        if not ok.any():
            return ok
        i = ids[ok]
        guy = self.guy[i]
        lots = self.lot[i]
        per_guy = np.bincount(guy, weights=lots)
        for g in np.flatnonzero(np.bincount(guy)):  # a handful of winners
            self.vat.flux(self.ilk, self.account, self.names[g], float(per_guy[g]))
        if self.cat is not None:
            self.cat.claw(float(self.tab[i].sum()))
        self._set_active(i, False)
        self.raised[i] = self.bid[i]
        self.sold[i] = lots
        self.winner[i] = np.asarray(self.names, dtype=object)[guy]
        self.end_tick[i] = self.vat.log.tick
        self.vat.log.add(
            "deal",
            ilk=self.ilk,
            vault=self.usr[i],
            auction=i,
            actor=actor,
            collateral=lots,
            dai=self.bid[i],
            price=_price(self.bid[i], lots),
        )
        return ok

    def tick(self, ids: np.ndarray | int, now: float, actor: str = "keeper") -> np.ndarray:
        """Restart expired auctions that got no bid: ``end = now + tau`` (dss ``tick``).

        Returns:
            Mask of accepted elements (running, ``end < now`` and ``tic == 0``).
        """
        ids = self._ids(ids)
        ok = self.active[ids] & (self.end[ids] < now) & (self.tic[ids] == 0)
        if not ok.any():
            return ok
        i = ids[ok]
        self.end[i] = now + self.tau
        self.vat.log.add("tick", ilk=self.ilk, vault=self.usr[i], auction=i, actor=actor)
        return ok

    def yank(self, id: int, to: str) -> tuple[float, float, float, int]:
        """Cancel a running auction in its tend phase (dss ``yank``, called by ``End.skip``).

        Requires ``bid < tab`` (``Flipper/already-dent-phase``). The Cat ``claw``s the tab, the
        ``lot`` moves to ``to``, and ``to`` pays the high bidder its ``bid`` back (``to`` must
        hold it: the End ``suck``s it first). Source: makerdao/dss@fa4f6630:src/flip.sol
        lines 190-197.

        Returns:
            ``(bid, lot, tab, usr)`` before the auction was removed [Dai, tokens, Dai, vault].

        Raises:
            ProtocolError: not running, or in the dent phase.
        """
        id = int(self._ids(id)[0])
        if not self.active[id]:
            raise ProtocolError("Flipper/guy-not-set")
        bid, lot, tab, usr = (
            float(self.bid[id]),
            float(self.lot[id]),
            float(self.tab[id]),
            int(self.usr[id]),
        )
        if not bid < tab:
            raise ProtocolError("Flipper/already-dent-phase")
        if self.cat is not None:
            self.cat.claw(tab)
        self.vat.flux(self.ilk, self.account, to, lot)
        guy = int(self.guy[id])
        if guy >= 0 and bid > 0:
            self.vat.move(to, self.names[guy], bid)
        self.lot[id] = 0.0
        self.winner[id] = to
        self._set_active(id, False)
        self.end_tick[id] = self.vat.log.tick
        return bid, lot, tab, usr

    # ------------------------------------------------------------------ queries
    def running_tab(self) -> float:
        """Dai the running auctions may still raise, ``Σ (tab − bid)`` [Dai].

        Each ``tend`` pays its bid into the Vow at once (dss), so only what is above the
        current bid is still to come.
        """
        ids = self.active_ids()
        return float((self.tab[ids] - self.bid[ids]).sum()) if ids.size else 0.0

    def records(self) -> dict[str, np.ndarray]:
        """One row per auction ever started, for the auctions table (copies).

        Columns (as the Clipper's): ``id``, ``ilk``, ``kind`` (``"flip"``), the running state
        ``usr``, ``tab``, ``lot``, ``tic``, ``active`` and the bookkeeping ``start_tick``,
        ``end_tick`` (-1 while running), ``tab0``, ``lot0``, ``due``, ``raised``, ``sold``,
        ``returned``, ``winner`` ("" while running) and ``bids`` (accepted tend/dent calls).
        """
        n = self.kicks
        out: dict[str, np.ndarray] = {"id": np.arange(n, dtype=np.int64)}
        for name in _FIELDS:
            if name not in ("bid", "guy", "gal", "end"):  # see ``raised`` and ``winner``
                out[name] = getattr(self, name)[:n].copy()
        out["ilk"] = np.full(n, self.ilk, dtype=object)
        out["kind"] = np.full(n, "flip", dtype=object)
        return out


@dataclass
class CatIlk:
    """The Cat's parameters for one ilk.

    Attributes:
        flip: the ilk's Flipper.
        chop: liquidation penalty multiplier [-] (1.13 = 13 %).
        lump: maximum collateral per bite [tokens] (Liquidations 1.0).
        dunk: maximum tab per auction [Dai] (Liquidations 1.2).
        version: the Cat's rules for this ilk, ``"1.0"`` or ``"1.2"``.
    """

    flip: Flipper
    chop: float = 1.13
    lump: float = np.inf
    dunk: float = np.inf
    version: str = "1.2"


#: Cat versions: 1.0 (March 2020, ``lump``) and 1.2 (``dunk`` and ``box``).
CAT_VERSIONS = ("1.0", "1.2")
#: Most bites one :meth:`Cat.bite` call makes when the caller gives no budget: bounds the work
#: of a tick whatever ``lump`` or ``dunk`` (a vault of 10⁵ lumps is bitten over several ticks).
MAX_BITES_PER_CALL = 100_000


class Cat:
    """Liquidation agent of Liquidations 1.0 and 1.2 (dss ``Cat``), with a version per ilk.

    ``"1.0"``: each bite takes at most ``lump`` collateral, with no global limit (the Cat of March
    2020). ``"1.2"``: each bite's tab is at most ``dunk``, and the Dai in auctions of 1.2 ilks
    (``litter``) may not exceed ``box``; the Flipper ``claw``s the tab back on ``deal``. The
    version is the ilk's (a scenario may mix them, as the contracts' history did when ilks were
    moved to the new Cat one by one); ``litter`` counts the auctions of every ilk, and only 1.2
    ilks are bounded by it.

    A vault stays unsafe after a partial bite (1.0 removes collateral and debt in proportion), so
    it is bitten again and again — as often as bites land in the block — until it is clean.

    Attributes:
        vat: the Vat.
        vow: the Vow (debt queue).
        version: the version given to ilks added without one.
        box: maximum Dai in auctions of 1.2 ilks [Dai].
        litter: Dai (tab) in running auctions [Dai].
        ilks: per-ilk parameters and Flipper.
    """

    def __init__(self, vat: Vat, vow: Vow, *, version: str = "1.2", box: float = np.inf) -> None:
        if version not in CAT_VERSIONS:
            raise ValueError(f"Cat version must be '1.0' or '1.2', not {version!r}")
        self.vat = vat
        self.vow = vow
        self.version = version
        self.box = float(box)
        self.litter = 0.0
        self.ilks: dict[str, CatIlk] = {}
        #: 1 until ``End.cage`` (dss ``live``; ``bite`` requires it).
        self.live = 1

    def cage(self) -> None:
        """Stop liquidations (dss ``cage``): ``live = 0``.

        Source: makerdao/dss@fa4f6630:src/cat.sol lines 186-188 (``bite`` requires ``live``).
        """
        self.live = 0

    def add_ilk(
        self,
        flip: Flipper,
        *,
        chop: float = 1.13,
        lump: float = np.inf,
        dunk: float = np.inf,
        version: str | None = None,
    ) -> CatIlk:
        """Register the Flipper of ``flip.ilk`` and its parameters (dss ``file``).

        Args:
            flip: the ilk's Flipper (it will ``claw`` from this Cat).
            chop: liquidation penalty multiplier [-].
            lump: collateral per bite [tokens] (1.0).
            dunk: tab per auction [Dai] (1.2).
            version: ``"1.0"`` or ``"1.2"`` (default: the Cat's ``version``).
        """
        version = self.version if version is None else version
        if version not in CAT_VERSIONS:
            raise ValueError(f"Cat version must be '1.0' or '1.2', not {version!r}")
        flip.cat = self
        params = CatIlk(
            flip=flip, chop=float(chop), lump=float(lump), dunk=float(dunk), version=version
        )
        self.ilks[flip.ilk] = params
        return params

    def bite(
        self,
        ilk_name: str,
        idx: np.ndarray,
        kpr: str = "keeper",
        now: float = 0.0,
        max_bites: float = MAX_BITES_PER_CALL,
    ) -> np.ndarray:
        """Liquidate the unsafe vaults among ``idx``, each as many times as it stays unsafe.

        One bite (dss ``bite``) on each unsafe vault (``ink·spot < art·rate``, ``spot > 0``,
        ``ink > 0``), in index order; then the vaults still unsafe are bitten again, and so on,
        until none is left or ``max_bites`` bites (transactions) have been made.
        Version 1.0: ``lot = min(ink, lump)``, ``dart = min(art, lot·art/ink)``. Version 1.2:
        bites are applied in index order against the room ``box − litter`` (a bite needs
        ``litter < box`` and ``room >= dust``), ``dart = min(art, min(dunk, room)/rate/chop)``,
        ``dink = min(ink, ink·dart/art)``; once the room is used up, later vaults are refused.
        Each bite: ``vat.grab`` into ``flip:<ilk>``, ``vow.fess(due)``, ``tab = due·chop`` and a
        Flipper ``kick``.

        Args:
            ilk_name: the ilk.
            idx: candidate vault indices (repeats are ignored).
            kpr: the keeper calling, for the event log.
            now: current time [s].
            max_bites: most bites to make (the caller's transactions this tick; at most
                :data:`MAX_BITES_PER_CALL`).

        Returns:
            The ids of the auctions started, in the order they started.
        """
        if not self.live:
            raise ProtocolError("Cat/not-live")
        idx = np.atleast_1d(np.asarray(idx, dtype=np.int64))
        _, first = np.unique(idx, return_index=True)
        if first.shape[0] < idx.shape[0]:
            idx = idx[np.sort(first)]  # repeats are ignored
        started: list[np.ndarray] = []
        left = min(max_bites, MAX_BITES_PER_CALL)
        while idx.shape[0] and left >= 1:
            if idx.shape[0] > left:
                idx = idx[: int(left)]
            ids, bitten = self._bite_once(ilk_name, idx, kpr, now)
            if ids.shape[0] == 0:
                break
            started.append(ids)
            left -= ids.shape[0]
            idx = bitten  # a bitten vault that is still unsafe is bitten again
        if not started:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate(started)

    def _bite_once(
        self, ilk_name: str, idx: np.ndarray, kpr: str, now: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """One bite on each unsafe vault of ``idx`` (distinct, in order).

        Returns:
            The auction ids started and the vaults bitten.
        """
        params = self.ilks[ilk_name]
        ilk = self.vat.ilks[ilk_name]
        empty = np.zeros(0, dtype=np.int64)
        if idx.shape[0] == 0 or ilk.spot <= 0:
            return empty, empty
        ink = ilk.ink[idx]
        art = ilk.art[idx]
        rate = ilk.rate
        # ink == 0 is refused: dss divides by ink (1.0) or finds dink == 0 (1.2, null-auction).
        cand = (ink * ilk.spot < art * rate) & (ink > 0)
        idx, ink, art = idx[cand], ink[cand], art[cand]
        if idx.shape[0] == 0:
            return empty, empty
        chop = params.chop
        if params.version == "1.0":
            dink = np.minimum(ink, params.lump)
            whole = dink >= ink
            dart = np.where(whole, art, np.minimum(art, dink * art / ink))
        else:
            idx, ink, art, dink, dart = self._bite_12(params, ilk.dust, rate, idx, ink, art)
            if idx.shape[0] == 0:
                return empty, empty
        due = self.vat.grab(ilk_name, idx, dink, dart, gem_to=params.flip.account, sin_to=VOW)
        self.vow.fess(float(due.sum()), now)
        tab = due * chop
        self.litter += float(tab.sum())
        ids = params.flip.kick(idx, VOW, tab, dink, 0.0, now, due=due, actor=kpr)
        self.vat.log.add(
            "bite", ilk=ilk_name, vault=idx, auction=ids, actor=kpr, collateral=dink, dai=due
        )
        return ids, idx

    def _bite_12(
        self,
        params: CatIlk,
        dust: float,
        rate: float,
        idx: np.ndarray,
        ink: np.ndarray,
        art: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Liquidations 1.2 sizing with the box/litter room consumed in index order."""
        chop = params.chop
        if params.dunk <= 0:
            empty = np.zeros(0)
            return idx[:0], empty, empty, empty, empty
        full_tab = art * rate * chop
        want = np.minimum(full_tab, params.dunk)  # tab if the room were unlimited
        before = self.litter + np.cumsum(want) - want  # litter seen by each bite
        room = self.box - before
        may = (before < self.box) & (room >= dust)  # dss "Cat/liquidation-limit-hit"
        fits = may & (before + want <= self.box)
        n = idx.shape[0] if fits.all() else int(np.argmin(fits))
        if n < idx.shape[0] and may[n]:
            n += 1  # one partial bite takes the rest of the room; later ones are refused
        idx, ink, art, full_tab, room = idx[:n], ink[:n], art[:n], full_tab[:n], room[:n]
        cap = np.minimum(params.dunk, room)
        whole = full_tab <= cap
        dart = np.where(whole, art, np.minimum(art, cap / rate / chop))
        dink = np.where(whole, ink, np.minimum(ink, ink * dart / art))
        return idx, ink, art, dink, dart

    def claw(self, rad: float) -> None:
        """Release ``rad`` of Dai from ``litter`` when an auction ends (dss ``claw``)."""
        self.litter = num.debit(self.litter, rad)
        if num.negligible(self.litter, rad):
            self.litter = 0.0
