"""Scenario files: YAML → a typed, frozen :class:`Scenario` (DESIGN.md section 7).

Loading is strict and safe: YAML is read with the safe loader (nothing is executed), unknown keys,
wrong types, out-of-range values and missing data files are all errors, and every error is
reported at once as ``file:line: path.to.field: message`` before anything runs.

``--set path.to.field=value`` overrides (:func:`load_scenario` ``overrides=``) are applied to the
raw data and validated the same way; their errors name the override instead of a line.

Conventions: durations are strings with a unit (``"90s"``, ``"10m"``, ``"6h"``, ``"3d"``) and are
held in seconds; annual rates are plain fractions (``0.08`` = 8 %/yr); the liquidation penalty
``chop`` is a fraction (0.13 = 13 %; dss stores 1.13); paths are relative to the scenario file.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from sim.units import format_duration, parse_duration

# ---------------------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class ErrorItem:
    """One problem in a scenario: where it is and what is wrong."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ScenarioError(Exception):
    """A scenario file (or its overrides) is invalid; ``errors`` lists every problem found."""

    def __init__(self, errors: Sequence[ErrorItem]):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


# ---------------------------------------------------------------------------------------- types


def _duration(value: Any) -> float:
    if not isinstance(value, bool) and isinstance(value, int | float) and value == 0:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f"durations are strings with a unit, e.g. '90s', '10m', '6h', '3d' (got {value!r})"
        )
    seconds = parse_duration(value)
    return seconds


def _timestamp(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, dt.date):
        stamp = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(
                f"{value!r} is not an ISO-8601 time, e.g. '2020-03-12T00:00:00Z'"
            ) from exc
    else:
        raise ValueError(f"expected an ISO-8601 time string, got {value!r}")
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.astimezone(dt.UTC)


def _number(value: Any) -> Any:
    # YAML reads "1.0e6" as a float but "1e6" as a string; accept both spellings of a number.
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _file_exists(value: str, info: ValidationInfo) -> str:
    """Validator: a data file relative to the scenario's folder must exist."""
    base = (info.context or {}).get("base_dir")
    path = Path(value) if base is None else Path(base) / value
    if not path.is_file():
        raise ValueError(f"file not found: {path}")
    return value


def _pair(value: Any) -> Any:
    # YAML has no tuples: a [time, price] list is a pair.
    return tuple(value) if isinstance(value, list) else value


