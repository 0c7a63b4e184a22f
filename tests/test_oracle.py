from __future__ import annotations

import pytest

from sim.protocol.oracle import OSM, Medianizer, spot_price


def test_osm_delays_by_one_hop():
    osm = OSM.start(100.0, hop=3600.0)
    median = Medianizer(100.0)
    seen = {}
    # Market price p(t) = 100 + t/60 (one per minute); poke every minute for 4 hours.
    for minute in range(1, 4 * 60 + 1):
        now = minute * 60.0
        median.poke(100.0 + minute, now)
        osm.poke(median.value, now)
        seen[minute] = (osm.cur, osm.nxt)
    # Before the first hop boundary nothing changes.
    assert seen[59] == (100.0, 100.0)
    # At 1h: cur takes the old nxt (start), nxt reads the medianizer (price at 1h).
    assert seen[60] == (100.0, 160.0)
    # At 2h the protocol sees the price from the previous hop boundary (1h).
    assert seen[120] == (160.0, 220.0)
    assert seen[179] == (160.0, 220.0)
    assert seen[180] == (220.0, 280.0)


def test_osm_aligns_to_hop_grid_with_coarse_ticks():
    osm = OSM.start(10.0, hop=3600.0)
    assert osm.poke(20.0, 5400.0)  # 1.5 h: a poke is due
    assert osm.zzz == 3600.0
    assert not osm.poke(30.0, 7000.0)  # before 2 h
    assert osm.poke(30.0, 7200.0)
    assert (osm.cur, osm.nxt) == (20.0, 30.0)


def test_failed_medianizer_update_stays_stale():
    median = Medianizer(100.0)
    assert not median.poke(50.0, 60.0, lands=False)
    assert median.value == 100.0


def test_spot():
    assert spot_price(150.0, 1.0, 1.5) == pytest.approx(100.0)
    assert spot_price(150.0, 1.02, 1.5) == pytest.approx(150.0 / 1.02 / 1.5)


# ---------------------------------------------------------------------------------- stop, void
def test_stopped_osm_refuses_pokes_and_keeps_its_prices():
    """osm.sol ``stoppable``: a stopped OSM's poke reverts; ``start`` lets pokes through again."""
    osm = OSM.start(100.0, hop=3600.0)
    assert osm.poke(80.0, 3600.0)
    osm.stop()
    assert osm.stopped == 1
    assert not osm.poke(50.0, 7200.0)
    assert (osm.cur, osm.nxt, osm.zzz) == (100.0, 80.0, 3600.0)
    osm.resume()
    assert osm.poke(50.0, 7200.0)
    assert (osm.cur, osm.nxt) == (80.0, 50.0)


def test_void_clears_both_prices_and_stops():
    """osm.sol ``void``: ``cur = nxt = Feed(0, 0)``, ``stopped = 1``; peek and peep invalid."""
    osm = OSM.start(100.0, hop=3600.0)
    osm.void()
    assert osm.peek() == (0.0, False) and osm.peep() == (0.0, False)
    assert spot_price(osm.cur, 1.0, 1.5) == 0.0  # the Spotter files 0 without a valid price
    assert not osm.poke(90.0, 3600.0)
    osm.resume()
    # The first poke after a void moves the invalid nxt into cur: still no current price.
    assert osm.poke(90.0, 3600.0)
    assert osm.peek() == (0.0, False) and osm.peep() == (90.0, True)
    assert osm.poke(95.0, 7200.0)
    assert osm.peek() == (90.0, True)
