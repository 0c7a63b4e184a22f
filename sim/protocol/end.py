"""Emergency Shutdown: the End and the Emergency Shutdown Module (dss ``end.sol``, esm ``ESM.sol``).

The End stops the system and lets every Dai holder claim a fixed basket of collateral. The
steps, each a method named as in dss (makerdao/dss@fa4f6630:src/end.sol, lines cited per method):

1. :meth:`End.cage` — ``live = 0``, ``when = now``; cages the Vat, Cat, Dog, Vow (which cancels
   the surplus and debt auctions and heals), the Pot and the Spotter.
2. :meth:`End.cage_ilk` (dss ``cage(ilk)``) — ``tag[ilk] = par / price`` from the ilk's OSM
   (collateral per Dai at the cage price) and ``Art[ilk]`` recorded.
3. :meth:`End.snip` (Clipper sales) / :meth:`End.skip` (Flipper auctions in their tend phase) —
   cancel the auction and give its collateral and its ``tab`` (penalty included) back to the
   vault as debt: ``art = tab / rate``, ``Art[ilk] += art``.
4. :meth:`End.skim` — per vault, ``owe = art·rate·tag``, ``wad = min(ink, owe)``; ``wad`` and all
   the debt are grabbed into the End, ``gap[ilk] += owe − wad`` (the shortfall of underwater
   vaults, in collateral).
5. :meth:`End.free` — owners of vaults without debt take their collateral out.
6. :meth:`End.thaw` — after ``wait`` and once the Vow holds no surplus: ``debt = vat.debt``.
7. :meth:`End.flow` — ``fix[ilk] = (Art·rate·tag − gap) / debt``, collateral per Dai.
8. :meth:`End.pack` / :meth:`End.cash` — a holder packs Dai into a ``bag`` (moved to the Vow) and
   cashes it for ``wad·fix[ilk]`` of each ilk.

Units follow the rest of :mod:`sim.protocol`: floats in natural units (tokens, Dai, seconds),
rates as plain multipliers. dss's fixed-point operations become float ones: ``rmul(x, y)`` is
``x·y``, ``wdiv(par, price)`` is ``par/price``, ``tab / rate`` (integer division) is ``tab/rate``,
``mul(wad − gap, RAY) / (debt / RAY)`` is ``(wad − gap)/debt``. dss rounds each down, so on
mainnet the End keeps a few wei of dust after every holder cashed; here the sums agree up to
float rounding, and balance checks go through :mod:`sim.protocol.numeric` (a cash that exceeds
the End's collateral by no more than the tolerance is clamped to it). dss's ``Cure`` (debt
outside the Vat, e.g. D3M) is not modelled: ``cure.tell() = 0``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sim.protocol import numeric as num
from sim.protocol.vat import ProtocolError, Vat
from sim.protocol.vow import VOW, Vow

if TYPE_CHECKING:
    from sim.protocol.clip import Clipper, Dog
    from sim.protocol.flip import Cat, Flipper
    from sim.protocol.pot import Pot

#: The End's account name in the Vat (collateral it holds, Dai it passes to Flipper bidders).
END = "end"
#: The ESM's account in the MKR ledger (:attr:`Vow.mkr`).
ESM_ACCOUNT = "esm"


class End:
    """The global settlement engine (dss ``End``).

    Attributes:
        vat, vow, dog, cat, pot: the contracts it cages.
        clippers, flippers: the auction houses per ilk (read by :meth:`snip` / :meth:`skip`).
        pips: per ilk, the price the End reads at :meth:`cage_ilk` (the OSM's current price
            ``read``) [USD/token].
        par: the Dai reference price [USD/Dai] (Spotter ``par``).
        wait: processing cooldown between :meth:`cage` and :meth:`thaw` [s].
        live: 1 until :meth:`cage`.
        when: time of :meth:`cage` [s].
        debt: total Dai outstanding, fixed by :meth:`thaw` [Dai] (0 before).
        tag: cage price per ilk, ``par / price`` [tokens/Dai].
        gap: collateral shortfall per ilk [tokens].
        Art: total normalised debt per ilk [Dai at rate 1].
        fix: final cash price per ilk [tokens/Dai].
        bag: Dai packed per holder [Dai].
        out: Dai cashed per ilk and holder [Dai].
        spot_live: the Spotter's ``live`` (0 after cage: no more ``spot`` updates).
        account: the End's Vat account.
    """

    def __init__(
        self,
        vat: Vat,
        vow: Vow,
        *,
        pot: Pot,
        dog: Dog,
        cat: Cat,
        clippers: dict[str, Clipper],
        flippers: dict[str, Flipper],
        pips: dict[str, Callable[[], float]],
        par: float = 1.0,
        wait: float = 0.0,
    ) -> None:
        self.vat = vat
        self.vow = vow
        self.pot = pot
        self.dog = dog
        self.cat = cat
        self.clippers = clippers
        self.flippers = flippers
        self.pips = pips
        self.par = float(par)
        self.wait = float(wait)
        self.live = 1
        self.when = 0.0
        self.debt = 0.0
        self.spot_live = 1
        self.tag: dict[str, float] = {}
        self.gap: dict[str, float] = {}
        self.Art: dict[str, float] = {}
        self.fix: dict[str, float] = {}
        self.bag: dict[str, float] = {}
        self.out: dict[str, dict[str, float]] = {}
        self.account = END

    # ------------------------------------------------------------------ views
    def custody(self, ilk: str) -> float:
        """Collateral of ``ilk`` the End holds (dss ``vat.gem(ilk, end)``) [tokens]."""
        return self.vat.gem.get((ilk, self.account), 0.0)

    def _require_tag(self, ilk: str) -> float:
        tag = self.tag.get(ilk, 0.0)
        if tag == 0:
            raise ProtocolError(f"End/tag-ilk-not-defined: {ilk}")
        return tag

    def _require_caged(self) -> None:
        if self.live:
            raise ProtocolError("End/still-live")

    # ------------------------------------------------------------------ settlement
    def cage(self, now: float) -> None:
        """Shut the system down (dss ``cage()``, end.sol lines 333-345).

        ``live = 0``, ``when = now``; ``vat.cage``, ``cat.cage``, ``dog.cage``, ``vow.cage``
        (cages the Flapper and Flopper, heals), Spotter ``cage`` (:attr:`spot_live`),
        ``pot.cage``.

        Raises:
            ProtocolError: ``End/not-live`` when already caged.
        """
        if not self.live:
            raise ProtocolError("End/not-live")
        self.live = 0
        self.when = float(now)
        self.vat.cage()
        self.cat.cage()
        self.dog.cage()
        self.vow.cage()
        self.spot_live = 0
        self.pot.cage()
        self.vat.log.add("cage", actor=END)

    def cage_ilk(self, ilk: str) -> float:
        """Fix the ilk's cage price (dss ``cage(ilk)``, end.sol lines 347-355).

        ``Art[ilk] = vat.ilks(ilk).Art``; ``tag[ilk] = wdiv(par, pip.read())`` = ``par/price``.

        Returns:
            ``tag[ilk]`` [tokens/Dai].

        Raises:
            ProtocolError: ``End/still-live``, ``End/tag-ilk-already-defined``, or no valid
                price (``pip.read`` reverts without one; a zero price divides by zero).
        """
        self._require_caged()
        if self.tag.get(ilk, 0.0) != 0:
            raise ProtocolError(f"End/tag-ilk-already-defined: {ilk}")
        price = float(self.pips[ilk]())
        if not (price > 0 and num.finite(price)):
            raise ProtocolError(f"OSM/no-current-value: {ilk} has no price to cage at ({price!r})")
        self.Art[ilk] = self.vat.ilks[ilk].Art
        self.tag[ilk] = self.par / price
        self.gap.setdefault(ilk, 0.0)
        self.vat.log.add("cage", ilk=ilk, actor=END, dai=self.Art[ilk], price=self.tag[ilk])
        return self.tag[ilk]

    def snip(self, ilk: str, id: int) -> float:
        """Cancel a Clipper sale, its collateral and ``tab`` back to the vault (dss ``snip``).

        end.sol lines 357-373: ``vat.suck(vow, vow, tab)``; ``clip.yank(id)`` (collateral to the
        End); ``art = tab / rate``; ``Art[ilk] += art``; ``vat.grab(ilk, usr, end, vow, lot,
        art)`` (the vault gets ``lot`` and ``art`` back, the Vow's sin falls by ``art·rate``).
        The vault now owes the penalty too: ``tab = due·chop``.

        Returns:
            ``art`` booked back to the vault [Dai at rate 1].
        """
        self._require_tag(ilk)
        clip = self.clippers[ilk]
        rate = self.vat.ilks[ilk].rate
        if not (0 <= id < clip.kicks and clip.active[id]):
            raise ProtocolError("Clipper/not-running-auction")
        tab = float(clip.tab[id])
        self.vat.suck(VOW, VOW, tab)
        tab, lot, usr = clip.yank(id, self.account)
        art = tab / rate
        self.Art[ilk] += art
        self._give_back(ilk, usr, lot, art)
        self.vat.log.add("snip", ilk=ilk, vault=usr, auction=id, actor=END, collateral=lot, dai=tab)
        return art

    def skip(self, ilk: str, id: int) -> float:
        """Cancel a Flipper auction in its tend phase, back to the vault (dss ``skip``).

        end.sol lines 375-393: ``vat.suck(vow, vow, tab)``; ``vat.suck(vow, end, bid)``;
        ``flip.yank(id)`` (the bid paid back to the bidder from the End, the collateral to the
        End); ``art = tab / rate``; ``Art[ilk] += art``; ``vat.grab(ilk, usr, end, vow, lot,
        art)``.

        Returns:
            ``art`` booked back to the vault [Dai at rate 1].

        Raises:
            ProtocolError: the auction is in its dent phase (``Flipper/already-dent-phase``;
                it runs to its end and is dealt as usual) or not running.
        """
        self._require_tag(ilk)
        flip = self.flippers[ilk]
        rate = self.vat.ilks[ilk].rate
        if not (0 <= id < flip.kicks and flip.active[id]):
            raise ProtocolError("Flipper/guy-not-set")
        bid, tab = float(flip.bid[id]), float(flip.tab[id])
        if not bid < tab:
            raise ProtocolError("Flipper/already-dent-phase")
        self.vat.suck(VOW, VOW, tab)
        self.vat.suck(VOW, self.account, bid)
        bid, lot, tab, usr = flip.yank(id, self.account)
        art = tab / rate
        self.Art[ilk] += art
        self._give_back(ilk, usr, lot, art)
        self.vat.log.add("skip", ilk=ilk, vault=usr, auction=id, actor=END, collateral=lot, dai=tab)
        return art

    def _give_back(self, ilk: str, usr: int, lot: float, art: float) -> None:
        """``vat.grab(ilk, usr, end, vow, +lot, +art)``: collateral and debt back to the vault."""
        have = self.custody(ilk)
        if not num.covers(have, lot, self.vat.ilks[ilk].joined):
            raise ProtocolError(f"Vat/grab: the End holds {have!r} {ilk}, needs {lot!r}")
        lot = min(lot, have)
        self.vat.grab(ilk, np.array([usr]), np.array([-lot]), np.array([-art]), gem_to=self.account)
        self.vat.gem[(ilk, self.account)] = max(self.vat.gem[(ilk, self.account)], 0.0)

    def skim(self, ilk: str, idx: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Cancel the debt of vaults, taking the collateral it is worth (dss ``skim``, vectorised).

        end.sol lines 395-407, per vault: ``owe = rmul(rmul(art, rate), tag)``,
        ``wad = min(ink, owe)``, ``gap[ilk] += owe − wad``, ``vat.grab(ilk, urn, end, vow, −wad,
        −art)``. A vault without debt is left as it is (``owe = 0``).

        Args:
            ilk: the ilk.
            idx: vault indices (distinct); default every vault with debt.

        Returns:
            ``(idx, wad)``: the vaults skimmed and the collateral taken from each [tokens].
        """
        tag = self._require_tag(ilk)
        book = self.vat.ilks[ilk]
        if idx is None:
            idx = np.flatnonzero(book.art > 0)
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        idx = idx[book.art[idx] > 0]
        if idx.size == 0:
            return idx, np.zeros(0)
        art = book.art[idx].copy()
        ink = book.ink[idx]
        owe = art * book.rate * tag
        wad = np.minimum(ink, owe)
        self.gap[ilk] = self.gap.get(ilk, 0.0) + float((owe - wad).sum())
        self.vat.grab(ilk, idx, wad, art, gem_to=self.account)
        self.vat.log.add("skim", ilk=ilk, vault=idx, actor=END, collateral=wad, dai=art * book.rate)
        return idx, wad

    def free(self, ilk: str, idx: np.ndarray, to: Callable[[int], str]) -> np.ndarray:
        """Owners take the collateral of their debt-free vaults out (dss ``free``, vectorised).

        end.sol lines 409-416: requires ``live == 0`` and ``art == 0``;
        ``vat.grab(ilk, urn, urn, vow, −ink, 0)`` — the collateral to the owner's gem balance.

        Args:
            ilk: the ilk.
            idx: vault indices (distinct).
            to: the owner's Vat account from its owner id (``Ilk.owner``).

        Returns:
            The collateral freed per vault [tokens].

        Raises:
            ProtocolError: ``End/still-live``; ``End/art-not-zero`` when a vault has debt
                (nothing is changed).
        """
        self._require_caged()
        book = self.vat.ilks[ilk]
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        if np.any(book.art[idx] != 0):
            raise ProtocolError(f"End/art-not-zero: {ilk} vault {int(idx[book.art[idx] != 0][0])}")
        ink = book.ink[idx].copy()
        owners = book.owner[idx]
        for owner in np.unique(owners):
            mine = owners == owner
            self.vat.grab(
                ilk, idx[mine], ink[mine], np.zeros(int(mine.sum())), gem_to=to(int(owner))
            )
            self.vat.log.add(
                "free", ilk=ilk, vault=idx[mine], actor=to(int(owner)), collateral=ink[mine]
            )
        return ink

    def thaw(self, now: float) -> float:
        """Fix the Dai outstanding (dss ``thaw``, end.sol lines 418-425).

        Requires ``live == 0``, ``debt == 0`` (not thawed yet), ``vat.dai(vow) == 0`` (the
        Vow's surplus healed: skim more vaults first if it cannot be) and ``now >= when + wait``;
        then ``debt = vat.debt − cure.tell()`` with ``cure.tell() = 0``.

        Returns:
            ``debt`` [Dai].

        Raises:
            ProtocolError: ``End/still-live``, ``End/debt-not-zero``, ``End/surplus-not-zero``,
                ``End/wait-not-finished``.
        """
        self._require_caged()
        if self.debt != 0:
            raise ProtocolError("End/debt-not-zero: already thawed")
        joy = self.vat.dai.get(VOW, 0.0)
        if not num.negligible(joy, self.vat.dai_total()):
            raise ProtocolError(f"End/surplus-not-zero: the Vow holds {joy!r} Dai")
        if not now >= self.when + self.wait:
            raise ProtocolError(
                f"End/wait-not-finished: {now - self.when!r} s of {self.wait!r} s since cage"
            )
        self.debt = self.vat.debt
        if not self.debt > 0:
            raise ProtocolError("End/debt-zero: no Dai outstanding")
        self.vat.log.add("thaw", actor=END, dai=self.debt)
        return self.debt

    def flow(self, ilk: str) -> float:
        """Compute the ilk's cash price (dss ``flow``, end.sol lines 426-434).

        ``wad = rmul(rmul(Art, rate), tag)``; ``fix = (wad − gap) / debt`` [tokens/Dai].

        Returns:
            ``fix[ilk]`` [tokens/Dai].

        Raises:
            ProtocolError: ``End/debt-zero`` (not thawed), ``End/fix-ilk-already-defined``,
                or ``gap > wad`` (dss ``sub`` underflow).
        """
        if self.debt == 0:
            raise ProtocolError("End/debt-zero: thaw first")
        if self.fix.get(ilk, 0.0) != 0:
            raise ProtocolError(f"End/fix-ilk-already-defined: {ilk}")
        tag = self._require_tag(ilk)
        wad = self.Art[ilk] * self.vat.ilks[ilk].rate * tag
        gap = self.gap.get(ilk, 0.0)
        if not num.covers(wad, gap):
            raise ProtocolError(f"End/flow: gap {gap!r} exceeds the collateral owed {wad!r}")
        self.fix[ilk] = max(wad - gap, 0.0) / self.debt
        self.vat.log.add(
            "flow", ilk=ilk, actor=END, collateral=self.custody(ilk), price=self.fix[ilk]
        )
        return self.fix[ilk]

    def pack(self, who: str, wad: float) -> None:
        """Put ``wad`` of ``who``'s Dai into its bag, moved to the Vow (dss ``pack``, 436-441).

        Raises:
            ProtocolError: ``End/debt-zero`` (not thawed) or ``who`` lacks the Dai.
        """
        if self.debt == 0:
            raise ProtocolError("End/debt-zero: thaw first")
        self.vat.move(who, VOW, wad)
        self.bag[who] = self.bag.get(who, 0.0) + wad
        self.vat.log.add("pack", actor=who, dai=wad)

    def cash(self, ilk: str, who: str, wad: float) -> float:
        """Exchange ``wad`` of ``who``'s bag for ``wad·fix`` collateral (dss ``cash``, 442-448).

        ``out[ilk][who] += wad`` must stay within ``bag[who]``: each packed Dai claims its
        ``fix`` of every ilk once.

        Returns:
            The collateral received [tokens].

        Raises:
            ProtocolError: ``End/fix-ilk-not-defined``, ``End/insufficient-bag-balance``, or
                the End holds less collateral than the claim (beyond rounding).
        """
        fix = self.fix.get(ilk, 0.0)
        if fix == 0:
            raise ProtocolError(f"End/fix-ilk-not-defined: {ilk}")
        out = self.out.setdefault(ilk, {})
        total = out.get(who, 0.0) + wad
        bag = self.bag.get(who, 0.0)
        if not num.covers(bag, total, self.vat.dai_total()):
            raise ProtocolError(
                f"End/insufficient-bag-balance: {who} packed {bag!r}, cashes {total!r} of {ilk}"
            )
        gem = wad * fix
        have = self.custody(ilk)
        if not num.covers(have, gem, self.vat.ilks[ilk].joined):
            raise ProtocolError(f"Vat/flux: the End holds {have!r} {ilk}, {who} claims {gem!r}")
        gem = min(gem, have)
        self.vat.flux(ilk, self.account, who, gem)
        out[who] = total
        self.vat.log.add("cash", ilk=ilk, actor=who, collateral=gem, dai=wad, price=fix)
        return gem


class Esm:
    """The Emergency Shutdown Module (makerdao/esm@225ddf29:src/ESM.sol).

    MKR holders ``join`` MKR into the module (it cannot be taken back and is burnt by
    :meth:`burn`); once ``Sum >= min`` anyone may :meth:`fire` it, which cages the End. ``fire``
    also denies the governance proxy on the Vat (``denyProxy``): :attr:`proxy_denied`.

    Attributes:
        end: the End (its ``live`` gates ``join``).
        mkr: the MKR ledger (:class:`~sim.protocol.vow.Vow`'s ``mkr``).
        min: MKR needed to fire [MKR].
        Sum: MKR joined [MKR]; sum: per joiner [MKR].
        live: 1 until the module is disabled (ESM ``cage``).
        fired: whether :meth:`fire` was called.
        proxy_denied: whether the governance proxy lost its access to the Vat.
        cage: what firing calls with the time: by default ``end.cage``; the model passes its
            own ``cage`` so that shutdown has one entry point.
    """

    def __init__(
        self,
        end: End,
        mkr: Vow,
        min: float,
        cage: Callable[[float], None] | None = None,
    ) -> None:
        self.end = end
        self.mkr = mkr
        self.min = float(min)
        self.Sum = 0.0
        self.sum: dict[str, float] = {}
        self.live = 1
        self.fired = False
        self.proxy_denied = False
        self.burned = 0.0
        self._cage = cage if cage is not None else end.cage

    def join(self, who: str, wad: float) -> None:
        """Commit ``wad`` MKR of ``who`` to the module (ESM.sol ``join``, lines 145-154).

        Raises:
            ProtocolError: ``ESM/permanently-disabled``, ``ESM/system-already-shutdown``, or
                ``who`` lacks the MKR.
        """
        if not self.live:
            raise ProtocolError("ESM/permanently-disabled")
        if not self.end.live:
            raise ProtocolError("ESM/system-already-shutdown")
        if wad < 0:
            raise ProtocolError("ESM/negative-amount")
        self.mkr.move_mkr(who, ESM_ACCOUNT, wad)
        self.sum[who] = self.sum.get(who, 0.0) + wad
        self.Sum += wad
        self.end.vat.log.add("esm_join", actor=who, collateral=wad)

    def fire(self, now: float) -> None:
        """Shut the system down (ESM.sol ``fire``, lines 125-135): needs ``Sum >= min``.

        Denies the governance proxy on the Vat, then cages the End.

        Raises:
            ProtocolError: ``ESM/permanently-disabled`` or ``ESM/min-not-reached``.
        """
        if not self.live:
            raise ProtocolError("ESM/permanently-disabled")
        if not self.Sum >= self.min:
            raise ProtocolError(f"ESM/min-not-reached: {self.Sum!r} of {self.min!r} MKR")
        self.proxy_denied = True
        self.fired = True
        self.end.vat.log.add("esm_fire", actor=ESM_ACCOUNT, collateral=self.Sum)
        self._cage(now)

    def deny_proxy(self) -> None:
        """Deny the governance proxy without caging (ESM.sol ``denyProxy``, lines 137-143).

        Raises:
            ProtocolError: ``ESM/permanently-disabled`` or ``ESM/min-not-reached``.
        """
        if not self.live:
            raise ProtocolError("ESM/permanently-disabled")
        if not self.Sum >= self.min:
            raise ProtocolError(f"ESM/min-not-reached: {self.Sum!r} of {self.min!r} MKR")
        self.proxy_denied = True

    def burn(self) -> float:
        """Burn the MKR the module holds (ESM.sol ``burn``, lines 156-158).

        Returns:
            The MKR burnt [MKR].
        """
        amount = self.mkr.mkr.get(ESM_ACCOUNT, 0.0)
        if amount > 0:
            self.mkr.burn_mkr(ESM_ACCOUNT, amount)
        self.burned += amount
        return amount
