from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.protocol.jug import YEAR, Jug, accrue, per_second
from sim.protocol.vat import Vat


def make_vat(art: float = 1000.0) -> Vat:
    vat = Vat()
    ilk = vat.init_ilk("ETH-A", 1, line=1e12, dust=0)
    ilk.spot = 1e6
    vat.open_vaults("ETH-A", np.array([0]), np.array([10.0]), np.array([art]), owner=0)
    return vat


@pytest.mark.parametrize("tick", [60.0, 600.0, 3600.0, 86400.0, 7 * 86400.0, YEAR / 4, YEAR])
def test_fee_compounds_to_annual_whatever_the_tick(tick):
    vat = make_vat()
    jug = Jug(vat, duty={"ETH-A": 0.08}, rho={"ETH-A": 0.0})
    now = 0.0
    while now < YEAR:
        now = min(now + tick, YEAR)  # the last tick may be shorter
        jug.drip("ETH-A", now)
    assert vat.ilks["ETH-A"].rate == pytest.approx(1.08, rel=1e-9)
    # The fee income went to the Vow as surplus and the accounting still balances.
    assert vat.dai["vow"] == pytest.approx(1000.0 * 0.08, rel=1e-9)
    assert vat.check() == []


@given(st.floats(0.0, 0.5), st.lists(st.floats(1.0, 1e6), min_size=1, max_size=30))
def test_drip_path_independent(fee, steps):
    vat_a, vat_b = make_vat(), make_vat()
    jug_a = Jug(vat_a, duty={"ETH-A": fee}, rho={"ETH-A": 0.0})
    jug_b = Jug(vat_b, duty={"ETH-A": fee}, rho={"ETH-A": 0.0})
    now = 0.0
    for step in steps:
        now += step
        jug_a.drip("ETH-A", now)
    jug_b.drip("ETH-A", now)
    assert vat_a.ilks["ETH-A"].rate == pytest.approx(vat_b.ilks["ETH-A"].rate, rel=1e-10)
    assert vat_a.ilks["ETH-A"].rate == pytest.approx(accrue(1.0, fee, now), rel=1e-10)


def test_base_rate_adds_per_second():
    vat = make_vat()
    jug = Jug(vat, duty={"ETH-A": 0.05}, base=0.02, rho={"ETH-A": 0.0})
    jug.drip("ETH-A", YEAR)
    expected = (per_second(0.05) + per_second(0.02) - 1.0) ** YEAR
    assert vat.ilks["ETH-A"].rate == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(1.07, rel=2e-3)


def test_drip_twice_at_same_time_is_noop():
    vat = make_vat()
    jug = Jug(vat, duty={"ETH-A": 0.08}, rho={"ETH-A": 0.0})
    r1 = jug.drip("ETH-A", 1000.0)
    r2 = jug.drip("ETH-A", 1000.0)
    assert r1 == r2 > 1.0
