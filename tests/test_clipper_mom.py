"""ClipperMom's breaker against makerdao/clipper-mom: the strict bound, locks, the levels kept."""

from __future__ import annotations

import numpy as np
import pytest

from sim.protocol.clipper_mom import ClipperMom
from sim.protocol.oracle import OSM
from sim.protocol.vat import ProtocolError
from tests.test_clip import ILK, make_system, set_price


def mom_with(sys, tolerance: float = 0.5) -> ClipperMom:
    mom = ClipperMom()
    mom.set_price_tolerance(sys.clip, tolerance)
    return mom


def osm_at(cur: float, nxt: float) -> OSM:
    return OSM(hop=3600.0, cur=cur, nxt=nxt)


def test_trips_strictly_below_the_tolerance_not_at_it():
    """``require(nxt < rmul(cur, tolerance))``: at exactly half, within bounds."""
    sys = make_system(n=1)
    mom = mom_with(sys, 0.5)
    at = osm_at(2000.0, 1000.0)
    assert not mom.can_trip(sys.clip, at, 1.0)
    with pytest.raises(ProtocolError, match="price-within-bounds"):
        mom.trip_breaker(sys.clip, at, 1.0)
    assert sys.clip.stopped == 0
    below = osm_at(2000.0, np.nextafter(1000.0, 0.0))
    assert mom.can_trip(sys.clip, below, 1.0)
    mom.trip_breaker(sys.clip, below, 1.0)
    assert sys.clip.stopped == 2
    assert sys.vat.log.count("breaker", ILK) == 1


def test_zero_tolerance_never_trips_and_above_one_is_refused():
    sys = make_system(n=1)
    mom = mom_with(sys, 0.0)
    assert not mom.can_trip(sys.clip, osm_at(2000.0, 1.0), 1.0)
    with pytest.raises(ProtocolError, match="out-of-bounds"):
        mom.set_price_tolerance(sys.clip, 1.01)


def test_refused_when_already_stopped_locked_or_without_a_price():
    sys = make_system(n=1)
    mom = mom_with(sys)
    crash = osm_at(2000.0, 500.0)
    mom.set_breaker(sys.clip, 0, delay=3600.0, now=0.0)
    with pytest.raises(ProtocolError, match="temporary-locked"):
        mom.trip_breaker(sys.clip, crash, 3600.0)  # block.timestamp > locked is strict
    void = osm_at(2000.0, 500.0)
    void.void()
    with pytest.raises(ProtocolError, match="invalid-cur-price"):
        mom.trip_breaker(sys.clip, void, 3601.0)
    mom.trip_breaker(sys.clip, crash, 3601.0)
    with pytest.raises(ProtocolError, match="already-stopped"):
        mom.trip_breaker(sys.clip, crash, 3602.0)
    assert not mom.can_trip(sys.clip, crash, 3602.0)


def test_level_one_can_still_be_raised_to_two():
    sys = make_system(n=1, stopped=1)
    mom = mom_with(sys)
    mom.trip_breaker(sys.clip, osm_at(2000.0, 900.0), 1.0)
    assert sys.clip.stopped == 2


def test_tripped_breaker_refuses_barks_and_redos_but_takes_go_on():
    sys = make_system(n=2, tail=10.0)
    set_price(sys, 100.0)
    ids = sys.dog.bark(ILK, np.array([0]), "kpr", 0.0)
    sys.vat.join_dai("keeper", 1e6)
    mom = mom_with(sys)
    mom.trip_breaker(sys.clip, osm_at(200.0, 90.0), 1.0)
    with pytest.raises(ProtocolError, match="stopped"):
        sys.dog.bark(ILK, np.array([1]), "kpr", 2.0)
    assert sys.vat.ilks[ILK].art[1] == 1000.0
    with pytest.raises(ProtocolError, match="stopped"):
        sys.clip.redo(ids, "kpr", 20.0)
    sold, _ = sys.clip.take(ids, 1.0, np.inf, "keeper", 2.0)
    assert sold[0] == pytest.approx(1.0)


def test_set_breaker_levels_and_refuses_a_fourth():
    sys = make_system(n=1)
    mom = ClipperMom()
    mom.set_breaker(sys.clip, 3, delay=0.0, now=0.0)
    assert sys.clip.stopped == 3
    with pytest.raises(ProtocolError, match="nonexistent-level"):
        mom.set_breaker(sys.clip, 4, delay=0.0, now=0.0)
