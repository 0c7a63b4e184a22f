"""ProtocolModel: builds the protocol, environment and agents from a Scenario and runs the tick.

Tick order (DESIGN.md section 1):

1. price-shock agents publish the exogenous prices;
2. market (depth, gas) — exogenous only at this stage;
3. oracle: medianizer → OSM (hop) → Spotter ``spot``;
4. rates: ``Jug.drip`` per ilk;
5. borrower cohorts act (``frob``);
6. keepers act in an order drawn from the keepers' stream (``bark``, ``redo``, ``take``);
7. the Vow: ``flog``, ``heal``;
8. the recorder writes one row.

Tick ``k`` ends at ``now = k · tick`` seconds; tick 0 is the initial state.
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np

from sim.agents.borrower import BorrowerCohort, initial_book
from sim.agents.keeper import Keeper
from sim.agents.price_shock import PriceShockAgent
from sim.market import prices as px
from sim.market.depth import Market
from sim.protocol.clip import Clipper, Curve, Dog
from sim.protocol.oracle import OSM, Medianizer, spot_price
from sim.protocol.rates import Jug
from sim.protocol.vat import Vat
from sim.protocol.vow import Vow
from sim.record import Recorder
from sim.scenario import (
    BridgePrice,
    ClipLiquidation,
    GbmPrice,
    JumpDiffusionPrice,
    ReplayPrice,
    Scenario,
    ScriptedPrice,
)


class InvariantError(RuntimeError):
    """The protocol's accounting invariants were violated during a run."""


@dataclass
class Streams:
    """Independent random streams derived from the run seed (``SeedSequence.spawn``).

    Adding vaults, cohorts or keepers never changes the price path: each purpose has its own
    stream, and each cohort its own child of the borrowers' stream.
    """

    prices: np.random.Generator
    keepers: np.random.Generator
    borrowers: list[np.random.Generator]

    @classmethod
    def from_seed(cls, seed: int, n_cohorts: int) -> Streams:
        """Derive the streams of a run."""
        root = np.random.SeedSequence(seed)
        prices, borrowers, keepers, _gas, _mkr, _market = root.spawn(6)
        return cls(
            prices=np.random.default_rng(prices),
            keepers=np.random.default_rng(keepers),
            borrowers=[np.random.default_rng(s) for s in borrowers.spawn(n_cohorts)],
        )


def build_price_process(spec, scenario: Scenario):
    """The exogenous process object of a collateral's price spec."""
    if isinstance(spec, GbmPrice):
        return px.GBM(start=spec.start, vol=spec.vol, drift=spec.drift)
    if isinstance(spec, JumpDiffusionPrice):
        return px.JumpDiffusion(
            start=spec.start,
            vol=spec.vol,
            drift=spec.drift,
            jump_rate=spec.jump_rate,
            jump_mean=spec.jump_mean,
            jump_std=spec.jump_std,
        )
    if isinstance(spec, ScriptedPrice):
        crash = None
        if spec.crash is not None:
            crash = (spec.crash.depth, spec.crash.at, spec.crash.over)
        points = [tuple(p) for p in spec.points] if spec.points is not None else None
        start = spec.start if spec.start is not None else points[0][1]
        return px.Scripted(start=start, points=points, crash=crash, vol=spec.vol)
    if isinstance(spec, ReplayPrice):
        times, values = px.read_series_csv(
            scenario.resolve(spec.file),
            spec.column,
            time_column=spec.time_column,
            start=scenario.clock.start,
        )
        return px.Replay(times=times, values=values, interpolate=spec.interpolate, vol=spec.vol)
    if isinstance(spec, BridgePrice):
        return px.Bridge(
            start=spec.start, target=spec.target, at=spec.at, vol=spec.vol, drift=spec.drift
        )
    raise TypeError(f"unknown price spec {spec!r}")


def _curve(spec) -> Curve:
    kind = spec.kind
    if kind == "linear":
        return Curve(kind="linear", tau=spec.tau)
    if kind == "stairstep":
        return Curve(kind="stairstep", cut=spec.cut, step=spec.step)
    return Curve(kind="exponential", cut=spec.cut)


