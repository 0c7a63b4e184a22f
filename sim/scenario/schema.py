"""The scenario schema: pydantic sections, their value types and bounds, and :class:`Scenario`.

Conventions: durations are strings with a unit (``"90s"``, ``"10m"``, ``"6h"``, ``"3d"``) and are
held in seconds; annual rates are plain fractions (``0.08`` = 8 %/yr); the liquidation penalty
``chop`` is a fraction (0.13 = 13 %; dss stores 1.13); paths are relative to the scenario file.

Every number has bounds that keep float64 arithmetic meaningful (the named constants below, each
with its reason): a value outside them is an error naming the field, never an overflow later.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
)

from sim.scenario.actions import Action
from sim.scenario.agent_specs import Cohort, KeeperSpec
from sim.scenario.fields import (
    AGENTS_MAX,
    DATA_FILE,
    GAS_LIMIT_MAX,
    GAS_PER_CALL_MAX,
    SEED_MAX,
    Amount,
    AmountOrZero,
    Buf,
    Chop,
    Cut,
    Depth,
    Drift,
    Duration,
    Fraction,
    Gwei,
    JumpMean,
    JumpRate,
    JumpStd,
    Mat,
    Name,
    OpenFraction,
    Pad,
    PosDuration,
    Price,
    Rate,
    Strict,
    Timestamp,
    Vol,
    _data_file,
    _duration,
    _number,
    _pair,
    _timestamp,
    _whole,
    field,
)
from sim.units import format_duration, parse_duration

# ---------------------------------------------------------------------------------------- prices


class GbmPrice(Strict):
    """Geometric Brownian motion."""

    process: Literal["gbm"]
    start: Price = field(label="start price", description="price at the start [USD/token]")
    vol: Vol = field(label="volatility", description="volatility [1/sqrt(yr)], e.g. 0.8")
    drift: Drift = Field(0.0, description="drift [1/yr]")


class JumpDiffusionPrice(Strict):
    """Merton jump diffusion: GBM plus Poisson log-normal jumps."""

    process: Literal["jump_diffusion"]
    start: Price = field(label="start price")
    vol: Vol = field(label="volatility")
    drift: Drift = 0.0
    jump_rate: JumpRate = Field(description="expected jumps per year [1/yr]")
    jump_mean: JumpMean = field(
        label="mean log jump size", description="mean log jump size, e.g. -0.1"
    )
    jump_std: JumpStd = field(
        label="log jump size std", description="standard deviation of the log jump size"
    )


class Crash(Strict):
    """A scripted crash: flat, then a linear fall by ``depth`` between ``at`` and ``at + over``."""

    depth: OpenFraction = field(label="crash depth", description="fraction lost, 0.5 = −50 %")
    at: Duration = field(
        label="crash start", description="when the fall starts (time since the start)"
    )
    over: Duration = field(label="crash length", description="how long the fall lasts")


class ScriptedPrice(Strict):
    """A scripted path: a crash, or points ``[[time, price], ...]`` interpolated linearly."""

    process: Literal["scripted"]
    start: Price | None = field(None, label="start price")
    crash: Crash | None = None
    points: list[Annotated[tuple[Duration, Price], BeforeValidator(_pair)]] | None = None
    vol: Vol = field(
        0.0, label="noise volatility", description="optional GBM noise on top [1/sqrt(yr)]"
    )

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


#: What a replayed series does outside its data: ``error`` (refuse a run it does not cover) or
#: ``hold`` (the first value before the data, the last value after it).
Beyond = Literal["error", "hold"]


class ReplayPrice(Strict):
    """Replay a column of a CSV file (ISO-8601 ``timestamp`` column), interpolated within rows."""

    process: Literal["replay"]
    file: str = Field(
        description="CSV path, relative to the scenario file", json_schema_extra=DATA_FILE
    )
    column: str
    time_column: str = "timestamp"
    interpolate: Literal["linear", "previous", "bridge"] = "linear"
    vol: Vol = field(
        0.0, label="bridge volatility", description="Brownian-bridge volatility [1/sqrt(yr)]"
    )
    beyond: Beyond = Field(
        "error", description="outside the data: error, or hold the first/last value"
    )
    after: Price | None = field(
        None,
        label="price after the data",
        description="with beyond: hold, the value after the data end instead of the last one "
        "[USD/token]",
    )

    _exists = field_validator("file")(classmethod(lambda cls, v, info: _data_file(v, info)))


class BridgePrice(Strict):
    """A random path pinned to reach ``target`` at time ``at`` (Brownian bridge), GBM after."""

    process: Literal["bridge"]
    start: Price = field(label="start price")
    target: Price = field(label="target price")
    at: Duration = field(label="target time")
    vol: Vol = field(label="volatility")
    drift: Drift = 0.0


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

    depth_usd_2pct: Depth | None = field(
        None, label="market depth per 2 % move", description="USD that move the price 2 % [USD]"
    )
    pool_usd: Depth | None = field(
        None, label="pool reserve", description="constant-product pool USD reserve [USD]"
    )
    recovery_half_life: Duration = field(
        7200.0, label="price impact half-life", description="half-life of the price impact"
    )


class Collateral(Strict):
    """A collateral asset: its exogenous price and the depth of its market."""

    price: PriceSpec
    market: MarketDepth | None = None


class Mkr(Strict):
    """MKR: its price and market, and the bidders in the debt and surplus auctions.

    Each bidder asks its own profit ``margin`` [-] on the MKR market price: bidder ``j``'s margin
    is drawn once, uniformly in ``[margin − margin_spread, margin + margin_spread]``, from the
    run's ``mkr`` random stream (so the draw changes no other stream). With the default spread 0
    every bidder asks ``margin``.

    ``market`` (optional) is the depth of the MKR market the bidders sell the MKR they win into
    and buy back the MKR they bid in surplus auctions from: their trades move the MKR price, which
    recovers towards the exogenous ``price`` with ``recovery_half_life``. Without it the MKR
    market is infinitely deep: bidders trade at the exogenous price and never move it.
    """

    price: PriceSpec
    market: MarketDepth | None = Field(
        None, description="MKR market depth (none: infinitely deep, trades do not move the price)"
    )
    bidders: Annotated[int, BeforeValidator(_whole), Field(ge=0, le=AGENTS_MAX)] = field(
        2, unit="count", label="MKR bidders", description="number of MKR bidders"
    )
    dai: AmountOrZero = field(
        5.0e6,
        unit="Dai",
        label="Dai per MKR bidder",
        description="Dai per bidder, for debt auctions [Dai]",
    )
    mkr: AmountOrZero = field(
        1.0e4,
        unit="MKR",
        label="MKR per MKR bidder",
        description="MKR per bidder, for surplus auctions [MKR]",
    )
    margin: Fraction = field(
        0.05,
        label="MKR bidders' margin",
        description="mean profit the bidders ask on the MKR market price [-], 0.05 = 5 %",
    )
    margin_spread: Fraction = field(
        0.0,
        label="spread of MKR bidders' margins",
        description="bidders' margins are uniform in margin ± margin_spread [-]",
    )

    @field_validator("margin_spread")
    @classmethod
    def _spread_within_margin(cls, spread: float, info: ValidationInfo) -> float:
        margin = info.data.get("margin")
        if margin is not None and spread > margin:
            raise ValueError(
                f"margin_spread {spread:.6g} is above margin {margin:.6g}: a bidder would ask a "
                "negative margin"
            )
        return spread

    @field_validator("market")
    @classmethod
    def _one_depth(cls, market: MarketDepth | None) -> MarketDepth | None:
        if market is not None and (market.depth_usd_2pct is None) == (market.pool_usd is None):
            raise ValueError("give exactly one of depth_usd_2pct or pool_usd")
        return market


class DaiMarketSpec(Strict):
    """The Dai/USD market: its depth and how fast it returns to the peg on its own."""

    depth_usd_2pct: Depth = field(
        label="Dai market depth per 2 % move", description="USD that move the Dai price 2 % [USD]"
    )
    recovery_half_life: Duration = field(
        21600.0, label="Dai peg half-life", description="half-life of a deviation"
    )


# ---------------------------------------------------------------------------------------- ilks


class LinearCurve(Strict):
    """Clipper linear decrease to zero over ``tau``."""

    kind: Literal["linear"]
    tau: PosDuration = field(label="time to zero price")


class StairstepCurve(Strict):
    """Clipper stairstep: multiply by ``cut`` every ``step``."""

    kind: Literal["stairstep"]
    cut: Cut = field(0.99, label="price step factor")
    step: PosDuration = field(90.0, label="price step interval")


class ExponentialCurve(Strict):
    """Clipper continuous exponential decrease: ``top·cut^seconds`` (dss ``cut`` per second)."""

    kind: Literal["exponential"]
    cut: Cut = field(label="price factor per second")


Curve = Annotated[LinearCurve | StairstepCurve | ExponentialCurve, Field(discriminator="kind")]


class BreakerSpec(Strict):
    """ClipperMom's breaker (``tripBreaker``): tried at each OSM poke; tripped, ``stopped`` is 2."""

    tolerance: Fraction = field(
        label="breaker tolerance",
        description="trips when the OSM's next price < tolerance × its current price; 0 never",
    )


