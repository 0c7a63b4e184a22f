"""Whole-model invariants for random scenarios: the accounting holds every tick, and with a
block market no block holds more gas than its limit."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.scenario import validate_data


@st.composite
def scenarios(draw):
    engine = draw(st.sampled_from(["clip", "flip"]))
    mat = draw(st.floats(1.2, 1.8))
    liquidation = (
        {
            "engine": "clip",
            "chop": draw(st.floats(0.0, 0.2)),
            "hole": draw(st.floats(1e5, 1e8)),
            "buf": draw(st.floats(1.0, 1.5)),
            "tail": "2h",
            "cusp": draw(st.floats(0.2, 0.8)),
            "chip": draw(st.floats(0.0, 0.01)),
            "tip": draw(st.floats(0.0, 500.0)),
            "curve": draw(
                st.sampled_from(
                    [
                        {"kind": "linear", "tau": "3h"},
                        {"kind": "stairstep", "cut": 0.99, "step": "90s"},
                        {"kind": "exponential", "cut": 0.9999},
                    ]
                )
            ),
        }
        if engine == "clip"
        else {
            "engine": "flip",
            "version": draw(st.sampled_from(["1.0", "1.2"])),
            "chop": draw(st.floats(0.0, 0.2)),
            "lump": draw(st.floats(1.0, 100.0)),
            "dunk": draw(st.floats(1e4, 1e6)),
            "beg": 0.03,
            "ttl": "10m",
            "tau": "6h",
        }
    )
    strategy = draw(
        st.sampled_from(
            [
                {"kind": "passive"},
                {"kind": "target_cr", "trigger": mat + 0.2, "target": mat + 0.6, "react_prob": 0.5},
                {"kind": "close", "panic": mat + 0.1, "react_prob": 0.5},
                {"kind": "leverage", "target": mat + 0.4, "up": mat + 0.8, "react_prob": 0.5},
            ]
        )
    )
    keeper = {
        "name": "k",
        "count": draw(st.integers(1, 3)),
        "dai": draw(st.floats(1e3, 1e7)),
        "flash": draw(st.booleans()) and engine == "clip",
        "settlement": draw(st.sampled_from(["0s", "30m"])),
    }
    # Half the scenarios have a block market, small enough to bind: blocks of 0.3–30 M gas.
    network = None
    if draw(st.booleans()):
        network = {
            "gas": draw(
                st.sampled_from(
                    [
                        {"process": "constant", "gwei": 50},
                        {"process": "spike", "base": 20, "peak": 400, "at": "1h", "over": "2h"},
                    ]
                )
            ),
            "block_time": draw(st.sampled_from(["12s", "13s", "10m"])),
            "gas_limit": draw(st.integers(300_000, 30_000_000)),
        }
        keeper["gas"] = draw(
            st.sampled_from(
                [
                    {"kind": "fixed", "gwei": 100},
                    {"kind": "market", "premium": 0.1, "cap": 300},
                    {"kind": "geometric", "initial": 30, "every": "10m", "cap": 1000},
                ]
            )
        )
    data = {
        "name": "random",
        "clock": {"tick": "10m", "duration": "8h"},
        "collateral": {
            "ETH": {
                "price": {
                    "process": "scripted",
                    "start": 2000,
                    "crash": {"depth": draw(st.floats(0.05, 0.7)), "at": "1h", "over": "3h"},
                },
                "market": {"depth_usd_2pct": draw(st.floats(1e5, 1e9)), "recovery_half_life": "1h"},
            }
        },
        "dai": {"depth_usd_2pct": draw(st.floats(1e5, 1e9)), "recovery_half_life": "2h"},
        "ilks": {
            "ETH-A": {
                "collateral": "ETH",
                "mat": mat,
                "line": 1e9,
                "dust": 100,
                "stability_fee": draw(st.floats(0.0, 0.2)),
                "liquidation": liquidation,
            }
        },
        "system": {
            "vow": {"wait": draw(st.sampled_from(["0s", "1h"])), "sump": 10000},
            "dsr": draw(st.floats(0.0, 0.1)),
            "dsr_deposits": draw(st.floats(0.0, 1e6)),
            "psm": {"line": 1e8, "start": draw(st.floats(0.0, 1e7)), "tin": 0.001},
        },
        "mkr": {"price": {"process": "gbm", "start": 1000, "vol": 0.5}, "bidders": 1},
        "borrowers": [
            {
                "name": "a",
                "ilk": "ETH-A",
                "vaults": draw(st.integers(1, 40)),
                "debt": 1e6,
                "cr": {"dist": "uniform", "min": mat + 0.05, "max": mat + 1.5},
            },
            {
                "name": "b",
                "ilk": "ETH-A",
                "vaults": draw(st.integers(1, 40)),
                "debt": 5e5,
                "cr": {"dist": "uniform", "min": mat + 0.05, "max": mat + 1.5},
                "strategy": strategy,
            },
        ],
        "keepers": [keeper],
    }
    if network is not None:
        data["network"] = network
        data["borrowers"][1]["gas"] = {"kind": "market", "premium": 0.2, "cap": 200}
    return validate_data(data, filename="<random>", base_dir=".")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.integers(0, 2**16))
def test_accounting_holds_every_tick(scenario, seed):
    model = sim.ProtocolModel(scenario, seed=seed)
    while not model.finished:
        model.step()
        assert model.vat.check() == [], model.tick
        for ilk in model.vat.ilks.values():
            assert np.all(ilk.ink >= 0) and np.all(ilk.art >= 0)
        assert all(v >= -1e-9 for v in model.vat.dai.values())
        if model.blocks is not None:  # no block ever holds more than its gas limit
            assert (model.blocks.used <= model.blocks.gas_limit).all(), model.tick
    # Dai supply reported is the Vat's debt.
    assert model.recorder.series["dai_supply"][model.tick] == model.vat.debt
