"""ProtocolModel: builds the protocol, environment and agents from a Scenario and runs the tick.

Tick order (docs/ARCHITECTURE.md):

1. price-shock agents publish the exogenous prices (collateral and MKR);
2. market: price impact decays towards the exogenous price, the Dai price towards par; the
   tick's gas price is set and its blocks open (:mod:`sim.market.blocks`);
3. oracle: medianizer (the relayers' poke, bidding the oracle's gas limit, must land in the
   tick's blocks, else it keeps its old value) → OSM (hop) → ``spot``; when an OSM advanced, the
   ClipperMom breaker of each of its ilks that has one is tripped if it can be (anyone may call
   ``tripBreaker``; here the system does, right after the poke, at no gas);
4. rates: ``Jug.drip`` per ilk, ``Pot.drip``; then ``DssAutoLine.exec`` for each ilk with a DC-IAM
   (anyone may call it; here the system does once a tick, at no gas; the tick is its block);
5-6. borrower cohorts (``frob``; leverage and close strategies trade in the markets) and
   keepers (``bark``/``bite``, ``redo``, ``take``/``tend``/``dent``/``deal``/``tick``) act in the
   scenario's ``schedule.order``: interleaved at random (default), or all borrowers first, or
   all keepers first; keepers in the order of their gas bids, highest first (ties in a fresh
   random order each tick), as a block builder orders transactions. The recorder samples the
   unsafe vaults just before the first keeper acts. Then the MKR bidders and the PSM
   arbitrageur;
7. the Vow: ``flog``, ``heal``, ``flop``, ``flap`` (each unless governance turned it off);
8. the recorder writes one row; the governors read it.

Governance spells (``governance.spells``) take effect at the start of their tick, before the
prices (:meth:`ProtocolModel.apply_spell`: their ``set``, then their ``do`` actions); one
taking effect at the start is part of the scenario the model is built from (its actions are
called on the model just built). Governors (``governance.governors``) read the tick's recorded
row at its end (:class:`~sim.scenario.governance.Governors`); a firing takes effect at the start
of a later tick, after that tick's spells (:meth:`ProtocolModel.apply_firing`).

Tick ``k`` ends at ``now = k · tick`` seconds; tick 0 is the initial state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.agents.arbitrageur import PsmArbitrageur
from sim.agents.borrower import BorrowerCohort, initial_book
from sim.agents.keeper import Keeper
from sim.agents.mkr_bidder import MkrBidder, make_bidders, step_bidders
from sim.agents.price_shock import PriceShockAgent
from sim.market import gas as gasm
from sim.market import prices as px
from sim.market.blocks import BlockMarket, sigma_from_p90
from sim.market.depth import ConstantProduct, DaiMarket, LogLinear, Market
from sim.protocol.autoline import AutoLine
from sim.protocol.clip import Clipper, Curve, Dog
from sim.protocol.clipper_mom import ClipperMom
from sim.protocol.flip import Cat, Flipper
from sim.protocol.jug import Jug
from sim.protocol.oracle import OSM, Medianizer, spot_price
from sim.protocol.pot import Pot
from sim.protocol.psm import PSM
from sim.protocol.vat import Vat
from sim.protocol.vow import Flapper, Flopper, Vow
from sim.record import Recorder

if TYPE_CHECKING:
    from sim.stream import RunStream
from sim.scenario import ClipLiquidation, ReplayGasSpec, Scenario, correlation_matrix
from sim.scenario.actions import apply_action
from sim.scenario.books import cohort_rows
from sim.scenario.build import build_gas_process, build_price_process
from sim.scenario.governance import Change, Firing, Governors, SpellStep, rebase, timeline
from sim.shutdown import Shutdown, build_end


def _minus_bid(agent: BorrowerCohort | Keeper) -> float:
    """Sort key: the agent's gas bid, highest first."""
    return -agent.bidder.bid()


#: Why a spell's or governor's parameter change after an Emergency Shutdown is refused.
SHUT_DOWN = "the system is shut down (the caged Vat, Jug and Spotter refuse file)"


class InvariantError(RuntimeError):
    """The protocol's accounting invariants were violated during a run."""