Duration = Annotated[
    float,
    BeforeValidator(_duration),
    PlainSerializer(format_duration, return_type=str),
]
PosDuration = Annotated[
    float,
    BeforeValidator(_duration),
    Field(gt=0),
    PlainSerializer(format_duration, return_type=str),
]
Timestamp = Annotated[
    dt.datetime,
    BeforeValidator(_timestamp),
    PlainSerializer(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"), return_type=str),
]
Num = Annotated[float, BeforeValidator(_number)]
Positive = Annotated[float, BeforeValidator(_number), Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, BeforeValidator(_number), Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, BeforeValidator(_number), Field(ge=0, le=1)]
Name = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")]


class Strict(BaseModel):
    """Base of every scenario section: unknown keys are errors; instances are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


# ---------------------------------------------------------------------------------------- prices


class GbmPrice(Strict):
    """Geometric Brownian motion."""

    process: Literal["gbm"]
    start: Positive = Field(description="price at the start [USD/token]")
    vol: NonNegative = Field(description="volatility [1/sqrt(yr)], e.g. 0.8")
    drift: Num = Field(0.0, description="drift [1/yr]")


class JumpDiffusionPrice(Strict):
    """Merton jump diffusion: GBM plus Poisson log-normal jumps."""

    process: Literal["jump_diffusion"]
    start: Positive
    vol: NonNegative
    drift: Num = 0.0
    jump_rate: NonNegative = Field(description="expected jumps per year [1/yr]")
    jump_mean: Num = Field(description="mean log jump size, e.g. -0.1")
    jump_std: NonNegative = Field(description="standard deviation of the log jump size")


class Crash(Strict):
    """A scripted crash: flat, then a linear fall by ``depth`` between ``at`` and ``at + over``."""

    depth: Annotated[float, BeforeValidator(_number), Field(gt=0, lt=1)] = Field(
        description="fraction lost, 0.5 = −50 %"
    )
    at: Duration = Field(description="when the fall starts (time since the start)")
    over: Duration = Field(description="how long the fall lasts")


class ScriptedPrice(Strict):
    """A scripted path: a crash, or points ``[[time, price], ...]`` interpolated linearly."""

    process: Literal["scripted"]
    start: Positive | None = None
    crash: Crash | None = None
    points: list[Annotated[tuple[Duration, Positive], BeforeValidator(_pair)]] | None = None
    vol: NonNegative = Field(0.0, description="optional GBM noise on top [1/sqrt(yr)]")

    @field_validator("points")
    @classmethod
    def _increasing(cls, points: list[tuple[float, float]] | None) -> Any:
        if points is not None:
            if len(points) < 1:
                raise ValueError("needs at least one point")
            times = [t for t, _ in points]
            if any(b <= a for a, b in itertools.pairwise(times)):
                raise ValueError("point times must increase")
        return points


class ReplayPrice(Strict):
    """Replay a column of a CSV file (ISO-8601 ``timestamp`` column), interpolated within rows."""

    process: Literal["replay"]
    file: str = Field(description="CSV path, relative to the scenario file")
    column: str
    time_column: str = "timestamp"
    interpolate: Literal["linear", "previous", "bridge"] = "linear"
    vol: NonNegative = Field(0.0, description="Brownian-bridge volatility [1/sqrt(yr)]")

    _exists = field_validator("file")(classmethod(lambda cls, v, info: _file_exists(v, info)))


class BridgePrice(Strict):
    """A random path pinned to reach ``target`` at time ``at`` (Brownian bridge), GBM after."""

    process: Literal["bridge"]
    start: Positive
    target: Positive
    at: Duration
    vol: NonNegative
    drift: Num = 0.0


PriceSpec = Annotated[
    GbmPrice | JumpDiffusionPrice | ScriptedPrice | ReplayPrice | BridgePrice,
    Field(discriminator="process"),
]


class MarketDepth(Strict):
    """Market depth of an asset: how trades move its price, and how fast the impact fades.

    Give ``depth_usd_2pct`` (log-linear impact: selling that many USD moves the price 2 %) or
    ``pool_usd`` (a constant-product pool with that USD reserve), not both; neither means an
    infinitely deep market.
    """

    depth_usd_2pct: Positive | None = Field(None, description="USD that move the price 2 % [USD]")
    pool_usd: Positive | None = Field(None, description="constant-product pool USD reserve [USD]")
    recovery_half_life: Duration = Field(7200.0, description="half-life of the price impact")


class Collateral(Strict):
    """A collateral asset: its exogenous price and the depth of its market."""

    price: PriceSpec
    market: MarketDepth | None = None


class Mkr(Strict):
    """MKR: its price (for debt and surplus auctions) and the bidders in those auctions."""

    price: PriceSpec
    bidders: Annotated[int, Field(ge=0)] = Field(2, description="number of MKR bidders")
    dai: NonNegative = Field(5.0e6, description="Dai per bidder, for debt auctions [Dai]")
    mkr: NonNegative = Field(1.0e4, description="MKR per bidder, for surplus auctions [MKR]")
    margin: Fraction = Field(0.05, description="profit each bidder asks below the MKR price")


class DaiMarketSpec(Strict):
    """The Dai/USD market: its depth and how fast it returns to the peg on its own."""

    depth_usd_2pct: Positive = Field(description="USD that move the Dai price 2 % [USD]")
    recovery_half_life: Duration = Field(21600.0, description="half-life of a deviation")


# ---------------------------------------------------------------------------------------- ilks


class LinearCurve(Strict):
    """Clipper linear decrease to zero over ``tau``."""

    kind: Literal["linear"]
    tau: PosDuration


class StairstepCurve(Strict):
    """Clipper stairstep: multiply by ``cut`` every ``step``."""

    kind: Literal["stairstep"]
    cut: Annotated[float, BeforeValidator(_number), Field(gt=0, le=1)] = 0.99
    step: PosDuration = 90.0


class ExponentialCurve(Strict):
    """Clipper continuous exponential decrease: ``top·cut^seconds`` (dss ``cut`` per second)."""

    kind: Literal["exponential"]
    cut: Annotated[float, BeforeValidator(_number), Field(gt=0, le=1)]


Curve = Annotated[LinearCurve | StairstepCurve | ExponentialCurve, Field(discriminator="kind")]


class ClipLiquidation(Strict):
    """Liquidations 2.0 (Dog + Clipper, Dutch auctions). Defaults: ETH-A, 2021."""

    engine: Literal["clip"]
    chop: NonNegative = Field(0.13, description="liquidation penalty fraction (dss chop − 1)")
    hole: Positive = Field(15.0e6, description="max Dai in this ilk's auctions [Dai]")
    buf: Annotated[float, BeforeValidator(_number), Field(ge=1)] = Field(
        1.30, description="auction start price over the OSM price"
    )
    tail: PosDuration = Field(8400.0, description="time before an auction needs a reset")
    cusp: Annotated[float, BeforeValidator(_number), Field(gt=0, lt=1)] = 0.40
    chip: Fraction = Field(0.001, description="keeper reward as a fraction of tab")
    tip: NonNegative = Field(300.0, description="flat keeper reward [Dai]")
    curve: Curve = Field(default_factory=lambda: StairstepCurve(kind="stairstep"))
    stopped: Literal[0, 1, 2, 3] = Field(0, description="circuit breaker level")


class FlipLiquidation(Strict):
    """Liquidations 1.x (Cat + Flipper, English auctions). Defaults: ETH-A, March 2020."""

    engine: Literal["flip"]
    version: Literal["1.0", "1.2"] = "1.0"
    chop: NonNegative = 0.13
    lump: Positive = Field(50.0, description="1.0: max collateral per bite [tokens]")
    dunk: Positive = Field(50_000.0, description="1.2: max tab per auction [Dai]")
    beg: Annotated[float, BeforeValidator(_number), Field(gt=0, lt=1)] = 0.03
    ttl: PosDuration = 600.0
    tau: PosDuration = 259200.0


Liquidation = Annotated[ClipLiquidation | FlipLiquidation, Field(discriminator="engine")]


class IlkSpec(Strict):
    """A collateral type (vault type) of the Vat."""

    collateral: Name = Field(description="key of the collateral section")
    mat: Annotated[float, BeforeValidator(_number), Field(gt=1, le=100)] = Field(
        description="liquidation ratio, e.g. 1.5"
    )
    stability_fee: NonNegative = Field(0.0, description="annual stability fee, 0.08 = 8 %/yr")
    line: Positive = Field(description="ilk debt ceiling [Dai]")
    dust: NonNegative = Field(0.0, description="minimum vault debt [Dai]")
    liquidation: Liquidation


# ---------------------------------------------------------------------------------------- system


class Oracle(Strict):
    """Oracle settings: the OSM delay and the medianizer's gas limit."""

    hop: PosDuration = Field(3600.0, description="OSM delay")
    gas_limit_gwei: Positive | None = Field(
        None, description="medianizer updates fail while gas is above this [gwei]; none = never"
    )


class AuctionTimes(Strict):
    """Bid increment and timing of an auction house."""

    beg: Annotated[float, BeforeValidator(_number), Field(gt=0, lt=1)] = 0.05
    ttl: PosDuration = 10800.0
    tau: PosDuration = 172800.0


class PsmSpec(Strict):
    """Peg Stability Module for a USD stablecoin (its own ilk ``PSM-<gem>-A``)."""

    gem: Name = "USDC"
    tin: Fraction = Field(0.0, description="fee when selling the stablecoin for Dai")
    tout: Fraction = Field(0.0, description="fee when buying the stablecoin with Dai")
    line: Positive = Field(description="PSM debt ceiling [Dai]")
    start: NonNegative = Field(0.0, description="stablecoin in the PSM at the start [USD]")
    arbitrage: bool = Field(
        True, description="an arbitrageur trades the PSM against the Dai market"
    )
    arbitrage_usd: NonNegative = Field(1.0e9, description="the arbitrageur's stablecoin [USD]")


class VowSpec(Strict):
    """Vow settings (debt queue and the MKR auctions)."""

    wait: Duration = Field(0.0, description="debt queue delay")
    sump: Positive = 50_000.0
    dump: Positive = 250.0
    bump: Positive = 10_000.0
    hump: NonNegative = 500_000.0
    flop: AuctionTimes = Field(
        default_factory=lambda: AuctionTimes(beg=0.05, ttl="3h", tau="2d"),
        description="debt auctions (Flopper)",
    )
    pad: Annotated[float, BeforeValidator(_number), Field(ge=0)] = Field(
        0.5, description="flop lot increase on restart (1.5× for 0.5)"
    )
    flap: AuctionTimes = Field(
        default_factory=lambda: AuctionTimes(beg=0.05, ttl="30m", tau="2d"),
        description="surplus auctions (Flapper)",
    )


class System(Strict):
    """System-wide parameters."""

    Line: Positive | None = Field(None, description="system debt ceiling [Dai]; none = no cap")
    Hole: Positive = Field(100.0e6, description="Dog: max Dai in all Clipper auctions [Dai]")
    par: Positive = Field(1.0, description="Dai reference price [USD]")
    box: Positive | None = Field(None, description="Cat 1.2: max Dai in Flipper auctions [Dai]")
    oracle: Oracle = Field(default_factory=Oracle)
    vow: VowSpec = Field(default_factory=VowSpec)
    base_fee: NonNegative = Field(
        0.0, description="Jug base rate added to every ilk's fee, per year"
    )
    dsr: NonNegative = Field(0.0, description="Dai Savings Rate per year")
    dsr_deposits: NonNegative = Field(0.0, description="Dai in the Pot at the start [Dai]")
    psm: PsmSpec | None = None


# ---------------------------------------------------------------------------------------- agents


class CrDist(Strict):
    """Initial collateral ratio distribution of a cohort's vaults (at the start price)."""

    dist: Literal["fixed", "uniform", "lognormal"] = "lognormal"
    median: Positive | None = Field(None, description="lognormal median, or the fixed value")
    sigma: NonNegative = Field(0.0, description="lognormal sigma")
    min: Positive | None = None
    max: Positive | None = None


class SizeDist(Strict):
    """How a cohort's debt is split between its vaults."""

    dist: Literal["equal", "lognormal"] = "equal"
    sigma: NonNegative = 1.0


class PassiveStrategy(Strict):
    """Never acts."""

    kind: Literal["passive"]


class TargetCrStrategy(Strict):
    """When CR (at the market price) falls below ``trigger``, restore ``target``."""

    kind: Literal["target_cr"]
    trigger: Positive
    target: Positive
    react_prob: Fraction = Field(1.0, description="chance per tick that a triggered vault acts")
    delay: Duration = Field(0.0, description="reaction delay after the trigger")
    action: Literal["lock", "repay"] = "lock"
    wallet: NonNegative = Field(
        1.0, description="reserve per vault as a fraction of its initial collateral (lock) or debt"
    )


class LeverageStrategy(Strict):
    """When CR rises above ``up``, draw Dai, buy collateral with it and lock it, back to ``target``."""

    kind: Literal["leverage"]
    target: Positive = Field(description="CR to lever back to")
    up: Positive = Field(description="CR above which the vault levers up")
    react_prob: Fraction = 1.0
    delay: Duration = 0.0


class CloseStrategy(Strict):
    """When CR falls below ``panic``, buy Dai in the market, repay everything and exit."""

    kind: Literal["close"]
    panic: Positive = Field(description="CR below which the owner closes the vault")
    react_prob: Fraction = 1.0
    delay: Duration = 0.0
    sell_collateral: bool = Field(
        True, description="sell freed collateral to pay for the Dai bought (deleveraging)"
    )


Strategy = Annotated[
    PassiveStrategy | TargetCrStrategy | LeverageStrategy | CloseStrategy,
    Field(discriminator="kind"),
]


class Cohort(Strict):
    """A group of vaults sharing an ilk and a strategy."""

    name: Name
    ilk: str
    vaults: Annotated[int, Field(ge=1)]
    debt: Positive = Field(description="total debt of the cohort at the start [Dai]")
    cr: CrDist
    size: SizeDist = Field(default_factory=SizeDist)
    strategy: Strategy = Field(default_factory=lambda: PassiveStrategy(kind="passive"))


class MarketKeeperStrategy(Strict):
    """Bid near the market: Dutch takes and English bids at ``discount`` below its value."""

    kind: Literal["default"] = "default"
    discount: Fraction = Field(0.05, description="required discount below the market price")


class LowballStrategy(Strict):
    """English auctions only: bid a tiny amount on every auction nobody has bid on."""

    kind: Literal["lowball"]
    bid: Positive = Field(1.0e-18, description="the bid [Dai]")


def _default_kind(value: Any) -> Any:
    if isinstance(value, dict) and "kind" not in value:
        return {"kind": "default", **value}
    return value


KeeperStrategy = Annotated[
    MarketKeeperStrategy | LowballStrategy,
    Field(discriminator="kind"),
    BeforeValidator(_default_kind),
]


class KeeperSpec(Strict):
    """A group of identical keepers."""

    name: Name
    count: Annotated[int, Field(ge=1)] = 1
    dai: NonNegative = Field(description="Dai capital per keeper [Dai]")
    strategy: KeeperStrategy = Field(default_factory=lambda: MarketKeeperStrategy())
    gas_bid_gwei: Positive | None = Field(
        None, description="gas bid [gwei]; none = always pays the tick's inclusion price"
    )
    latency: Duration = Field(0.0, description="delay before the keeper sees an auction or price")
    flash: bool = Field(False, description="Dutch takes with flash liquidity (no Dai needed)")


class ConstantGasSpec(Strict):
    """A constant gas price."""

    process: Literal["constant"]
    gwei: Positive


class SpikeGasSpec(Strict):
    """A scripted spike: ``base``, jumps to ``peak`` at ``at`` for ``over``, then decays."""

    process: Literal["spike"]
    base: Positive
    peak: Positive
    at: Duration
    over: Duration
    decay: PosDuration = Field(3600.0, description="half-life of the decay back to base")


class ReplayGasSpec(Strict):
    """Gas price replayed from a CSV column [gwei]."""

    process: Literal["replay"]
    file: str
    column: str
    time_column: str = "timestamp"
    interpolate: Literal["linear", "previous"] = "previous"

    _exists = field_validator("file")(classmethod(lambda cls, v, info: _file_exists(v, info)))


GasSpec = Annotated[ConstantGasSpec | SpikeGasSpec | ReplayGasSpec, Field(discriminator="process")]


class Network(Strict):
    """The Ethereum network: gas prices and what transactions cost."""

    gas: GasSpec
    eth: Name = Field("ETH", description="collateral whose price converts gas costs to USD")
    gas_used: dict[
        Literal["bark", "take", "take_flash", "redo", "bite", "tend", "dent", "deal", "tick"],
        Annotated[int, Field(gt=0)],
    ] = Field(default_factory=dict, description="gas used per call, overriding the defaults")


class Record(Strict):
    """What a run records."""

    vault_snapshot_every: PosDuration | None = Field(
        None, description="vault snapshot interval; none = start and end only"
    )
    cr_quantiles: list[Annotated[float, Field(gt=0, lt=1)]] = Field(
        default_factory=lambda: [0.05, 0.5, 0.95]
    )
    check_invariants: bool = Field(True, description="check the accounting invariants each tick")


class Clock(Strict):
    """Simulation time."""

    tick: PosDuration = 600.0
    duration: PosDuration
    start: Timestamp = Field(default_factory=lambda: dt.datetime(2020, 1, 1, tzinfo=dt.UTC))


class Scenario(Strict):
    """A whole scenario: the typed, frozen form of a scenario YAML file."""

    name: Name
    description: str = ""
    seed: Annotated[int, Field(ge=0)] = 0
    clock: Clock
    collateral: dict[Name, Collateral] = Field(min_length=1)
    ilks: dict[Name, IlkSpec] = Field(min_length=1)
    system: System = Field(default_factory=System)
    borrowers: list[Cohort] = Field(min_length=1)
    keepers: list[KeeperSpec] = Field(default_factory=list)
    correlation: dict[Name, dict[Name, Annotated[float, Field(ge=-1, le=1)]]] = Field(
        default_factory=dict, description="correlations of the assets' log-return shocks"
    )
    mkr: Mkr | None = None
    dai: DaiMarketSpec | None = Field(None, description="Dai market; none = Dai stays at par")
    network: Network | None = None
    record: Record = Field(default_factory=Record)

    #: The folder relative paths are resolved against (set by the loader, not in YAML).
    base_dir: str = Field(".", exclude=True)

    @property
    def n_ticks(self) -> int:
        """Number of ticks: ``ceil(duration / tick)``."""
        return max(1, math.ceil(self.clock.duration / self.clock.tick - 1e-9))

    def resolve(self, path: str) -> Path:
        """A data path of the scenario, resolved against its folder."""
        return Path(self.base_dir) / path

    def to_dict(self) -> dict[str, Any]:
        """The fully resolved scenario as plain data (durations as unit strings)."""
        return self.model_dump(mode="json")


# ---------------------------------------------------------------------------------------- cross checks


def _cross_check(s: Scenario) -> list[tuple[tuple[Any, ...], str]]:
    """Checks that involve several sections; each returns (path, message)."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    if s.clock.tick > s.clock.duration:
        problems.append((("clock", "tick"), "the tick is longer than the duration"))
    for name, ilk in s.ilks.items():
        if ilk.collateral not in s.collateral:
            problems.append(
                (
                    ("ilks", name, "collateral"),
                    f"unknown collateral {ilk.collateral!r} (defined: {', '.join(s.collateral)})",
                )
            )
    seen: set[str] = set()
    for i, cohort in enumerate(s.borrowers):
        if cohort.name in seen:
            problems.append((("borrowers", i, "name"), f"duplicate cohort name {cohort.name!r}"))
        seen.add(cohort.name)
        ilk = s.ilks.get(cohort.ilk)
        if ilk is None:
            problems.append(
                (
                    ("borrowers", i, "ilk"),
                    f"unknown ilk {cohort.ilk!r} (defined: {', '.join(s.ilks)})",
                )
            )
            continue
        cr = cohort.cr
        floor = cr.min if cr.min is not None else (cr.median if cr.dist == "fixed" else None)
        if cr.dist in ("fixed", "lognormal") and cr.median is None:
            problems.append((("borrowers", i, "cr", "median"), f"required for dist {cr.dist!r}"))
        if cr.dist == "uniform" and (cr.min is None or cr.max is None):
            problems.append((("borrowers", i, "cr"), "uniform needs min and max"))
        if cr.min is not None and cr.max is not None and cr.max < cr.min:
            problems.append((("borrowers", i, "cr", "max"), "max is below min"))
        if floor is None:
            problems.append(
                (("borrowers", i, "cr", "min"), f"set a minimum CR above the ilk's mat {ilk.mat}")
            )
        elif floor <= ilk.mat:
            field = "min" if cr.min is not None else "median"
            problems.append(
                (
                    ("borrowers", i, "cr", field),
                    f"{floor} is not above the ilk's mat {ilk.mat}: vaults would open unsafe",
                )
            )
        if isinstance(cohort.strategy, LeverageStrategy):
            st = cohort.strategy
            if not ilk.mat < st.target < st.up:
                problems.append(
                    (
                        ("borrowers", i, "strategy"),
                        f"leverage needs mat ({ilk.mat}) < target ({st.target}) < up ({st.up})",
                    )
                )
        if isinstance(cohort.strategy, CloseStrategy) and cohort.strategy.panic <= ilk.mat:
            problems.append(
                (
                    ("borrowers", i, "strategy", "panic"),
                    f"panic {cohort.strategy.panic} is not above the ilk's mat {ilk.mat}",
                )
            )
        if isinstance(cohort.strategy, TargetCrStrategy):
            st = cohort.strategy
            if st.target <= st.trigger:
                problems.append(
                    (("borrowers", i, "strategy", "target"), "target must be above trigger")
                )
            if st.trigger <= ilk.mat:
                problems.append(
                    (
                        ("borrowers", i, "strategy", "trigger"),
                        f"trigger {st.trigger} is not above the ilk's mat {ilk.mat}",
                    )
                )
        per_vault = cohort.debt / cohort.vaults
        if ilk.dust > 0 and per_vault < ilk.dust:
            problems.append(
                (
                    ("borrowers", i, "debt"),
                    f"{per_vault:g} Dai per vault is below the ilk's dust {ilk.dust:g}",
                )
            )
    names: set[str] = set()
    has_flip = any(isinstance(i.liquidation, FlipLiquidation) for i in s.ilks.values())
    for i, keeper in enumerate(s.keepers):
        if keeper.name in names:
            problems.append((("keepers", i, "name"), f"duplicate keeper name {keeper.name!r}"))
        names.add(keeper.name)
        if isinstance(keeper.strategy, LowballStrategy) and not has_flip:
            problems.append(
                (
                    ("keepers", i, "strategy", "kind"),
                    "lowball keepers bid in English auctions; no ilk uses engine: flip",
                )
            )
    problems.extend(_check_market_sections(s))
    problems.extend(_check_processes(s))
    problems.extend(_check_capacity(s))
    versions = {
        i.liquidation.version for i in s.ilks.values() if isinstance(i.liquidation, FlipLiquidation)
    }
    if len(versions) > 1:
        first = next(
            n
            for n, i in s.ilks.items()
            if isinstance(i.liquidation, FlipLiquidation) and i.liquidation.version == "1.0"
        )
        problems.append(
            (
                ("ilks", first, "liquidation", "version"),
                "all flip ilks share one Cat: use the same version (1.0 or 1.2) for all",
            )
        )
    if s.mkr is not None and "MKR" in s.collateral:
        problems.append((("collateral", "MKR"), "the name MKR is taken by the mkr section"))
    for name, coll in s.collateral.items():
        price = coll.price
        if isinstance(price, ScriptedPrice):
            if (price.crash is None) == (price.points is None):
                problems.append(
                    (("collateral", name, "price"), "scripted needs exactly one of crash or points")
                )
            elif price.crash is not None and price.start is None:
                problems.append((("collateral", name, "price", "start"), "required with crash"))
        if isinstance(price, ReplayPrice):
            problems.extend(_check_replay(s, ("collateral", name, "price"), price))
    return problems


def _check_market_sections(s: Scenario) -> list[tuple[tuple[Any, ...], str]]:
    """Market depth, correlations, network and PSM checks."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    for name, coll in s.collateral.items():
        m = coll.market
        if m is not None and (m.depth_usd_2pct is None) == (m.pool_usd is None):
            problems.append(
                (("collateral", name, "market"), "give exactly one of depth_usd_2pct or pool_usd")
            )
    assets = [*s.collateral, *(["MKR"] if s.mkr is not None else [])]
    for a, row in s.correlation.items():
        if a not in assets:
            problems.append((("correlation", a), f"unknown asset (defined: {', '.join(assets)})"))
            continue
        for b, rho in row.items():
            if b not in assets:
                problems.append(
                    (("correlation", a, b), f"unknown asset (defined: {', '.join(assets)})")
                )
            elif a == b and rho != 1:
                problems.append((("correlation", a, b), "an asset's own correlation is 1"))
            elif b in s.correlation and a in s.correlation[b] and s.correlation[b][a] != rho:
                problems.append((("correlation", a, b), f"conflicts with correlation.{b}.{a}"))
    if s.correlation and not problems:
        from sim.market.prices import correlated_normals

        try:
            correlated_normals(correlation_matrix(s), 1, np.random.default_rng(0))
        except ValueError as exc:
            problems.append((("correlation",), str(exc)))
    if s.network is not None:
        if s.network.eth not in s.collateral:
            problems.append(
                (("network", "eth"), f"unknown collateral {s.network.eth!r} to price gas with")
            )
        gas = s.network.gas
        if isinstance(gas, ReplayGasSpec):
            problems.extend(
                _check_csv(s, ("network", "gas"), gas.file, gas.column, gas.time_column)
            )
    if s.system.psm is not None and f"PSM-{s.system.psm.gem}-A" in s.ilks:
        problems.append((("system", "psm", "gem"), f"PSM-{s.system.psm.gem}-A is already an ilk"))
    return problems


def _check_processes(s: Scenario) -> list[tuple[tuple[Any, ...], str]]:
    """Build every price and gas process once, so that what they reject is reported here."""
    from sim.market.prices import DataError
    from sim.model import build_gas_process, build_price_process

    problems: list[tuple[tuple[Any, ...], str]] = []
    specs: list[tuple[tuple[Any, ...], Any, Any]] = [
        (("collateral", name, "price"), coll.price, build_price_process)
        for name, coll in s.collateral.items()
    ]
    if s.mkr is not None:
        specs.append((("mkr", "price"), s.mkr.price, build_price_process))
    if s.network is not None:
        specs.append((("network", "gas"), s.network.gas, build_gas_process))
    for path, spec, build in specs:
        if any(p[: len(path)] == path for p, _ in problems):
            continue
        try:
            build(spec, s)
        except DataError as exc:
            problems.append(((*path, "file"), str(exc)))
        except (ValueError, TypeError) as exc:
            problems.append((path, str(exc)))
    return problems


def _check_capacity(s: Scenario) -> list[tuple[tuple[Any, ...], str]]:
    """The vaults must fit under the debt ceilings when they open."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    per_ilk: dict[str, float] = {}
    for cohort in s.borrowers:
        per_ilk[cohort.ilk] = per_ilk.get(cohort.ilk, 0.0) + cohort.debt
    for name, total in per_ilk.items():
        ilk = s.ilks.get(name)
        if ilk is not None and total > ilk.line:
            problems.append(
                (
                    ("ilks", name, "line"),
                    f"the cohorts of {name} start with {total:.6g} Dai, above its line {ilk.line:.6g}",
                )
            )
    total = sum(per_ilk.values())
    psm = s.system.psm
    if psm is not None:
        if psm.start > psm.line:
            problems.append((("system", "psm", "start"), f"above the PSM line {psm.line:.6g}"))
        total += psm.start
    if s.system.Line is not None and total > s.system.Line:
        problems.append(
            (
                ("system", "Line"),
                f"the vaults (and PSM) start with {total:.6g} Dai, above Line {s.system.Line:.6g}",
            )
        )
    return problems


def correlation_matrix(s: Scenario) -> np.ndarray:
    """The full correlation matrix over the collateral assets (and MKR, last) of a scenario."""
    assets = [*s.collateral, *(["MKR"] if s.mkr is not None else [])]
    index = {a: k for k, a in enumerate(assets)}
    corr = np.eye(len(assets))
    for a, row in s.correlation.items():
        for b, rho in row.items():
            corr[index[a], index[b]] = corr[index[b], index[a]] = rho
    return corr


def _check_csv(
    s: Scenario, path: tuple[Any, ...], file: str, column: str, time_column: str
) -> list[tuple[tuple[Any, ...], str]]:
    from sim.market.prices import DataError, read_series_csv

    try:
        read_series_csv(s.resolve(file), column, time_column=time_column, start=s.clock.start)
    except DataError as exc:
        return [((*path, "file"), str(exc))]
    return []


def _check_replay(
    s: Scenario, path: tuple[Any, ...], spec: ReplayPrice
) -> list[tuple[tuple[Any, ...], str]]:
    return _check_csv(s, path, spec.file, spec.column, spec.time_column)


# ---------------------------------------------------------------------------------------- YAML with lines


class _LineLoader(yaml.SafeLoader):
    """Safe loader that also records the line of every mapping value and sequence item."""


def _compose(text: str, filename: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    loader = _LineLoader(text)
    loader.name = filename
    try:
        node = loader.get_single_node()
        lines: dict[tuple[Any, ...], int] = {}
        data = _construct(loader, node, (), lines) if node is not None else None
    finally:
        loader.dispose()
    return data, lines


_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAX_DEPTH = 50


def _construct(loader: yaml.SafeLoader, node: yaml.Node, path: tuple[Any, ...], lines: dict) -> Any:
    line = node.start_mark.line + 1
    lines.setdefault(path, line)
    if len(path) > _MAX_DEPTH:
        raise _BadNode(line, path[:2], "nested too deeply (a recursive anchor?)")
    if isinstance(node, yaml.MappingNode):
        if node.tag != _MAP_TAG:
            raise _BadNode(line, path, f"tags are not allowed ({node.tag})")
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise _BadNode(key_line, path, "keys must be plain names, not lists or mappings")
            key = _scalar(loader, key_node, path)
            if key in out:
                raise _DuplicateKey(key, key_line, path)
            lines[(*path, key)] = key_line
            out[key] = _construct(loader, value_node, (*path, key), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        if node.tag != _SEQ_TAG:
            raise _BadNode(line, path, f"tags are not allowed ({node.tag})")
        return [_construct(loader, item, (*path, i), lines) for i, item in enumerate(node.value)]
    return _scalar(loader, node, path)


def _scalar(loader: yaml.SafeLoader, node: yaml.Node, path: tuple[Any, ...]) -> Any:
    """A scalar's value; a value PyYAML cannot read (e.g. the date 2020-13-45) is an error."""
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError:
        raise
    except (ValueError, TypeError, OverflowError) as exc:
        raise _BadNode(
            node.start_mark.line + 1, path, f"cannot read {node.value!r}: {exc}"
        ) from None


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int, path: tuple[Any, ...]):
        self.key, self.line, self.path = key, line, path