class ClipLiquidation(Strict):
    """Liquidations 2.0 (Dog + Clipper, Dutch auctions). Defaults: ETH-A, 2021."""

    engine: Literal["clip"]
    chop: Chop = field(
        0.13,
        label="liquidation penalty",
        description="liquidation penalty fraction (dss chop − 1)",
    )
    hole: Amount = field(
        15.0e6,
        unit="Dai",
        label="ilk auction limit",
        description="max Dai in this ilk's auctions [Dai]",
    )
    buf: Buf = field(
        1.30, label="start price over OSM", description="auction start price over the OSM price"
    )
    tail: PosDuration = field(
        8400.0, label="auction reset time", description="time before an auction needs a reset"
    )
    cusp: OpenFraction = field(0.40, label="reset price over start")
    chip: Fraction = field(
        0.001, label="keeper reward share", description="keeper reward as a fraction of tab"
    )
    tip: AmountOrZero = field(
        300.0, unit="Dai", label="flat keeper reward", description="flat keeper reward [Dai]"
    )
    curve: Curve = Field(default_factory=lambda: StairstepCurve(kind="stairstep"))
    stopped: Literal[0, 1, 2, 3] = field(
        0, label="circuit breaker level", description="circuit breaker level"
    )
    breaker: BreakerSpec | None = Field(None, description="ClipperMom breaker; none = no breaker")


