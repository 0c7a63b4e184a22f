"""Pot: the Dai Savings Rate (dss ``pot.sol``) in float units.

Savers lock Dai in the Pot and hold normalised savings ``pie``; a holding is worth ``pie·chi``
Dai. ``chi`` compounds per second at the DSR like the Jug's rate:
``chi ← chi·(1 + dsr)^(dt / 31 536 000)``. The interest, ``Pie·Δchi``, is minted with
``vat.suck`` from the Vow, so it shows up as Vow sin (system debt) and as Dai in the Pot.

- ``dsr``: Dai Savings Rate per year [1/yr] (0.08 = 8 %/yr; dss stores a per-second factor).
- ``chi``: accumulated rate [-], 1 at the start.
- ``rho``: time of the last ``drip`` [s].
- ``pie``: normalised savings per saver [Dai at chi = 1]; ``Pie``: their total.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.protocol import numeric as num
from sim.protocol.jug import accrue
from sim.protocol.vat import ProtocolError, Vat

#: The Pot's account name in the Vat.
POT = "pot"


@dataclass
class Pot:
    """Dai Savings Rate accumulator (dss ``Pot``).

    Attributes:
        vat: the Vat.
        dsr: annual savings rate [1/yr].
        chi: accumulated rate [-].
        rho: time of the last drip [s].
        Pie: total normalised savings [Dai at chi = 1].
        pie: normalised savings by saver name.
        vow: account that pays the interest (booked as its sin).
        account: the Pot's own Vat account.
    """

    vat: Vat
    dsr: float = 0.0
    chi: float = 1.0
    rho: float = 0.0
    Pie: float = 0.0
    pie: dict[str, float] = field(default_factory=dict)
    vow: str = "vow"
    account: str = POT
    #: 1 until ``End.cage``.
    live: int = 1

    def cage(self) -> None:
        """Stop the savings rate (dss ``cage``): ``live = 0``, ``dsr = ONE`` (0 %/yr here).

        Savers keep their ``pie`` and may still ``exit``. Source:
        makerdao/dss@fa4f6630:src/pot.sol lines 138-141.
        """
        self.live = 0
        self.dsr = 0.0

    def drip(self, now: float) -> float:
        """Accrue ``chi`` since ``rho`` and ``suck`` the interest ``Pie·Δchi`` (dss ``drip``).

        Returns:
            The new ``chi``.

        Raises:
            ProtocolError: when ``now`` is before the last drip.
        """
        if now < self.rho:
            raise ProtocolError("Pot/invalid-now: time went backwards")
        chi = accrue(self.chi, self.dsr, now - self.rho)
        interest = self.Pie * (chi - self.chi)
        self.chi = chi
        self.rho = now
        if interest > 0:
            self.vat.suck(self.vow, self.account, interest)
        return chi

    def join(self, who: str, wad: float, now: float | None = None) -> float:
        """Save: move ``chi·wad`` Dai from ``who`` into the Pot for ``wad`` pie (dss ``join``).

        Args:
            who: the saver (a Vat Dai account).
            wad: normalised savings to add [Dai at chi = 1].
            now: current time [s]; when given, the Pot must have dripped at ``now`` (dss).

        Returns:
            The Dai moved in [Dai].

        Raises:
            ProtocolError: when the Pot has not dripped at ``now`` or ``who`` lacks the Dai.
        """
        if now is not None and now != self.rho:
            raise ProtocolError("Pot/rho-not-updated: drip before joining")
        if wad < 0:
            raise ProtocolError("Pot/negative-wad")
        dai = self.chi * wad
        self.vat.move(who, self.account, dai)
        self.pie[who] = self.pie.get(who, 0.0) + wad
        self.Pie += wad
        self.vat.log.add("pot_join", actor=who, dai=dai, price=self.chi)
        return dai

    def exit(self, who: str, wad: float) -> float:
        """Withdraw: ``wad`` of ``pie`` back to ``chi·wad`` Dai for ``who`` (dss ``exit``).

        Returns:
            The Dai moved out [Dai].

        Raises:
            ProtocolError: when ``who`` holds less than ``wad`` of savings.
        """
        have = self.pie.get(who, 0.0)
        if wad < 0 or not num.covers(have, wad):
            raise ProtocolError(f"Pot/insufficient-pie: {who} holds {have}, asked {wad}")
        wad = min(wad, have)
        dai = min(self.chi * wad, self.vat.dai.get(self.account, 0.0))
        self.pie[who] = have - wad
        self.Pie = max(self.Pie - wad, 0.0)
        self.vat.move(self.account, who, dai)
        self.vat.log.add("pot_exit", actor=who, dai=dai, price=self.chi)
        return dai

    def balance(self, who: str) -> float:
        """Dai value of ``who``'s savings, ``pie·chi`` [Dai]."""
        return self.pie.get(who, 0.0) * self.chi
