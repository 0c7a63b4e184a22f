"""Emergency Shutdown (sim/protocol/end.py) against the rules of dss end.sol and esm ESM.sol.

Each rule is checked on a small book built from the protocol objects alone; a hypothesis
property checks that after the whole settlement every Dai holder's claim is paid out of what the
End holds, to the last token (up to float rounding), for random books.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.protocol import numeric as num
from sim.protocol.clip import Clipper, Curve, Dog
from sim.protocol.end import END, End, Esm
from sim.protocol.flip import Cat, Flipper
from sim.protocol.pot import Pot
from sim.protocol.psm import PSM
from sim.protocol.vat import FROB_NOT_LIVE, ProtocolError, Vat
from sim.protocol.vow import VOW, Vow

PSM_ILK = "PSM-USDC-A"


def make(
    eth: list[tuple[float, float]],
    btc: list[tuple[float, float]] = (),
    *,
    price: float = 500.0,
    btc_price: float = 20_000.0,
    psm_gem: float = 0.0,
    wait: float = 3600.0,
) -> SimpleNamespace:
    """A Vat with ETH (Clipper) and BTC (Flipper) books of ``(ink, debt)`` vaults and a PSM."""
    vat = Vat()
    vow = Vow(vat)
    pot = Pot(vat)
    prices = {"ETH": price, "BTC": btc_price}
    for name, book in (("ETH", eth), ("BTC", btc)):
        ilk = vat.init_ilk(name, max(len(book), 1), line=np.inf, dust=0.0)
        ilk.spot = 1e12
        if book:
            ink, art = np.array(book, dtype=float).T
            vat.open_vaults(name, np.arange(len(book)), ink, art, owner=0)
    dog = Dog(vat, vow)
    clip = Clipper(
        vat, "ETH", vow, feed_price=lambda: prices["ETH"], curve=Curve("linear", tau=3600.0)
    )
    dog.add_ilk(clip, chop=1.13)
    cat = Cat(vat, vow)
    flip = Flipper(vat, "BTC", beg=0.03, ttl=3600.0, tau=86400.0)
    cat.add_ilk(flip, chop=1.13, version="1.2")
    psm = PSM(vat, PSM_ILK)
    if psm_gem > 0:
        psm.sell_gem("arb", psm_gem)
    pips = {"ETH": lambda: prices["ETH"], "BTC": lambda: prices["BTC"], PSM_ILK: lambda: 1.0}
    end = End(
        vat,
        vow,
        pot=pot,
        dog=dog,
        cat=cat,
        clippers={"ETH": clip},
        flippers={"BTC": flip},
        pips=pips,
        par=1.0,
        wait=wait,
    )
    return SimpleNamespace(
        vat=vat,
        vow=vow,
        pot=pot,
        dog=dog,
        clip=clip,
        cat=cat,
        flip=flip,
        psm=psm,
        end=end,
        prices=prices,
    )


def outside(vat: Vat) -> float:
    """Dai outside the Vat's accounts: ``debt − Σ dai``."""
    return vat.debt - sum(vat.dai.values())


def settle(s: SimpleNamespace, now: float) -> dict[str, dict[str, float]]:
    """Skim, free, heal, thaw, flow, then every holder packs and cashes; who got what."""
    end, vat = s.end, s.vat
    for name in vat.ilks:
        end.skim(name)
        book = vat.ilks[name]
        free = np.flatnonzero((book.ink > 0) & (book.art == 0))
        if free.size:
            end.free(name, free, lambda owner: "owner")
    s.vow.heal()
    end.thaw(now)
    for name in vat.ilks:
        end.flow(name)
    for saver, pie in list(s.pot.pie.items()):
        s.pot.exit(saver, pie)
    vat.join_dai("market", max(outside(vat), 0.0))
    got: dict[str, dict[str, float]] = {}
    holders = {k: v for k, v in vat.dai.items() if k not in (VOW, s.pot.account) and v > 0}
    for holder, dai in sorted(holders.items()):
        end.pack(holder, dai)
        for name in vat.ilks:
            if end.fix[name] > 0:  # fix 0 (no collateral owed): dss's cash reverts, none to get
                got.setdefault(name, {})[holder] = end.cash(name, holder, dai)
    return got


# ---------------------------------------------------------------------------------- the rules