@dataclass
class Streams:
    """Independent random streams derived from the run seed (``SeedSequence.spawn``).

    Adding vaults, cohorts or keepers never changes the price path: each purpose has its own
    stream, and each cohort its own child of the borrowers' stream. ``mkr`` draws the MKR
    bidders' margins (a child spawned from the start for it, so using it moves no other stream);
    ``gem`` the PSM stablecoin's price path (a seventh child: ``spawn`` numbers its children, so
    the first six are what they were before it existed).
    """

    prices: np.random.Generator
    keepers: np.random.Generator
    borrowers: list[np.random.Generator]
    gas: np.random.Generator
    mkr: np.random.Generator
    gem: np.random.Generator

    @classmethod
    def from_seed(cls, seed: int, n_cohorts: int) -> Streams:
        """Derive the streams of a run."""
        root = np.random.SeedSequence(seed)
        prices, borrowers, keepers, gas, mkr, _market, gem = root.spawn(7)
        return cls(
            prices=np.random.default_rng(prices),
            keepers=np.random.default_rng(keepers),
            borrowers=[np.random.default_rng(s) for s in borrowers.spawn(n_cohorts)],
            gas=np.random.default_rng(gas),
            mkr=np.random.default_rng(mkr),
            gem=np.random.default_rng(gem),
        )


def _curve(spec) -> Curve:
    kind = spec.kind
    if kind == "linear":
        return Curve(kind="linear", tau=spec.tau)
    if kind == "stairstep":
        return Curve(kind="stairstep", cut=spec.cut, step=spec.step)
    return Curve(kind="exponential", cut=spec.cut)


def _shown(value) -> str:
    """A scenario value as the event log shows it (a number in up to 10 digits)."""
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_shown(v)}" for k, v in value.items()) + "}"
    return str(value)


class _FeedPrice:
    """Clipper feed price ``osm.cur / par`` (a picklable callable, dss ``getFeedPrice``)."""

    def __init__(self, osm: OSM, par: float):
        self.osm = osm
        self.par = par

    def __call__(self) -> float:
        return self.osm.cur / self.par

    def valid(self) -> bool:
        """Whether the OSM's current price is valid (dss ``peek``'s ``has``)."""
        return self.osm.cur_has