class FlipLiquidation(Strict):
    """Liquidations 1.x (Cat + Flipper, English auctions). Defaults: ETH-A, March 2020."""

    engine: Literal["flip"]
    version: Literal["1.0", "1.2"] = "1.0"
    chop: Chop = field(0.13, label="liquidation penalty")
    lump: Amount = field(
        50.0,
        unit="tokens",
        label="collateral per bite",
        description="1.0: max collateral per bite [tokens]",
    )
    dunk: Amount = field(
        50_000.0, unit="Dai", label="tab per auction", description="1.2: max tab per auction [Dai]"
    )
    beg: OpenFraction = field(0.03, label="minimum bid increase")
    ttl: PosDuration = field(600.0, label="bid duration")
    tau: PosDuration = field(259200.0, label="auction duration")


Liquidation = Annotated[ClipLiquidation | FlipLiquidation, Field(discriminator="engine")]


class AutoLineSpec(Strict):
    """DC-IAM (DssAutoLine): ``exec`` each tick sets ``line = min(debt + gap, max)``."""

    line: Amount = field(unit="Dai", label="maximum debt ceiling", description="the most [Dai]")
    gap: AmountOrZero = field(unit="Dai", label="debt ceiling gap", description="room [Dai]")
    ttl: Duration = field(label="ceiling increase interval", description="time between increases")


