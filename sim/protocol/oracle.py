"""Oracles: medianizer, Oracle Security Module (OSM) and Spotter (dss ``median``, ``OSM``, ``spot``).

The medianizer reads the market price when an update lands (it may fail, e.g. when gas is above
the oracle's gas limit, and then stays stale). The OSM delays it by one ``hop``: at each hop
boundary ``cur ← nxt`` and ``nxt ← medianizer``. The Spotter turns the OSM's current price into the
Vat's ``spot = cur / par / mat``. The protocol (safety, Clipper ``top``) sees only OSM prices.

Governance (the OsmMom, without delay) can ``stop`` an OSM: pokes are refused and its prices stay
as they are; ``void`` also clears both prices (``has`` false: the Spotter then files ``spot = 0``).
Source: makerdao/osm@e36c874b:src/osm.sol (``stop``/``start`` → :meth:`OSM.resume` lines 97-102, ``void`` 122-125,
``poke`` 131-140, ``peek``/``peep`` 142-148); makerdao/osm-mom@820324a2:src/OsmMom.sol (``stop``
lines 94-96).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Medianizer:
    """Median of the oracle feeds; here one market read per successful update.

    Attributes:
        value: last landed price [Dai/token].
        age: time of the last landed update [s since start].
    """

    value: float
    age: float = 0.0

    def poke(self, market_price: float, now: float, lands: bool = True) -> bool:
        """Update to ``market_price`` if the update transaction lands.

        Returns:
            Whether the value changed.
        """
        if not lands:
            return False
        self.value = float(market_price)
        self.age = now
        return True


@dataclass
class OSM:
    """Oracle Security Module: the protocol sees the medianizer value of the previous hop.

    Attributes:
        hop: delay between updates [s] (dss default 3600).
        cur: price the protocol uses now [Dai/token] (dss ``cur``).
        nxt: price that becomes current at the next hop boundary (dss ``nxt``).
        zzz: start of the current hop [s since start] (dss ``zzz``).
        stopped: 1 when stopped (no pokes), else 0 (dss ``stopped``).
        cur_has: whether ``cur`` is a valid price (dss ``cur.has``).
        nxt_has: whether ``nxt`` is a valid price (dss ``nxt.has``).
    """

    hop: float
    cur: float
    nxt: float
    zzz: float = 0.0
    stopped: int = 0
    cur_has: bool = True
    nxt_has: bool = True

    @classmethod
    def start(cls, price: float, hop: float) -> OSM:
        """An OSM whose current and next price are both ``price`` at time 0."""
        return cls(hop=float(hop), cur=float(price), nxt=float(price), zzz=0.0)

    def pass_(self, now: float) -> bool:
        """Whether a poke is allowed: a full hop has elapsed since ``zzz`` (dss ``pass``)."""
        return now >= self.zzz + self.hop

    def poke(self, median: float, now: float) -> bool:
        """At a hop boundary, ``cur ← nxt; nxt ← median``; ``zzz`` is aligned to the hop grid.

        A stopped OSM refuses the poke (dss ``OSM/is-stopped``) and nothing changes.

        Returns:
            Whether the OSM advanced.
        """
        if self.stopped or not self.pass_(now):
            return False
        self.cur, self.cur_has = self.nxt, self.nxt_has
        self.nxt, self.nxt_has = float(median), True
        self.zzz = now - (now % self.hop)
        return True

    def peek(self) -> tuple[float, bool]:
        """The current price and whether it is valid (dss ``peek``) [Dai/token]."""
        return self.cur, self.cur_has

    def peep(self) -> tuple[float, bool]:
        """The next price and whether it is valid (dss ``peep``) [Dai/token]."""
        return self.nxt, self.nxt_has

    def stop(self) -> None:
        """Stop the OSM (dss ``stop``, what ``OsmMom.stop`` calls): pokes are refused."""
        self.stopped = 1

    def resume(self) -> None:
        """Let pokes through again (dss ``start``; the name ``start`` builds an OSM here)."""
        self.stopped = 0

    def void(self) -> None:
        """Clear both prices and stop (dss ``void``): ``cur = nxt = 0``, neither valid."""
        self.cur = self.nxt = 0.0
        self.cur_has = self.nxt_has = False
        self.stopped = 1


def spot_price(osm_price: float, par: float, mat: float) -> float:
    """Vat ``spot`` from the OSM price: ``osm_price / par / mat`` [Dai/token].

    Args:
        osm_price: OSM current price [USD/token].
        par: Dai reference price [USD/Dai] (1.0).
        mat: liquidation ratio [-], e.g. 1.5.
    """
    return osm_price / par / mat
