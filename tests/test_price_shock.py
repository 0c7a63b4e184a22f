"""The price-shock agent (sim/agents/price_shock.py): it publishes each tick's pre-drawn
exogenous price of every collateral to the market."""

from __future__ import annotations

import numpy as np

import sim
from sim.agents.price_shock import PriceShockAgent

GBM = "collateral.ETH.price={process: gbm, start: 2000, vol: 0.8}"


def test_publish_sets_each_assets_price_to_its_row_and_holds_the_last(small_scenario_file):
    model = sim.ProtocolModel(sim.load_scenario(small_scenario_file))
    agent = PriceShockAgent(model, ["ETH"], np.array([[10.0], [20.0], [30.0]]))
    agent.publish(1)
    assert model.market.price("ETH") == 20.0
    agent.publish(99)  # beyond the paths: the last row
    assert model.market.price("ETH") == 30.0
    model.tick = 0
    agent.step()  # the model's current tick
    assert model.market.price("ETH") == 10.0


def test_each_tick_the_market_gets_that_ticks_price(small_scenario_file):
    model = sim.ProtocolModel(sim.load_scenario(small_scenario_file, [GBM]), seed=2)
    paths = model.price_agent.paths
    assert paths.shape == (model.n_ticks + 1, 1) and model.price_agent.assets == ["ETH"]
    assert paths[0, 0] == 2000.0 and len(np.unique(paths)) > 10
    assert model.market.price("ETH") == paths[0, 0]  # published when the model is built
    for _ in range(10):
        model.step()
        # no market depth: the market price is the exogenous price
        assert model.market.price("ETH") == paths[model.tick, 0]


def test_several_assets_are_columns_in_order(small_scenario_file):
    data = sim.load_scenario(small_scenario_file, [GBM]).to_dict()
    data["collateral"]["WBTC"] = {"price": {"process": "gbm", "start": 30000, "vol": 0.6}}
    model = sim.ProtocolModel(sim.scenario.validate_data(data, filename="<two>", base_dir="."))
    assert model.price_agent.assets == ["ETH", "WBTC"]
    model.step()
    row = model.price_agent.paths[1]
    assert (model.market.price("ETH"), model.market.price("WBTC")) == (row[0], row[1])
    assert model.price_agent.paths[0].tolist() == [2000.0, 30000.0]


def test_the_paths_do_not_depend_on_the_keepers_but_on_the_seed(small_scenario_file):
    """Drawn from their own random stream (independence of the vault count is in
    tests/test_determinism.py)."""
    paths = []
    for extra in ([], ["keepers=[]"]):
        spec = sim.load_scenario(small_scenario_file, [GBM, *extra])
        paths.append(sim.ProtocolModel(spec, seed=5).price_agent.paths)
    np.testing.assert_array_equal(paths[0], paths[1])
    other = sim.ProtocolModel(sim.load_scenario(small_scenario_file, [GBM]), seed=6)
    assert not np.array_equal(paths[0], other.price_agent.paths)