class IlkSpec(Strict):
    """A collateral type (vault type) of the Vat."""

    collateral: Name = Field(description="key of the collateral section")
    mat: Mat = field(label="liquidation ratio", description="liquidation ratio, e.g. 1.5")
    stability_fee: Rate = Field(0.0, description="annual stability fee, 0.08 = 8 %/yr")
    line: Amount = field(unit="Dai", label="debt ceiling", description="ilk debt ceiling [Dai]")
    dust: AmountOrZero = field(
        0.0, unit="Dai", label="minimum vault debt", description="minimum vault debt [Dai]"
    )
    liquidation: Liquidation
    autoline: AutoLineSpec | None = Field(None, description="DC-IAM; none = the line stays fixed")


# ---------------------------------------------------------------------------------------- system


class Oracle(Strict):
    """Oracle settings: the OSM delay and the medianizer's gas limit."""

    hop: PosDuration = field(3600.0, label="OSM delay", description="OSM delay")
    gas_limit_gwei: Gwei | None = field(
        None,
        label="medianizer gas limit",
        description="medianizer updates fail while gas is above this [gwei]; none = never",
    )


class AuctionTimes(Strict):
    """Bid increment and timing of an auction house."""

    beg: OpenFraction = field(0.05, label="minimum bid increase")
    ttl: PosDuration = field(10800.0, label="bid duration")
    tau: PosDuration = field(172800.0, label="auction duration")


class PsmSpec(Strict):
    """Peg Stability Module for a USD stablecoin (its own ilk ``PSM-<gem>-A``)."""

    gem: Name = "USDC"
    tin: Fraction = field(
        0.0, label="PSM fee in", description="fee when selling the stablecoin for Dai"
    )
    tout: Fraction = field(
        0.0, label="PSM fee out", description="fee when buying the stablecoin with Dai"
    )
    line: Amount = field(unit="Dai", label="PSM debt ceiling", description="PSM debt ceiling [Dai]")
    start: AmountOrZero = field(
        0.0,
        unit="USD",
        label="PSM stablecoin at the start",
        description="stablecoin in the PSM at the start [USD]",
    )
    arbitrage: bool = Field(
        True, description="an arbitrageur trades the PSM against the Dai market"
    )
    arbitrage_usd: AmountOrZero = field(
        1.0e9,
        unit="USD",
        label="PSM arbitrageur's stablecoin",
        description="the arbitrageur's stablecoin [USD]",
    )
    price: PriceSpec | None = Field(
        None,
        description="the stablecoin's market price in USD per token (a price process, e.g. a "
        "replay); none = pegged at 1. The PSM still swaps it for Dai at par",
    )
    autoline: AutoLineSpec | None = Field(
        None, description="DC-IAM on the PSM's ilk; none = its line stays fixed"
    )


class VowSpec(Strict):
    """Vow settings (debt queue and the MKR auctions)."""

    wait: Duration = field(0.0, label="debt queue delay", description="debt queue delay")
    sump: Amount = field(50_000.0, unit="Dai", label="debt auction bid")
    dump: Amount = field(250.0, unit="MKR", label="debt auction lot")
    bump: Amount = field(10_000.0, unit="Dai", label="surplus auction lot")
    hump: AmountOrZero = field(500_000.0, unit="Dai", label="surplus buffer")
    flop: AuctionTimes = Field(
        default_factory=lambda: AuctionTimes(beg=0.05, ttl="3h", tau="2d"),
        description="debt auctions (Flopper)",
    )
    pad: Pad = field(
        0.5,
        label="debt auction lot increase",
        description="flop lot increase on restart (1.5× for 0.5)",
    )
    flap: AuctionTimes = Field(
        default_factory=lambda: AuctionTimes(beg=0.05, ttl="30m", tau="2d"),
        description="surplus auctions (Flapper)",
    )
    lid: Amount = field(
        150_000.0,
        unit="Dai",
        label="surplus auction limit",
        description=(
            "most Dai on sale in surplus auctions at once [Dai] (Flapper lid; 150 000 Dai as set "
            "by the 2021 spell that installed it)"
        ),
    )


