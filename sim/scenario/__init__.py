"""Scenario files: YAML → a typed, frozen :class:`Scenario`.

The package, one concept per module:

- :mod:`~sim.scenario.schema`: the pydantic sections, value types and bounds, :class:`Scenario`;
- :mod:`~sim.scenario.yamlfile`: safe YAML with line numbers and size limits;
- :mod:`~sim.scenario.paths`: walking the schema along a data path (for messages);
- :mod:`~sim.scenario.overrides`: ``--set path.to.field=value``;
- :mod:`~sim.scenario.resources`: the run's ticks and memory, estimated and bounded;
- :mod:`~sim.scenario.checks`: checks across sections, including replayed data coverage;
- :mod:`~sim.scenario.loader`: :func:`load_scenario`, :func:`validate_data`,
  :func:`with_overrides`;
- :mod:`~sim.scenario.errors`: :class:`ErrorItem`, :class:`ScenarioError`.

Every name the rest of cdpsim uses is importable from ``sim.scenario`` directly.
"""

from sim.scenario.checks import advisories
from sim.scenario.errors import MAX_ERRORS, ErrorItem, ScenarioError
from sim.scenario.loader import load_scenario, validate_data, with_overrides
from sim.scenario.overrides import OverrideError, apply_override, parse_override
from sim.scenario.resources import (
    MAX_TICKS,
    ResourceEstimate,
    check_resources,
    estimate_resources,
    physical_memory,
)
from sim.scenario.schema import (
    AuctionTimes,
    BridgePrice,
    ClipLiquidation,
    Clock,
    CloseStrategy,
    Cohort,
    Collateral,
    ConstantGasSpec,
    Crash,
    CrDist,
    DaiMarketSpec,
    ExponentialCurve,
    FixedGasBid,
    FlipLiquidation,
    GasBid,
    GasSpec,
    GbmPrice,
    IlkSpec,
    JumpDiffusionPrice,
    KeeperSpec,
    LeverageStrategy,
    LinearCurve,
    LognormalGasBid,
    LowballStrategy,
    MarketDepth,
    MarketGasBid,
    MarketKeeperStrategy,
    Mkr,
    Network,
    Oracle,
    PassiveStrategy,
    PriceSpec,
    PsmSpec,
    Record,
    ReplayGasSpec,
    ReplayPrice,
    Scenario,
    Schedule,
    ScriptedPrice,
    SizeDist,
    SpikeGasSpec,
    StairstepCurve,
    System,
    TargetCrStrategy,
    VowSpec,
    correlation_matrix,
)
from sim.scenario.yamlfile import MAX_FILE_BYTES, MAX_NODES

__all__ = [
    "MAX_ERRORS",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "MAX_TICKS",
    "AuctionTimes",
    "BridgePrice",
    "ClipLiquidation",
    "Clock",
    "CloseStrategy",
    "Cohort",
    "Collateral",
    "ConstantGasSpec",
    "CrDist",
    "Crash",
    "DaiMarketSpec",
    "ErrorItem",
    "ExponentialCurve",
    "FixedGasBid",
    "FlipLiquidation",
    "GasBid",
    "GasSpec",
    "GbmPrice",
    "IlkSpec",
    "JumpDiffusionPrice",
    "KeeperSpec",
    "LeverageStrategy",
    "LinearCurve",
    "LognormalGasBid",
    "LowballStrategy",
    "MarketDepth",
    "MarketGasBid",
    "MarketKeeperStrategy",
    "Mkr",
    "Network",
    "Oracle",
    "OverrideError",
    "PassiveStrategy",
    "PriceSpec",
    "PsmSpec",
    "Record",
    "ReplayGasSpec",
    "ReplayPrice",
    "ResourceEstimate",
    "Scenario",
    "ScenarioError",
    "Schedule",
    "ScriptedPrice",
    "SizeDist",
    "SpikeGasSpec",
    "StairstepCurve",
    "System",
    "TargetCrStrategy",
    "VowSpec",
    "advisories",
    "apply_override",
    "check_resources",
    "correlation_matrix",
    "estimate_resources",
    "load_scenario",
    "parse_override",
    "physical_memory",
    "validate_data",
    "with_overrides",
]
