"""cdpsim: an agent-based simulator of MakerDAO-style collateralized-debt stablecoins.

Public API::

    import sim
    scenario = sim.load_scenario("scenarios/eth_crash_liq2.yaml", overrides=["clock.duration=12h"])
    result = sim.run(scenario, seed=1)
    result.timeseries, result.events, result.auctions, result.vaults, result.summary
    model = sim.ProtocolModel(scenario, seed=1); model.run_for(10)
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cdpsim")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+source"

from sim.scenario import Scenario, ScenarioError, load_scenario

# The engine (mesa, pandas, pyarrow: about a second) is imported on first use, so that
# `cdpsim validate` and `import sim.scenario` stay light.
_LAZY = {
    "ProtocolModel": "sim.model",
    "RunResult": "sim.record",
    "ilk_frame": "sim.record",
    "run": "sim.runner",
    "run_batch": "sim.experiments",
    "load_runs": "sim.experiments",
    "run_sweep": "sim.experiments",
    "load_sweep": "sim.experiments",
    "SweepResult": "sim.experiments",
    "sensitivity": "sim.experiments",
    "discover": "sim.experiments",
}

__all__ = [
    "ProtocolModel",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SweepResult",
    "__version__",
    "discover",
    "ilk_frame",
    "load_runs",
    "load_scenario",
    "load_sweep",
    "run",
    "run_batch",
    "run_sweep",
    "sensitivity",
]


def __getattr__(name: str) -> object:
    """Import the engine's public names on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