class EndSpec(Strict):
    """The End (Emergency Shutdown's settlement engine, dss ``end.sol``)."""

    wait: Duration = field(
        259_200.0,
        label="shutdown processing time",
        description=(
            "End wait: time between cage and thaw for processing vaults and auctions (72 h "
            "assumed for mainnet; not read from the chainlog)"
        ),
    )


class EsmSpec(Strict):
    """The Emergency Shutdown Module (makerdao/esm ``ESM.sol``)."""

    min: Amount = field(
        150_000.0,
        unit="MKR",
        label="ESM threshold",
        description="MKR that must be joined to fire the ESM [MKR] (150 000 assumed for mainnet)",
    )


class System(Strict):
    """System-wide parameters."""

    Line: Amount | None = field(
        None,
        unit="Dai",
        label="system debt ceiling",
        description="system debt ceiling [Dai]; none = no cap",
    )
    Hole: Amount = field(
        100.0e6,
        unit="Dai",
        label="Clipper auction limit",
        description="Dog: max Dai in all Clipper auctions [Dai]",
    )
    par: Price = field(
        1.0, unit="USD", label="Dai reference price", description="Dai reference price [USD]"
    )
    box: Amount | None = field(
        None,
        unit="Dai",
        label="Flipper auction limit",
        description="Cat 1.2: max Dai in Flipper auctions [Dai]",
    )
    oracle: Oracle = Field(default_factory=Oracle)
    vow: VowSpec = Field(default_factory=VowSpec)
    base_fee: Rate = Field(0.0, description="Jug base rate added to every ilk's fee, per year")
    dsr: Rate = field(0.0, label="Dai Savings Rate", description="Dai Savings Rate per year")
    dsr_deposits: AmountOrZero = field(
        0.0, unit="Dai", label="Dai in the Pot", description="Dai in the Pot at the start [Dai]"
    )
    psm: PsmSpec | None = None
    end: EndSpec = Field(default_factory=EndSpec, description="Emergency Shutdown's End")
    esm: EsmSpec = Field(default_factory=EsmSpec, description="Emergency Shutdown Module")


# ---------------------------------------------------------------------------------------- governance


def _spell_time(value: Any) -> Any:
    """A spell's ``at``: a duration since the run's start, or an absolute (ISO-8601) UTC time."""
    if isinstance(value, dt.date):
        return _timestamp(value)
    if isinstance(value, str):
        try:
            parse_duration(value)
        except ValueError:
            try:
                return _timestamp(value)
            except ValueError:
                raise ValueError(
                    f"{value!r} is neither a duration since the start (e.g. '30h') nor an "
                    "ISO-8601 time (e.g. '2023-03-11T16:00:00Z')"
                ) from None
    return _duration(value)


def _show_spell_time(value: float | dt.datetime) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return format_duration(value)


#: A spell's ``at``: seconds since the run's start, or a UTC time.
SpellTime = Annotated[
    float | dt.datetime,
    BeforeValidator(_spell_time),
    PlainSerializer(_show_spell_time, return_type=str),
]