def test_cage_stops_every_module_and_vow_cage_heals():
    s = make([(10.0, 1000.0)])
    s.vat.suck(VOW, VOW, 0.0)
    s.vat.fold("ETH", 0.1)  # 100 Dai of fees: Vow surplus
    s.vat.suck(VOW, "x", 40.0)  # 40 Dai of Vow sin
    s.end.cage(now=5.0)
    assert (s.end.live, s.end.when) == (0, 5.0)
    assert s.vat.live == s.dog.live == s.cat.live == s.vow.live == s.pot.live == 0
    assert s.vow.flapper.live == s.vow.flopper.live == 0 and s.end.spot_live == 0
    assert s.vat.dai[VOW] == pytest.approx(60.0) and s.vat.sin[VOW] == pytest.approx(0.0)
    code = s.vat.frob_many("ETH", np.array([0]), np.array([1.0]), np.array([0.0]))
    assert code[0] == FROB_NOT_LIVE
    with pytest.raises(ProtocolError, match="Dog/not-live"):
        s.dog.bark("ETH", np.array([0]), "kpr", 5.0)
    with pytest.raises(ProtocolError, match="Cat/not-live"):
        s.cat.bite("BTC", np.array([0]))
    with pytest.raises(ProtocolError, match="Vat/not-live"):
        s.vat.fold("ETH", 0.1)
    with pytest.raises(ProtocolError, match="End/not-live"):
        s.end.cage(now=6.0)


def test_cage_ilk_tag_is_par_over_price_and_records_art():
    s = make([(10.0, 1000.0), (5.0, 300.0)], price=400.0)
    with pytest.raises(ProtocolError, match="End/still-live"):
        s.end.cage_ilk("ETH")
    s.end.cage(0.0)
    assert s.end.cage_ilk("ETH") == pytest.approx(1.0 / 400.0)
    assert s.end.Art["ETH"] == pytest.approx(1300.0)
    assert s.end.cage_ilk(PSM_ILK) == 1.0
    with pytest.raises(ProtocolError, match="End/tag-ilk-already-defined"):
        s.end.cage_ilk("ETH")
    with pytest.raises(ProtocolError, match="End/tag-ilk-not-defined"):
        s.end.skim("BTC")


def test_hand_computed_gap_and_fix():
    """end.sol arithmetic by hand: one vault underwater at the cage price, one not.

    tag = 1/500. A: ink 10, art 10 000 → owe 20, wad 10, gap 10. B: ink 10, art 2 000 →
    owe 4, wad 4, B frees 6. Art = 12 000, debt = 12 000 (all Dai outside).
    fix = (12 000·(1/500) − 10) / 12 000 = 14 / 12 000.
    """
    s = make([(10.0, 10_000.0), (10.0, 2_000.0)], price=500.0)
    s.end.cage(0.0)
    s.end.cage_ilk("ETH")
    with pytest.raises(ProtocolError, match="End/art-not-zero"):
        s.end.free("ETH", np.array([1]), lambda owner: "owner")
    idx, wad = s.end.skim("ETH")
    assert list(idx) == [0, 1] and wad == pytest.approx([10.0, 4.0])
    assert s.end.gap["ETH"] == pytest.approx(10.0)
    assert s.end.free("ETH", np.array([1]), lambda o: "owner") == pytest.approx([6.0])
    assert s.vat.gem[("ETH", "owner")] == pytest.approx(6.0)
    s.end.cage_ilk("BTC")
    s.end.cage_ilk(PSM_ILK)
    with pytest.raises(ProtocolError, match="End/wait-not-finished"):
        s.end.thaw(3599.0)
    assert s.end.thaw(3600.0) == pytest.approx(12_000.0)
    assert s.end.flow("ETH") == pytest.approx(14.0 / 12_000.0)
    # Without the gap the fix would be the cage price's 1/500: the shortfall makes it smaller.
    assert s.end.fix["ETH"] < 1.0 / 500.0
    s.vat.join_dai("holder", 12_000.0)
    s.end.pack("holder", 12_000.0)
    assert s.end.cash("ETH", "holder", 12_000.0) == pytest.approx(14.0)
    assert num.negligible(s.end.custody("ETH"), 14.0)


def test_thaw_requires_no_surplus_and_only_once():
    s = make([(10.0, 1000.0)])
    s.vat.fold("ETH", 0.5)  # 500 Dai of fees, no sin: the Vow's surplus survives cage
    s.end.cage(0.0)
    s.end.cage_ilk("ETH")
    with pytest.raises(ProtocolError, match="End/surplus-not-zero"):
        s.end.thaw(3600.0)
    s.end.skim("ETH")  # 1 500 Dai of sin: heal cancels the surplus
    s.vow.heal()
    assert s.end.thaw(3600.0) == pytest.approx(1000.0)
    with pytest.raises(ProtocolError, match="End/debt-not-zero"):
        s.end.thaw(3600.0)


