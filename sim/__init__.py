"""cdpsim: an agent-based simulator of MakerDAO-style collateralized-debt stablecoins.

Public API::

    import sim
    scenario = sim.load_scenario("scenarios/eth_crash_liq2.yaml", overrides=["clock.duration=12h"])
    result = sim.run(scenario, seed=1)
    result.timeseries, result.events, result.auctions, result.vaults, result.summary
    model = sim.ProtocolModel(scenario, seed=1); model.run_for(10)
"""

from typing import TYPE_CHECKING

from sim.scenario import ScenarioError

if TYPE_CHECKING:
    from sim.experiments import (
        SweepResult,
        discover,
        load_sweep,
        run_batch,
        run_sweep,
        sensitivity,
    )
    from sim.model import ProtocolModel
    from sim.record import RunResult, ilk_frame
    from sim.results import load_runs
    from sim.runner import run
    from sim.scenario import Scenario, load_scenario

# Everything but the scenario errors is imported on first use (PEP 562): the engine (mesa,
# pandas, pyarrow: about a second) on first use of `sim.run` or `sim.ProtocolModel`, the
# scenario schema (pydantic, numpy) on first use of `sim.load_scenario`, so that `import sim`,
# `cdpsim --help` and `cdpsim validate` import only what they use.
_LAZY = {
    "Scenario": "sim.scenario",
    "load_scenario": "sim.scenario",
    "ProtocolModel": "sim.model",
    "RunResult": "sim.record",
    "ilk_frame": "sim.record",
    "run": "sim.runner",
    "run_batch": "sim.experiments",
    "load_runs": "sim.results",
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
    """Import the public names on first use (PEP 562)."""
    if name == "__version__":
        from sim.version import version

        value = globals()["__version__"] = version()
        return value
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