class _BadNode(Exception):
    def __init__(self, line: int, path: tuple[Any, ...], message: str):
        self.line, self.path, self.message = line, path, message


# ---------------------------------------------------------------------------------------- overrides


def parse_override(text: str) -> tuple[tuple[str, ...], Any]:
    """Parse ``a.b.c=value`` into a path and a YAML-typed value.

    Raises:
        ValueError: when the text has no ``=`` or an empty path.
    """
    if "=" not in text:
        raise ValueError(f"override {text!r} must look like path.to.field=value")
    key, _, raw = text.partition("=")
    parts = tuple(p for p in key.strip().split("."))
    if not key.strip() or any(not p for p in parts):
        raise ValueError(f"override {text!r} has an empty field name")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return parts, value


def _apply_override(data: Any, parts: tuple[str, ...], value: Any) -> tuple[Any, ...]:
    """Set ``data[parts] = value`` in place; list indices are numbers. Returns the typed path."""
    node = data
    typed: list[Any] = []
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ValueError(
                    f"{'.'.join(parts[: depth + 1])}: no item {part!r} (the list has {len(node)})"
                )
            key: Any = int(part)
        elif isinstance(node, dict):
            key = part
        else:
            raise ValueError(f"{'.'.join(parts[:depth])} is not a section, cannot set {part!r}")
        typed.append(key)
        if last:
            node[key] = value
        else:
            if isinstance(node, dict) and key not in node:
                node[key] = {}
            node = node[key]
    return tuple(typed)


