"""Tests of Liquidations 1.x: Cat (bite: 1.0 lump, 1.2 dunk/box) and Flipper (tend/dent/deal)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from sim.protocol.flip import OWNER, Cat, Flipper
from sim.protocol.vat import Vat
from sim.protocol.vow import Vow

ILK = "ETH-A"
MAT = 1.5
TTL = 600.0
TAU = 3 * 86400.0


def make_system(
    n: int = 3,
    *,
    price: float = 200.0,
    ink: float = 10.0,
    art: float = 1000.0,
    version: str = "1.2",
    chop: float = 1.13,
    lump: float = np.inf,
    dunk: float = np.inf,
    box: float = np.inf,
    dust: float = 0.0,
    beg: float = 0.03,
    keeper_dai: float = 1e9,
) -> SimpleNamespace:
    """A Vat with ``n`` open vaults, a Vow, a Cat and a Flipper; keepers k1, k2 hold Dai."""
    vat = Vat()
    vat.init_ilk(ILK, n, line=np.inf, dust=dust)
    vat.ilks[ILK].spot = price / MAT
    vow = Vow(vat)
    cat = Cat(vat, vow, version=version, box=box)
    flip = Flipper(vat, ILK, beg=beg, ttl=TTL, tau=TAU)
    cat.add_ilk(flip, chop=chop, lump=lump, dunk=dunk)
    idx = np.arange(n)
    vat.open_vaults(ILK, idx, np.full(n, ink), np.full(n, art), owner=0)
    for k in ("k1", "k2"):
        vat.join_dai(k, keeper_dai)
    return SimpleNamespace(vat=vat, vow=vow, cat=cat, flip=flip, idx=idx)


def crash(sys: SimpleNamespace, price: float = 100.0) -> None:
    sys.vat.ilks[ILK].spot = price / MAT


def gem(sys: SimpleNamespace, who: str) -> float:
    return sys.vat.gem.get((ILK, who), 0.0)


def kicked(sys: SimpleNamespace, price: float = 100.0) -> np.ndarray:
    crash(sys, price)
    ids = sys.cat.bite(ILK, sys.idx, "kpr", 0.0)
    assert len(ids) == len(sys.idx)
    return ids


# ---------------------------------------------------------------------------------- Cat.bite
def test_bite_only_unsafe_vaults_and_books_debt():
    sys = make_system(3)
    crash(sys, 100.0)  # spot 66.7: 10 ETH back 667 < 1000 debt
    sys.vat.frob(ILK, 1, 10.0, 0.0)  # vault 1 now 20 ETH: safe
    ids = sys.cat.bite(ILK, np.array([0, 1, 2, 0]), "kpr", 5.0)
    assert list(sys.flip.usr[ids]) == [0, 2]
    np.testing.assert_allclose(sys.flip.tab[ids], 1000.0 * 1.13)
    np.testing.assert_allclose(sys.flip.lot[ids], 10.0)
    assert sys.vat.ilks[ILK].art[[0, 2]].tolist() == [0.0, 0.0]
    assert sys.vat.ilks[ILK].art[1] == 1000.0
    assert sys.vow.Sin == pytest.approx(2000.0)
    assert sys.vat.sin["vow"] == pytest.approx(2000.0)
    assert gem(sys, "flip:ETH-A") == pytest.approx(20.0)
    assert sys.cat.litter == pytest.approx(2260.0)
    assert sys.vat.log.count("bite") == 2 and sys.vat.log.count("kick") == 2
    assert np.all(sys.flip.end[ids] == 5.0 + TAU) and np.all(sys.flip.tic[ids] == 0)
    assert sys.vat.check() == []


def test_bite_refuses_safe_and_zero_spot():
    sys = make_system(2)
    assert sys.cat.bite(ILK, sys.idx, "kpr", 0.0).size == 0
    sys.vat.ilks[ILK].spot = 0.0
    assert sys.cat.bite(ILK, sys.idx, "kpr", 0.0).size == 0
    assert sys.flip.kicks == 0


def test_bite_10_takes_at_most_lump_per_call():
    sys = make_system(1, ink=120.0, art=10_000.0, price=200.0, version="1.0", lump=50.0)
    crash(sys, 100.0)
    lots, dues = [], []
    for _ in range(4):
        ids = sys.cat.bite(ILK, sys.idx, "kpr", 0.0)
        lots += sys.flip.lot[ids].tolist()
        dues += sys.flip.due[ids].tolist()
    np.testing.assert_allclose(lots, [50.0, 50.0, 20.0])
    np.testing.assert_allclose(dues, [10_000 * 50 / 120, 10_000 * 50 / 120, 10_000 * 20 / 120])
    np.testing.assert_allclose(sys.flip.tab[:3], np.array(dues) * 1.13)
    assert sys.vat.ilks[ILK].ink[0] == 0.0 and sys.vat.ilks[ILK].art[0] == 0.0
    assert sys.vat.check() == []


def test_bite_10_has_no_global_limit():
    sys = make_system(5, version="1.0", lump=50.0, box=1.0)  # box is ignored in 1.0
    assert kicked(sys).size == 5


def test_bite_12_dunk_limits_tab_per_auction():
    sys = make_system(1, version="1.2", dunk=500.0)
    crash(sys)
    ids = sys.cat.bite(ILK, sys.idx, "kpr", 0.0, max_bites=1)
    assert sys.flip.tab[ids[0]] == pytest.approx(500.0)
    dart = 500.0 / 1.13
    assert sys.flip.due[ids[0]] == pytest.approx(dart)
    assert sys.flip.lot[ids[0]] == pytest.approx(10.0 * dart / 1000.0)
    assert sys.vat.ilks[ILK].art[0] == pytest.approx(1000.0 - dart)
    assert sys.vat.check() == []


def test_a_vault_is_bitten_again_while_it_stays_unsafe():
    # tab 1130 at dunk 500: three bites in one call clean the vault (500, 500, 130).
    sys = make_system(1, version="1.2", dunk=500.0)
    crash(sys)
    ids = sys.cat.bite(ILK, sys.idx, "kpr", 0.0)
    np.testing.assert_allclose(sys.flip.tab[ids], [500.0, 500.0, 130.0])
    assert list(sys.flip.usr[ids]) == [0, 0, 0]
    assert sys.vat.ilks[ILK].art[0] == 0.0 and sys.vat.ilks[ILK].ink[0] == 0.0
    assert sys.vat.check() == []


@pytest.mark.parametrize("budget", [1, 7, 10_000])
def test_repeated_1_0_bites_follow_lump_and_the_budget(budget):
    # A vault of 10 000 lumps: each bite takes lump collateral and debt in proportion.
    sys = make_system(1, version="1.0", lump=0.001)  # ink 10 → 10 000 lumps
    crash(sys)
    ids = sys.cat.bite(ILK, sys.idx, "kpr", 0.0, max_bites=budget)
    assert len(ids) == budget
    np.testing.assert_allclose(sys.flip.lot[ids], 0.001)
    np.testing.assert_allclose(sys.flip.due[ids], 0.1)  # art 1000 × 0.001/10
    left = sys.vat.ilks[ILK]
    assert left.ink[0] == pytest.approx(10.0 - 0.001 * budget, abs=1e-9)
    assert left.art[0] == pytest.approx(1000.0 - 0.1 * budget, abs=1e-6)
    assert sys.vat.check() == []


def test_cat_versions_are_per_ilk():
    from sim.protocol.flip import Cat, Flipper

    sys = make_system(1, version="1.0", lump=1.0)
    cat = sys.cat
    other = Flipper(sys.vat, "OTHER-A", beg=0.03, ttl=600.0, tau=3 * 86400.0)
    params = cat.add_ilk(other, dunk=500.0, version="1.2")
    assert cat.ilks[ILK].version == "1.0" and params.version == "1.2"
    assert isinstance(cat, Cat)
    with pytest.raises(ValueError):
        cat.add_ilk(other, version="2.0")


def test_bite_12_box_limit_in_index_order_with_one_partial():
    # tabs of 1130 each; box 2500 → two whole bites, a partial of 240, then the limit is hit.
    sys = make_system(4, version="1.2", box=2500.0)
    crash(sys)
    ids = sys.cat.bite(ILK, sys.idx, "kpr", 0.0)
    assert list(sys.flip.usr[ids]) == [0, 1, 2]
    np.testing.assert_allclose(sys.flip.tab[ids], [1130.0, 1130.0, 240.0])
    assert sys.cat.litter == pytest.approx(2500.0)
    assert sys.vat.ilks[ILK].art[2] == pytest.approx(1000.0 - 240.0 / 1.13)
    assert sys.vat.ilks[ILK].art[3] == 1000.0
    assert sys.cat.bite(ILK, sys.idx, "kpr", 0.0).size == 0  # litter == box
    assert sys.vat.check() == []


def test_bite_12_room_below_dust_refuses_the_rest():
    sys = make_system(3, version="1.2", box=2300.0, dust=100.0)
    crash(sys)
    ids = sys.cat.bite(ILK, sys.idx, "kpr", 0.0)
    # room after two bites is 40 < dust: the third vault is refused, not partially bitten
    assert list(sys.flip.usr[ids]) == [0, 1]
    assert sys.vat.ilks[ILK].art[2] == 1000.0


def test_claw_on_deal_frees_room_in_the_box():
    sys = make_system(2, version="1.2", box=1130.0)
    crash(sys)
    (first,) = sys.cat.bite(ILK, sys.idx, "kpr", 0.0)
    assert sys.cat.bite(ILK, sys.idx, "kpr", 0.0).size == 0
    assert sys.flip.tend(first, 10.0, 100.0, "k1", 1.0).all()
    assert sys.flip.deal(first, 1.0 + TTL + 1).all()
    assert sys.cat.litter == 0.0
    assert sys.cat.bite(ILK, sys.idx, "kpr", 700.0).size == 1


# ---------------------------------------------------------------------------------- tend
def test_tend_needs_beg_increment_unless_reaching_tab():
    sys = make_system(1, beg=0.03)
    (i,) = kicked(sys)
    assert sys.flip.tend(i, 10.0, 100.0, "k1", 1.0).all()
    assert not sys.flip.tend(i, 10.0, 102.9, "k2", 2.0).any()  # +2.9 % < beg
    assert not sys.flip.tend(i, 10.0, 100.0, "k2", 2.0).any()  # not higher
    assert sys.flip.tend(i, 10.0, 103.0, "k2", 2.0).all()  # +3 %
    sys.flip.bid[i] = 1120.0
    assert not sys.flip.tend(i, 10.0, 1131.0, "k1", 3.0).any()  # above tab
    assert sys.flip.tend(i, 10.0, 1130.0, "k1", 3.0).all()  # +0.9 % but == tab
    assert sys.flip.bid[i] == 1130.0


def test_tend_requires_the_current_lot_and_a_live_auction():
    sys = make_system(1)
    (i,) = kicked(sys)
    assert not sys.flip.tend(i, 9.0, 100.0, "k1", 1.0).any()
    assert not sys.flip.tend(i, 10.0, 100.0, "k1", TAU).any()  # end reached
    assert sys.flip.tend(i, 10.0, 100.0, "k1", 1.0).all()
    assert not sys.flip.tend(i, 10.0, 200.0, "k2", 1.0 + TTL).any()  # tic reached


def test_each_bid_extends_tic_by_ttl():
    sys = make_system(1)
    (i,) = kicked(sys)
    sys.flip.tend(i, 10.0, 100.0, "k1", 10.0)
    assert sys.flip.tic[i] == 10.0 + TTL
    sys.flip.tend(i, 10.0, 200.0, "k2", 500.0)
    assert sys.flip.tic[i] == 500.0 + TTL
    sys.flip.tend(i, 10.0, 1130.0, "k1", 1000.0)
    sys.flip.dent(i, 9.0, 1130.0, "k2", 1500.0)
    assert sys.flip.tic[i] == 1500.0 + TTL
    assert sys.flip.bids[i] == 4


def test_tend_refunds_previous_bidder_and_pays_increment_to_vow():
    sys = make_system(1, keeper_dai=1000.0)
    (i,) = kicked(sys)
    sys.flip.tend(i, 10.0, 100.0, "k1", 1.0)
    assert sys.vat.dai["k1"] == pytest.approx(900.0)
    assert sys.vow.joy == pytest.approx(100.0)
    sys.flip.tend(i, 10.0, 150.0, "k2", 2.0)
    assert sys.vat.dai["k1"] == pytest.approx(1000.0)
    assert sys.vat.dai["k2"] == pytest.approx(850.0)
    assert sys.vow.joy == pytest.approx(150.0)
    sys.flip.tend(i, 10.0, 200.0, "k2", 3.0)  # raising one's own bid pays only the increment
    assert sys.vat.dai["k2"] == pytest.approx(800.0)
    assert sys.vow.joy == pytest.approx(200.0)
    assert sys.vat.check() == []


def test_tend_refuses_a_bidder_without_dai_and_changes_nothing():
    sys = make_system(2, keeper_dai=150.0)
    ids = kicked(sys)
    ok = sys.flip.tend(ids, 10.0, np.array([100.0, 100.0]), "k1", 1.0)
    assert ok.tolist() == [True, False]  # the second no longer fits the budget
    assert sys.flip.bid[ids].tolist() == [100.0, 0.0]
    assert sys.flip.tic[ids[1]] == 0.0
    assert sys.vat.dai["k1"] == pytest.approx(50.0)


def test_tend_is_vectorised_with_elementwise_rules():
    sys = make_system(3)
    ids = kicked(sys)
    ok = sys.flip.tend(ids, np.array([10.0, 9.0, 10.0]), np.array([50.0, 50.0, 2000.0]), "k1", 1.0)
    assert ok.tolist() == [True, False, False]
    assert sys.vow.joy == pytest.approx(50.0)
    assert sys.vat.log.count("tend") == 1


# ---------------------------------------------------------------------------------- dent
def test_dent_only_after_bid_reaches_tab():
    sys = make_system(1)
    (i,) = kicked(sys)
    sys.flip.tend(i, 10.0, 1000.0, "k1", 1.0)
    assert not sys.flip.dent(i, 9.0, 1000.0, "k2", 2.0).any()
    assert not sys.flip.dent(i, 9.0, 1130.0, "k2", 2.0).any()  # bid must equal the current bid
    sys.flip.tend(i, 10.0, 1130.0, "k1", 2.0)
    assert sys.flip.dent(i, 9.0, 1130.0, "k2", 3.0).all()


def test_dent_needs_beg_decrease_and_returns_lot_to_owner():
    sys = make_system(1, beg=0.03)
    (i,) = kicked(sys)
    sys.flip.tend(i, 10.0, 1130.0, "k1", 1.0)
    assert not sys.flip.dent(i, 9.8, 1130.0, "k2", 2.0).any()  # 10/9.8 = 1.0204 < 1.03
    assert not sys.flip.dent(i, 10.0, 1130.0, "k2", 2.0).any()  # not lower
    k2_before = sys.vat.dai["k2"]
    assert sys.flip.dent(i, 9.5, 1130.0, "k2", 2.0).all()
    assert gem(sys, OWNER) == pytest.approx(0.5)
    assert sys.flip.returned[i] == pytest.approx(0.5)
    assert gem(sys, "flip:ETH-A") == pytest.approx(9.5)
    # the new bidder pays the previous one back the full tab; the vow keeps its 1130
    assert sys.vat.dai["k2"] == pytest.approx(k2_before - 1130.0)
    assert sys.vat.dai["k1"] == pytest.approx(1e9)
    assert sys.vow.joy == pytest.approx(1130.0)
    assert sys.vat.check() == []


# ---------------------------------------------------------------------------------- deal and tick
def test_deal_only_after_tic_or_end():
    sys = make_system(2)
    a, b = kicked(sys)
    assert not sys.flip.deal(np.array([a, b]), 1e9).any()  # no bids: never dealable
    sys.flip.tend(a, 10.0, 100.0, "k1", 10.0)
    assert not sys.flip.deal(a, 10.0 + TTL).any()  # tic == now is not past
    assert sys.flip.deal(a, 10.0 + TTL + 1).all()
    assert gem(sys, "k1") == pytest.approx(10.0)
    # ended by `end` although the last bid has not expired
    sys.flip.tend(b, 10.0, 100.0, "k2", TAU - 1.0)
    assert not sys.flip.deal(b, TAU).any()
    assert sys.flip.deal(b, TAU + 0.5).all()
    assert not sys.flip.deal(b, TAU + 1e6).any()  # settled once only
    assert sys.vat.check() == []


def test_deal_settles_records():
    sys = make_system(1)
    (i,) = kicked(sys)
    sys.vat.log.tick = 3
    sys.flip.tend(i, 10.0, 1130.0, "k1", 1.0)
    sys.flip.dent(i, 9.0, 1130.0, "k2", 2.0)
    sys.vat.log.tick = 7
    # The bids already reached the Vow: nothing of the tab is still to come.
    assert sys.flip.running_tab() == pytest.approx(0.0)
    sys.flip.deal(i, 2.0 + TTL + 1)
    rec = sys.flip.records()
    assert rec["kind"][0] == "flip" and rec["ilk"][0] == ILK
    assert rec["winner"][0] == "k2"
    assert rec["raised"][0] == pytest.approx(1130.0)
    assert rec["sold"][0] == pytest.approx(9.0)
    assert rec["returned"][0] == pytest.approx(1.0)
    assert rec["due"][0] == pytest.approx(1000.0)
    assert rec["tab0"][0] == pytest.approx(1130.0) and rec["lot0"][0] == 10.0
    assert (rec["start_tick"][0], rec["end_tick"][0], rec["bids"][0]) == (0, 7, 2)
    assert sys.flip.active_ids().size == 0 and sys.flip.running_tab() == 0.0


def test_tick_restarts_only_expired_auctions_without_bids():
    sys = make_system(2)
    a, b = kicked(sys)
    assert not sys.flip.tick(a, TAU).any()  # end == now: not expired yet
    sys.flip.tend(b, 10.0, 100.0, "k1", 1.0)
    ok = sys.flip.tick(np.array([a, b]), TAU + 1)
    assert ok.tolist() == [True, False]
    assert sys.flip.end[a] == TAU + 1 + TAU
    assert sys.flip.tend(a, 10.0, 1.0, "k1", TAU + 2).all()  # biddable again


def test_black_thursday_zero_bid_wins_when_nobody_outbids():
    sys = make_system(1)
    (i,) = kicked(sys)
    sys.vat.join_dai("lowballer", 1.0)
    assert sys.flip.tend(i, 10.0, 1e-18, "lowballer", 0.0).all()
    assert sys.flip.deal(i, TTL + 1).all()
    assert gem(sys, "lowballer") == pytest.approx(10.0)
    assert sys.vow.joy == pytest.approx(1e-18)
    sys.vow.flog(TTL + 1)
    assert sys.vow.woe == pytest.approx(1000.0)  # the whole debt is bad debt


def test_english_auction_at_the_osm_price_returns_the_penalty_complement():
    """A vault at mat = 1.5 bid to tab at the OSM price keeps 1 − 1.13/1.5 of its collateral."""
    osm = 100.0
    ink = 10.0
    debt = ink * osm / MAT * (1 + 1e-12)  # at the liquidation ratio (a hair over, to be unsafe)
    sys = make_system(1, ink=ink, art=debt, price=200.0, chop=1.13)
    crash(sys, osm)
    (i,) = sys.cat.bite(ILK, sys.idx, "kpr", 0.0)
    tab = sys.flip.tab[i]
    assert sys.flip.tend(i, ink, tab, "k1", 1.0).all()
    assert sys.flip.dent(i, tab / osm, tab, "k2", 2.0).all()
    assert sys.flip.deal(i, 2.0 + TTL + 1).all()
    assert gem(sys, OWNER) / ink == pytest.approx(1 - 1.13 / 1.5, rel=1e-9)
    assert gem(sys, "k2") * osm == pytest.approx(tab)
    assert sys.vat.check() == []