class ProtocolModel(mesa.Model):
    """A MakerDAO-style protocol with its agents, built from a :class:`~sim.scenario.Scenario`.

    Use it as a mesa model (``step()``, ``run_for(n)``) or through :func:`sim.run`.

    Attributes:
        spec: the scenario (mesa reserves ``scenario`` for its own concept).
        seed: the run seed.
        tick: ticks completed.
        now: seconds since the start.
        vat, jug, vow, dog: protocol contracts.
        clippers: Clipper per ilk (Liquidations 2.0 ilks).
        market: collateral market prices.
        recorder: per-tick series and snapshots.
    """

    def __init__(self, scenario: Scenario, seed: int | None = None):
        seed = scenario.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        self.spec = scenario
        self.seed = seed
        self.dt = scenario.clock.tick
        self.n_ticks = scenario.n_ticks
        self.tick = 0
        self.now = 0.0
        self.streams = Streams.from_seed(seed, len(scenario.borrowers))
        self.check_invariants = scenario.record.check_invariants

        # Environment: exogenous price paths for the whole run.
        self.assets = list(scenario.collateral)
        processes = [
            build_price_process(scenario.collateral[a].price, scenario) for a in self.assets
        ]
        paths = px.simulate(processes, self.n_ticks, self.dt, self.streams.prices)
        self.market = Market()
        self.price_agent = PriceShockAgent(self, self.assets, paths)
        self.price_agent.publish(0)

        # Protocol.
        sysp = scenario.system
        self.vat = Vat(Line=np.inf if sysp.Line is None else sysp.Line)
        self.vow = Vow(
            self.vat,
            wait=sysp.vow.wait,
            sump=sysp.vow.sump,
            dump=sysp.vow.dump,
            bump=sysp.vow.bump,
            hump=sysp.vow.hump,
        )
        self.jug = Jug(self.vat)
        self.medians = {a: Medianizer(self.market.price(a)) for a in self.assets}
        self.osms = {a: OSM.start(self.market.price(a), sysp.oracle.hop) for a in self.assets}
        self.dog = Dog(self.vat, self.vow, Hole=sysp.Hole)
        self.clippers: dict[str, Clipper] = {}
        sizes = {name: 0 for name in scenario.ilks}
        for cohort in scenario.borrowers:
            sizes[cohort.ilk] += cohort.vaults
        for name, spec in scenario.ilks.items():
            ilk = self.vat.init_ilk(name, sizes[name], line=spec.line, dust=spec.dust)
            ilk.spot = spot_price(self.osms[spec.collateral].cur, sysp.par, spec.mat)
            self.jug.duty[name] = spec.stability_fee
            self.jug.rho[name] = 0.0
            liq = spec.liquidation
            if isinstance(liq, ClipLiquidation):
                asset = spec.collateral
                clip = Clipper(
                    self.vat,
                    name,
                    self.vow,
                    feed_price=self._feed(asset),
                    buf=liq.buf,
                    tail=liq.tail,
                    cusp=liq.cusp,
                    chip=liq.chip,
                    tip=liq.tip,
                    curve=_curve(liq.curve),
                    chop=1.0 + liq.chop,
                    stopped=liq.stopped,
                )
                self.dog.add_ilk(clip, chop=1.0 + liq.chop, hole=liq.hole)
                self.clippers[name] = clip
            else:
                raise NotImplementedError("the flip engine arrives with Liquidations 1.x")

        # Borrowers open their vaults at the start price.
        self.cohorts: list[BorrowerCohort] = []
        offsets = {name: 0 for name in scenario.ilks}
        for k, spec in enumerate(scenario.borrowers):
            lo = offsets[spec.ilk]
            hi = lo + spec.vaults
            offsets[spec.ilk] = hi
            cohort = BorrowerCohort(self, spec, lo, hi, owner_id=k)
            asset = scenario.ilks[spec.ilk].collateral
            ink, debt = initial_book(spec, self.market.price(asset), cohort.stream)
            self.vat.open_vaults(spec.ilk, np.arange(lo, hi), ink, debt, owner=k)
            cohort.fund_wallets()
            self.cohorts.append(cohort)

        self.keepers: list[Keeper] = []
        for spec in scenario.keepers:
            for j in range(spec.count):
                name = spec.name if spec.count == 1 else f"{spec.name}-{j + 1}"
                self.keepers.append(Keeper(self, spec, name))

        self.recorder = Recorder(self)
        self.recorder.record()

    # ------------------------------------------------------------------ wiring helpers
    def _feed(self, asset: str):
        par = self.spec.system.par
        osm = self.osms[asset]
        return lambda: osm.cur / par

    def liquidator(self, ilk_name: str):
        """The auction house of an ilk (its Clipper)."""
        return self.clippers[ilk_name]

    @property
    def finished(self) -> bool:
        """Whether the scenario's duration has been simulated."""
        return self.tick >= self.n_ticks

    # ------------------------------------------------------------------ the tick
    def step(self) -> None:
        """Advance one tick in the order of the module docstring."""
        self.tick += 1
        self.now = self.tick * self.dt
        self.vat.log.tick = self.tick
        now = self.now
        # 1–2 environment
        self.price_agent.step()
        # 3 oracle
        par = self.spec.system.par
        for asset in self.assets:
            median = self.medians[asset]
            median.poke(self.market.price(asset), now)
            self.osms[asset].poke(median.value, now)
        for name, spec in self.spec.ilks.items():
            self.vat.ilks[name].spot = spot_price(self.osms[spec.collateral].cur, par, spec.mat)
        # 4 rates
        for name in self.spec.ilks:
            self.jug.drip(name, now)
        # 5 borrowers
        for cohort in self.cohorts:
            cohort.step()
        # 6 keepers, in a fresh order each tick
        if self.keepers:
            for k in self.streams.keepers.permutation(len(self.keepers)):
                self.keepers[k].step()
        # 7 vow
        self.vow.flog(now)
        self.vow.heal()
        # 8 record
        self.recorder.record()
        if self.finished:
            self.running = False
        if self.check_invariants:
            # Scalar accounts every tick; the per-vault sums every 100 ticks and at the end.
            problems = self.vat.check(full=self.tick % 100 == 0 or self.finished)
            if problems:
                raise InvariantError(f"tick {self.tick}: " + "; ".join(problems))

    def run(self) -> None:
        """Run to the end of the scenario's duration."""
        while not self.finished:
            self.step()