class Spell(Strict):
    """A governance spell: scenario fields changed at a time during the run.

    The change takes effect ``delay`` (the spell's own, else :attr:`Governance.delay`) after
    ``at``, at the start of the first tick ending at or after that time.
    """

    name: Name | None = Field(None, description="the spell's name (default: spell-<index>)")
    at: SpellTime = Field(
        description="when the spell is cast: a duration since the run's start ('30h') or a UTC "
        "time ('2023-03-11T16:00:00Z')"
    )
    delay: Duration | None = field(
        None,
        label="spell delay",
        description="delay between the cast and the effect; none = governance.delay",
    )
    set: dict[str, Any] = Field(
        default_factory=dict,
        description="fields to change, as --set paths and values (ilks.ETH-A.liquidation.tip: "
        "600); only protocol parameters may change during a run",
    )
    do: list[Action] = Field(
        default_factory=list,
        description="actions called after the set, in order (stop_osm, void_osm, start_osm, "
        "breaker, flap, flop; sim/scenario/actions.py); a spell needs a set or a do",
    )


#: A threshold of a governor's trigger, in the unit of its quantity.
Threshold = Annotated[float, BeforeValidator(_number), Field(allow_inf_nan=False)]


class Trigger(Strict):
    """When a governor fires: a recorded quantity below or above a threshold for a while."""

    quantity: str = Field(
        description="a quantity recorded each tick: dai_price, surplus, bad_debt, auction_debt, "
        "insolvent_debt, dai_supply, psm_debt, savings, mkr_price, gas_price_gwei, or an ilk's "
        "column, its field then the ilk in square brackets, as in the timeseries (price, "
        "osm_price, debt, collateral_value, unsafe_debt, unsafe_debt_after, auctions_active, "
        "liquidations)"
    )
    below: Threshold | None = field(
        None,
        unit="quantity's unit",
        label="trigger threshold (below)",
        description="holds while the quantity is below this",
    )
    above: Threshold | None = field(
        None,
        unit="quantity's unit",
        label="trigger threshold (above)",
        description="holds while the quantity is above this",
    )
    hold: Duration = field(
        0.0,
        label="trigger hold",
        description="how long the condition must hold without a break before the governor fires",
    )


class Step(Strict):
    """A governor's bounded step of one numeric field: ``by`` per firing, within ``[min, max]``."""

    by: Threshold = field(
        unit="field's unit", label="governor step", description="change per firing (signed)"
    )
    min: Threshold | None = field(
        None,
        unit="field's unit",
        label="governor lower bound",
        description="the lowest value (required when by < 0)",
    )
    max: Threshold | None = field(
        None,
        unit="field's unit",
        label="governor upper bound",
        description="the highest value (required when by > 0)",
    )


class Governor(Strict):
    """A conditional governor: a bounded rule that steps parameters when a quantity strays.

    When its trigger has held for ``when.hold``, it fires (not again within ``cooldown``): each
    ``set`` field moves by its step, clamped to its bounds, and its ``do`` actions are called,
    ``delay`` later (the GSM pause), at the start of a tick.
    """

    name: Name = Field(description="the governor's name (its events' actor)")
    when: Trigger
    set: dict[str, Step] = Field(
        default_factory=dict,
        description="numeric fields to step, as --set paths (system.psm.tin: {by: 0.002, max: "
        "0.01}); only protocol parameters",
    )
    do: list[Action] = Field(default_factory=list, description="actions called at each firing")
    cooldown: Duration = field(
        0.0, label="governor cooldown", description="no second firing within this of the last"
    )
    delay: Duration | None = field(
        None,
        label="governor delay",
        description="delay between a firing and its effect; none = governance.delay",
    )


class Governance(Strict):
    """Governance: spells scheduled during the run and governors, behind the GSM pause ``delay``."""

    delay: Duration = field(
        0.0,
        label="GSM pause delay",
        description="default delay between a spell's cast (at) and its effect",
    )
    spells: list[Spell] = Field(default_factory=list)
    governors: list[Governor] = Field(
        default_factory=list, description="rules that step parameters when a quantity strays"
    )

    def label(self, index: int) -> str:
        """Spell ``index``'s name, ``spell-<index>`` when it has none."""
        name = self.spells[index].name
        return name if name is not None else f"spell-{index}"

    def effect_s(self, index: int, start: dt.datetime) -> float:
        """When spell ``index`` takes effect [s since the run's ``start``]."""
        spell = self.spells[index]
        at = spell.at
        cast = (at - start).total_seconds() if isinstance(at, dt.datetime) else float(at)
        return cast + (self.delay if spell.delay is None else spell.delay)

    def tick(self, index: int, clock: Clock) -> int:
        """The tick at whose start spell ``index`` takes effect.

        The first tick ending at or after its effect time: ``ceil(effect_s / tick)`` (0: the
        run's start; negative: before it).
        """
        return math.ceil(self.effect_s(index, clock.start) / clock.tick - 1e-9)


