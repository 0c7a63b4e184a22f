"""The benchmark model written the idiomatic per-agent mesa way: the reference for speed and rules.

One :class:`VaultAgent` per vault (its ``ink`` and ``art`` as Python floats, its own
``target_cr`` decision each step), :class:`KeeperAgent` s that loop over the vault agents to find
unsafe ones and over the auctions (:class:`Auction` objects) to reset and take them, and a mesa
``DataCollector`` with model reporters for the per-tick series of ``sim.record`` and an agent
reporter for every vault's CR every tick (as the per-agent way records).

The protocol rules (Vat ``frob``/``grab``/``suck``/``move``/``heal``, Jug ``drip``, Dog ``bark``
with its ``hole``/``Hole`` room and ``dust`` rules, Clipper ``kick``/``take``/``redo`` with ``chost``
and the keeper incentives, the Vow's ``flog``/``heal``/``flop``/``flap`` kicks) are written here
per vault and per auction in plain Python, one dss call at a time. Only pure formulas and the
environment are shared with cdpsim: the seed streams (:class:`sim.model.Streams`), the price and
gas paths (:func:`sim.market.prices.simulate`, the gas processes), the oracles
(:class:`~sim.protocol.oracle.Medianizer`, :class:`~sim.protocol.oracle.OSM`,
:func:`~sim.protocol.oracle.spot_price`), fee accrual (:func:`~sim.protocol.jug.accrue`), the
auction price curves and the gas cost formula.

It covers the features the benchmark family uses (``benchmarks/bench_scenario.py``): one or more
Liquidations 2.0 ilks, ``passive`` and ``target_cr``/``lock`` cohorts, default keepers without
latency or flash loans, no market depth, a pegged Dai, no MKR bidders, no PSM, no DSR; other
scenarios raise :class:`NotImplementedError`.

With the same scenario and seed it reproduces :func:`sim.run`: the same random draws in the same
order (a cohort's reaction draws one number per triggered vault, in vault order; the keepers'
order is ``streams.keepers.permutation`` every tick, sorted by gas bid, highest first), the
same operations in the same order. The benchmark's blocks never fill (30 M gas each), so a keeper
lands everything when its bid reaches the tick's gas price and nothing otherwise.
Results agree to float rounding, not bit for bit: the vectorised code sums arrays pairwise
(numpy) where this model adds one vault or auction at a time.

Units (dss names): ``ink`` collateral [tokens], ``art`` normalised debt [Dai at rate 1], ``rate``
fee multiplier [-], ``spot`` price with margin [Dai/token], ``tab`` Dai to raise [Dai], ``lot``
collateral on sale [tokens], ``top`` start price [Dai/token], ``tic`` (re)start time [s].
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import mesa
import numpy as np
import pandas as pd

from sim.market.gas import GAS_BARK, GAS_REDO, GAS_TAKE, ConstantGas, SpikeGas, tx_cost_eth
from sim.market.prices import GBM, simulate
from sim.model import Streams
from sim.protocol.clip import exponential_price, linear_price, stairstep_price
from sim.protocol.jug import accrue
from sim.protocol.oracle import OSM, Medianizer, spot_price
from sim.record import BLOCK_FIELDS, ILK_FIELDS, SYSTEM_FIELDS, col, quantile_name
from sim.scenario import (
    ClipLiquidation,
    ConstantGasSpec,
    GbmPrice,
    MarketKeeperStrategy,
    PassiveStrategy,
    Scenario,
    SpikeGasSpec,
    TargetCrStrategy,
)

#: Relative tolerance of the float accounting (as ``sim.protocol.vat.REL_TOL``).
REL_TOL = 1e-9
#: The Vow's account.
VOW = "vow"
#: Columns of :meth:`ReferenceModel.auctions_frame` (names as in cdpsim's auction table).
AUCTION_COLUMNS = (
    "ilk",
    "auction",
    "vault",
    "start_tick",
    "end_tick",
    "tab",
    "lot",
    "due",
    "dai_raised",
    "collateral_sold",
    "collateral_returned",
    "winner",
    "redos",
    "coin",
)
#: Most debt/surplus auctions the Vow starts in one tick (as ``sim.protocol.vow.MAX_KICKS``).
MAX_KICKS = 10_000


class ReferenceError(RuntimeError):
    """A call the reference model refuses (dss would revert where cdpsim raises)."""


def _tol(x: float) -> float:
    return 1e-9 * max(abs(x), 1.0)


# ------------------------------------------------------------------------------------ state
@dataclass
class Auction:
    """One Clipper sale (a plain Python object).

    ``tab`` [Dai] and ``lot`` [tokens] still for sale, ``tic`` [s] and ``top`` [Dai/token] of the
    current (re)start; the rest is bookkeeping for the auction table.
    """

    id: int
    ilk: str
    usr: int
    tab: float
    lot: float
    tic: float
    top: float
    start_tick: int
    tab0: float
    lot0: float
    due: float
    coin: float
    active: bool = True
    end_tick: int = -1
    raised: float = 0.0
    sold: float = 0.0
    returned: float = 0.0
    redos: int = 0
    winner: str = ""


@dataclass
class IlkState:
    """One collateral type: parameters and accumulators (the vaults are agents).

    ``rate`` [-], ``spot`` [Dai/token], ``line`` and ``dust`` [Dai], ``Art`` total normalised
    debt, ``Ink`` collateral in vaults [tokens], ``joined``/``exited`` [tokens]; Dog ``chop`` [-],
    ``hole``/``dirt`` [Dai]; Clipper ``buf``, ``tail`` [s], ``cusp``, ``chip``, ``tip`` [Dai],
    ``chost`` [Dai] and the curve.
    """

    name: str
    collateral: str
    mat: float
    duty: float
    line: float
    dust: float
    chop: float
    hole: float
    buf: float
    tail: float
    cusp: float
    chip: float
    tip: float
    curve_kind: str
    curve_tau: float
    curve_cut: float
    curve_step: float
    stopped: int
    rate: float = 1.0
    spot: float = 0.0
    Art: float = 0.0
    Ink: float = 0.0
    joined: float = 0.0
    exited: float = 0.0
    dirt: float = 0.0
    rho: float = 0.0
    kicks: int = 0
    kicks_seen: int = 0

    @property
    def chost(self) -> float:
        """``dust · chop``: the least tab a partial take may leave [Dai]."""
        return self.dust * self.chop

    def curve_price(self, top: float, dur: float) -> float:
        """The auction price after ``dur`` seconds from ``top`` [Dai/token]."""
        if self.curve_kind == "linear":
            return float(linear_price(top, dur, self.curve_tau))
        if self.curve_kind == "stairstep":
            return float(stairstep_price(top, dur, self.curve_cut, self.curve_step))
        return float(exponential_price(top, dur, self.curve_cut))


# ------------------------------------------------------------------------------------ agents
class PriceAgent(mesa.Agent):
    """Publishes the pre-drawn exogenous prices, one row per tick."""

    def __init__(self, model: ReferenceModel, assets: list[str], paths: np.ndarray):
        super().__init__(model)
        self.assets = assets
        self.paths = paths

    def step(self) -> None:
        """Set every asset's market price to this tick's row (no market depth)."""
        row = self.paths[min(self.model.tick, self.paths.shape[0] - 1)]
        for j, asset in enumerate(self.assets):
            self.model.prices[asset] = float(row[j]) * math.exp(0.0)


class VaultAgent(mesa.Agent):
    """One vault and its owner's strategy.

    Attributes:
        index: the vault's number in its ilk (as cdpsim's book index).
        ilk: ilk name.
        cohort: index of the borrower cohort that opened it.
        ink: collateral [tokens].
        art: normalised debt [Dai at rate 1].
        strategy: the cohort's strategy spec.
        stream: the cohort's random generator.
        wallet: reserve for top-ups [tokens].
        since: time the vault first fell below the trigger [s], NaN when above.
    """

    def __init__(self, model: ReferenceModel, index: int, ilk: str, cohort: int, strategy, stream):
        super().__init__(model)
        self.index = index
        self.ilk = ilk
        self.cohort = cohort
        self.strategy = strategy
        self.stream = stream
        self.ink = 0.0
        self.art = 0.0
        self.wallet = 0.0
        self.since = math.nan

    @property
    def cr(self) -> float:
        """Collateral ratio at the market price (NaN without debt) [-]."""
        model = self.model
        ilk = model.ilks[self.ilk]
        debt = self.art * ilk.rate
        if debt <= 0:
            return math.nan
        return self.ink * model.prices[ilk.collateral] / debt

    def step(self) -> None:
        """The owner's decision this tick (``target_cr``: top up from the wallet)."""
        st = self.strategy
        if not isinstance(st, TargetCrStrategy):
            return
        model = self.model
        ilk = model.ilks[self.ilk]
        price = model.prices[ilk.collateral]
        triggered = self.ink * (price / (ilk.rate * st.trigger)) < self.art
        if not triggered:
            self.since = math.nan
            return
        if math.isnan(self.since):
            self.since = model.now
        if not model.now - self.since >= st.delay:
            return
        if st.react_prob < 1.0 and not self.stream.random() < st.react_prob:
            return
        if not self.wallet > 0:
            return
        need = self.art * ilk.rate * st.target / price - self.ink
        dink = min(max(need, 0.0), self.wallet)
        if dink > 0 and model.frob(self, dink, 0.0) == 0:
            self.wallet -= dink
        self.since = math.nan


