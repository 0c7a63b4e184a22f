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

from sim.model import ProtocolModel
from sim.record import RunResult, ilk_frame
from sim.runner import run
from sim.scenario import Scenario, ScenarioError, load_scenario

__all__ = [
    "ProtocolModel",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "__version__",
    "ilk_frame",
    "load_scenario",
    "run",
]
