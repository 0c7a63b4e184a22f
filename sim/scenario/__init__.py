"""Scenario files: YAML → a typed, frozen :class:`Scenario`.

The package, one concept per module:

- :mod:`~sim.scenario.schema`: the pydantic sections (prices, ilks, system, governance, network,
  clock) and :class:`Scenario`;
- :mod:`~sim.scenario.agent_specs`: the agents' sections (cohorts and their strategies, keepers,
  gas bids);
- :mod:`~sim.scenario.fields`: the value types and bounds every section is built from;
- :mod:`~sim.scenario.yamlfile`: safe YAML with line numbers and size limits;
- :mod:`~sim.scenario.paths`: walking a schema (the scenario's or another file's) along a data
  path: the field there, its unit and label, the value there;
- :mod:`~sim.scenario.messages`: pydantic's errors as ``file:line: field: message``, for every
  file cdpsim reads;
- :mod:`~sim.scenario.overrides`: ``--set path.to.field=value``;
- :mod:`~sim.scenario.resources`: the run's ticks and memory, estimated and bounded;
- :mod:`~sim.scenario.checks`: checks across sections, including replayed data coverage;
- :mod:`~sim.scenario.governance`: spells (``governance``), the scenarios in force during a
  run, each checked, and which fields a spell may change;
- :mod:`~sim.scenario.loader`: :func:`load_scenario`, :func:`validate_data`,
  :func:`with_overrides`;
- :mod:`~sim.scenario.errors`: :class:`ErrorItem`, :class:`ScenarioError`.

Every name the rest of cdpsim uses is importable from ``sim.scenario`` directly.
"""

from typing import TYPE_CHECKING

# Errors are light and caught everywhere; the rest (pydantic, numpy, the market builders the
# cross-checks try) is imported on first use, so that importing the package costs nothing until
# a scenario is read.
from sim.scenario.errors import MAX_ERRORS, ErrorItem, ScenarioError

if TYPE_CHECKING:
    from sim.scenario.agent_specs import (
        CloseStrategy,
        Cohort,
        CrDist,
        FixedGasBid,
        GasBid,
        GeometricGasBid,
        KeeperSpec,
        KickerStrategy,
        LeverageStrategy,
        LognormalGasBid,
        LowballStrategy,
        MarketGasBid,
        MarketKeeperStrategy,
        PassiveStrategy,
        SizeDist,
        TargetCrStrategy,
    )
    from sim.scenario.checks import advisories
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
        Collateral,
        ConstantGasSpec,
        Crash,
        DaiMarketSpec,
        ExponentialCurve,
        FlipLiquidation,
        GasSpec,
        GbmPrice,
        IlkSpec,
        JumpDiffusionPrice,
        LinearCurve,
        MarketDepth,
        Mkr,
        Network,
        Oracle,
        PriceSpec,
        PsmSpec,
        Record,
        ReplayGasSpec,
        ReplayPrice,
        Scenario,
        Schedule,
        ScriptedPrice,
        SpikeGasSpec,
        StairstepCurve,
        System,
        VowSpec,
        correlation_matrix,
    )
    from sim.scenario.yamlfile import MAX_FILE_BYTES, MAX_NODES

#: Public name → the module defining it (imported on first use, PEP 562).
_LAZY = {
    "advisories": "sim.scenario.checks",
    "load_scenario": "sim.scenario.loader",
    "validate_data": "sim.scenario.loader",
    "with_overrides": "sim.scenario.loader",
    "OverrideError": "sim.scenario.overrides",
    "apply_override": "sim.scenario.overrides",
    "parse_override": "sim.scenario.overrides",
    "MAX_TICKS": "sim.scenario.resources",
    "ResourceEstimate": "sim.scenario.resources",
    "check_resources": "sim.scenario.resources",
    "estimate_resources": "sim.scenario.resources",
    "physical_memory": "sim.scenario.resources",
    "AuctionTimes": "sim.scenario.schema",
    "BridgePrice": "sim.scenario.schema",
    "ClipLiquidation": "sim.scenario.schema",
    "Clock": "sim.scenario.schema",
    "CloseStrategy": "sim.scenario.agent_specs",
    "Cohort": "sim.scenario.agent_specs",
    "Collateral": "sim.scenario.schema",
    "ConstantGasSpec": "sim.scenario.schema",
    "Crash": "sim.scenario.schema",
    "CrDist": "sim.scenario.agent_specs",
    "DaiMarketSpec": "sim.scenario.schema",
    "ExponentialCurve": "sim.scenario.schema",
    "FixedGasBid": "sim.scenario.agent_specs",
    "FlipLiquidation": "sim.scenario.schema",
    "GasBid": "sim.scenario.agent_specs",
    "GasSpec": "sim.scenario.schema",
    "GbmPrice": "sim.scenario.schema",
    "GeometricGasBid": "sim.scenario.agent_specs",
    "IlkSpec": "sim.scenario.schema",
    "JumpDiffusionPrice": "sim.scenario.schema",
    "KeeperSpec": "sim.scenario.agent_specs",
    "KickerStrategy": "sim.scenario.agent_specs",
    "LeverageStrategy": "sim.scenario.agent_specs",
    "LinearCurve": "sim.scenario.schema",
    "LognormalGasBid": "sim.scenario.agent_specs",
    "LowballStrategy": "sim.scenario.agent_specs",
    "MarketDepth": "sim.scenario.schema",
    "MarketGasBid": "sim.scenario.agent_specs",
    "MarketKeeperStrategy": "sim.scenario.agent_specs",
    "Mkr": "sim.scenario.schema",
    "Network": "sim.scenario.schema",
    "Oracle": "sim.scenario.schema",
    "PassiveStrategy": "sim.scenario.agent_specs",
    "PriceSpec": "sim.scenario.schema",
    "PsmSpec": "sim.scenario.schema",
    "Record": "sim.scenario.schema",
    "ReplayGasSpec": "sim.scenario.schema",
    "ReplayPrice": "sim.scenario.schema",
    "Scenario": "sim.scenario.schema",
    "Schedule": "sim.scenario.schema",
    "ScriptedPrice": "sim.scenario.schema",
    "SizeDist": "sim.scenario.agent_specs",
    "SpikeGasSpec": "sim.scenario.schema",
    "StairstepCurve": "sim.scenario.schema",
    "System": "sim.scenario.schema",
    "TargetCrStrategy": "sim.scenario.agent_specs",
    "VowSpec": "sim.scenario.schema",
    "correlation_matrix": "sim.scenario.schema",
    "MAX_FILE_BYTES": "sim.scenario.yamlfile",
    "MAX_NODES": "sim.scenario.yamlfile",
}

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
    "GeometricGasBid",
    "IlkSpec",
    "JumpDiffusionPrice",
    "KeeperSpec",
    "KickerStrategy",
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


def __getattr__(name: str) -> object:
    """Import a public name's module on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sim.scenario' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