# ---------------------------------------------------------------------------------------- loading


def _line_for(
    loc: tuple[Any, ...], data: Any, lines: dict[tuple[Any, ...], int]
) -> tuple[tuple[Any, ...], int | None]:
    """Map a pydantic error location to the data path that exists and the YAML line of it."""
    path: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part not in node:
            # Either a union tag (skip it) or the missing/unknown field itself.
            continue
    found = tuple(path)
    while found and found not in lines:
        found = found[:-1]
    return tuple(path), lines.get(found)


def _field_path(loc: tuple[Any, ...], data: Any) -> str:
    """Dotted field path of an error location, without union tags."""
    out: list[str] = []
    node: Any = data
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            out.append(str(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            out.append(str(part))
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str):
            # A missing field is the last element; tags are followed by more elements.
            if i == len(loc) - 1 or _is_tag(node, part):
                if not _is_tag(node, part):
                    out.append(part)
            else:
                out.append(part)
                node = None
        elif node is None:
            out.append(str(part))
    return ".".join(out)


def _is_tag(node: dict[str, Any], part: str) -> bool:
    return any(node.get(k) == part for k in ("process", "engine", "kind"))


def _message(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    msg = str(err.get("msg", ""))
    if kind == "extra_forbidden":
        loc = tuple(err.get("loc", ()))
        allowed = _allowed_fields(loc)
        close = difflib.get_close_matches(str(loc[-1]) if loc else "", allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return (
            f"unknown field{hint} (allowed: {', '.join(allowed)})" if allowed else "unknown field"
        )
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return f"unknown {ctx.get('discriminator', 'kind')} {ctx.get('tag')!r}; expected one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        ctx = err.get("ctx", {})
        return f"missing {ctx.get('discriminator', 'kind')}"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    inp = err.get("input")
    if kind in {
        "float_type",
        "int_type",
        "string_type",
        "bool_type",
        "dict_type",
        "list_type",
        "model_type",
        "tuple_type",
        "literal_error",
        "float_parsing",
        "int_parsing",
    }:
        return f"{msg} (got {inp!r})"
    if kind.startswith(("greater_than", "less_than", "too_short", "too_long")):
        return f"{msg} (got {inp!r})"
    return msg


def _allowed_fields(loc: tuple[Any, ...]) -> list[str]:
    """Field names allowed where an unknown key was found, by walking the model types."""
    tp: Any = Scenario
    for part in loc[:-1]:
        tp = _step_type(tp, part)
        if tp is None:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [n for n, f in tp.model_fields.items() if not f.exclude]
    return []


def _unwrap(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    args = [a for a in get_args(tp) if a is not type(None)]
    if get_origin(tp) in (Union, UnionType) and len(args) == 1:
        return _unwrap(args[0])
    return tp


def _step_type(tp: Any, part: Any) -> Any:
    tp = _unwrap(tp)
    origin = get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(part) if isinstance(part, str) else None
        return field.annotation if field is not None else None
    if origin is dict:
        return get_args(tp)[1]
    if origin in (list, tuple):
        return get_args(tp)[0]
    if origin in (Union, UnionType):
        for member in get_args(tp):
            member = _unwrap(member)
            if isinstance(member, type) and issubclass(member, BaseModel):
                for name in ("process", "engine", "kind"):
                    f = member.model_fields.get(name)
                    if f is not None and part in get_args(_unwrap(f.annotation)):
                        return member
    return None


def validate_data(
    data: Any,
    *,
    filename: str,
    base_dir: str | Path,
    lines: dict[tuple[Any, ...], int] | None = None,
    overridden: Mapping[tuple[Any, ...], str] | None = None,
) -> Scenario:
    """Validate already-parsed scenario data.

    Args:
        data: the YAML document as Python data.
        filename: name used in error messages.
        base_dir: folder that relative paths are resolved against.
        lines: YAML line of each data path (for messages).
        overridden: data paths set by ``--set`` and the override text (for messages).

    Returns:
        The scenario.

    Raises:
        ScenarioError: listing every problem.
    """
    lines = lines or {}
    overridden = overridden or {}
    if not isinstance(data, dict):
        raise ScenarioError(
            [ErrorItem(filename, 1, "", "a scenario file must be a mapping of sections")]
        )

    def locate(path: tuple[Any, ...]) -> tuple[str, int | None]:
        for k in range(len(path), 0, -1):
            if path[:k] in overridden:
                return f"{filename} (--set {overridden[path[:k]]})", None
        found = path
        while found and found not in lines:
            found = found[:-1]
        return filename, lines.get(found)

    payload = {**data, "base_dir": str(base_dir)}
    if "base_dir" in data:
        return _raise_one(locate(("base_dir",)), "base_dir", "unknown field")
    try:
        scenario = Scenario.model_validate(payload, context={"base_dir": str(base_dir)})
    except ValidationError as exc:
        items = []
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            path, _ = _line_for(loc, data, lines)
            file, line = locate(path)
            items.append(ErrorItem(file, line, _field_path(loc, data), _message(err)))
        raise ScenarioError(_dedupe(items)) from None
    problems = list(dict.fromkeys(_cross_check(scenario)))  # the same finding once
    if problems:
        items = []
        for path, message in problems:
            file, line = locate(path)
            items.append(ErrorItem(file, line, ".".join(str(p) for p in path), message))
        raise ScenarioError(items)
    return scenario


def _raise_one(where: tuple[str, int | None], path: str, message: str) -> Scenario:
    raise ScenarioError([ErrorItem(where[0], where[1], path, message)])


def _dedupe(items: Iterable[ErrorItem]) -> list[ErrorItem]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for item in items:
        key = (item.line, item.path, item.message)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Load, override and validate a scenario file.

    Args:
        path: the YAML file.
        overrides: ``"path.to.field=value"`` strings applied before validation.

    Returns:
        The validated, frozen scenario.

    Raises:
        ScenarioError: every problem, as ``file:line: field: message``.
    """
    path = Path(path)
    filename = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([ErrorItem(filename, None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([ErrorItem(filename, None, "", f"cannot read: {exc}")]) from None
    try:
        data, lines = _compose(text, filename)
    except _DuplicateKey as dup:
        field = ".".join(str(p) for p in (*dup.path, dup.key))
        raise ScenarioError([ErrorItem(filename, dup.line, field, "duplicate key")]) from None
    except _BadNode as bad:
        field = ".".join(str(p) for p in bad.path)
        raise ScenarioError([ErrorItem(filename, bad.line, field, bad.message)]) from None
    except RecursionError:
        raise ScenarioError(
            [ErrorItem(filename, None, "", "malformed YAML: recursive anchors are not allowed")]
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        message = f"malformed YAML: {problem}" + (f" ({context})" if context else "")
        raise ScenarioError([ErrorItem(filename, line, "", message)]) from None
    overridden: dict[tuple[Any, ...], str] = {}
    errors = []
    for text_override in overrides:
        try:
            parts, value = parse_override(text_override)
            if not isinstance(data, dict):
                raise ValueError("the file is not a mapping")
            typed = _apply_override(data, parts, value)
            overridden[typed] = text_override
        except ValueError as exc:
            errors.append(ErrorItem(filename, None, f"--set {text_override}", str(exc)))
    if errors:
        raise ScenarioError(errors)
    return validate_data(
        data, filename=filename, base_dir=path.parent, lines=lines, overridden=overridden
    )


def with_overrides(scenario: Scenario, overrides: Sequence[str]) -> Scenario:
    """A copy of ``scenario`` with ``path=value`` overrides applied and validated."""
    data = scenario.to_dict()
    overridden: dict[tuple[Any, ...], str] = {}
    for text in overrides:
        parts, value = parse_override(text)
        overridden[_apply_override(data, parts, value)] = text
    return validate_data(
        data, filename=f"<{scenario.name}>", base_dir=scenario.base_dir, overridden=overridden
    )
