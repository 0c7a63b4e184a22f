"""ClipperMom: the Clippers' circuit breaker (makerdao/clipper-mom ``ClipperMom``).

Anyone may trip an ilk's breaker when its OSM's next price is below ``tolerance`` times its
current price (strictly: ``nxt < cur · tolerance``): the Clipper's ``stopped`` becomes 2, so no new
auctions (``bark``) and no resets (``redo``), while takes go on. Governance sets the tolerance
and may set any level at once (``setBreaker``), which also locks the permissionless trip for a
delay. A tolerance of 0 never trips.

Source: makerdao/clipper-mom@1473b448:src/ClipperMom.sol (``getPrices`` lines 95-102,
``setPriceTolerance`` 119-122, ``setBreaker`` 125-132, ``tripBreaker`` 146-156); the levels are the
Clipper's (makerdao/dss@fa4f6630:src/clip.sol ``isStopped`` lines 155-158: ``kick`` level 1,
``redo`` 2, ``take`` 3).
"""

from __future__ import annotations

from sim.protocol.clip import Clipper
from sim.protocol.oracle import OSM
from sim.protocol.vat import ProtocolError


class ClipperMom:
    """The breaker of the Clippers, each read against its ilk's OSM.

    Attributes:
        tolerance: per Clipper's ilk, the lowest ``nxt / cur`` allowed [-] (0 to 1).
        locked: per Clipper's ilk, the time until which tripping is refused [s since start].
    """

    def __init__(self) -> None:
        """A ClipperMom with no tolerance set (no breaker trips)."""
        self.tolerance: dict[str, float] = {}
        self.locked: dict[str, float] = {}

    def set_price_tolerance(self, clip: Clipper, value: float) -> None:
        """Set the Clipper's tolerance (dss ``setPriceTolerance``) [-].

        Raises:
            ProtocolError: ``value`` above 1 (dss ``ClipperMom/tolerance-out-of-bounds``).
        """
        if not 0.0 <= value <= 1.0:
            raise ProtocolError(f"ClipperMom/tolerance-out-of-bounds: {value}")
        self.tolerance[clip.ilk] = float(value)

    def set_breaker(self, clip: Clipper, level: int, delay: float, now: float) -> None:
        """Governance sets the Clipper's ``stopped`` level (dss ``setBreaker``).

        Tripping is then refused until ``now + delay``.

        Raises:
            ProtocolError: a level above 3 (dss ``ClipperMom/nonexistent-level``).
        """
        if level not in (0, 1, 2, 3):
            raise ProtocolError(f"ClipperMom/nonexistent-level: {level}")
        clip.stopped = int(level)
        self.locked[clip.ilk] = now + delay
        clip.vat.log.add("breaker", ilk=clip.ilk, actor="governance", auction=int(level))

    def trip_breaker(self, clip: Clipper, osm: OSM, now: float) -> None:
        """Stop the Clipper's kicks and resets: ``stopped ← 2`` (dss ``tripBreaker``).

        Logs a ``breaker`` event (``auction`` holds the level set, 2; ``price`` the next price).

        Raises:
            ProtocolError: the Clipper is already at level 2 or more, tripping is locked
                (``now ≤ locked``), either OSM price is invalid, or ``nxt ≥ cur · tolerance``
                (dss ``price-within-bounds``); nothing changes.
        """
        if clip.stopped >= 2:
            raise ProtocolError("ClipperMom/clipper-already-stopped")
        if not now > self.locked.get(clip.ilk, float("-inf")):
            raise ProtocolError("ClipperMom/temporary-locked")
        cur, has = osm.peek()
        if not has:
            raise ProtocolError("ClipperMom/invalid-cur-price")
        nxt, has = osm.peep()
        if not has:
            raise ProtocolError("ClipperMom/invalid-nxt-price")
        if not nxt < cur * self.tolerance.get(clip.ilk, 0.0):
            raise ProtocolError(f"ClipperMom/price-within-bounds: nxt {nxt}, cur {cur}")
        clip.stopped = 2
        clip.vat.log.add("breaker", ilk=clip.ilk, actor="anyone", auction=2, price=nxt)

    def can_trip(self, clip: Clipper, osm: OSM, now: float) -> bool:
        """Whether :meth:`trip_breaker` would succeed now (its requirements, nothing changed)."""
        cur, cur_has = osm.peek()
        nxt, nxt_has = osm.peep()
        return (
            clip.stopped < 2
            and now > self.locked.get(clip.ilk, float("-inf"))
            and cur_has
            and nxt_has
            and nxt < cur * self.tolerance.get(clip.ilk, 0.0)
        )