class ProtocolModel(mesa.Model):
    """A MakerDAO-style protocol with its agents, built from a :class:`~sim.scenario.Scenario`.

    Use it as a mesa model (``step()``, ``run_for(n)``) or through :func:`sim.run`.

    Attributes:
        spec: the scenario in force (mesa reserves ``scenario`` for its own concept): the one
            given with the spells that took effect so far applied.
        given: the scenario as given (what the manifest records).
        seed: the run seed.
        tick: ticks completed.
        now: seconds since the start.
        vat, jug, vow, dog: protocol contracts.
        clippers: Clipper per ilk (Liquidations 2.0 ilks).
        market: collateral market prices.
        recorder: per-tick series and snapshots.

    Args:
        scenario: the scenario.
        seed: the run seed (default: the scenario's).
        stream: where the growing tables go while the run goes (a run written to a folder,
            :class:`sim.stream.RunStream`); ``None`` keeps them in memory.
    """

    def __init__(
        self, scenario: Scenario, seed: int | None = None, *, stream: RunStream | None = None
    ):
        seed = scenario.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        self.given = scenario
        plan = timeline(scenario)
        scenario = plan.start
        self.spec = scenario
        #: Spells still to take effect, in order.
        self._spells: list[SpellStep] = list(plan.later)
        gov = scenario.governance
        #: The governors (None without any).
        self.governors: Governors | None = (
            Governors(gov, scenario.clock.tick) if gov is not None and gov.governors else None
        )
        #: Whether a governor changed a parameter (later spells then apply their set again on
        #: the scenario in force, not the one computed before the run).
        self._governed = False
        self.seed = seed
        self.dt = scenario.clock.tick
        self.n_ticks = scenario.n_ticks
        self.tick = 0
        self.now = 0.0
        self.streams = Streams.from_seed(seed, len(scenario.borrowers))
        self.check_invariants = scenario.record.check_invariants
        sysp = scenario.system
        self.par = sysp.par

        self._build_environment(scenario)
        self._build_protocol(scenario)
        #: Emergency Shutdown: the End, the ESM, and the process once :meth:`cage` was called.
        self.end, self.esm = build_end(self)
        self.shutdown: Shutdown | None = None
        self._build_agents(scenario)
        # What the tick reads of the scenario, resolved once (attribute chains cost per tick).
        self._oracle_gas_limit = scenario.system.oracle.gas_limit_gwei
        self._ilk_names = list(scenario.ilks)
        self._spotter = [
            (self.vat.ilks[name], self.osms[spec.collateral], spec.mat)
            for name, spec in scenario.ilks.items()
        ]
        #: Per asset, the Clippers whose breaker reads its OSM.
        self._breakers: dict[str, list[Clipper]] = {}
        for name, spec in scenario.ilks.items():
            liq = spec.liquidation
            if isinstance(liq, ClipLiquidation) and liq.breaker is not None:
                self._breakers.setdefault(spec.collateral, []).append(self.clippers[name])
        for k, asset in enumerate(self.assets):
            self.price_history[0, k] = self.market.price(asset)
            self.osm_history[0, k] = self.osms[asset].cur

        self.recorder = Recorder(self, stream=stream)
        for step in plan.at_start:
            self._log_spell(step)
            self._act(step.name, step.actions)
        self.recorder.record()
        self._observe()

    # ------------------------------------------------------------------ construction
    def _note_held(self, name: str, process: px.PriceProcess) -> None:
        """Record when a replay held beyond its data ends before the run does."""
        if isinstance(process, px.Replay) and process.beyond == "hold":
            end = float(process.times[-1])
            if 0.0 <= end < self.n_ticks * self.dt:
                self.data_held[name] = end

    def _build_environment(self, scenario: Scenario) -> None:
        """Exogenous price and gas paths for the whole run; the collateral and Dai markets."""
        self.assets = list(scenario.collateral)
        specs = [scenario.collateral[a].price for a in self.assets]
        names = list(self.assets)
        if scenario.mkr is not None:
            specs.append(scenario.mkr.price)
            names.append("MKR")
        processes = [build_price_process(spec, scenario) for spec in specs]
        #: When a replayed series ran out of data and was held (``beyond: hold``), per asset and
        #: ``gas`` [s since the start]; recorded in the manifest for the plots.
        self.data_held: dict[str, float] = {}
        for name, process in zip(names, processes, strict=True):
            self._note_held(name, process)
        corr = correlation_matrix(scenario) if scenario.correlation else None
        paths = px.simulate(processes, self.n_ticks, self.dt, self.streams.prices, corr=corr)
        self.market = Market()
        depths = {asset: scenario.collateral[asset].market for asset in self.assets}
        if scenario.mkr is not None:
            # Without a depth MKR trades at its exogenous price (NoDepth), as before.
            depths["MKR"] = scenario.mkr.market
        for asset, depth in depths.items():
            if depth is not None:
                impact = (
                    LogLinear(depth.depth_usd_2pct)
                    if depth.depth_usd_2pct is not None
                    else ConstantProduct(depth.pool_usd)
                )
                self.market.configure(asset, impact, depth.recovery_half_life)
        self._has_mkr = scenario.mkr is not None
        self.price_agent = PriceShockAgent(self, names, paths)
        self.price_agent.publish(0)
        psm = scenario.system.psm
        #: The PSM stablecoin's market price per tick [USD/token] (None: pegged at 1).
        self.gem_path: np.ndarray | None = None
        if psm is not None and psm.price is not None:
            gem_process = build_price_process(psm.price, scenario)
            self._note_held(f"PSM-{psm.gem}", gem_process)
            self.gem_path = gem_process.path(self.n_ticks, self.dt, self.streams.gem)
        #: The PSM stablecoin's market price this tick [USD/token].
        self.gem_price = 1.0 if self.gem_path is None else float(self.gem_path[0])
        dai = scenario.dai
        self.dai_market = (
            DaiMarket(dai.depth_usd_2pct, dai.recovery_half_life, par=self.par)
            if dai is not None
            else DaiMarket.pegged(self.par)
        )
        net = scenario.network
        if net is not None:
            gas_process = build_gas_process(net.gas, scenario)
            self._note_held("gas", gas_process)
            self.gas_path = gas_process.path(self.n_ticks, self.dt, self.streams.gas)
            self.gas_sigma = self._background_sigma(net.gas, scenario)
            #: The tick's blocks, shared by every agent's transactions.
            self.blocks: BlockMarket | None = BlockMarket(net.block_time, float(net.gas_limit))
        else:
            self.gas_path = np.zeros(self.n_ticks + 1)
            self.gas_sigma = np.zeros(self.n_ticks + 1)
            self.blocks = None
        self.gas_price = float(self.gas_path[0])
        #: Gas used per protocol call (assumptions in sim/market/gas.py, scenario overrides).
        self.gas_used = {**gasm.GAS_USED, **(net.gas_used if net is not None else {})}
        # Observed history, for keepers with latency: market prices and OSM prices per tick.
        self.price_history = np.zeros((self.n_ticks + 1, len(self.assets)))
        self.osm_history = np.zeros((self.n_ticks + 1, len(self.assets)))
        self._asset_col = {a: k for k, a in enumerate(self.assets)}

    def _background_sigma(self, spec, scenario: Scenario) -> np.ndarray:
        """The background demand's log spread per tick [-]: from the p90 column, else 0."""
        if not isinstance(spec, ReplayGasSpec) or spec.p90_column is None:
            return np.zeros(self.n_ticks + 1)
        central = build_gas_process(spec.model_copy(update={"after": None}), scenario)
        p90 = build_gas_process(
            spec.model_copy(update={"column": spec.p90_column, "after": None}), scenario
        )
        rng = np.random.default_rng(0)  # replays draw nothing
        return sigma_from_p90(
            central.path(self.n_ticks, self.dt, rng), p90.path(self.n_ticks, self.dt, rng)
        )

    def _build_protocol(self, scenario: Scenario) -> None:
        """Vat, Jug, Pot, oracles, Vow with its auction houses, Dog/Cat and the auction houses."""
        sysp = scenario.system
        self.vat = Vat(Line=np.inf if sysp.Line is None else sysp.Line)
        v = sysp.vow
        self.vow = Vow(self.vat, wait=v.wait, sump=v.sump, dump=v.dump, bump=v.bump, hump=v.hump)
        self.vow.flopper = Flopper(
            self.vow, beg=v.flop.beg, pad=1.0 + v.pad, ttl=v.flop.ttl, tau=v.flop.tau
        )
        self.vow.flapper = Flapper(
            self.vow, beg=v.flap.beg, ttl=v.flap.ttl, tau=v.flap.tau, lid=v.lid
        )
        self.jug = Jug(self.vat, base=sysp.base_fee)
        self.pot = Pot(self.vat, dsr=sysp.dsr)
        self.medians = {a: Medianizer(self.market.price(a)) for a in self.assets}
        self.osms = {a: OSM.start(self.market.price(a), sysp.oracle.hop) for a in self.assets}
        self.dog = Dog(self.vat, self.vow, Hole=sysp.Hole)
        # One Cat; each flip ilk keeps its own version (1.0 or 1.2), as on mainnet.
        self.cat = Cat(self.vat, self.vow, box=np.inf if sysp.box is None else sysp.box)
        self.clippers: dict[str, Clipper] = {}
        self.flippers: dict[str, Flipper] = {}
        sizes = {name: 0 for name in scenario.ilks}
        for cohort in scenario.borrowers:
            sizes[cohort.ilk] += cohort.vaults
        for name, spec in scenario.ilks.items():
            ilk = self.vat.init_ilk(name, sizes[name], line=spec.line, dust=spec.dust)
            ilk.spot = spot_price(self.osms[spec.collateral].cur, self.par, spec.mat)
            self.jug.duty[name] = spec.stability_fee
            self.jug.rho[name] = 0.0
            liq = spec.liquidation
            chop = 1.0 + liq.chop
            if isinstance(liq, ClipLiquidation):
                feed = self._feed(spec.collateral)
                clip = Clipper(
                    self.vat,
                    name,
                    self.vow,
                    feed_price=feed,
                    feed_valid=feed.valid,
                    buf=liq.buf,
                    tail=liq.tail,
                    cusp=liq.cusp,
                    chip=liq.chip,
                    tip=liq.tip,
                    curve=_curve(liq.curve),
                    chop=chop,
                    stopped=liq.stopped,
                )
                self.dog.add_ilk(clip, chop=chop, hole=liq.hole)
                self.clippers[name] = clip
            else:
                flip = Flipper(self.vat, name, beg=liq.beg, ttl=liq.ttl, tau=liq.tau)
                if liq.version == "1.0":
                    self.cat.add_ilk(flip, chop=chop, lump=liq.lump, version="1.0")
                else:
                    self.cat.add_ilk(flip, chop=chop, dunk=liq.dunk, version="1.2")
                self.flippers[name] = flip
        #: DC-IAM: the ilks whose ceiling follows their debt (DssAutoLine).
        self.autoline = AutoLine(self.vat)
        #: The Clippers' circuit breaker (ClipperMom).
        self.clipper_mom = ClipperMom()
        for name, spec in scenario.ilks.items():
            if spec.autoline is not None:
                a = spec.autoline
                self.autoline.set_ilk(name, line=a.line, gap=a.gap, ttl=a.ttl)
            liq = spec.liquidation
            if isinstance(liq, ClipLiquidation) and liq.breaker is not None:
                self.clipper_mom.set_price_tolerance(self.clippers[name], liq.breaker.tolerance)
        self.psm: PSM | None = None
        if sysp.psm is not None:
            p = sysp.psm
            self.psm = PSM(self.vat, f"PSM-{p.gem}-A", line=p.line, tin=p.tin, tout=p.tout)
            if p.start > 0:
                self.psm.sell_gem("psm-start", p.start)
                self.vat.exit_dai("psm-start", self.vat.dai.get("psm-start", 0.0))
            if p.autoline is not None:
                a = p.autoline
                self.autoline.set_ilk(self.psm.ilk, line=a.line, gap=a.gap, ttl=a.ttl)
        if sysp.dsr_deposits > 0:
            self.vat.join_dai("savers", sysp.dsr_deposits)
            self.pot.join("savers", sysp.dsr_deposits / self.pot.chi)

    def _build_agents(self, scenario: Scenario) -> None:
        """Borrower cohorts (opening their vaults), keepers, MKR bidders, the arbitrageur."""
        self.cohorts: list[BorrowerCohort] = []
        offsets = {name: 0 for name in scenario.ilks}
        for k, spec in enumerate(scenario.borrowers):
            lo = offsets[spec.ilk]
            hi = lo + spec.vaults
            offsets[spec.ilk] = hi
            cohort = BorrowerCohort(self, spec, lo, hi, owner_id=k)
            asset = scenario.ilks[spec.ilk].collateral
            dust = scenario.ilks[spec.ilk].dust
            book = cohort_rows(scenario, spec) if spec.book is not None else None
            ink, debt = initial_book(spec, self.market.price(asset), cohort.stream, dust, book)
            self.vat.open_vaults(spec.ilk, np.arange(lo, hi), ink, debt, owner=k)
            cohort.fund_wallets()
            self.cohorts.append(cohort)
        self.keepers: list[Keeper] = []
        self._first_keeper: Keeper | None = None
        for spec in scenario.keepers:
            for j in range(spec.count):
                name = spec.name if spec.count == 1 else f"{spec.name}-{j + 1}"
                self.keepers.append(Keeper(self, spec, name))
        self.mkr_bidders: list[MkrBidder] = (
            make_bidders(self, scenario.mkr, self.streams.mkr) if scenario.mkr is not None else []
        )
        self.arbitrageur: PsmArbitrageur | None = None
        if self.psm is not None and scenario.system.psm.arbitrage:
            self.arbitrageur = PsmArbitrageur(self, scenario.system.psm.arbitrage_usd)

    # ------------------------------------------------------------------ wiring helpers
    def _feed(self, asset: str):
        return _FeedPrice(self.osms[asset], self.par)

    def liquidator(self, ilk_name: str) -> Clipper | Flipper:
        """The auction house of an ilk (its Clipper or Flipper)."""
        house = self.clippers.get(ilk_name)
        return house if house is not None else self.flippers[ilk_name]

    def eth_price(self) -> float:
        """The ETH market price used to value gas [USD/ETH] (0 without a network section)."""
        net = self.spec.network
        return self.market.price(net.eth) if net is not None else 0.0

    def mkr_price(self) -> float:
        """The MKR market price [USD/MKR] (NaN without an ``mkr`` section)."""
        return self.market.price("MKR") if self._has_mkr else float("nan")

    def price_seen(self, asset: str, lag: int) -> float:
        """The market price of ``asset`` ``lag`` ticks ago (the current one for lag 0)."""
        if lag <= 0:
            return self.market.price(asset)
        return float(self.price_history[max(self.tick - lag, 0), self._asset_col[asset]])

    def spot_seen(self, ilk_name: str, lag: int) -> float:
        """The ilk's ``spot`` as it was ``lag`` ticks ago."""
        spec = self.spec.ilks[ilk_name]
        if lag <= 0:
            return self.vat.ilks[ilk_name].spot
        osm = self.osm_history[max(self.tick - lag, 0), self._asset_col[spec.collateral]]
        return spot_price(float(osm), self.par, spec.mat)

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
        now, t = self.now, self.tick
        # 0 governance: spells taking effect in this tick
        while self._spells and self._spells[0].tick <= t:
            self.apply_spell(self._spells.pop(0))
        if self.governors is not None:
            for firing in self.governors.due(t):
                self.apply_firing(firing)
        # 1 exogenous prices
        self.price_agent.step()
        if self.gem_path is not None:
            self.gem_price = float(self.gem_path[t])
        # 2 markets and gas
        self.market.step(self.dt)
        self.dai_market.step(self.dt)
        self.gas_price = float(self.gas_path[t])
        if self.blocks is not None:
            self.blocks.open_tick(self.dt, self.gas_price, float(self.gas_sigma[t]))
        # 3 oracle
        limit = self._oracle_gas_limit
        blocks = self.blocks
        lands = limit is None or self.gas_price <= limit
        for k, asset in enumerate(self.assets):
            price = self.market.price(asset)
            median = self.medians[asset]
            if blocks is not None:
                # The relayers bid their gas limit (or the tick's price) for the poke.
                bid = self.gas_price if limit is None else limit
                lands = blocks.send(bid, self.gas_used["poke"], 1, "oracle") == 1
                blocks.refuse("oracle", 0 if lands else 1)
            median.poke(price, now, lands=lands)
            osm = self.osms[asset]
            if osm.poke(median.value, now):
                for clip in self._breakers.get(asset, ()):
                    if self.clipper_mom.can_trip(clip, osm, now):
                        self.clipper_mom.trip_breaker(clip, osm, now)
            self.price_history[t, k] = price
            self.osm_history[t, k] = osm.cur
        shutdown = self.shutdown
        if shutdown is None:  # after cage the Spotter, Jug and DC-IAM can no longer file
            for book, osm, mat in self._spotter:
                # dss spot.sol poke (lines 98-103): an invalid price (a voided OSM) files spot 0.
                book.spot = spot_price(osm.cur, self.par, mat) if osm.cur_has else 0.0
        # 4 rates
        if shutdown is None:
            for name in self._ilk_names:
                self.jug.drip(name, now)
        if self.pot.Pie > 0 or self.pot.dsr > 0:
            self.pot.drip(now)
        for name in self.autoline.ilks if shutdown is None else ():
            self.autoline.exec(name, now, t)
        if shutdown is not None:
            # Emergency Shutdown: no agent acts; the End's process runs (sim/shutdown.py)
            self.recorder.sample_unsafe()
            shutdown.step(now)
        else:
            self._agents_step()
        # 7 vow
        self.vow.step(now)
        # 8 record
        if self.finished:
            self.running = False
        self.recorder.record()
        self._observe()
        if self.check_invariants and (t % 10 == 0 or self.finished):
            # Scalar accounts every 10 ticks; the per-vault sums every 100 ticks and at the end.
            problems = self.vat.check(full=t % 100 == 0 or self.finished)
            if problems:
                raise InvariantError(f"tick {t}: " + "; ".join(problems))

    def _agents_step(self) -> None:
        """Steps 5-6 of the tick: borrowers, keepers, MKR bidders and the arbitrageur."""
        # 5-6 borrowers and keepers, in the scenario's order; the recorder samples the unsafe
        # vaults just before the first keeper acts (Ilk.unsafe is cached: the look is free)
        for agent in self._activation_order():
            if agent is self._first_keeper:
                self.recorder.sample_unsafe()
            agent.step()
        if self._first_keeper is None:
            self.recorder.sample_unsafe()
        # then the MKR bidders and the arbitrageur
        if self.mkr_bidders:
            step_bidders(self.mkr_bidders)
        if self.arbitrageur is not None:
            self.arbitrageur.step()

    # ------------------------------------------------------------------ emergency shutdown
    def cage(self, now: float | None = None) -> None:
        """Start Emergency Shutdown now: the End cages and every ilk's cage price is fixed.

        The single entry point of shutdown (the ESM's ``fire`` and a governance ``cage``
        action call it). ``End.cage`` and ``cage(ilk)`` for every ilk (at its OSM's current
        price) happen at once, at the current tick's time; from the next tick on, no agent
        acts and the process of :class:`sim.shutdown.Shutdown` runs: auctions snipped and
        skipped, vaults skimmed, collateral freed, and after ``system.end.wait`` thaw, flow and
        every Dai holder's pack and cash.

        Args:
            now: the time of the cage [s]; must be the model's current time (default).

        Raises:
            ValueError: ``now`` is not the current time.
            ProtocolError: already caged (``End/not-live``).
        """
        if now is not None and now != self.now:
            raise ValueError(f"cage at {now!r} s: the model is at {self.now!r} s")
        shutdown = Shutdown(self)
        shutdown.start(self.now)
        self.shutdown = shutdown

    # ------------------------------------------------------------------ governance
    def apply_spell(self, step: SpellStep) -> None:
        """Put a spell's scenario in force: its changes in the live protocol, then its actions.

        After a governor changed a parameter, the spell's ``set`` is applied again on the
        scenario in force (the one computed before the run did not know the governor's values);
        should that fail the checks, the spell's changes are refused and logged. After an
        Emergency Shutdown its changes are refused and logged (the caged contracts refuse
        ``file``); its actions are still called (each refuses what a shutdown forbids).
        """
        if not step.sets:
            pass  # actions only: the scenario in force stays as it is (a governor's values too)
        elif self.shutdown is not None:
            self.vat.log.add("spell", actor=f"{step.name}: refused: {SHUT_DOWN}")
        elif self._governed:
            try:
                new, changes = rebase(self.spec, step.sets)
            except ValueError as exc:
                self.vat.log.add("spell", actor=f"{step.name}: refused: {exc}")
            else:
                step = SpellStep(
                    step.index, step.name, step.effect_s, step.tick, new, changes, step.actions
                )
                self.apply_changes(new, changes)
                self.spec = new
                self._log_spell(step)
        else:
            self.apply_changes(step.scenario, step.changes)
            self.spec = step.scenario
            self._log_spell(step)
        self._act(step.name, step.actions)

    def apply_firing(self, firing: Firing) -> None:
        """Put a governor's firing in force: its values on the scenario in force, its actions.

        Logged as ``spell`` events with the governor's name; values that no longer pass the
        checks (a spell changed a field they depend on), or come after an Emergency Shutdown, are
        refused and logged.
        """
        if firing.values and self.shutdown is not None:
            self.vat.log.add("spell", actor=f"{firing.name}: refused: {SHUT_DOWN}")
        elif firing.values:
            try:
                new, changes = rebase(self.spec, firing.values)
            except ValueError as exc:
                self.vat.log.add("spell", actor=f"{firing.name}: refused: {exc}")
            else:
                self.apply_changes(new, changes)
                self.spec = new
                self._governed = True
                self._log_spell(SpellStep(-1, firing.name, self.now, self.tick, new, changes))
        self._act(firing.name, firing.actions)

    def _act(self, name: str, actions) -> None:
        """Call a spell's or a governor's actions in order; one ``spell`` event each."""
        for action in actions:
            ilk, text = apply_action(self, action)
            self.vat.log.add("spell", ilk=ilk, actor=f"{name}: {text}")

    def _observe(self) -> None:
        """Show the governors the tick's recorded row; log the firings they refused.

        After an Emergency Shutdown the governors no longer watch (nothing they change would
        be accepted).
        """
        if self.governors is None or self.shutdown is not None:
            return
        t = self.tick
        _, refused = self.governors.observe(t, lambda q: self.recorder.value(q, t), self.spec)
        for name, reason in refused:
            self.vat.log.add("spell", actor=f"{name}: not fired: {reason}")

    def _log_spell(self, step: SpellStep) -> None:
        """One ``spell`` event per changed field (actor ``NAME: field old → new``)."""
        for change in step.changes:
            ilk = str(change.path[1]) if change.path[0] == "ilks" else ""
            self.vat.log.add(
                "spell",
                ilk=ilk,
                actor=f"{step.name}: {change.field} {_shown(change.old)} → {_shown(change.new)}",
            )

    def apply_changes(self, new: Scenario, changes: list[Change] | tuple[Change, ...]) -> None:
        """Set the changed fields of ``new`` on the live protocol, as governance would ``file`` them.

        Only the fields of :data:`sim.scenario.governance.CHANGEABLE` (validation refuses a
        spell changing any other). The stability fee and the base fee are changed after a
        ``drip`` at the old rate up to now (dss ``Jug.file`` requires it); the DSR after the
        Pot's ``drip``. A new ``mat`` reaches ``spot`` in this tick's oracle step; a new ``dust``
        or ``chop`` recaches the Clipper's ``chost`` (dss ``upchost``).

        Args:
            new: the scenario in force from now on.
            changes: the fields that differ from the scenario in force until now.

        Raises:
            ValueError: a change of a field that cannot change during a run.
        """
        now = self.now
        for change in changes:
            path = change.path
            if path[0] == "ilks":
                self._file_ilk(str(path[1]), new, path[2:])
            elif path[0] == "system":
                self._file_system(new, path[1:], now)
            else:
                raise ValueError(f"{change.field} cannot change during a run")

    def _file_ilk(self, name: str, new: Scenario, path: tuple) -> None:
        """An ilk's changed parameter (``path`` below ``ilks.<name>``)."""
        spec = new.ilks[name]
        book = self.vat.ilks[name]
        what = path[0]
        if what == "mat":
            self._spotter = [
                (self.vat.ilks[n], self.osms[s.collateral], s.mat) for n, s in new.ilks.items()
            ]
            for cohort in self.cohorts:
                if cohort.ilk == name:
                    cohort.mat = spec.mat
        elif what == "stability_fee":
            self.jug.drip(name, self.now)
            self.jug.duty[name] = spec.stability_fee
        elif what == "line":
            book.line = spec.line
        elif what == "dust":
            book.dust = spec.dust
            if name in self.clippers:
                self.clippers[name].upchost()
        elif what == "liquidation":
            self._file_liquidation(name, spec.liquidation, str(path[1]))
        else:
            raise ValueError(f"ilks.{name}.{what} cannot change during a run")

    def _file_liquidation(self, name: str, liq, what: str) -> None:
        """An ilk's changed liquidation parameter: its Dog/Cat entry and auction house."""
        if isinstance(liq, ClipLiquidation):
            clip = self.clippers[name]
            if what == "chop":
                self.dog.ilks[name].chop = clip.chop = 1.0 + liq.chop
                clip.upchost()
            elif what == "hole":
                self.dog.ilks[name].hole = liq.hole
            elif what == "curve":
                clip.curve = _curve(liq.curve)
            elif what in ("buf", "tail", "cusp", "chip", "tip"):
                setattr(clip, what, float(getattr(liq, what)))
            else:
                raise ValueError(f"ilks.{name}.liquidation.{what} cannot change during a run")
            clip._status_memo = None  # prices and reset flags follow the new parameters
            return
        flip = self.flippers[name]
        if what == "chop":
            self.cat.ilks[name].chop = 1.0 + liq.chop
        elif what in ("lump", "dunk"):
            setattr(self.cat.ilks[name], what, float(getattr(liq, what)))
        elif what in ("beg", "ttl", "tau"):
            setattr(flip, what, float(getattr(liq, what)))
        else:
            raise ValueError(f"ilks.{name}.liquidation.{what} cannot change during a run")

    def _file_system(self, new: Scenario, path: tuple, now: float) -> None:
        """A changed system parameter (``path`` below ``system``)."""
        sysp = new.system
        what = path[0]
        if what == "Line":
            self.vat.Line = np.inf if sysp.Line is None else sysp.Line
        elif what == "Hole":
            self.dog.Hole = sysp.Hole
        elif what == "box":
            self.cat.box = np.inf if sysp.box is None else sysp.box
        elif what == "base_fee":
            for name in self._ilk_names:
                self.jug.drip(name, now)
            self.jug.base = sysp.base_fee
        elif what == "dsr":
            self.pot.drip(now)
            self.pot.dsr = sysp.dsr
        elif what == "oracle" and path[1] == "hop":
            for osm in self.osms.values():
                osm.hop = sysp.oracle.hop
        elif what == "vow":
            self._file_vow(sysp.vow, path[1:])
        elif what == "psm" and self.psm is not None and sysp.psm is not None:
            if path[1] in ("tin", "tout"):
                setattr(self.psm, path[1], getattr(sysp.psm, path[1]))
            elif path[1] == "line":
                self.vat.ilks[self.psm.ilk].line = sysp.psm.line
            elif path[1] == "autoline":
                # DssExecLib.setIlkAutoLineParameters: setIlk afresh (its last/lastInc reset).
                a = sysp.psm.autoline
                if a is None:
                    self.autoline.rem_ilk(self.psm.ilk)
                else:
                    self.autoline.set_ilk(self.psm.ilk, line=a.line, gap=a.gap, ttl=a.ttl)
            else:
                raise ValueError(f"system.psm.{path[1]} cannot change during a run")
        else:
            raise ValueError(f"system.{'.'.join(map(str, path))} cannot change during a run")

    def _file_vow(self, v, path: tuple) -> None:
        """A changed Vow parameter, or one of its auction houses'."""
        what = path[0]
        vow = self.vow
        if what in ("wait", "sump", "dump", "bump", "hump"):
            setattr(vow, what, float(getattr(v, what)))
        elif what == "pad":
            vow.flopper.pad = 1.0 + v.pad
        elif what == "lid":
            vow.flapper.lid = v.lid
        elif what in ("flop", "flap") and len(path) > 1:
            house = vow.flopper if what == "flop" else vow.flapper
            setattr(house, path[1], float(getattr(getattr(v, what), path[1])))
        else:
            raise ValueError(f"system.vow.{'.'.join(map(str, path))} cannot change during a run")

    def _activation_order(self) -> list[BorrowerCohort | Keeper]:
        """Borrower cohorts and keepers in this tick's order (``schedule.order``).

        ``interleaved``: cohorts and keepers in a fresh random order (the keepers' stream), so a
        borrower's top-up can lose the race to a bark; with a network, sorted by gas bid, highest
        first, as a block builder orders transactions (the random order breaks ties). Otherwise
        all cohorts before (after) all keepers, keepers in a random order, each group sorted by
        bid with a network.
        Sets :attr:`_first_keeper`, the keeper that acts first (None without keepers).
        """
        order = self.spec.schedule.order
        stream = self.streams.keepers
        if order == "interleaved":
            agents: list[BorrowerCohort | Keeper] = [*self.cohorts, *self.keepers]
            agents = [agents[k] for k in stream.permutation(len(agents))] if agents else []
            if self.blocks is not None:
                agents.sort(key=_minus_bid)  # stable: the shuffle breaks ties
        else:
            keepers = (
                [self.keepers[k] for k in stream.permutation(len(self.keepers))]
                if self.keepers
                else []
            )
            cohorts = list(self.cohorts)
            if self.blocks is not None:
                keepers.sort(key=_minus_bid)
                cohorts.sort(key=_minus_bid)
            agents = [*cohorts, *keepers] if order == "borrowers_first" else [*keepers, *cohorts]
        self._first_keeper = next((a for a in agents if isinstance(a, Keeper)), None)
        return agents

    def run(self) -> None:
        """Run to the end of the scenario's duration."""
        while not self.finished:
            self.step()
