"""Tests of the Peg Stability Module."""

from __future__ import annotations

import numpy as np
import pytest

from sim.protocol.psm import PSM
from sim.protocol.vat import ProtocolError, Vat

ILK = "PSM-USDC-A"


def make_psm(line: float = 1e6, tin: float = 0.001, tout: float = 0.002) -> PSM:
    vat = Vat(Line=np.inf)
    return PSM(vat, ILK, line=line, tin=tin, tout=tout)


def test_psm_ilk_is_created_with_spot_and_rate_one():
    psm = make_psm()
    book = psm.vat.ilks[ILK]
    assert (book.size, book.spot, book.rate, book.dust, book.line) == (1, 1.0, 1.0, 0.0, 1e6)


def test_sell_gem_mints_dai_minus_tin_and_pays_the_fee_to_the_vow():
    psm = make_psm(tin=0.001)
    assert psm.sell_gem("arb", 10_000.0) == pytest.approx(9_990.0)
    assert psm.vat.dai["arb"] == pytest.approx(9_990.0)
    assert psm.vat.dai["vow"] == pytest.approx(10.0)
    assert psm.gem == 10_000.0 and psm.debt == 10_000.0
    assert psm.vat.debt == pytest.approx(10_000.0)
    assert psm.vat.dai.get("psm", 0.0) == pytest.approx(0.0)
    assert psm.vat.log.count("psm_sell") == 1
    assert psm.vat.check() == []


def test_buy_gem_costs_dai_plus_tout():
    psm = make_psm(tin=0.0, tout=0.002)
    psm.sell_gem("arb", 10_000.0)
    assert psm.buy_gem("arb", 4_000.0) == pytest.approx(4_008.0)
    assert psm.vat.dai["arb"] == pytest.approx(5_992.0)
    assert psm.vat.dai["vow"] == pytest.approx(8.0)
    assert psm.gem == pytest.approx(6_000.0) and psm.debt == pytest.approx(6_000.0)
    assert psm.vat.debt == pytest.approx(6_000.0)
    assert psm.vat.ilks[ILK].exited == pytest.approx(4_000.0)
    assert psm.vat.log.count("psm_buy") == 1
    assert psm.vat.check() == []


def test_sell_beyond_line_is_refused_and_changes_nothing():
    psm = make_psm(line=1_000.0)
    psm.sell_gem("arb", 600.0)
    before = (psm.gem, psm.debt, dict(psm.vat.dai), psm.vat.debt)
    with pytest.raises(ProtocolError, match="PSM/line"):
        psm.sell_gem("arb", 500.0)
    assert (psm.gem, psm.debt, dict(psm.vat.dai), psm.vat.debt) == before
    assert psm.room() == pytest.approx(400.0)
    psm.sell_gem("arb", 400.0)  # exactly up to the line is fine
    assert psm.debt == pytest.approx(1_000.0)


def test_sell_is_bounded_by_the_system_line_too():
    vat = Vat(Line=100.0)
    psm = PSM(vat, ILK, line=1e6)
    with pytest.raises(ProtocolError, match="PSM/line"):
        psm.sell_gem("arb", 101.0)


def test_buy_is_bounded_by_the_psm_gem_and_the_buyer_dai():
    psm = make_psm(tin=0.0, tout=0.01)
    psm.sell_gem("arb", 1_000.0)
    psm.vat.join_dai("rich", 1e6)
    with pytest.raises(ProtocolError, match="insufficient-gem"):
        psm.buy_gem("rich", 1_000.1)
    with pytest.raises(ProtocolError, match="insufficient-dai"):
        psm.buy_gem("arb", 1_000.0)  # needs 1 010 Dai, has 1 000
    assert psm.gem == 1_000.0 and psm.vat.dai["arb"] == 1_000.0
    psm.buy_gem("rich", 1_000.0)
    assert psm.gem == 0.0 and psm.debt == 0.0
    assert psm.vat.check() == []