class KeeperAgent(mesa.Agent):
    """A keeper: barks unsafe vaults, resets and takes auctions, sells what it bought.

    Attributes:
        name: account name.
        capital: starting Dai [Dai].
        discount: required discount below the market price [-].
        gas_bid: gas price bid [gwei] (None: bids the tick's gas price).
        gas_usd: gas spent so far [USD].
    """

    def __init__(self, model: ReferenceModel, name: str, capital: float, discount: float, gas_bid):
        super().__init__(model)
        self.name = name
        self.capital = float(capital)
        self.discount = float(discount)
        self.gas_bid = gas_bid
        self.gas_usd = 0.0
        model.dai[name] = model.dai.get(name, 0.0) + self.capital

    @property
    def dai(self) -> float:
        """Dai held [Dai]."""
        return self.model.dai.get(self.name, 0.0)

    def profit(self) -> float:
        """Dai + held collateral at market − capital − gas [Dai]."""
        model = self.model
        held = sum(
            model.gem.get((name, self.name), 0.0) * model.prices[ilk.collateral]
            for name, ilk in model.ilks.items()
        )
        return self.dai + held - self.capital - self.gas_usd

    def gas_cost(self, gas_used: float) -> float:
        """Cost of one transaction [USD]."""
        model = self.model
        gwei = model.gas_price if self.gas_bid is None else self.gas_bid
        return tx_cost_eth(gas_used, gwei) * model.eth_price()

    def step(self) -> None:
        """Bark, redo and take on every ilk, then sell the collateral bought."""
        model = self.model
        if not (self.gas_bid is None or self.gas_bid >= model.gas_price):
            return
        for ilk in model.ilks.values():
            self.bark_unsafe(ilk)
            if any(a.active for a in model.auctions[ilk.name]):
                self.work_auctions(ilk)
        self.sell_all()

    def bark_unsafe(self, ilk: IlkState) -> None:
        """Look at every vault; bark the unsafe ones whose incentive pays the gas."""
        model = self.model
        unsafe = model.unsafe_vaults(ilk)
        if not unsafe or ilk.stopped >= 1:
            return
        gas = self.gas_cost(GAS_BARK)
        take_gas = self.gas_cost(GAS_TAKE)
        market = model.prices[ilk.collateral]
        takes = self.dai > 0
        for vault in unsafe:
            tab = vault.art * ilk.rate * ilk.chop
            # The incentive, plus for a keeper that takes the profit it expects from the lot.
            expected = self.discount * min(tab, vault.ink * market) - take_gas if takes else 0.0
            worth = ilk.tip + ilk.chip * tab + max(expected, 0.0)
            if worth > gas and model.bark(ilk, vault, self) is not None:
                self.gas_usd += gas

    def work_auctions(self, ilk: IlkState) -> None:
        """Reset the auctions that need it, then take the good ones, best discount first."""
        model = self.model
        running = [a for a in model.auctions[ilk.name] if a.active]
        status = [(a, *model.status(ilk, a)) for a in running]
        if any(done for _, done, _ in status) and ilk.stopped < 2:
            gas = self.gas_cost(GAS_REDO)
            for a, done, _ in status:
                if done and model.redo(ilk, a, self):
                    self.gas_usd += gas
            status = [(a, *model.status(ilk, a)) for a in running]
        if ilk.stopped >= 3:
            return
        market = model.prices[ilk.collateral]
        gas = self.gas_cost(GAS_TAKE)
        good = []
        for a, done, price in status:
            owe = min(a.lot * price, a.tab)
            value = (owe / (price if price > 0 else 1.0)) * market
            if (
                not done
                and price > 0
                and price <= market * (1.0 - self.discount)
                and value - owe > gas
            ):
                good.append((a, price, owe))
        if not good:
            return
        good.sort(key=lambda item: item[1] / market)  # deepest discount first (stable)
        budget = self.dai
        spent = 0.0
        plan = []
        for a, price, owe in good:
            if not spent < budget:
                break
            left = budget - spent
            amt = a.lot if owe <= left else left / price
            paid = min(owe, left)
            plan.append((a, price, amt, paid * market / price - paid - gas))
            spent += owe
        # The lots taken must pay for their gas together (a last lot cut by the budget may not).
        surplus = 0.0
        for a, price, amt, gain in plan:
            surplus += gain
            if surplus < 0:
                break
            bought, _ = model.take(ilk, a, amt, price, self)
            if bought > 0:
                self.gas_usd += gas

    def sell_all(self) -> None:
        """Sell every token held at the market price and buy Dai at par."""
        model = self.model
        for name, ilk in model.ilks.items():
            key = (name, self.name)
            held = model.gem.get(key, 0.0)
            if held <= 0:
                continue
            model.gem[key] = 0.0
            ilk.exited += held
            usd = held * model.prices[ilk.collateral]
            model.dai[self.name] = model.dai.get(self.name, 0.0) + usd / model.par