class ConstantGasSpec(Strict):
    """A constant gas price."""

    process: Literal["constant"]
    gwei: Gwei = field(label="gas price")


class SpikeGasSpec(Strict):
    """A scripted spike: ``base``, jumps to ``peak`` at ``at`` for ``over``, then decays."""

    process: Literal["spike"]
    base: Gwei = field(label="base gas price")
    peak: Gwei = field(label="peak gas price")
    at: Duration = field(label="gas spike start")
    over: Duration = field(label="gas spike length")
    decay: PosDuration = field(
        3600.0, label="gas spike half-life", description="half-life of the decay back to base"
    )


class ReplayGasSpec(Strict):
    """Gas price replayed from a CSV column [gwei]."""

    process: Literal["replay"]
    file: str = Field(
        description="CSV path, relative to the scenario file", json_schema_extra=DATA_FILE
    )
    column: str
    time_column: str = "timestamp"
    interpolate: Literal["linear", "previous"] = "previous"
    beyond: Beyond = Field(
        "error", description="outside the data: error, or hold the first/last value"
    )
    p90_column: str | None = Field(
        None,
        description="column of the 90th percentile of the gas prices paid (the background "
        "demand's spread is estimated from it and the central column); none = every other "
        "transaction pays the series' price",
    )
    after: Gwei | None = field(
        None,
        label="gas price after the data",
        description="with beyond: hold, the gas price after the data end instead of the last one "
        "[gwei]",
    )

    _exists = field_validator("file")(classmethod(lambda cls, v, info: _data_file(v, info)))


GasSpec = Annotated[ConstantGasSpec | SpikeGasSpec | ReplayGasSpec, Field(discriminator="process")]


class Network(Strict):
    """The Ethereum network: gas prices and what transactions cost."""

    gas: GasSpec
    eth: Name = Field("ETH", description="collateral whose price converts gas costs to USD")
    gas_used: dict[
        Literal[
            "bark",
            "take",
            "take_flash",
            "redo",
            "bite",
            "tend",
            "dent",
            "deal",
            "tick",
            "flop",
            "flap",
            "frob",
            "close",
            "poke",
            "psm_swap",
        ],
        Annotated[int, Field(gt=0, le=GAS_PER_CALL_MAX)],
    ] = Field(default_factory=dict, description="gas used per call, overriding the defaults")
    block_time: PosDuration = Field(
        13.0, description="time between blocks (13 s: Ethereum in 2020; 12 s after the merge)"
    )
    gas_limit: Annotated[int, BeforeValidator(_whole), Field(gt=0, le=GAS_LIMIT_MAX)] = field(
        unit="gas",
        label="block gas limit",
        description="most gas per block (about 10 M in March 2020, 12.5 M from August 2020, "
        "15 M from April 2021, 30 M at most after London)",
    )


class Record(Strict):
    """What a run records."""

    vault_snapshot_every: PosDuration | None = field(
        None,
        label="vault snapshot interval",
        description="vault snapshot interval; none = start and end only",
    )
    cr_quantiles: list[Annotated[float, Field(gt=0, lt=1)]] = field(
        unit="-", label="CR quantiles", default_factory=lambda: [0.05, 0.5, 0.95]
    )
    check_invariants: bool = Field(True, description="check the accounting invariants each tick")


