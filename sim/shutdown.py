"""Emergency Shutdown in a run: the End and ESM wired to the model, and the process that follows.

:meth:`sim.model.ProtocolModel.cage` is the one entry point (a governance ``cage`` spell action
and :meth:`sim.protocol.end.Esm.fire` both call it). At that tick the End cages the system
(:meth:`~sim.protocol.end.End.cage`) and fixes every ilk's cage price from its OSM's current
price (``cage(ilk)``; the PSM ilk reads a fixed 1 USD, as its pip does on mainnet). From the next
tick on, the model runs :meth:`Shutdown.step` instead of its agents: borrowers, keepers, MKR
bidders and the PSM arbitrageur no longer act (the Vat, Dog, Cat, PSM and auction houses would
refuse them), and the "keepers of shutdown" — whoever calls the End's public functions — do, in
the order of the End's own description (makerdao/dss@fa4f6630:src/end.sol lines 20-230):

1. first tick: surplus and debt auctions are yanked (MKR bids and Dai bids returned), every
   Clipper sale is ``snip``-ped and every Flipper auction in its tend phase ``skip``-ped (both give
   collateral and debt, penalty included, back to the vault), every vault with debt is
   ``skim``-med, and owners ``free`` what is left in their vaults;
2. every tick: Flipper auctions in their dent phase (which cannot be skipped) are dealt when
   over; vaults that became free are freed; the Vow heals;
3. once ``now >= when + wait``: ``thaw`` (after healing the Vow's surplus), ``flow`` per ilk;
   savers leave the Pot; every Dai holder ``pack``-s all its Dai and ``cash``-es its bag in
   every ilk.

**Dai holders.** Inside the Vat, every account with a Dai balance but the Vow (keepers, MKR
bidders, the arbitrageur, savers after leaving the Pot, …). Outside it, the Dai that left the
Vat's accounts — drawn by borrowers, or ``exit``-ed to the market — is one holder, ``market``:
its balance is ``vat.debt − Σ vat.dai`` (every ``frob`` draw, ``exit_dai``, ``join_dai``,
``suck``, ``heal`` and ``fold`` keeps this identity, so it is exactly the Dai outside). At
packing time it joins that Dai to the Vat (DaiJoin ``join``) and packs it like any holder.

Records: event rows (``cage``, ``snip``, ``skip``, ``yank``, ``skim``, ``free``, ``thaw``,
``flow``, ``pack``, ``cash``) and :attr:`Shutdown.rows`, the ``shutdown`` table
(:func:`shutdown_frame`): one ``ilk`` row per ilk (``tag``, ``gap``, ``Art``, ``rate``, ``fix``,
the collateral the End holds, the Dai outstanding), one ``free`` row per (owner, ilk) and one
``cash`` row per (holder, ilk): who got what.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.protocol import numeric as num
from sim.protocol.end import END, End, Esm
from sim.protocol.psm import PSM_ACCOUNT
from sim.protocol.vat import ProtocolError
from sim.protocol.vow import VOW

if TYPE_CHECKING:
    from sim.model import ProtocolModel

#: The holder of the Dai outside the Vat's accounts.
MARKET = "market"

#: Columns of the ``shutdown`` table (:func:`shutdown_frame`).
SHUTDOWN_COLUMNS = (
    "tick",
    "kind",
    "ilk",
    "holder",
    "dai",
    "collateral",
    "tag",
    "gap",
    "Art",
    "rate",
    "fix",
)


class OsmRead:
    """An ilk's price as the End reads it: the OSM's current price ``cur`` [USD/token]."""

    def __init__(self, osm: Any) -> None:
        self.osm = osm

    def __call__(self) -> float:
        """The OSM's current price, 0 when it has none (``read`` would revert)."""
        return float(self.osm.cur) if self.osm.cur_has else 0.0


class FixedPrice:
    """A fixed price (the PSM ilk's pip: 1 USD per stablecoin) [USD/token]."""

    def __init__(self, price: float) -> None:
        self.price = float(price)

    def __call__(self) -> float:
        """The fixed price."""
        return self.price


