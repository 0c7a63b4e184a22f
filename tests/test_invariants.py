"""Accounting invariants under random sequences of protocol actions (hypothesis, stateful).

Borrowers frob several vaults, the price moves, fees accrue (Jug), keepers bark, take random
amounts and redo, time passes and the Vow heals; after every step the Vat's invariants hold
(``debt == Σ Art·rate + vice``, ``Σ sin == vice``, collateral conserved, nothing negative) and the
liquidation bookkeeping agrees (``Dirt == Σ tab`` of running sales, the Clipper holds ``Σ lot``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sim.protocol.clip import Clipper, Curve, Dog
from sim.protocol.jug import Jug
from sim.protocol.vat import ProtocolError, Vat
from sim.protocol.vow import Vow

ILK = "ETH-A"
N = 8
MAT = 1.5
KEEPER = "keeper"


class LiquidationMachine(RuleBasedStateMachine):
    """One ilk with a few vaults, Dog limits that bind, and one keeper with Dai."""

    @initialize(
        price=st.floats(150.0, 250.0),
        hole=st.floats(500.0, 5000.0),
        Hole=st.floats(500.0, 8000.0),
        ink=st.lists(st.floats(1.0, 20.0), min_size=N, max_size=N),
        cr=st.lists(st.floats(1.55, 2.2), min_size=N, max_size=N),
    )
    def setup(self, price, hole, Hole, ink, cr):
        self.now = 0.0
        self.vat = Vat()
        self.vat.init_ilk(ILK, N, line=1e9, dust=100.0)
        self.price = price
        self.vat.ilks[ILK].spot = price / MAT
        self.vow = Vow(self.vat, wait=600.0)
        self.jug = Jug(self.vat, duty={ILK: 0.5}, rho={ILK: 0.0})
        self.clip = Clipper(
            self.vat,
            ILK,
            self.vow,
            lambda: self.price,
            buf=1.2,
            tail=1800.0,
            cusp=0.4,
            chip=0.001,
            tip=10.0,
            curve=Curve("stairstep", cut=0.99, step=90.0),
        )
        self.dog = Dog(self.vat, self.vow, Hole=Hole)
        self.dog.add_ilk(self.clip, chop=1.13, hole=hole)
        ink = np.array(ink)
        art = np.maximum(ink * price / np.array(cr), 100.0)
        ok = art * MAT <= ink * price
        idx = np.flatnonzero(ok)
        self.vat.open_vaults(ILK, idx, ink[ok], art[ok], owner=0)
        self.vat.join_dai(KEEPER, 100_000.0)

    # ------------------------------------------------------------------ borrowers and market
    @rule(
        i=st.integers(0, N - 1),
        dink=st.floats(-5.0, 5.0),
        dart=st.floats(-500.0, 500.0),
    )
    def frob(self, i, dink, dart):
        # Rejected frobs are fine; they must change nothing.
        self.vat.frob_many(ILK, np.array([i]), np.array([dink]), np.array([dart]))

    @rule(factor=st.floats(0.4, 1.2))
    def move_price(self, factor):
        self.price = float(np.clip(self.price * factor, 1.0, 1e4))
        self.vat.ilks[ILK].spot = self.price / MAT

    @rule(dt=st.floats(1.0, 1800.0))
    def drip(self, dt):
        self.now += dt
        self.jug.drip(ILK, self.now)

    @rule(dt=st.floats(1.0, 1200.0))
    def wait(self, dt):
        self.now += dt

    @rule()
    def heal(self):
        self.vow.flog(self.now)
        self.vow.heal()

    # ------------------------------------------------------------------ keepers
    @rule()
    def bark(self):
        self.dog.bark(ILK, np.arange(N), KEEPER, self.now)

    @rule(factor=st.floats(0.3, 0.8))
    def crash_and_bark(self, factor):
        self.move_price(factor)
        self.bark()

    @precondition(lambda self: self.clip.active_ids().size > 0)
    @rule(
        data=st.data(),
        amt=st.lists(st.floats(0.0, 25.0), min_size=1, max_size=N),
        greedy=st.booleans(),
    )
    def take(self, data, amt, greedy):
        active = self.clip.active_ids()
        k = min(len(amt), active.size)
        ids = data.draw(st.permutations(active.tolist()))[:k]
        max_price = np.inf if greedy else data.draw(st.floats(0.0, 2.0 * self.price))
        dai = self.vat.dai.get(KEEPER, 0.0)
        try:
            slice_, owe = self.clip.take(
                np.array(ids), np.array(amt[:k]), max_price, KEEPER, self.now
            )
        except ProtocolError:
            assert self.vat.dai.get(KEEPER, 0.0) == dai
            return
        assert (slice_ >= 0).all() and (owe >= 0).all()
        assert self.vat.dai.get(KEEPER, 0.0) == pytest.approx(dai - owe.sum(), abs=1e-6)

    @precondition(lambda self: self.clip.active_ids().size > 0)
    @rule()
    def redo(self):
        self.clip.redo(self.clip.active_ids(), KEEPER, self.now)

    # ------------------------------------------------------------------ invariants
    @invariant()
    def vat_accounting(self):
        assert self.vat.check() == []

    @invariant()
    def liquidation_bookkeeping(self):
        clip, dog = self.clip, self.dog
        running = clip.running_tab()
        scale = max(running, 1.0)
        assert dog.Dirt == pytest.approx(running, abs=1e-7 * scale)
        assert dog.ilks[ILK].dirt == pytest.approx(running, abs=1e-7 * scale)
        held = self.vat.gem.get((ILK, clip.account), 0.0)
        lots = float(clip.lot[clip.active].sum())
        assert held == pytest.approx(lots, abs=1e-9 * max(lots, 1.0))
        assert (clip.tab >= 0).all() and (clip.lot >= 0).all()
        assert (clip.lot[~clip.active] == 0).all()
        # The dust rule may overshoot a limit by less than chost = dust·chop, once.
        chost = clip.chost
        assert dog.Dirt <= dog.Hole + chost + 1e-6
        assert dog.ilks[ILK].dirt <= dog.ilks[ILK].hole + chost + 1e-6


LiquidationMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_liquidation_invariants = LiquidationMachine.TestCase