def test_snip_gives_lot_and_tab_with_penalty_back_to_the_vault():
    s = make([(10.0, 4_000.0)], price=500.0)
    s.vat.fold("ETH", 0.25)  # rate 1.25: the vault owes 5 000 Dai
    s.vat.ilks["ETH"].spot = 300.0
    (sale,) = s.dog.bark("ETH", np.array([0]), "kpr", 0.0)
    tab = 5_000.0 * 1.13
    assert s.clip.tab[sale] == pytest.approx(tab) and s.dog.Dirt == pytest.approx(tab)
    s.end.cage(0.0)
    s.end.cage_ilk("ETH")
    art = s.end.snip("ETH", int(sale))
    book = s.vat.ilks["ETH"]
    assert art == pytest.approx(tab / 1.25) and book.art[0] == pytest.approx(tab / 1.25)
    assert book.ink[0] == pytest.approx(10.0)
    assert s.end.Art["ETH"] == pytest.approx(tab / 1.25)  # 0 at cage(ilk) + art
    assert s.dog.Dirt == pytest.approx(0.0) and not s.clip.active[sale]
    assert s.vat.gem.get(("ETH", s.clip.account), 0.0) == pytest.approx(0.0)
    assert s.vat.check() == []


def test_skip_refunds_the_bidder_and_refuses_the_dent_phase():
    s = make([], [(1.0, 10_000.0), (1.0, 10_000.0)], btc_price=20_000.0)
    s.vat.ilks["BTC"].spot = 5_000.0
    ids = s.cat.bite("BTC", np.array([0, 1]))
    tab = float(s.flip.tab[ids[0]])
    s.vat.join_dai("bidder", 3_000.0 + tab)
    s.flip.tend(ids[0], 1.0, 3_000.0, "bidder", 0.0)
    s.flip.tend(ids[1], 1.0, tab, "bidder", 0.0)  # bid == tab: dent phase
    assert s.vat.dai["bidder"] == pytest.approx(0.0)
    s.end.cage(0.0)
    s.end.cage_ilk("BTC")
    s.end.skip("BTC", int(ids[0]))
    assert s.vat.dai["bidder"] == pytest.approx(3_000.0)
    book = s.vat.ilks["BTC"]
    assert book.ink[0] == pytest.approx(1.0) and book.art[0] == pytest.approx(tab)
    assert s.cat.litter == pytest.approx(tab)  # the dent-phase auction is still on
    with pytest.raises(ProtocolError, match="Flipper/already-dent-phase"):
        s.end.skip("BTC", int(ids[1]))
    assert s.vat.check() == []


def test_pack_and_cash_bookkeeping():
    s = make([(10.0, 1_000.0)], price=500.0)
    s.end.cage(0.0)
    for name in s.vat.ilks:
        s.end.cage_ilk(name)
    s.vat.join_dai("alice", 600.0)
    with pytest.raises(ProtocolError, match="End/debt-zero"):
        s.end.pack("alice", 100.0)
    s.end.skim("ETH")
    s.vow.heal()
    s.end.thaw(3600.0)
    with pytest.raises(ProtocolError, match="End/fix-ilk-not-defined"):
        s.end.cash("ETH", "alice", 1.0)
    s.end.flow("ETH")
    with pytest.raises(ProtocolError, match="End/fix-ilk-already-defined"):
        s.end.flow("ETH")
    s.end.pack("alice", 400.0)
    assert s.end.bag["alice"] == 400.0 and s.vat.dai["alice"] == pytest.approx(200.0)
    assert s.end.cash("ETH", "alice", 250.0) == pytest.approx(250.0 * s.end.fix["ETH"])
    with pytest.raises(ProtocolError, match="End/insufficient-bag-balance"):
        s.end.cash("ETH", "alice", 200.0)
    assert s.end.out["ETH"]["alice"] == 250.0