def build_end(model: ProtocolModel) -> tuple[End, Esm]:
    """The End and the ESM of a model, from ``system.end`` and ``system.esm`` of its scenario.

    The ESM fires through ``model.cage`` (the single entry point of shutdown).
    """
    spec = model.spec
    pips: dict[str, Any] = {
        name: OsmRead(model.osms[ilk.collateral]) for name, ilk in spec.ilks.items()
    }
    if model.psm is not None:
        pips[model.psm.ilk] = FixedPrice(1.0)
    end = End(
        model.vat,
        model.vow,
        pot=model.pot,
        dog=model.dog,
        cat=model.cat,
        clippers=model.clippers,
        flippers=model.flippers,
        pips=pips,
        par=model.par,
        wait=spec.system.end.wait,
    )
    esm = Esm(end, model.vow, spec.system.esm.min, cage=model.cage)
    return end, esm


class Shutdown:
    """The process of an Emergency Shutdown in a run (see the module docstring).

    Attributes:
        model: the model.
        end: the model's End.
        started: tick of the cage.
        thawed: tick of ``thaw`` (-1 before).
        done: whether every holder has cashed.
        rows: the ``shutdown`` table's rows.
    """

    def __init__(self, model: ProtocolModel) -> None:
        self.model = model
        self.end = model.end
        self.started = -1
        self.thawed = -1
        self.done = False
        self.processed = False
        #: The Dai holders' loss fixed at settlement [Dai] (None before ``thaw``).
        self.loss: float | None = None
        #: The ilks whose auctions have been snipped or skipped.
        self._processed: set[str] = set()
        self.rows: list[dict[str, Any]] = []

    def deficit(self, vow_deficit: float) -> float:
        """The run's deficit during the shutdown [Dai] (the recorder's ``bad_debt``).

        Until settlement, the Vow's deficit (``sin − dai − auction_debt``) less the debt the
        End's collateral covers (:meth:`backing`): the Dai outstanding that the collateral does
        not back at the cage prices. From ``thaw`` on, that shortfall as settled,
        ``debt·(1 − Σ fix/tag)``: the loss Dai holders bear in what they cash (after they have
        packed and cashed, the Vow's books are empty and would read 0).
        """
        if self.loss is not None:
            return self.loss
        return vow_deficit - self.backing()

    def backing(self) -> float:
        """The Dai value at the cage prices of the collateral the End holds [Dai].

        ``Σ custody(ilk) / tag(ilk)``: the debt that ``skim`` (and ``snip``/``skip``) moved to
        the Vow and that this collateral covers, until holders ``cash`` it. What ``skim`` moved
        and it does not cover is the ilks' ``gap`` (at the cage price), the loss Dai holders
        bear; the recorder's ``bad_debt`` counts it and not the rest.
        """
        end = self.end
        return sum(end.custody(ilk) / tag for ilk, tag in end.tag.items() if tag > 0)

    # ------------------------------------------------------------------ the steps
    def start(self, now: float) -> None:
        """``End.cage`` at ``now`` and ``cage(ilk)`` for every ilk at its OSM price then.

        An ilk whose OSM has no valid price (voided) cannot be caged yet (dss ``cage(ilk)``
        reverts: ``pip.read`` requires one): it is tried again every tick (:meth:`step`), once
        governance has started its OSM again and a hop has passed; until then its auctions and
        vaults wait, and nothing is settled.
        """
        end = self.end
        end.cage(now)
        self.started = self.model.tick
        self._cage_ilks()

    def _cage_ilks(self) -> None:
        """``cage(ilk)`` for every ilk not caged yet that has a valid price."""
        end = self.end
        for name in self.model.vat.ilks:
            if name in end.tag:
                continue
            try:
                end.cage_ilk(name)
            except ProtocolError:
                continue  # no valid price yet: tried again next tick

    @property
    def caged_all(self) -> bool:
        """Whether every ilk has its cage price (``tag``)."""
        return all(name in self.end.tag for name in self.model.vat.ilks)

    def step(self, now: float) -> None:
        """One tick of the process (the first processes every auction and vault)."""
        if self.done:
            self._deal_dent_phase(now)  # their winners still get their lots
            return
        if not self.processed:
            self._yank_vow_auctions()
            self.processed = True
        self._cage_ilks()
        self._process(now)
        self._deal_dent_phase(now)
        self._skim_and_free()
        self.model.vow.heal()
        if self.thawed < 0 and self.caged_all and now >= self.end.when + self.end.wait:
            self._settle(now)

    def _owner_account(self, ilk: str):
        """The Vat account of a vault owner id of ``ilk`` (a cohort's name, or the PSM)."""
        model = self.model
        if model.psm is not None and ilk == model.psm.ilk:
            return lambda owner: PSM_ACCOUNT
        names = [c.name for c in model.cohorts]
        return lambda owner: names[owner] if 0 <= owner < len(names) else f"owner-{owner}"

    def _yank_vow_auctions(self) -> None:
        """Yank the Vow's surplus and debt auctions (bids returned)."""
        model = self.model
        flapper, flopper = model.vow.flapper, model.vow.flopper
        for id in flapper.active_ids().copy():
            flapper.yank(int(id), actor=END)
        for id in flopper.active_ids().copy():
            flopper.yank(int(id), actor=END)

    def _process(self, now: float) -> None:
        """Snip and skip the liquidation auctions of the caged ilks (once per ilk)."""
        model, end = self.model, self.end
        for name, clip in model.clippers.items():
            if name in end.tag and name not in self._processed:
                for id in clip.active_ids().copy():
                    end.snip(name, int(id))
                self._processed.add(name)
        for name, flip in model.flippers.items():
            if name in end.tag and name not in self._processed:
                ids = flip.active_ids().copy()
                for id in ids[flip.bid[ids] < flip.tab[ids]]:
                    end.skip(name, int(id))
                self._processed.add(name)

    def _deal_dent_phase(self, now: float) -> None:
        """Deal the Flipper auctions left (dent phase) once they are over."""
        for flip in self.model.flippers.values():
            ids = flip.active_ids()
            if ids.size:
                tic = flip.tic[ids]
                over = ids[(tic != 0) & ((tic < now) | (flip.end[ids] < now))]
                if over.size:
                    flip.deal(over.copy(), now, actor="shutdown")

    def _skim_and_free(self) -> None:
        """Skim every vault with debt; free every vault with collateral and no debt."""
        end, vat = self.end, self.model.vat
        tick = self.model.tick
        for name, book in vat.ilks.items():
            if name not in end.tag:
                continue
            if np.any(book.art > 0):
                end.skim(name)
            idx = np.flatnonzero((book.ink > 0) & (book.art == 0))
            if idx.size == 0:
                continue
            account = self._owner_account(name)
            owners = book.owner[idx].copy()
            freed = end.free(name, idx, account)
            for owner in np.unique(owners):
                self.rows.append(
                    _row(
                        tick,
                        "free",
                        name,
                        account(int(owner)),
                        collateral=float(freed[owners == owner].sum()),
                    )
                )

    def _settle(self, now: float) -> None:
        """Thaw, flow every ilk, and let every holder pack and cash."""
        model, end, vat = self.model, self.end, self.model.vat
        try:
            end.thaw(now)
        except ProtocolError as exc:
            if "surplus-not-zero" in str(exc):
                return  # the Vow's surplus exceeds its debt: dss cannot thaw (try again later)
            if "End/debt-zero" in str(exc):
                self.done = True  # no Dai outstanding: nothing to settle
                return
            raise
        self.thawed = model.tick
        tick = model.tick
        for name in vat.ilks:
            custody = end.custody(name)
            fix = end.flow(name)
            book = vat.ilks[name]
            self.rows.append(
                _row(
                    tick,
                    "ilk",
                    name,
                    "",
                    dai=end.debt,
                    collateral=custody,
                    tag=end.tag[name],
                    gap=end.gap[name],
                    Art=end.Art[name],
                    rate=book.rate,
                    fix=fix,
                )
            )
        self.loss = max(end.debt * (1.0 - sum(end.fix[n] / end.tag[n] for n in end.fix)), 0.0)
        pot = model.pot
        for saver, pie in list(pot.pie.items()):
            if pie > 0:
                pot.exit(saver, pie)
        holders = self.holders()
        if holders.get(MARKET, 0.0) > 0:
            vat.join_dai(MARKET, holders[MARKET])
        for holder, dai in holders.items():
            if dai <= 0:
                continue
            end.pack(holder, dai)
            for name in vat.ilks:
                if end.fix[name] == 0:
                    continue  # no collateral owed in this ilk: dss's cash would revert
                got = end.cash(name, holder, dai)
                self.rows.append(_row(tick, "cash", name, holder, dai=dai, collateral=got))
        self.done = True

    def holders(self) -> dict[str, float]:
        """Every Dai holder and its Dai [Dai].

        The Vat's accounts but the Vow's and the Pot's, and :data:`MARKET` for the Dai outside
        the Vat (``vat.debt − Σ vat.dai``).

        Raises:
            ProtocolError: the agents hold more Dai than the Vat issued (only possible when a
                scenario gives agents more Dai from outside than was ever drawn).
        """
        vat = self.model.vat
        inside = {
            k: v for k, v in vat.dai.items() if k not in (VOW, self.model.pot.account) and v > 0
        }
        outside = vat.debt - sum(vat.dai.values())
        total = vat.dai_total()
        if outside < 0 and not num.negligible(outside, total):
            raise ProtocolError(
                f"End/settle: the Vat's accounts hold {-outside!r} Dai more than the Vat issued; "
                "the agents' Dai from outside cannot all be settled"
            )
        holders = dict(sorted(inside.items()))
        holders[MARKET] = max(outside, 0.0)
        return holders


