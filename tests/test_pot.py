"""Tests of the Pot (Dai Savings Rate)."""

from __future__ import annotations

import pytest

from sim.protocol.jug import YEAR
from sim.protocol.pot import POT, Pot
from sim.protocol.vat import ProtocolError, Vat


def make_pot(dsr: float = 0.08) -> Pot:
    vat = Vat()
    vat.join_dai("alice", 1000.0)
    vat.join_dai("bob", 500.0)
    return Pot(vat, dsr=dsr)


def test_drip_over_a_year_at_8_percent_books_interest_as_vow_sin():
    pot = make_pot(0.08)
    pot.join("alice", 1000.0, now=0.0)
    assert pot.drip(YEAR) == pytest.approx(1.08, rel=1e-12)
    assert pot.chi == pytest.approx(1.08, rel=1e-12)
    assert pot.vat.sin["vow"] == pytest.approx(80.0, rel=1e-9)
    assert pot.vat.vice == pytest.approx(80.0, rel=1e-9)
    assert pot.vat.dai[POT] == pytest.approx(1080.0, rel=1e-9)
    assert pot.balance("alice") == pytest.approx(1080.0, rel=1e-9)
    assert pot.vat.check() == []


def test_many_small_drips_equal_one_big_drip():
    one, many = make_pot(), make_pot()
    one.join("alice", 1000.0, now=0.0)
    many.join("alice", 1000.0, now=0.0)
    one.drip(30 * 86400.0)
    for k in range(1, 30 * 24 + 1):
        many.drip(k * 3600.0)
    assert many.chi == pytest.approx(one.chi, rel=1e-12)
    assert many.vat.sin["vow"] == pytest.approx(one.vat.sin["vow"], rel=1e-9)


def test_join_and_exit_move_dai_at_chi():
    pot = make_pot(0.08)
    pot.join("alice", 500.0, now=0.0)
    assert pot.vat.dai["alice"] == pytest.approx(500.0)
    pot.drip(YEAR)
    with pytest.raises(ProtocolError, match="rho-not-updated"):
        pot.join("bob", 100.0, now=YEAR + 1)
    pot.join("bob", 100.0, now=YEAR)  # pays chi·wad = 108 Dai for 100 pie
    assert pot.vat.dai["bob"] == pytest.approx(392.0)
    assert pot.Pie == pytest.approx(600.0)
    assert pot.exit("alice", 500.0) == pytest.approx(540.0)
    assert pot.vat.dai["alice"] == pytest.approx(1040.0)
    with pytest.raises(ProtocolError, match="insufficient-pie"):
        pot.exit("bob", 100.1)
    pot.exit("bob", 100.0)
    assert pot.Pie == pytest.approx(0.0, abs=1e-12)
    assert pot.vat.dai[POT] == pytest.approx(0.0, abs=1e-9)
    assert pot.vat.check() == []


def test_drip_without_savings_mints_nothing_and_time_cannot_go_back():
    pot = make_pot(0.08)
    pot.drip(YEAR)
    assert pot.chi == pytest.approx(1.08)
    assert pot.vat.vice == 0.0
    with pytest.raises(ProtocolError):
        pot.drip(YEAR - 1)


def test_join_without_dai_is_refused():
    pot = make_pot()
    with pytest.raises(ProtocolError):
        pot.join("carol", 1.0)
    assert pot.Pie == 0.0 and "carol" not in pot.pie