class Clock(Strict):
    """Simulation time."""

    tick: PosDuration = 600.0
    duration: PosDuration
    start: Timestamp = Field(default_factory=lambda: dt.datetime(2020, 1, 1, tzinfo=dt.UTC))


class Schedule(Strict):
    """The order in which agents act within a tick."""

    order: Literal["interleaved", "borrowers_first", "keepers_first"] = Field(
        "interleaved",
        description="interleaved: borrower cohorts and keepers in a random order drawn each "
        "tick (a top-up can lose the race to a bark); or all borrowers before (after) all keepers",
    )


class Scenario(Strict):
    """A whole scenario: the typed, frozen form of a scenario YAML file."""

    name: Name
    description: str = ""
    seed: Annotated[int, Field(ge=0, le=SEED_MAX)] = 0
    clock: Clock
    collateral: dict[Name, Collateral] = Field(min_length=1)
    ilks: dict[Name, IlkSpec] = Field(min_length=1)
    system: System = Field(default_factory=System)
    borrowers: list[Cohort] = Field(min_length=1)
    keepers: list[KeeperSpec] = Field(default_factory=list)
    correlation: dict[Name, dict[Name, Annotated[float, Field(ge=-1, le=1)]]] = field(
        unit="-",
        default_factory=dict,
        description="correlations of the assets' log-return shocks",
    )
    mkr: Mkr | None = None
    dai: DaiMarketSpec | None = Field(None, description="Dai market; none = Dai stays at par")
    network: Network | None = None
    schedule: Schedule = Field(default_factory=Schedule)
    record: Record = Field(default_factory=Record)
    governance: Governance | None = Field(
        None, description="spells changing protocol parameters during the run"
    )

    #: The folder relative paths are resolved against (set by the loader, not in YAML).
    base_dir: str = Field(".", exclude=True)
    #: Extra folders data files may come from (set by the loader, not in YAML).
    data_dirs: tuple[str, ...] = Field((), exclude=True)

    @property
    def n_ticks(self) -> int:
        """Number of ticks: ``ceil(duration / tick)``."""
        return max(1, math.ceil(self.clock.duration / self.clock.tick - 1e-9))

    def resolve(self, path: str) -> Path:
        """A data path of the scenario, resolved against its folder."""
        return Path(self.base_dir) / path

    def data_files(self) -> list[Path]:
        """Every data file the run reads (fields marked :data:`DATA_FILE`), resolved, in order."""
        found: list[Path] = []
        for value in _data_file_values(self):
            path = self.resolve(value)
            if path not in found:
                found.append(path)
        return found

    def to_dict(self) -> dict[str, Any]:
        """The fully resolved scenario as plain data (durations as unit strings)."""
        return self.model_dump(mode="json")


#: Fields the loader sets; a scenario file may not.
LOADER_FIELDS = ("base_dir", "data_dirs")


def _data_file_values(node: Any) -> list[str]:
    """The values of the :data:`DATA_FILE` fields in a model tree, depth first."""
    out: list[str] = []
    if isinstance(node, BaseModel):
        for name, info in type(node).model_fields.items():
            value = getattr(node, name)
            if info.json_schema_extra == DATA_FILE and isinstance(value, str):
                out.append(value)
            else:
                out.extend(_data_file_values(value))
    elif isinstance(node, dict):
        for value in node.values():
            out.extend(_data_file_values(value))
    elif isinstance(node, list | tuple):
        for value in node:
            out.extend(_data_file_values(value))
    return out


def correlation_matrix(s: Scenario) -> np.ndarray:
    """The full correlation matrix over the collateral assets (and MKR, last) of a scenario."""
    assets = [*s.collateral, *(["MKR"] if s.mkr is not None else [])]
    index = {a: k for k, a in enumerate(assets)}
    corr = np.eye(len(assets))
    for a, row in s.correlation.items():
        for b, rho in row.items():
            corr[index[a], index[b]] = corr[index[b], index[a]] = rho
    return corr
