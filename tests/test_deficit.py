"""Deficit and exposure: ``bad_debt`` (realised), ``auction_debt`` and ``insolvent_debt``."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import sim
from sim.record import running_auction_debt, timeseries_frame
from sim.scenario import validate_data
from tests.conftest import SCENARIOS

PRICE = 2_000.0
CHOP = 0.13

BOOK: dict[str, Any] = {
    "name": "deficit",
    "seed": 5,
    "clock": {"tick": "10m", "duration": "1d"},
    "collateral": {"ETH": {"price": {"process": "scripted", "points": [["0h", PRICE]]}}},
    "ilks": {
        "ETH-A": {
            "collateral": "ETH",
            "mat": 1.5,
            "stability_fee": 0.0,
            "line": 1.0e9,
            "dust": 100,
            "liquidation": {"engine": "flip", "chop": CHOP, "lump": 1.0e6, "ttl": "10m"},
        }
    },
    "system": {"Hole": 1.0e8},
    # Vault 0: 10 000 Dai; vault 1: 1 000 000 Dai; both at CR 2 (1 ETH per 1 000 Dai).
    "borrowers": [
        {
            "name": "small",
            "ilk": "ETH-A",
            "vaults": 1,
            "debt": 1.0e4,
            "cr": {"dist": "fixed", "median": 2.0},
        },
        {
            "name": "big",
            "ilk": "ETH-A",
            "vaults": 1,
            "debt": 1.0e6,
            "cr": {"dist": "fixed", "median": 2.0},
        },
    ],
}


def build(**changes: Any) -> sim.ProtocolModel:
    data = copy.deepcopy(BOOK)
    data.update(changes)
    return sim.ProtocolModel(validate_data(data, filename="<deficit>", base_dir="."))


def row(model: sim.ProtocolModel) -> dict[str, float]:
    """Record the model's state now and return the system columns of that row."""
    model.recorder.record()
    frame = timeseries_frame(model)
    return frame.iloc[model.tick][["bad_debt", "auction_debt", "insolvent_debt"]].to_dict()


def test_a_running_auctions_penalty_no_longer_hides_a_realised_loss():
    model = build()
    vat, vow, cat = model.vat, model.vow, model.cat
    flip = model.flippers["ETH-A"]
    book = vat.ilks["ETH-A"]
    book.spot = 1.0  # both vaults unsafe (as after an oracle update)
    # Vault 0 is sold for a lowball bid: its 10 000 Dai of debt is lost for good.
    (small,) = cat.bite("ETH-A", np.array([0]), "kp", 0.0)
    vat.join_dai("lowballer", 1.0)
    assert flip.tend(small, flip.lot[small], 1e-18, "lowballer", 1.0).all()
    assert flip.deal(small, 1.0 + flip.ttl + 1.0).all()
    loss = float(flip.due[small]) - 1e-18
    # Vault 1 is bitten and its auction runs without a bid: 1 000 000 Dai of debt, 1 130 000 of tab.
    cat.bite("ETH-A", np.array([1]), "kp", 2.0)
    (big,) = flip.active_ids()
    due = float(flip.due[big])
    assert due == pytest.approx(1.0e6) and flip.tab[big] == pytest.approx(due * (1.0 + CHOP))
    # Counting the running tab, penalty included, covers the loss: 10 000 − 130 000 < 0.
    assert max(vow.awe - vow.joy - flip.running_tab(), 0.0) == 0.0
    values = row(model)
    assert values["auction_debt"] == pytest.approx(due)
    assert values["bad_debt"] == pytest.approx(loss)
    # A bid pays the Vow at once: the debt the auction must still raise falls by the bid.
    vat.join_dai("keeper", 4.0e5)
    assert flip.tend(big, flip.lot[big], 4.0e5, "keeper", 3.0).all()
    values = row(model)
    assert values["auction_debt"] == pytest.approx(due - 4.0e5)
    assert values["bad_debt"] == pytest.approx(loss)
    # Bid above the due, the auction has raised its debt and collects penalty: the penalty
    # actually paid covers the loss.
    vat.join_dai("keeper", due)
    assert flip.tend(big, flip.lot[big], due * 1.1, "keeper", 4.0).all()
    assert running_auction_debt(flip) == 0.0
    assert 0.1 * due > loss and row(model)["bad_debt"] == 0.0


