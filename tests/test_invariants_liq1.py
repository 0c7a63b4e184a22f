"""Property test: random sequences over Liquidations 1.x, the Vow's auctions, the Pot and the PSM.

Whatever keepers, borrowers, prices and time do, the accounting must hold after every step:
``vat.check() == []`` (debt == Σ Art·rate + vice, Σ sin == vice, collateral conserved, no
negatives), plus the books of the auction houses, the Cat, the MKR ledger and the Pot.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from sim.protocol.flip import Cat, Flipper
from sim.protocol.jug import Jug
from sim.protocol.pot import Pot
from sim.protocol.psm import PSM
from sim.protocol.vat import ProtocolError, Vat
from sim.protocol.vow import FLAP, Vow

ILK = "ETH-A"
PSM_ILK = "PSM-USDC-A"
N = 6
MAT = 1.5
KEEPERS = ("k1", "k2")
MKR_GIVEN = 1e4

fraction = st.floats(0.0, 1.0)
keeper = st.sampled_from(KEEPERS)
pick = st.integers(0, 1_000)
delay = st.sampled_from([0.0, 1.0, 300.0, 601.0, 3600.0, 86_401.0])


class Liq1Machine(RuleBasedStateMachine):
    """Random protocol activity; every invariant is checked after each rule."""

    @initialize(
        version=st.sampled_from(["1.0", "1.2"]),
        box=st.sampled_from([np.inf, 3_000.0, 800.0]),
        lump=st.sampled_from([np.inf, 4.0, 1.5]),
        dunk=st.sampled_from([np.inf, 600.0, 250.0]),
        dust=st.sampled_from([0.0, 50.0]),
    )
    def setup(self, version, box, lump, dunk, dust):
        self.now = 0.0
        vat = Vat(Line=1e7)
        vat.init_ilk(ILK, N, line=1e6, dust=dust)
        vat.ilks[ILK].spot = 200.0 / MAT
        vat.open_vaults(ILK, np.arange(N), np.full(N, 10.0), np.full(N, 1000.0), owner=0)
        self.vat = vat
        self.jug = Jug(vat, duty={ILK: 0.5})
        self.jug.drip(ILK, 0.0)
        self.vow = Vow(vat, wait=3600.0, sump=500.0, dump=100.0, bump=50.0, hump=0.0)
        self.vow.flopper.pad = 1.2
        self.cat = Cat(vat, self.vow, version=version, box=box)
        self.flip = Flipper(vat, ILK, beg=0.03, ttl=600.0, tau=86400.0)
        self.cat.add_ilk(self.flip, chop=1.13, lump=lump, dunk=dunk)
        self.pot = Pot(vat, dsr=0.2)
        self.psm = PSM(vat, PSM_ILK, line=5_000.0, tin=0.001, tout=0.002)
        for k in KEEPERS:
            vat.join_dai(k, 1e6)
            self.vow.give_mkr(k, MKR_GIVEN / len(KEEPERS))

    # ------------------------------------------------------------------ environment
    @rule(i=st.integers(0, N - 1), dink=st.floats(-5.0, 10.0), dart=st.floats(-800.0, 1200.0))
    def frob(self, i, dink, dart):
        self.vat.frob_many(ILK, np.array([i]), np.array([dink]), np.array([dart]))

    @rule(price=st.floats(20.0, 400.0))
    def set_price(self, price):
        self.vat.ilks[ILK].spot = price / MAT

    @rule(dt=delay)
    def wait(self, dt):
        self.now += dt
        self.jug.drip(ILK, self.now)
        self.pot.drip(self.now)

    # ------------------------------------------------------------------ Cat + Flipper
    @rule(mask=st.lists(st.booleans(), min_size=N, max_size=N), crash=st.floats(20.0, 150.0))
    def bite(self, mask, crash):
        if not mask[0]:  # half of the bites come with a crash that makes every vault unsafe
            self.vat.ilks[ILK].spot = min(self.vat.ilks[ILK].spot, crash / MAT)
        self.cat.bite(ILK, np.flatnonzero(mask), "kpr", self.now)

    @precondition(lambda self: self.flip.active_ids().size > 0)
    @rule(f=st.lists(fraction, min_size=N, max_size=N), who=keeper)
    def tend(self, f, who):
        ids = self.flip.active_ids()
        f = np.resize(np.array(f), ids.size)
        tab, bid = self.flip.tab[ids], self.flip.bid[ids]
        raise_ = np.minimum(tab, np.maximum(bid * 1.03 * (1 + f), f * tab))
        new = np.where(f > 0.6, tab, raise_)  # often straight to tab, to reach the dent phase
        self.flip.tend(ids, self.flip.lot[ids], new, who, self.now)

    @precondition(lambda self: self.flip.active_ids().size > 0)
    @rule(f=st.lists(st.floats(0.0, 0.99), min_size=N, max_size=N), who=keeper)
    def dent(self, f, who):
        ids = self.flip.active_ids()
        f = np.resize(np.array(f), ids.size)
        self.flip.dent(ids, self.flip.lot[ids] * f, self.flip.tab[ids], who, self.now)

    # ------------------------------------------------------------------ Vow and its auctions
    @rule(f=st.floats(0.0, 0.95), who=keeper)
    def vow_step(self, f, who):
        """The Vow kicks what it may; keepers then bid in the debt and surplus auctions."""
        self.vow.step(self.now)
        fl, fp = self.vow.flopper, self.vow.flapper
        for i in fl.active_ids():
            try:
                fl.dent(int(i), fl.lot[i] * f, fl.bid[i], who, self.now)
            except ProtocolError:
                pass  # e.g. the auction is already over
        for i in fp.active_ids():
            try:
                fp.tend(int(i), fp.lot[i], max(fp.bid[i] * 1.05 * (1 + f), 10.0 * f), who, self.now)
            except ProtocolError:
                pass

    @rule(dt=delay)
    def settle(self, dt):
        """Time passes; every finished auction is dealt and every stale one restarted."""
        self.wait(dt)
        self.flip.deal(self.flip.active_ids(), self.now)
        self.flip.tick(self.flip.active_ids(), self.now)
        for house in (self.vow.flopper, self.vow.flapper):
            for i in house.active_ids():
                for verb in (house.deal, house.tick):
                    try:
                        verb(int(i), self.now)
                    except ProtocolError:
                        pass  # not finished / has a bid: dss would revert

    # ------------------------------------------------------------------ Pot and PSM
    @rule(who=keeper, amount=st.floats(0.0, 5_000.0), f=fraction)
    def save(self, who, amount, f):
        self.pot.join(who, amount / self.pot.chi)
        self.pot.exit(who, self.pot.pie.get(who, 0.0) * f)

    @rule(who=keeper, amount=st.floats(0.0, 3_000.0), buy=st.booleans())
    def psm_swap(self, who, amount, buy):
        try:
            if buy:
                self.psm.buy_gem(who, amount)
            else:
                self.psm.sell_gem(who, amount)
        except ProtocolError:
            pass

    # ------------------------------------------------------------------ invariants
    @invariant()
    def vat_accounting(self):
        assert self.vat.check() == []

    @invariant()
    def auction_books(self):
        flip = self.flip
        n = flip.kicks
        act = flip.active[:n]
        on_auction = float(flip.lot[:n][act].sum())
        held = self.vat.gem.get((ILK, flip.account), 0.0)
        assert abs(held - on_auction) <= 1e-9 * max(on_auction, 1.0)
        assert np.all(flip.lot[:n] >= 0) and np.all(flip.bid[:n] <= flip.tab[:n] * (1 + 1e-12))
        ids = flip.active_ids()
        tab_on_auction = float(flip.tab[ids].sum())
        assert abs(self.cat.litter - tab_on_auction) <= 1e-6 * max(self.cat.litter, 1.0)
        still_to_raise = float((flip.tab[ids] - flip.bid[ids]).sum())
        assert flip.running_tab() == pytest.approx(still_to_raise, rel=1e-9, abs=1e-9)
        if self.cat.version == "1.2":
            assert self.cat.litter <= self.cat.box * (1 + 1e-9)
        lots = flip.lot0[:n] - flip.returned[:n]
        done = ~act
        assert np.allclose(flip.sold[:n][done], lots[done], rtol=1e-9, atol=1e-12)

    @invariant()
    def vow_and_mkr(self):
        vow = self.vow
        assert vow.Ash >= 0 and vow.Sin >= 0
        assert abs(vow.Sin - sum(vow.queue.values())) <= 1e-6 * max(vow.Sin, 1.0)
        assert vow.Sin + vow.Ash <= vow.awe * (1 + 1e-9) + 1e-6
        supply = sum(vow.mkr.values())
        assert abs(supply - (MKR_GIVEN + vow.mkr_minted - vow.mkr_burned)) <= 1e-9 * MKR_GIVEN
        assert min(vow.mkr.values(), default=0.0) >= 0
        fp = vow.flapper
        bid_held = float(fp.bid[: fp.kicks][fp.active[: fp.kicks]].sum())
        assert abs(vow.mkr.get(FLAP, 0.0) - bid_held) <= 1e-9 * max(bid_held, 1.0)
        lot_held = float(fp.lot[: fp.kicks][fp.active[: fp.kicks]].sum())
        assert abs(self.vat.dai.get(FLAP, 0.0) - lot_held) <= 1e-9 * max(lot_held, 1.0)

    @invariant()
    def pot_and_psm(self):
        pot = self.pot
        owed = pot.Pie * pot.chi
        assert abs(self.vat.dai.get(pot.account, 0.0) - owed) <= 1e-9 * max(owed, 1.0)
        book = self.vat.ilks[PSM_ILK]
        assert book.ink[0] == book.art[0]
        assert book.Art * book.rate <= book.line * (1 + 1e-9)


Liq1Machine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLiq1Invariants = Liq1Machine.TestCase
