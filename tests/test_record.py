"""The recorder (sim/record.py): the per-tick series and what each column means, the CR
quantiles, vault snapshots, and the tables of a run (timeseries, events, vaults, auctions)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
import pytest

import sim
from sim.protocol.events import COLUMNS as EVENT_COLUMNS
from sim.protocol.vat import Ilk
from sim.record import (
    AUCTION_COLUMNS,
    BLOCK_FIELDS,
    COUNT_FIELDS,
    ILK_FIELDS,
    SYSTEM_FIELDS,
    Recorder,
    RunResult,
    auctions_frame,
    col,
    events_frame,
    ilk_frame,
    quantile_name,
    running_auction_debt,
    timeseries_frame,
    vaults_frame,
)
from sim.scenario import validate_data
from tests.conftest import SCENARIOS


@pytest.fixture
def small(small_scenario_file):
    return sim.load_scenario(small_scenario_file)


# ---------------------------------------------------------------------------------------- names


def test_quantile_and_column_names():
    assert [quantile_name(q) for q in (0.05, 0.5, 0.975, 0.999)] == [
        "cr_p05",
        "cr_p50",
        "cr_p97.5",
        "cr_p99.9",
    ]
    assert col("price", "ETH-A") == "price[ETH-A]"


def test_ilk_frame_gives_one_ilks_columns_with_plain_names():
    ts = pd.DataFrame(
        {"tick": [0, 1], "price[ETH-A]": [1.0, 2.0], "price[WBTC-A]": [3.0, 4.0], "surplus": [0, 5]}
    )
    frame = ilk_frame(ts, "WBTC-A")
    assert list(frame.columns) == ["tick", "surplus", "price"]
    assert frame["price"].tolist() == [3.0, 4.0]
    with pytest.raises(KeyError, match="no columns for ilk 'LINK-A'"):
        ilk_frame(ts, "LINK-A")


# ---------------------------------------------------------------------------------------- a few ticks

#: A few ticks of the small scenario, with hourly vault snapshots and three CR quantiles.
FEW = [
    "clock.duration=3h",
    "record.vault_snapshot_every=1h",
    "record.cr_quantiles=[0.1, 0.5, 0.975]",
]


def crs(model: sim.ProtocolModel) -> np.ndarray:
    """The CR of every open vault at the market price, computed afresh."""
    book = model.vat.ilks["ETH-A"]
    open_ = book.art > 0
    price = model.market.price("ETH")
    return book.ink[open_] * price / (book.art[open_] * book.rate)


def test_each_row_records_the_state_at_the_end_of_its_tick(small_scenario_file):
    model = sim.ProtocolModel(sim.load_scenario(small_scenario_file, overrides=FEW), seed=1)
    book, house = model.vat.ilks["ETH-A"], model.liquidator("ETH-A")
    kicks = 0
    while not model.finished:
        model.step()
        t = model.tick
        row = {name: values[t] for name, values in model.recorder.series.items()}
        price = model.market.price("ETH")
        assert row["tick"] == t and model.recorder.rows == t + 1
        assert row["price[ETH-A]"] == price
        assert row["osm_price[ETH-A]"] == model.osms["ETH"].cur
        assert row["debt[ETH-A]"] == book.Art * book.rate
        assert row["collateral_value[ETH-A]"] == book.Ink * price
        assert row["vaults_open[ETH-A]"] == np.count_nonzero(book.art > 0)
        assert row["auctions_active[ETH-A]"] == house.active_ids().size
        assert row["liquidations[ETH-A]"] == house.kicks - kicks
        kicks = house.kicks
        unsafe = book.art * book.rate > book.ink * book.spot
        assert row["unsafe_vaults_after[ETH-A]"] == np.count_nonzero(unsafe)
        assert row["unsafe_debt_after[ETH-A]"] == pytest.approx(
            (book.art[unsafe] * book.rate).sum(), rel=1e-12, abs=1e-9
        )
        quantiles = np.quantile(crs(model), [0.1, 0.5, 0.975])
        found = [row["cr_p10[ETH-A]"], row["cr_p50[ETH-A]"], row["cr_p97.5[ETH-A]"]]
        np.testing.assert_allclose(found, quantiles, rtol=1e-12)
        assert row["dai_supply"] == model.vat.debt
        assert row["dai_price"] == model.dai_market.price() == 1.0  # no Dai market: at par
        assert np.isnan(row["mkr_price"]) and np.isnan(model.mkr_price())  # no MKR market
    assert house.kicks > 0  # the crash liquidated vaults within the three hours
    for name in COUNT_FIELDS:
        assert model.recorder.series[col(name, "ETH-A")].dtype == np.int64


def test_a_book_without_open_vaults_has_no_cr_quantiles(small):
    model = sim.ProtocolModel(small.model_copy(update={"borrowers": small.borrowers[:1]}), seed=1)
    book = model.vat.ilks["ETH-A"]
    book.art[:] = 0.0  # every vault closed (as if repaid), the book told
    book.changed(np.arange(book.size))
    model.recorder.record()
    row = model.recorder.series
    assert row["vaults_open[ETH-A]"][0] == 0
    assert np.isnan(row["cr_p05[ETH-A]"][0]) and np.isnan(row["cr_p95[ETH-A]"][0])


def test_large_books_record_the_same_quantiles(small_scenario_file, monkeypatch):
    """Books indexed by ``art/ink`` read the CR quantiles from the index: the same numbers."""
    from sim.protocol import vat

    spec = sim.load_scenario(small_scenario_file, overrides=FEW)
    scan = sim.ProtocolModel(spec, seed=1)
    scan.run()
    monkeypatch.setattr(vat, "INDEX_MIN_VAULTS", 1)
    indexed = sim.ProtocolModel(spec, seed=1)
    assert indexed.vat.ilks["ETH-A"].indexed()
    indexed.run()
    for name, values in scan.recorder.series.items():
        np.testing.assert_array_equal(indexed.recorder.series[name], values, err_msg=name)


def test_the_tables_of_a_few_ticks(small_scenario_file):
    spec = sim.load_scenario(small_scenario_file, overrides=FEW)
    model = sim.ProtocolModel(spec, seed=1)
    model.run()
    ts = timeseries_frame(model)
    per_ilk = [col(name, "ETH-A") for name in (*ILK_FIELDS, "cr_p10", "cr_p50", "cr_p97.5")]
    system = [f for f in SYSTEM_FIELDS if f not in BLOCK_FIELDS]  # no network: no block columns
    assert list(ts.columns) == ["tick", "time", *per_ilk, *system]
    assert ts["tick"].tolist() == list(range(19))  # 18 ticks of 10 minutes and the start
    assert ts["time"].iloc[0] == pd.Timestamp("2020-01-01T00:00:00Z")
    assert (ts["time"].diff().dropna() == pd.Timedelta(minutes=10)).all()
    # Vault snapshots: at the start, every hour (6 ticks) and at the end.
    vaults = vaults_frame(model)
    assert list(vaults.columns) == ["tick", "ilk", "vault", "cohort", "ink", "art", "debt", "cr"]
    assert sorted(vaults["tick"].unique()) == [0, 6, 12, 18]
    assert list(vaults["cohort"].cat.categories) == ["tail", "careful"]
    last = vaults[vaults["tick"] == 18]
    book = model.vat.ilks["ETH-A"]
    assert last["ink"].tolist() == book.ink.tolist() and last["art"].tolist() == book.art.tolist()
    assert last["debt"].tolist() == (book.art * book.rate).tolist()
    closed = last["debt"] == 0
    assert last.loc[closed, "cr"].isna().all()
    price = model.market.price("ETH")
    np.testing.assert_allclose(
        last.loc[~closed, "cr"], last.loc[~closed, "ink"] * price / last.loc[~closed, "debt"]
    )
    # Events: the log's columns, with names as categories.
    events = events_frame(model)
    assert list(events.columns) == list(EVENT_COLUMNS)
    plain = model.vat.log.columns()
    for name in ("event", "ilk", "actor"):
        assert isinstance(events[name].dtype, pd.CategoricalDtype)
        assert events[name].astype(str).tolist() == plain[name].tolist()
    assert {"frob", "bark"} <= set(events["event"].astype(str))
    assert len(events_frame(model, consume=True)) == len(events) and len(model.vat.log) == 0
    assert vaults_frame(model, consume=True).shape == vaults.shape
    assert model.recorder.snapshots == []


def test_the_auction_table_states_each_outcome(small):
    result = sim.run(small, seed=1)
    auctions = result.auctions
    assert list(auctions.columns[: len(AUCTION_COLUMNS)]) == list(AUCTION_COLUMNS)
    assert {"redos", "coin"} <= set(auctions.columns)  # Clipper auctions
    done = auctions[auctions["end_tick"] >= 0]
    running = auctions[auctions["end_tick"] < 0]
    assert len(done) > 0
    np.testing.assert_allclose(
        done["duration_s"], (done["end_tick"] - done["start_tick"]) * small.clock.tick
    )
    np.testing.assert_allclose(done["shortfall"], np.maximum(done["tab"] - done["dai_raised"], 0))
    np.testing.assert_allclose(done["bad_debt"], np.maximum(done["due"] - done["dai_raised"], 0))
    assert (
        running["duration_s"].isna().all() and (running[["shortfall", "bad_debt"]] == 0).all().all()
    )
    assert set(auctions["kind"]) == {"clip"} and set(auctions["ilk"]) == {"ETH-A"}


def test_a_run_without_auctions_has_an_empty_auction_table(small):
    model = sim.ProtocolModel(small.model_copy(update={"keepers": []}), seed=1)
    model.run_for(3)
    table = auctions_frame(model)
    assert table.empty and list(table.columns) == list(AUCTION_COLUMNS)


def test_a_run_result_reads_an_ilk_with_plain_names(small_scenario_file):
    result = sim.run(small_scenario_file, overrides=["clock.duration=1h"])
    assert isinstance(result, RunResult)
    pd.testing.assert_frame_equal(result.ilk("ETH-A"), ilk_frame(result.timeseries, "ETH-A"))
    assert "price" in result.ilk("ETH-A").columns


# ---------------------------------------------------------------------------------------- unsafe samples


def test_unsafe_vaults_are_sampled_before_the_keepers_act():
    # Four keepers with ample Dai bark every vault they see, and the hole/Hole room never binds
    # (without the scenario's thin ETH market, whose spiral fills the hole): vaults go unsafe at
    # each hourly OSM step and are gone by the end of that tick.
    scenario = sim.load_scenario(
        SCENARIOS / "eth_crash_liq2.yaml", overrides=["collateral.ETH.market=null"]
    )
    result = sim.run(scenario)
    ts = result.ilk("ETH-A")
    seen = ts["unsafe_vaults"]
    assert seen.max() > 0
    assert (ts["unsafe_vaults_after"] == 0).mean() > 0.99
    # Each liquidated vault was seen unsafe exactly once, in the tick it was barked.
    assert seen.sum() == result.summary["vaults_liquidated"]
    assert (ts.loc[seen > 0, "liquidations"] > 0).all()
    # unsafe_debt is the debt of the vaults seen: what the tick's auctions confiscated.
    started = result.auctions.groupby("start_tick")["due"].sum()
    debt = ts.set_index("tick")["unsafe_debt"]
    assert np.allclose(debt.loc[started.index], started, rtol=1e-9)
    assert debt.drop(started.index).eq(0).all()
    assert result.summary["unsafe_debt_max"] == debt.max()


def test_a_row_without_a_sample_records_the_state_at_recording(small):
    model = sim.ProtocolModel(small, seed=1)
    book = model.vat.ilks["ETH-A"]
    book.spot /= 4  # every vault below mat, and no tick has sampled them
    model.recorder.record()  # tick 0 again
    row = model.recorder.series
    open_ = int(np.count_nonzero(book.art > 0))
    assert row["unsafe_vaults[ETH-A]"][0] == row["unsafe_vaults_after[ETH-A]"][0] == open_
    assert row["unsafe_debt[ETH-A]"][0] == pytest.approx(book.Art * book.rate, rel=1e-9)


def test_the_unsafe_sample_adds_no_pass_over_the_book(small, monkeypatch):
    """``Ilk.unsafe`` recomputes only on a new (version, spot, rate): the keepers reuse the sample."""

    def passes(sample: bool) -> int:
        count = 0
        original = Ilk.unsafe

        def counting(self):
            nonlocal count
            count += self._unsafe_key != (self.version, self.spot, self.rate)
            return original(self)

        with monkeypatch.context() as m:
            m.setattr(Ilk, "unsafe", counting)
            if not sample:
                m.setattr(Recorder, "sample_unsafe", lambda self: None)
            sim.ProtocolModel(small, seed=1).run()
        return count

    with_sample = passes(True)
    assert with_sample > 0
    assert with_sample == passes(False)


# ---------------------------------------------------------------------------------------- deficit

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


def test_with_a_network_each_sending_group_has_its_columns(tmp_path):
    """``txs``/``priced_out`` per sender, ``dai``/``idle`` per keeper group, the block columns."""
    from tests.conftest import SMALL

    path = tmp_path / "n.yaml"
    path.write_text(
        SMALL.replace("keepers:\n  - {name: kp, count: 2, dai: 1.0e6}\n", "keepers:\n")
        + "  - {name: kp, count: 2, dai: 1.0e6, gas_bid_gwei: 90}\n"
        + "network: {gas: {process: constant, gwei: 100}, block_time: 12s, gas_limit: 10.0e6}\n"
    )
    model = sim.ProtocolModel(sim.load_scenario(path), seed=1)
    model.run()
    ts = timeseries_frame(model)
    for group in ("oracle", "keepers.kp", "borrowers.tail", "borrowers.careful"):
        assert ts[f"txs.{group}"].dtype == np.int64 and f"priced_out.{group}" in ts
    assert set(BLOCK_FIELDS) <= set(ts.columns)
    # The keepers bid 90 gwei where everyone else pays 100: none of theirs lands, and when the
    # crash gives them work both are idle (priced out with work), with all their Dai.
    assert ts["txs.keepers.kp"].sum() == 0
    work = ts["unsafe_vaults[ETH-A]"] > 0
    assert work.any() and (ts.loc[work, "idle.keepers.kp"] == 2).all()
    assert (ts["dai.keepers.kp"] == 2.0e6).all()
    assert (ts["txs.oracle"].iloc[1:] == 1).all()  # one poke per collateral per tick