def test_esm_fires_only_above_min_and_through_the_given_cage():
    s = make([(10.0, 1_000.0)])
    s.vow.give_mkr("whale", 200.0)
    caged: list[float] = []
    esm = Esm(s.end, s.vow, 150.0, cage=lambda now: (caged.append(now), s.end.cage(now)))
    esm.join("whale", 100.0)
    with pytest.raises(ProtocolError, match="ESM/min-not-reached"):
        esm.fire(1.0)
    esm.join("whale", 50.0)
    assert esm.Sum == 150.0 and s.vow.mkr["whale"] == 50.0
    esm.fire(2.0)
    assert caged == [2.0] and s.end.live == 0 and esm.proxy_denied
    with pytest.raises(ProtocolError, match="ESM/system-already-shutdown"):
        esm.join("whale", 1.0)
    assert esm.burn() == 150.0 and s.vow.mkr_burned == 150.0


# ---------------------------------------------------------------------------------- property

vault = st.tuples(st.floats(0.5, 50.0), st.floats(100.0, 30_000.0))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    eth=st.lists(vault, min_size=2, max_size=12),
    btc=st.lists(
        st.tuples(st.floats(0.01, 2.0), st.floats(100.0, 30_000.0)), min_size=2, max_size=8
    ),
    drop=st.floats(0.05, 0.95),
    btc_drop=st.floats(0.05, 0.95),
    bid_share=st.floats(0.0, 0.99),
    psm_gem=st.floats(0.0, 1e5),
    saved=st.floats(0.0, 0.5),
    rate=st.floats(0.0, 0.3),
)
def test_all_dai_is_redeemable_for_what_the_end_holds(
    eth, btc, drop, btc_drop, bid_share, psm_gem, saved, rate
):
    # Vaults opened safe at the start prices, then the prices drop: some go underwater.
    eth = [(ink, min(art, ink * 500.0 / 1.5)) for ink, art in eth]
    btc = [(ink, min(art, ink * 20_000.0 / 1.5)) for ink, art in btc]
    s = make(eth, btc, price=500.0, btc_price=20_000.0, psm_gem=psm_gem)
    s.vat.fold("ETH", rate)
    # A running Clipper sale and a Flipper auction in its tend phase.
    s.vat.ilks["ETH"].spot = 1e-9
    s.dog.bark("ETH", np.array([0]), "kpr", 0.0)
    s.vat.ilks["BTC"].spot = 1e-9
    (fid,) = s.cat.bite("BTC", np.array([0]))
    drawn = outside(s.vat)
    bid = bid_share * float(s.flip.tab[fid])
    s.vat.join_dai("bidder", min(bid, drawn / 4))
    if s.vat.dai["bidder"] > 0:
        s.flip.tend(fid, float(s.flip.lot[fid]), s.vat.dai["bidder"], "bidder", 0.0)
    # Dai in the Pot and with a keeper, all from the Dai drawn.
    s.vat.join_dai("saver", saved * outside(s.vat))
    s.pot.join("saver", s.vat.dai["saver"])
    s.vat.join_dai("keeper", 0.1 * outside(s.vat))
    s.prices["ETH"] *= 1.0 - drop
    s.prices["BTC"] *= 1.0 - btc_drop
    s.end.cage(0.0)
    for name in s.vat.ilks:
        s.end.cage_ilk(name)
    for id in s.clip.active_ids().copy():
        s.end.snip("ETH", int(id))
    for id in s.flip.active_ids().copy():
        s.end.skip("BTC", int(id))
    assert s.vat.dai.get("bidder", 0.0) == pytest.approx(bid if bid <= drawn / 4 else drawn / 4)
    held = {}

    def custody_at_flow():
        for name in s.vat.ilks:
            held[name] = s.end.custody(name)

    end_flow = s.end.flow

    def flow(name):
        if not held:
            custody_at_flow()
        return end_flow(name)

    s.end.flow = flow
    got = settle(s, 3600.0)
    total_dai = s.end.debt
    for name in s.vat.ilks:
        end = s.end
        book = s.vat.ilks[name]
        owed = end.Art[name] * book.rate * end.tag[name] - end.gap[name]
        # Each ilk's collateral in custody is what all the Dai claims, and all is paid out.
        assert num.same(held[name], owed, book.joined)
        assert num.same(end.fix[name] * total_dai, held[name], book.joined)
        assert num.same(sum(got.get(name, {}).values()), held[name], book.joined)
        assert end.custody(name) >= 0.0 and num.negligible(end.custody(name), held[name])
        # Nobody got more than its Dai's share.
        for holder, gem in got.get(name, {}).items():
            assert gem <= end.bag[holder] * end.fix[name] * (1 + 1e-12)
        # The shortfall is the collateral the underwater vaults lacked at the cage price.
        assert end.gap[name] >= 0.0
    assert s.vat.check() == []
    assert END in {k[1] for k in s.vat.gem}
