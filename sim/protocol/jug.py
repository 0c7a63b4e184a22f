"""Jug: stability fees (dss ``jug.sol``), and the per-second compounding the Pot shares.

Fees are given per year and compound per second: over ``dt`` seconds the ilk's ``rate`` is
multiplied by ``(1 + fee)^(dt / 31 536 000)``, so 8 %/yr gives ×1.08 over a year whatever the tick.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.protocol.vat import Vat

#: Seconds per year used by dss rate tooling (365 days).
YEAR = 31_536_000.0


def per_second(annual: float) -> float:
    """Per-second growth factor of an annual rate: ``(1 + annual)^(1/YEAR)`` (dss ``duty``)."""
    return (1.0 + annual) ** (1.0 / YEAR)


def accrue(rate: float, annual: float, dt: float) -> float:
    """Compound ``rate`` at ``annual`` per year for ``dt`` seconds: ``rate·(1+annual)^(dt/YEAR)``."""
    return rate * (1.0 + annual) ** (dt / YEAR)


@dataclass
class Jug:
    """Stability-fee collector (dss ``Jug``).

    Attributes:
        vat: the Vat.
        duty: per-ilk annual stability fee [1/yr] (0.08 = 8 %/yr).
        base: annual fee added to every ilk [1/yr], combined per second as dss does
            (``(duty_s + base_s)^dt`` with per-second factors).
        rho: time of the last drip per ilk [s].
        vow: account receiving the fees.
    """

    vat: Vat
    duty: dict[str, float] = field(default_factory=dict)
    base: float = 0.0
    rho: dict[str, float] = field(default_factory=dict)
    vow: str = "vow"

    def drip(self, ilk_name: str, now: float) -> float:
        """Accrue the ilk's fee since ``rho`` and fold it into the Vat (dss ``drip``).

        Returns:
            The new ``rate`` of the ilk.
        """
        ilk = self.vat.ilks[ilk_name]
        dt = now - self.rho.get(ilk_name, now)
        self.rho[ilk_name] = now
        if dt <= 0:
            return ilk.rate
        if self.base == 0.0:
            new_rate = accrue(ilk.rate, self.duty.get(ilk_name, 0.0), dt)
        else:
            factor = per_second(self.duty.get(ilk_name, 0.0)) + (per_second(self.base) - 1.0)
            new_rate = ilk.rate * factor**dt
        self.vat.fold(ilk_name, new_rate - ilk.rate, self.vow)
        return ilk.rate