def test_insolvent_debt_is_the_underwater_debt_of_open_vaults():
    borrowers = [
        {
            "name": "low",
            "ilk": "ETH-A",
            "vaults": 2,
            "debt": 2.0e3,
            "cr": {"dist": "fixed", "median": 2.0},
        },
        {
            "name": "high",
            "ilk": "ETH-A",
            "vaults": 1,
            "debt": 1.0e3,
            "cr": {"dist": "fixed", "median": 3.0},
        },
    ]
    model = build(borrowers=borrowers, dai={"depth_usd_2pct": 1.0e7})
    book = model.vat.ilks["ETH-A"]
    # 1, 1 and 1.5 ETH against 1 000 Dai each.
    np.testing.assert_allclose(book.ink, [1.0, 1.0, 1.5])
    np.testing.assert_allclose(book.art * book.rate, [1.0e3] * 3)
    assert row(model)["insolvent_debt"] == 0.0
    # The market halves and more (800 USD) within the OSM's delay: spot still says 1 333.
    model.market.set_exogenous("ETH", 800.0)
    assert book.unsafe().size == 0
    assert row(model)["insolvent_debt"] == pytest.approx(2 * (1.0e3 - 800.0))
    # The oracle follows (spot 533): every vault is unsafe; only the first two are underwater.
    book.spot = 800.0 / 1.5
    assert book.unsafe().size == 3
    assert row(model)["insolvent_debt"] == pytest.approx(2 * (1.0e3 - 800.0))
    # Dai at 1.25 USD: the collateral is worth 640 Dai per ETH, the third vault 960 Dai.
    model.dai_market.dev = np.log(1.25)
    expected = 2 * (1.0e3 - 640.0) + (1.0e3 - 1.5 * 640.0)
    assert row(model)["insolvent_debt"] == pytest.approx(expected)
    # A liquidated vault is no longer counted here: its debt is in an auction.
    model.cat.bite("ETH-A", np.array([0]), "kp", 0.0)
    values = row(model)
    assert values["insolvent_debt"] == pytest.approx(expected - (1.0e3 - 640.0))
    assert values["auction_debt"] == pytest.approx(1.0e3)


def test_the_columns_in_a_crash_run_and_the_old_measure_understated_the_deficit():
    # Black Thursday's first day: lowball bids realise losses while other auctions still run.
    scenario = sim.load_scenario(
        SCENARIOS / "black_thursday_2020.yaml", overrides=["clock.duration=1d"]
    )
    model = sim.ProtocolModel(scenario, seed=1)  # a seed whose keepers are priced out
    flip = model.flippers["ETH-A"]
    old = [0.0]  # the former bad_debt: Vow sin less its Dai less the running tab, penalty included
    while not model.finished:
        model.step()
        old.append(max(model.vow.awe - model.vow.joy - flip.running_tab(), 0.0))
    ts = timeseries_frame(model)
    for name in ("bad_debt", "auction_debt", "insolvent_debt"):
        values = ts[name].to_numpy()
        assert np.isfinite(values).all() and (values >= 0).all(), name
    understated = ts["bad_debt"].to_numpy() - np.array(old)
    assert understated.min() >= -1e-6 * ts["dai_supply"].max()
    assert understated.max() > 1.0e5  # the penalty of running auctions hid realised losses
    assert ts["auction_debt"].max() > 0
    summary = sim.run(scenario, seed=1).summary
    assert summary["bad_debt_max"] == pytest.approx(ts["bad_debt"].max())
    assert summary["auction_debt_max"] == pytest.approx(ts["auction_debt"].max())
    assert summary["insolvent_debt_max"] == pytest.approx(ts["insolvent_debt"].max())