def _row(
    tick: int,
    kind: str,
    ilk: str,
    holder: str,
    *,
    dai: float = 0.0,
    collateral: float = 0.0,
    tag: float = np.nan,
    gap: float = np.nan,
    Art: float = np.nan,
    rate: float = np.nan,
    fix: float = np.nan,
) -> dict[str, Any]:
    return {
        "tick": tick,
        "kind": kind,
        "ilk": ilk,
        "holder": holder,
        "dai": float(dai),
        "collateral": float(collateral),
        "tag": float(tag),
        "gap": float(gap),
        "Art": float(Art),
        "rate": float(rate),
        "fix": float(fix),
    }


def shutdown_frame(shutdown: Shutdown | None) -> pd.DataFrame | None:
    """The ``shutdown`` table of a run, or None when no shutdown happened.

    Columns: ``tick``; ``kind`` (``ilk``: the End's numbers per ilk at ``flow``; ``free``: the
    collateral an owner took out of its debt-free vaults; ``cash``: the collateral a holder got
    for its Dai); ``ilk``; ``holder`` (a cohort, keeper, bidder or ``market``; ``""`` on ``ilk``
    rows); ``dai`` [Dai] (the bag cashed; on ``ilk`` rows the Dai outstanding, ``End.debt``);
    ``collateral`` [tokens] (got; on ``ilk`` rows the End's custody at ``flow``); ``tag``
    [tokens/Dai], ``gap`` [tokens], ``Art`` [Dai at rate 1], ``rate`` [-], ``fix`` [tokens/Dai]
    (NaN except on ``ilk`` rows).
    """
    if shutdown is None:
        return None
    frame = pd.DataFrame(shutdown.rows, columns=list(SHUTDOWN_COLUMNS))
    return frame.astype({"tick": np.int64, "kind": object, "ilk": object, "holder": object})