# ------------------------------------------------------------------------------------ reporters
def _ilk_reporter(field: str, ilk: str):
    def report(model: ReferenceModel) -> float:
        return model.measure(ilk)[field]

    return report


def _system_reporter(field: str):
    def report(model: ReferenceModel) -> float:
        return model.measure_system()[field]

    return report


def _vault_cr(agent: VaultAgent) -> float:
    return agent.cr


# ------------------------------------------------------------------------------------ model
class ReferenceModel(mesa.Model):
    """The per-agent model of a benchmark scenario; the tick order of :class:`sim.ProtocolModel`.

    Attributes:
        spec: the scenario.
        tick: ticks completed; ``now`` = ``tick · dt`` [s].
        vaults: vault agents per ilk, in book order.
        keepers: keeper agents, in scenario order.
        auctions: Clipper sales per ilk (Python objects), in kick order.
        dai, sin: Vat balances by account [Dai]; ``gem`` collateral outside vaults by
            ``(ilk, account)`` [tokens]; ``debt``/``vice`` [Dai].
        datacollector: per-tick series (model reporters) and per-vault CR (agent reporter).
    """

    def __init__(self, scenario: Scenario, seed: int | None = None, *, record_vaults: bool = True):
        seed = scenario.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        _check_supported(scenario)
        self.spec = scenario
        self.seed = seed
        self.dt = scenario.clock.tick
        self.n_ticks = scenario.n_ticks
        self.tick = 0
        self.now = 0.0
        sysp = scenario.system
        self.par = sysp.par
        self.streams = Streams.from_seed(seed, len(scenario.borrowers))
        # Environment: exogenous paths (the same streams and calls as cdpsim).
        self.assets = list(scenario.collateral)
        processes = []
        for asset in self.assets:
            p = scenario.collateral[asset].price
            processes.append(GBM(start=p.start, vol=p.vol, drift=p.drift))
        paths = simulate(processes, self.n_ticks, self.dt, self.streams.prices)
        self.prices: dict[str, float] = {}
        self.price_agent = PriceAgent(self, self.assets, paths)
        self.price_agent.step()
        gas = scenario.network.gas if scenario.network is not None else None
        if isinstance(gas, ConstantGasSpec):
            self.gas_path = ConstantGas(gas.gwei).path(self.n_ticks, self.dt, self.streams.gas)
        elif isinstance(gas, SpikeGasSpec):
            process = SpikeGas(
                base=gas.base, peak=gas.peak, at=gas.at, over=gas.over, decay=gas.decay
            )
            self.gas_path = process.path(self.n_ticks, self.dt, self.streams.gas)
        else:
            self.gas_path = np.zeros(self.n_ticks + 1)
        self.gas_price = float(self.gas_path[0])
        # Vat and Vow accounts.
        self.Line = math.inf if sysp.Line is None else sysp.Line
        self.debt = 0.0
        self.vice = 0.0
        self.dai: dict[str, float] = {}
        self.sin: dict[str, float] = {}
        self.gem: dict[tuple[str, str], float] = {}
        v = sysp.vow
        self.wait, self.sump, self.dump, self.bump, self.hump = (
            v.wait,
            v.sump,
            v.dump,
            v.bump,
            v.hump,
        )
        self.queue: OrderedDict[float, float] = OrderedDict()
        self.Sin = 0.0
        self.Ash = 0.0
        self.flops = 0
        self.flaps = 0
        self.Hole = sysp.Hole
        self.Dirt = 0.0
        # Oracles and ilks.
        self.medians = {a: Medianizer(self.prices[a]) for a in self.assets}
        self.osms = {a: OSM.start(self.prices[a], sysp.oracle.hop) for a in self.assets}
        self.ilks: dict[str, IlkState] = {}
        for name, spec in scenario.ilks.items():
            liq = spec.liquidation
            curve = liq.curve
            ilk = IlkState(
                name=name,
                collateral=spec.collateral,
                mat=spec.mat,
                duty=spec.stability_fee,
                line=spec.line,
                dust=spec.dust,
                chop=1.0 + liq.chop,
                hole=liq.hole,
                buf=liq.buf,
                tail=liq.tail,
                cusp=liq.cusp,
                chip=liq.chip,
                tip=liq.tip,
                curve_kind=curve.kind,
                curve_tau=getattr(curve, "tau", 0.0),
                curve_cut=getattr(curve, "cut", 1.0),
                curve_step=getattr(curve, "step", 1.0),
                stopped=liq.stopped,
            )
            ilk.spot = spot_price(self.osms[spec.collateral].cur, self.par, spec.mat)
            self.ilks[name] = ilk
        self.auctions: dict[str, list[Auction]] = {name: [] for name in self.ilks}
        # Borrowers: one agent per vault, opened with a frob each.
        self.vaults: dict[str, list[VaultAgent]] = {name: [] for name in self.ilks}
        for k, cohort in enumerate(scenario.borrowers):
            self._open_cohort(k, cohort)
        self.keepers: list[KeeperAgent] = []
        for spec in scenario.keepers:
            for j in range(spec.count):
                name = spec.name if spec.count == 1 else f"{spec.name}-{j + 1}"
                self.keepers.append(
                    KeeperAgent(self, name, spec.dai, spec.strategy.discount, spec.gas_bid_gwei)
                )
        # Recording: the cdpsim series as model reporters, every vault's CR as agent reporter.
        self.quantiles = list(scenario.record.cr_quantiles)
        self._measured: dict[str, tuple[int, dict[str, float]]] = {}
        # (count, debt) of unsafe vaults per ilk before the keepers acted, and the tick sampled.
        self._unsafe_before: dict[str, tuple[int, float]] = {}
        self._unsafe_tick = -1
        model_reporters = {"tick": "tick"}
        for name in self.ilks:
            for field in (*ILK_FIELDS, *(quantile_name(q) for q in self.quantiles)):
                model_reporters[col(field, name)] = _ilk_reporter(field, name)
        # Blockspace accounting (which never binds here) is tested in tests/test_blocks.py.
        for field in (f for f in SYSTEM_FIELDS if f not in BLOCK_FIELDS):
            model_reporters[field] = _system_reporter(field)
        agenttype_reporters = {VaultAgent: {"cr": _vault_cr}} if record_vaults else None
        self.datacollector = mesa.DataCollector(
            model_reporters=model_reporters, agenttype_reporters=agenttype_reporters
        )
        self.datacollector.collect(self)

    # ---------------------------------------------------------------------------- construction
    def _open_cohort(self, k: int, cohort) -> None:
        """Create the cohort's vault agents and open each vault with its first frob."""
        rng = self.streams.borrowers[k]
        ilk = self.ilks[cohort.ilk]
        price = self.prices[ilk.collateral]
        n = cohort.vaults
        if cohort.size.dist == "equal":
            weights = [1.0 / n] * n
        else:
            raw = [rng.lognormal(0.0, cohort.size.sigma) for _ in range(n)]
            total = sum(raw)
            weights = [r / total for r in raw]
        cr_spec = cohort.cr
        if cr_spec.dist == "fixed":
            crs = [float(cr_spec.median)] * n
        elif cr_spec.dist == "uniform":
            crs = [rng.uniform(float(cr_spec.min), float(cr_spec.max)) for _ in range(n)]
        else:
            crs = [
                float(cr_spec.median) * math.exp(cr_spec.sigma * rng.standard_normal())
                for _ in range(n)
            ]
        lo = cr_spec.min if cr_spec.min is not None else -math.inf
        hi = cr_spec.max if cr_spec.max is not None else math.inf
        book = self.vaults[cohort.ilk]
        for w, cr in zip(weights, crs, strict=True):
            debt = cohort.debt * w
            cr = min(max(cr, lo), hi)
            vault = VaultAgent(self, len(book), cohort.ilk, k, cohort.strategy, rng)
            book.append(vault)
            if self.frob(vault, debt * cr / price, debt, log=False) != 0:
                raise ReferenceError(f"vault {vault.index} of {cohort.name} cannot open")
            if isinstance(cohort.strategy, TargetCrStrategy):
                vault.wallet = vault.ink * cohort.strategy.wallet

    # ---------------------------------------------------------------------------- Vat
    def frob(self, vault: VaultAgent, dink: float, dart: float, *, log: bool = True) -> int:
        """Change one vault's collateral and debt (dss ``frob``); 0 if accepted, else a reason.

        Reasons: 4 negative, 1 not safe (an action that is not safer leaves ``art·rate >
        ink·spot``), 3 dusty (``0 < art·rate < dust``), 2 a debt ceiling.
        """
        ilk = self.ilks[vault.ilk]
        ink0, art0 = vault.ink, vault.art
        ink = ink0 + dink
        art = art0 + dart
        if abs(art) <= 1e-12 * max(art0, 1.0):
            art = 0.0
        if abs(ink) <= 1e-12 * max(ink0, 1.0):
            ink = 0.0
        tab = art * ilk.rate
        if ink < 0 or art < 0:
            return 4
        safer = dart <= 0 and dink >= 0
        if not safer and tab > ink * ilk.spot:
            return 1
        if art > 0 and tab < ilk.dust:
            return 3
        if dart > 0:
            change = dart * ilk.rate
            if ilk.Art * ilk.rate + change > ilk.line * (1 + REL_TOL) or self.debt + change > (
                self.Line * (1 + REL_TOL)
            ):
                return 2
        di = ink - ink0
        da = art - art0
        vault.ink = ink
        vault.art = art
        ilk.Art = max(ilk.Art + da, 0.0)
        ilk.Ink += di
        self.debt += da * ilk.rate
        lock = di if di > 0 else 0.0
        ilk.joined += lock
        ilk.exited += lock - di
        return 0

    def suck(self, u: str, v: str, rad: float) -> None:
        """Mint unbacked Dai to ``v``, booking sin on ``u`` (dss ``suck``)."""
        self.sin[u] = self.sin.get(u, 0.0) + rad
        self.dai[v] = self.dai.get(v, 0.0) + rad
        self.vice += rad
        self.debt += rad

    def move(self, src: str, dst: str, rad: float) -> None:
        """Transfer Dai (dss ``move``)."""
        if rad < 0 or rad > self.dai.get(src, 0.0) * (1 + REL_TOL) + 1e-9:
            raise ReferenceError(f"move: {src} has not enough Dai")
        self.dai[src] = max(self.dai.get(src, 0.0) - rad, 0.0)
        self.dai[dst] = self.dai.get(dst, 0.0) + rad

    def flux(self, ilk: str, src: str, dst: str, wad: float) -> None:
        """Transfer collateral outside vaults (dss ``flux``)."""
        have = self.gem.get((ilk, src), 0.0)
        if wad < 0 or wad > have * (1 + REL_TOL) + 1e-12:
            raise ReferenceError(f"flux: {src} has not enough {ilk}")
        self.gem[(ilk, src)] = max(have - wad, 0.0)
        self.gem[(ilk, dst)] = self.gem.get((ilk, dst), 0.0) + wad

    # ---------------------------------------------------------------------------- Dog / Clipper
    def bark(self, ilk: IlkState, vault: VaultAgent, keeper: KeeperAgent) -> Auction | None:
        """Liquidate one unsafe vault within the room left (dss ``Dog.bark``), or None (revert)."""
        ink, art = vault.ink, vault.art
        if ilk.spot <= 0 or not (art > 0 and ink > 0 and ink * ilk.spot < art * ilk.rate):
            return None
        room = min(self.Hole - self.Dirt, ilk.hole - ilk.dirt)
        if not room > 0:
            return None
        if self.osms[ilk.collateral].cur / self.par * ilk.buf <= 0:
            raise ReferenceError("Clipper/zero-top-price")
        dart = min(art, room / ilk.rate / ilk.chop)
        if art > dart:
            if (art - dart) * ilk.rate < ilk.dust:
                dart = art  # a dusty remainder: take the whole vault
            elif dart * ilk.rate < ilk.dust:
                return None  # a dusty auction: dss reverts this call
        dink = ink if dart == art else ink * dart / art
        # Vat.grab: collateral to the Clipper, debt to the Vow's sin.
        vault.ink = ink - dink
        vault.art = art - dart
        if vault.ink < 1e-12 * (dink + 1.0):
            vault.ink = 0.0
        if vault.art < 1e-12 * (dart + 1.0):
            vault.art = 0.0
        ilk.Art = max(ilk.Art - dart, 0.0)
        ilk.Ink -= dink
        due = dart * ilk.rate
        key = (ilk.name, "clip")
        self.gem[key] = self.gem.get(key, 0.0) + dink
        self.sin[VOW] = self.sin.get(VOW, 0.0) + due
        self.vice += due
        # Vow.fess, then the Dog's accounting and the Clipper's kick.
        if due > 0:
            self.queue[self.now] = self.queue.get(self.now, 0.0) + due
            self.Sin += due
        tab = due * ilk.chop
        self.Dirt += tab
        ilk.dirt += tab
        return self.kick(ilk, tab, dink, vault, keeper)

    def kick(
        self, ilk: IlkState, tab: float, lot: float, vault: VaultAgent, keeper: KeeperAgent
    ) -> Auction:
        """Start a sale at ``top = feed · buf``, paying the keeper ``tip + chip·tab``."""
        top = self.osms[ilk.collateral].cur / self.par * ilk.buf
        coin = 0.0
        if ilk.tip > 0 or ilk.chip > 0:
            coin = ilk.tip + ilk.chip * tab
            self.suck(VOW, keeper.name, coin)
        sale = Auction(
            id=ilk.kicks,
            ilk=ilk.name,
            usr=vault.index,
            tab=tab,
            lot=lot,
            tic=self.now,
            top=top,
            start_tick=self.tick,
            tab0=tab,
            lot0=lot,
            due=tab / ilk.chop,
            coin=coin,
        )
        ilk.kicks += 1
        self.auctions[ilk.name].append(sale)
        return sale

    def status(self, ilk: IlkState, a: Auction) -> tuple[bool, float]:
        """Whether a sale needs a reset, and its price (dss ``getStatus``)."""
        dur = self.now - a.tic
        price = ilk.curve_price(a.top, dur)
        fallen = price / a.top < ilk.cusp
        return a.active and (dur > ilk.tail or fallen), price

    def redo(self, ilk: IlkState, a: Auction, keeper: KeeperAgent) -> bool:
        """Reset a sale that needs it at a fresh ``top`` (dss ``redo``); False if it does not."""
        done, _ = self.status(ilk, a)
        if not done:
            return False
        feed = self.osms[ilk.collateral].cur / self.par
        a.tic = self.now
        a.top = feed * ilk.buf
        a.redos += 1
        if ilk.tip > 0 or ilk.chip > 0:
            worth = a.tab >= ilk.chost and a.lot * feed >= ilk.chost
            coin = ilk.tip + ilk.chip * a.tab if worth else 0.0
            if coin > 0:
                self.suck(VOW, keeper.name, coin)
                a.coin += coin
        return True

    def take(
        self, ilk: IlkState, a: Auction, amt: float, max_price: float, keeper: KeeperAgent
    ) -> tuple[float, float]:
        """Buy up to ``amt`` collateral at the current price (dss ``take``).

        Returns:
            ``(slice, owe)``: collateral bought [tokens] and Dai paid [Dai] (zeros if refused).
        """
        done, price = self.status(ilk, a)
        tab, lot = a.tab, a.lot
        if not (a.active and not done and max_price >= price):
            return 0.0, 0.0
        chost = ilk.chost
        slice_ = min(lot, max(amt, 0.0))
        owe = slice_ * price
        if owe > tab:
            # Don't collect more than tab: pay tab, buy what it affords.
            owe = tab
            slice_ = min(tab / price, lot)
        elif owe < tab and slice_ < lot and tab - owe < chost:
            # A partial take must leave at least chost of tab.
            if tab <= chost or not price > 0:
                return 0.0, 0.0
            owe = tab - chost
            slice_ = owe / price
        who = keeper.name
        if owe > self.dai.get(who, 0.0) * (1 + REL_TOL) + 1e-9:
            raise ReferenceError(f"take: {who} has not enough Dai")
        tab_left = tab - owe
        lot_left = lot - slice_
        self.flux(ilk.name, "clip", who, slice_)
        self.move(who, VOW, owe)
        lot_gone = lot_left <= 0
        tab_paid = not lot_gone and tab_left <= 0
        if lot_gone:
            lot_left = 0.0
        if tab_paid:
            tab_left = 0.0
        rad = tab_left + owe if lot_gone else owe
        self.Dirt = max(self.Dirt - rad, 0.0)
        ilk.dirt = max(ilk.dirt - rad, 0.0)
        leftover = lot_left if tab_paid else 0.0
        if tab_paid:
            self.flux(ilk.name, "clip", "owner", leftover)
        a.tab = tab_left
        a.lot = 0.0 if tab_paid else lot_left
        a.raised += owe
        a.sold += slice_
        a.returned += leftover
        if slice_ > 0:
            a.winner = who
        if lot_gone or tab_paid:
            a.active = False
            a.end_tick = self.tick
        return slice_, owe

    # ---------------------------------------------------------------------------- Vow
    def vow_step(self) -> None:
        """``flog`` the queue, ``heal``, then start the debt/surplus auctions allowed."""
        released = 0.0
        while self.queue:
            era, amount = next(iter(self.queue.items()))
            if era + self.wait > self.now:
                break
            self.queue.popitem(last=False)
            released += amount
        self.Sin = max(self.Sin - released, 0.0) if self.queue else 0.0
        rad = min(self.joy, self.woe)
        if rad > 0:
            self.sin[VOW] = max(self.sin.get(VOW, 0.0) - rad, 0.0)
            self.dai[VOW] = max(self.dai.get(VOW, 0.0) - rad, 0.0)
            self.vice = max(self.vice - rad, 0.0)
            self.debt = max(self.debt - rad, 0.0)
        kicks = 0
        while (
            self.woe >= self.sump - _tol(self.sump)
            and self.joy <= _tol(self.sump)
            and kicks < MAX_KICKS
        ):
            self.Ash += self.sump  # a debt auction of dump MKR for sump Dai (no bidders here)
            self.flops += 1
            kicks += 1
        kicks = 0
        while (
            self.joy >= self.awe + self.bump + self.hump - _tol(self.joy)
            and self.woe <= _tol(self.awe)
            and kicks < MAX_KICKS
        ):
            self.move(VOW, "flap", self.bump)  # a surplus auction of bump Dai (no bidders here)
            self.flaps += 1
            kicks += 1

    @property
    def joy(self) -> float:
        """The Vow's Dai [Dai]."""
        return self.dai.get(VOW, 0.0)

    @property
    def awe(self) -> float:
        """The Vow's sin [Dai]."""
        return self.sin.get(VOW, 0.0)

    @property
    def woe(self) -> float:
        """Free debt, ``awe − Sin − Ash`` [Dai]."""
        return max(self.awe - self.Sin - self.Ash, 0.0)

    def eth_price(self) -> float:
        """ETH market price, to value gas [USD/ETH] (0 without a network section)."""
        net = self.spec.network
        return self.prices[net.eth] if net is not None else 0.0

    # ---------------------------------------------------------------------------- the tick
    @property
    def finished(self) -> bool:
        """Whether the scenario's duration has been simulated."""
        return self.tick >= self.n_ticks

    def step(self) -> None:
        """One tick: prices, oracle, fees, vaults, keepers (shuffled), Vow, recording."""
        self.tick += 1
        self.now = self.tick * self.dt
        now = self.now
        self.price_agent.step()
        self.gas_price = float(self.gas_path[self.tick])
        for asset in self.assets:
            median = self.medians[asset]
            median.poke(self.prices[asset], now, lands=True)
            self.osms[asset].poke(median.value, now)
        for ilk in self.ilks.values():
            ilk.spot = spot_price(self.osms[ilk.collateral].cur, self.par, ilk.mat)
        for ilk in self.ilks.values():
            # Jug.drip + Vat.fold: the fee on all debt goes to the Vow.
            elapsed = now - ilk.rho
            ilk.rho = now
            if elapsed > 0:
                drate = accrue(ilk.rate, ilk.duty, elapsed) - ilk.rate
                rad = ilk.Art * drate
                ilk.rate += drate
                self.dai[VOW] = self.dai.get(VOW, 0.0) + rad
                self.debt += rad
        self.agents_by_type[VaultAgent].do("step")
        # What the keepers are about to see (as cdpsim's Recorder.sample_unsafe).
        self._unsafe_before = {}
        for name, ilk in self.ilks.items():
            unsafe = self.unsafe_vaults(ilk)
            self._unsafe_before[name] = (len(unsafe), sum(v.art for v in unsafe) * ilk.rate)
        self._unsafe_tick = self.tick
        if self.keepers:
            order = [self.keepers[k] for k in self.streams.keepers.permutation(len(self.keepers))]
            # Highest gas bid first (cdpsim orders a block's transactions by bid); the benchmark's
            # blocks never fill, so the bid order is all of the block market it needs.
            bid = {k.name: math.inf if k.gas_bid is None else k.gas_bid for k in order}
            for keeper in sorted(order, key=lambda k: -bid[k.name]):
                keeper.step()
        self.vow_step()
        if self.finished:
            self.running = False
        self.datacollector.collect(self)
        if self.tick % 10 == 0 or self.finished:
            # As cdpsim: scalar accounts every 10 ticks, per-vault sums every 100 and at the end.
            problems = self.check(full=self.tick % 100 == 0 or self.finished)
            if problems:
                raise ReferenceError(f"tick {self.tick}: " + "; ".join(problems))

    def run(self) -> None:
        """Run to the end of the scenario's duration."""
        while not self.finished:
            self.step()

    def check(self, full: bool) -> list[str]:
        """The accounting invariants (as ``Vat.check``), looping over the vaults when ``full``."""
        problems = []
        total = sum(ilk.Art * ilk.rate for ilk in self.ilks.values())
        if abs(self.debt - (total + self.vice)) > 1e-8 * max(self.debt, 1.0):
            problems.append(f"debt {self.debt!r} != Σ Art·rate + vice")
        if abs(sum(self.sin.values()) - self.vice) > 1e-8 * max(self.vice, 1.0):
            problems.append("Σ sin != vice")
        for name, ilk in self.ilks.items():
            in_vaults = ilk.Ink
            if full:
                art = 0.0
                in_vaults = 0.0
                for v in self.vaults[name]:
                    art += v.art
                    in_vaults += v.ink
                    if v.ink < 0 or v.art < 0:
                        problems.append(f"{name}: negative ink or art")
                if abs(art - ilk.Art) > 1e-8 * max(ilk.Art, 1.0):
                    problems.append(f"{name}: Σ art != Art")
            gem = sum(value for (i, _), value in self.gem.items() if i == name)
            if abs(in_vaults + gem - (ilk.joined - ilk.exited)) > 1e-8 * max(ilk.joined, 1.0):
                problems.append(f"{name}: collateral not conserved")
        return problems

    def unsafe_vaults(self, ilk: IlkState) -> list[VaultAgent]:
        """The ilk's vault agents unsafe at ``spot`` (``ink·spot < art·rate``), in book order."""
        if ilk.spot <= 0:
            return [v for v in self.vaults[ilk.name] if v.art > 0]
        ratio = ilk.rate / ilk.spot
        return [v for v in self.vaults[ilk.name] if v.art * ratio > v.ink]

    # ---------------------------------------------------------------------------- recording
    def measure(self, name: str) -> dict[str, float]:
        """This tick's per-ilk figures, from one pass over the vault agents (cached per tick)."""
        cached = self._measured.get(name)
        if cached is not None and cached[0] == self.tick:
            return cached[1]
        ilk = self.ilks[name]
        price = self.prices[ilk.collateral]
        ratio = ilk.rate / ilk.spot if ilk.spot > 0 else math.inf
        crs = []
        unsafe = 0
        unsafe_art = 0.0
        for v in self.vaults[name]:
            if v.art > 0:
                crs.append(v.ink * price / (v.art * ilk.rate))
                if v.art * ratio > v.ink:
                    unsafe += 1
                    unsafe_art += v.art
        after = (unsafe, unsafe_art * ilk.rate)
        before = self._unsafe_before[name] if self._unsafe_tick == self.tick else after
        running = [a for a in self.auctions[name] if a.active]
        out = {
            "price": price,
            "osm_price": self.osms[ilk.collateral].cur,
            "debt": ilk.Art * ilk.rate,
            "collateral_value": ilk.Ink * price,
            "vaults_open": len(crs),
            "unsafe_vaults": before[0],
            "unsafe_debt": before[1],
            "unsafe_vaults_after": after[0],
            "unsafe_debt_after": after[1],
            "liquidations": ilk.kicks - ilk.kicks_seen,
            "auctions_active": len(running),
            "auction_debt": sum(max(a.due - a.raised, 0.0) for a in running),
            "insolvent_debt": sum(
                max(v.art * ilk.rate - v.ink * price / self.dai_price(), 0.0)
                for v in self.vaults[name]
                if v.art > 0
            ),
        }
        ilk.kicks_seen = ilk.kicks
        qs = np.quantile(crs, self.quantiles) if crs else [math.nan] * len(self.quantiles)
        for q, value in zip(self.quantiles, qs, strict=True):
            out[quantile_name(q)] = float(value)
        self._measured[name] = (self.tick, out)
        return out

    def dai_price(self) -> float:
        """The Dai price [USD/Dai]: ``par`` (the reference has no Dai market)."""
        return self.par * math.exp(0.0)

    def measure_system(self) -> dict[str, float]:
        """This tick's system figures."""
        auction_debt = sum(self.measure(name)["auction_debt"] for name in self.ilks)
        return {
            "dai_supply": self.debt,
            "surplus": max(self.joy - self.awe, 0.0),
            "bad_debt": max(self.awe - self.joy - auction_debt, 0.0),
            "auction_debt": auction_debt,
            "insolvent_debt": sum(self.measure(name)["insolvent_debt"] for name in self.ilks),
            "mkr_minted": 0.0,
            "mkr_burned": 0.0,
            "debt_auction_dai": 0.0,
            "mkr_price": math.nan,
            "dai_price": self.dai_price(),
            "gas_price_gwei": self.gas_price,
            "psm_debt": 0.0,
            "savings": 0.0,
        }

    def timeseries(self) -> pd.DataFrame:
        """The per-tick series with cdpsim's column names (``tick``, ``time``, ``field[ILK]``, …)."""
        frame = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        start = pd.Timestamp(self.spec.clock.start)
        frame.insert(1, "time", start + pd.to_timedelta(frame["tick"] * self.dt, unit="s"))
        return frame

    def auctions_frame(self) -> pd.DataFrame:
        """One row per auction with cdpsim's auction-table names."""
        rows = [
            {
                "ilk": a.ilk,
                "auction": a.id,
                "vault": a.usr,
                "start_tick": a.start_tick,
                "end_tick": a.end_tick,
                "tab": a.tab0,
                "lot": a.lot0,
                "due": a.due,
                "dai_raised": a.raised,
                "collateral_sold": a.sold,
                "collateral_returned": a.returned,
                "winner": a.winner,
                "redos": a.redos,
                "coin": a.coin,
            }
            for name in self.ilks
            for a in self.auctions[name]
        ]
        return pd.DataFrame(rows, columns=AUCTION_COLUMNS)

    def vaults_frame(self) -> pd.DataFrame:
        """Every vault's current ``ink`` and ``art``."""
        return pd.DataFrame(
            [
                {"ilk": v.ilk, "vault": v.index, "ink": v.ink, "art": v.art}
                for name in self.ilks
                for v in self.vaults[name]
            ]
        )


