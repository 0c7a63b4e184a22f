"""Vow: the system's balance sheet (dss ``vow.sol``): debt queue, ``heal``, flop and flap auctions.

The Vow's Dai balance in the Vat is its surplus (``Joy``); its sin balance is system debt
(``Awe``). Liquidations ``fess`` the confiscated debt into a queue keyed by time; after ``wait``
seconds it can be ``flog``-ged into free sin (``Woe``), which ``heal`` cancels against surplus.

- ``Sin``: queued debt not yet flogged [Dai].
- ``Ash``: debt on auction in the Flopper [Dai].
- ``Woe = sin − Sin − Ash``: free debt [Dai].

Free debt that surplus cannot cover is sold in debt auctions, surplus above
``sin + bump + hump`` in surplus auctions: the auction houses are in :mod:`sim.protocol.flop_flap`
(:class:`Flopper`, :class:`Flapper`, re-exported here). MKR is accounted here: balances per
bidder name (:attr:`Vow.mkr`), ``mkr_minted`` and ``mkr_burned`` totals.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from sim.protocol import numeric as num
from sim.protocol.flop_flap import FLAP, VOW, Flapper, Flopper, replay
from sim.protocol.vat import ProtocolError, Vat

__all__ = ["FLAP", "MAX_KICKS", "VOW", "Flapper", "Flopper", "Vow", "replay"]

#: Largest number of debt auctions :meth:`Vow.step` kicks in one tick. Surplus auctions are
#: bounded by the Flapper's ``lid``; debt auctions by the free debt over ``sump``, which this caps
#: for absurd debts (each kick is one ``flop`` transaction).
MAX_KICKS = 10_000


@dataclass
class Vow:
    """Debt queue, system balance and the debt/surplus auction houses (dss ``Vow``).

    Attributes:
        vat: the Vat.
        wait: flop delay: time before queued debt becomes free [s].
        sump: flop fixed bid size [Dai].
        dump: flop initial lot size [MKR].
        bump: flap fixed lot size [Dai].
        hump: surplus buffer [Dai].
        queue: queued debt by the time it was booked (dss ``sin[era]``) [Dai].
        Sin: total queued debt [Dai].
        Ash: debt on auction [Dai].
        flopper: the debt auction house (created with dss defaults when not given).
        flapper: the surplus auction house (created with dss defaults when not given).
        mkr: MKR balances by holder name [MKR] (bidders, and ``"flap"`` for MKR bid in the
            Flapper).
        mkr_minted: MKR minted by debt auctions [MKR].
        mkr_burned: MKR burned by surplus auctions [MKR].
        mkr_given: MKR credited from outside the model (:meth:`give_mkr`) [MKR].
        flop_dai: Dai raised by debt auctions (each auction's first bid, paid to the Vow) [Dai].
        flopping: whether :meth:`step` kicks debt auctions (governance's ``flop`` action; on
            mainnet, governance files ``sump`` to its maximum, so that no free debt covers it).
        flapping: whether :meth:`step` kicks surplus auctions (governance's ``flap`` action; on
            mainnet, ``bump`` filed to its maximum). Running auctions go on either way.
    """

    vat: Vat
    wait: float = 0.0
    sump: float = 50_000.0
    dump: float = 250.0
    bump: float = 10_000.0
    hump: float = 500_000.0
    queue: OrderedDict[float, float] = field(default_factory=OrderedDict)
    Sin: float = 0.0
    Ash: float = 0.0
    flopper: Flopper | None = field(default=None, repr=False, compare=False)
    flapper: Flapper | None = field(default=None, repr=False, compare=False)
    mkr: dict[str, float] = field(default_factory=dict)
    mkr_minted: float = 0.0
    mkr_burned: float = 0.0
    mkr_given: float = 0.0
    flop_dai: float = 0.0
    flopping: bool = True
    flapping: bool = True
    #: 1 until Emergency Shutdown (:meth:`cage`).
    live: int = 1

    def __post_init__(self) -> None:
        if self.flopper is None:
            self.flopper = Flopper(self)
        if self.flapper is None:
            self.flapper = Flapper(self)

    @property
    def joy(self) -> float:
        """Surplus Dai held by the Vow (dss ``vat.dai(vow)``) [Dai]."""
        return self.vat.dai.get(VOW, 0.0)

    @property
    def awe(self) -> float:
        """System debt held by the Vow (dss ``vat.sin(vow)``) [Dai]."""
        return self.vat.sin.get(VOW, 0.0)

    @property
    def woe(self) -> float:
        """Free debt, neither queued nor on auction (``Awe − Sin − Ash``) [Dai]."""
        return max(self.awe - self.Sin - self.Ash, 0.0)

    def fess(self, tab: float, now: float) -> None:
        """Queue ``tab`` of debt booked at ``now`` (dss ``fess``)."""
        if tab <= 0:
            return
        self.queue[now] = self.queue.get(now, 0.0) + tab
        self.Sin += tab

    def flog(self, now: float) -> float:
        """Release every queue entry older than ``wait`` (dss ``flog`` for each era).

        Returns:
            The debt released [Dai].
        """
        released = 0.0
        while self.queue:
            era, amount = next(iter(self.queue.items()))
            if era + self.wait > now:
                break
            self.queue.popitem(last=False)
            released += amount
        self.Sin = max(self.Sin - released, 0.0) if self.queue else 0.0
        return released

    def heal(self, rad: float | None = None) -> float:
        """Cancel free debt against surplus (dss ``heal``); by default as much as possible.

        Returns:
            The amount healed [Dai].
        """
        most = min(self.joy, self.woe)
        rad = most if rad is None else rad
        if not num.covers(most, rad, self.vat.dai_total()):
            raise ProtocolError(
                f"Vow/insufficient-surplus-or-debt: heal {rad!r}, surplus {self.joy!r}, "
                f"free debt {self.woe!r}"
            )
        rad = min(rad, most)
        if rad > 0:
            self.vat.heal(VOW, rad)
            self.vat.log.add("heal", dai=rad)
        return rad

    def kiss(self, rad: float) -> None:
        """Cancel debt on auction against surplus (dss ``kiss``)."""
        total = self.vat.dai_total()
        if not (num.covers(self.Ash, rad, total) and num.covers(self.joy, rad, total)):
            raise ProtocolError(
                f"Vow/kiss: kiss {rad!r}, debt on auction {self.Ash!r}, surplus {self.joy!r}"
            )
        self.Ash = num.debit(self.Ash, rad)
        self.vat.heal(VOW, rad)

    def cage(self) -> float:
        """Shut the Vow down (dss ``cage``, called by ``End.cage``).

        ``live = 0``, ``Sin = Ash = 0`` (the queue is forgotten: all sin is free), the Flapper
        is caged with the Dai on sale moved back, the Flopper is caged, and ``min(dai, sin)`` is
        healed. Source: makerdao/dss@fa4f6630:src/vow.sol lines 154-162.

        Returns:
            The amount healed [Dai].
        """
        if not self.live:
            raise ProtocolError("Vow/not-live")
        self.live = 0
        self.Sin = 0.0
        self.Ash = 0.0
        self.queue.clear()
        self.flapper.cage(self.vat.dai.get(FLAP, 0.0))
        self.flopper.cage()
        rad = min(self.joy, self.awe)
        if rad > 0:
            self.vat.heal(VOW, rad)
            self.vat.log.add("heal", dai=rad)
        return rad

    # ------------------------------------------------------------------ debt and surplus auctions
    def can_flop(self) -> bool:
        """Whether :meth:`flop` is allowed: free debt ``>= sump`` and no surplus."""
        return num.covers(self.woe, self.sump) and num.negligible(self.joy, self.sump)

    def can_flap(self) -> bool:
        """Whether :meth:`flap` is allowed: enough surplus, no free debt, room under ``lid``.

        Enough surplus is ``joy >= awe + bump + hump``.
        """
        return (
            num.covers(self.joy, self.awe + self.bump + self.hump)
            and num.negligible(self.woe, self.awe)
            and self.flapper.has_room(self.bump)
        )

    def flop(self, now: float) -> int:
        """Start a debt auction of ``dump`` MKR for ``sump`` Dai (dss ``flop``); ``Ash += sump``.

        Returns:
            The Flopper auction id.

        Raises:
            ProtocolError: when free debt is below ``sump`` or there is surplus (heal first).
        """
        if not num.covers(self.woe, self.sump):
            raise ProtocolError("Vow/insufficient-debt: free debt is below sump")
        if not num.negligible(self.joy, self.sump):
            raise ProtocolError("Vow/surplus-not-zero: heal the surplus first")
        self.Ash += self.sump
        id = self.flopper.kick(VOW, self.dump, self.sump, now)
        self.vat.log.add("flop", auction=id, actor=VOW, collateral=self.dump, dai=self.sump)
        return id

    def flap(self, now: float) -> int:
        """Start a surplus auction of ``bump`` Dai (dss ``flap``).

        Returns:
            The Flapper auction id.

        Raises:
            ProtocolError: when surplus is below ``awe + bump + hump`` or free debt is not zero.
        """
        if not num.covers(self.joy, self.awe + self.bump + self.hump):
            raise ProtocolError("Vow/insufficient-surplus")
        if not num.negligible(self.woe, self.awe):
            raise ProtocolError("Vow/debt-not-zero: heal the free debt first")
        id = self.flapper.kick(self.bump, 0.0, now, src=VOW)
        self.vat.log.add("flap", auction=id, actor=VOW, collateral=0.0, dai=self.bump)
        return id

    def step(self, now: float) -> dict[str, float | list[int]]:
        """The Vow's work of one tick: ``flog``, ``heal``, then the flop/flap kicks allowed.

        No debt (surplus) auction is kicked while :attr:`flopping` (:attr:`flapping`) is off.

        Returns:
            ``released`` and ``healed`` [Dai], and the new ``flops`` / ``flaps`` auction ids.
        """
        released = self.flog(now) if self.queue else 0.0
        healed = self.heal()
        flops: list[int] = []
        flaps: list[int] = []
        if not self.live:  # after cage only heal (the auction houses are caged)
            return {"released": released, "healed": healed, "flops": flops, "flaps": flaps}
        # Cheap pre-checks first: most ticks neither auction can start.
        joy, awe = self.joy, self.awe
        if self.flopping and num.covers(awe - self.Sin - self.Ash, self.sump):
            while self.can_flop() and len(flops) < MAX_KICKS:  # each kick takes sump off woe
                flops.append(self.flop(now))
        if self.flapping and num.covers(joy, awe + self.bump + self.hump):
            while self.can_flap():  # each kick takes bump off joy and adds it to the lid's fill
                flaps.append(self.flap(now))
        return {"released": released, "healed": healed, "flops": flops, "flaps": flaps}

    # ------------------------------------------------------------------ MKR ledger
    def mint_mkr(self, who: str, amount: float) -> None:
        """Mint ``amount`` MKR to ``who`` (debt auction settlement)."""
        self.mkr[who] = self.mkr.get(who, 0.0) + amount
        self.mkr_minted += amount

    def burn_mkr(self, who: str, amount: float) -> None:
        """Burn ``amount`` of ``who``'s MKR (surplus auction settlement)."""
        self._take_mkr(who, amount)
        self.mkr_burned += amount

    def move_mkr(self, src: str, dst: str, amount: float) -> None:
        """Transfer MKR between holders.

        Raises:
            ProtocolError: when ``src`` holds less than ``amount``.
        """
        self._take_mkr(src, amount)
        self.mkr[dst] = self.mkr.get(dst, 0.0) + amount

    def _take_mkr(self, src: str, amount: float) -> None:
        have = self.mkr.get(src, 0.0)
        if amount < 0 or not num.covers(have, amount, self.mkr_total()):
            raise ProtocolError(
                f"MKR/insufficient-balance: {src} has {have!r} MKR, needs {amount!r}"
            )
        self.mkr[src] = num.debit(have, amount)

    def give_mkr(self, who: str, amount: float) -> None:
        """Credit MKR bought outside the model (e.g. a keeper's starting MKR for surplus bids)."""
        self.mkr[who] = self.mkr.get(who, 0.0) + amount
        self.mkr_given += amount

    def mkr_total(self) -> float:
        """All MKR given or minted: the scale of MKR balances in the numeric policy [MKR]."""
        return self.mkr_given + self.mkr_minted