def _check_supported(s: Scenario) -> None:
    """Raise NotImplementedError for features the reference model does not write out."""
    problems = []
    for name, coll in s.collateral.items():
        if not isinstance(coll.price, GbmPrice):
            problems.append(f"collateral {name}: only gbm prices")
        if coll.market is not None:
            problems.append(f"collateral {name}: no market depth")
    for name, ilk in s.ilks.items():
        if not isinstance(ilk.liquidation, ClipLiquidation):
            problems.append(f"ilk {name}: only engine clip")
    for cohort in s.borrowers:
        st = cohort.strategy
        if not isinstance(st, PassiveStrategy | TargetCrStrategy):
            problems.append(f"cohort {cohort.name}: only passive and target_cr")
        elif isinstance(st, TargetCrStrategy) and st.action != "lock":
            problems.append(f"cohort {cohort.name}: only target_cr with action lock")
    for keeper in s.keepers:
        if not isinstance(keeper.strategy, MarketKeeperStrategy):
            problems.append(f"keeper {keeper.name}: only the default strategy")
        if keeper.latency or keeper.flash or keeper.settlement:
            problems.append(f"keeper {keeper.name}: no latency, no flash, no settlement delay")
    if s.correlation or s.mkr is not None or s.dai is not None:
        problems.append("no correlation, mkr or dai sections")
    if s.system.psm is not None or s.system.dsr or s.system.dsr_deposits:
        problems.append("no PSM, no DSR")
    if s.system.oracle.gas_limit_gwei is not None:
        problems.append("no oracle gas limit")
    if s.network is not None and not isinstance(s.network.gas, ConstantGasSpec | SpikeGasSpec):
        problems.append("gas: constant or spike only")
    if problems:
        raise NotImplementedError("reference model: " + "; ".join(problems))


def run_reference(scenario: Scenario, seed: int | None = None, **kwargs) -> ReferenceModel:
    """Build and run the reference model to the end; returns the finished model."""
    model = ReferenceModel(scenario, seed=seed, **kwargs)
    model.run()
    return model
