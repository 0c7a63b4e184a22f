"""KPIs: the registry, their definitions on hand-made tables, the printed table, the README block."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import sim
from sim import metrics
from sim.agents.keeper import Keeper
from sim.metrics import (
    KPI_BY_NAME,
    KPIS,
    ZERO_BID_FRACTION,
    format_kpis,
    keeper_profits,
    kpi_reference_markdown,
    readme_kpi_block,
    summarize,
    update_readme,
    write_readme,
)
from tests.conftest import ROOT, SCENARIOS

UNITS = {"Dai", "USD", "MKR", "count", "-"}


def timeseries(ticks: int = 3, **columns) -> pd.DataFrame:
    """A minimal per-tick table: flat system columns, overridden by ``columns``."""
    base = {
        "tick": np.arange(ticks),
        "bad_debt": np.zeros(ticks),
        "auction_debt": np.zeros(ticks),
        "insolvent_debt": np.zeros(ticks),
        "dai_supply": np.full(ticks, 1.0e6),
        "mkr_minted": np.zeros(ticks),
        "dai_price": np.ones(ticks),
        "price[ETH-A]": np.full(ticks, 2000.0),
    }
    base.update(columns)
    return pd.DataFrame(base)


def auctions(**columns) -> pd.DataFrame:
    """Auction rows with the columns the KPIs read; one row per element of each column."""
    n = len(next(iter(columns.values())))
    base = {
        "ilk": ["ETH-A"] * n,
        "vault": list(range(n)),
        "end_tick": [1] * n,
        "tab": [113.0] * n,
        "due": [100.0] * n,
        "dai_raised": [113.0] * n,
        "collateral_sold": [0.1] * n,
    }
    base.update(columns)
    return pd.DataFrame(base)


def kpis(ts: pd.DataFrame | None = None, table: pd.DataFrame | None = None) -> dict:
    ts = timeseries() if ts is None else ts
    table = auctions(vault=[]) if table is None else table
    return summarize(ts, table, keeper_profit=0.0)


# ---------------------------------------------------------------------------------------- registry


def test_every_kpi_has_a_unit_and_a_definition_and_summarize_gives_exactly_them():
    assert len(KPI_BY_NAME) == len(KPIS)
    for kpi in KPIS:
        assert kpi.unit in UNITS, kpi
        assert kpi.definition and "[" not in kpi.definition, kpi  # the unit is a field
    assert list(kpis()) == [k.name for k in KPIS]


# ---------------------------------------------------------------------------------------- definitions


def test_vaults_liquidated_counts_vaults_of_each_ilk_and_auctions_count_auctions():
    # Vault 3 of ETH-A bitten twice; vault 3 of WBTC-A is another vault.
    table = auctions(ilk=["ETH-A", "ETH-A", "WBTC-A", "ETH-A"], vault=[3, 3, 3, 4])
    s = kpis(table=table)
    assert s["auctions"] == 4
    assert s["vaults_liquidated"] == 3
    assert s["liquidated_debt"] == pytest.approx(400.0)


def test_penalty_counts_finished_auctions_above_their_due_only():
    table = auctions(
        end_tick=[1, 1, 1, -1],
        dai_raised=[113.0, 105.0, 60.0, 113.0],  # full chop, part of it, a loss, still running
    )
    assert kpis(table=table)["penalty_collected"] == pytest.approx(13.0 + 5.0)


def test_zero_bid_compares_usd_with_usd():
    # 0.1 ETH at 2 000 USD is worth 200 USD; the threshold is 2 USD.
    limit_dai = ZERO_BID_FRACTION * 200.0
    table = auctions(dai_raised=[0.9 * limit_dai], tab=[113.0], due=[100.0])
    assert kpis(table=table)["auctions_zero_bid"] == 1
    # The same Dai at a Dai price of 1.2 USD is worth more than the threshold.
    premium = timeseries(dai_price=np.full(3, 1.2))
    assert kpis(premium, table)["auctions_zero_bid"] == 0
    # A running auction is not (yet) sold for nothing.
    running = auctions(dai_raised=[0.0], end_tick=[-1])
    assert kpis(table=running)["auctions_zero_bid"] == 0


def test_collateral_sold_usd_values_tokens_at_each_auctions_end():
    ts = timeseries(**{"price[ETH-A]": np.array([2000.0, 1500.0, 1000.0])})
    table = auctions(collateral_sold=[1.0, 2.0], end_tick=[1, -1])
    assert kpis(ts, table)["collateral_sold_usd"] == pytest.approx(1500.0 + 2 * 1000.0)
    assert KPI_BY_NAME["collateral_sold_usd"].unit == "USD"


def test_keeper_incentives_sum_the_clipper_coin():
    table = auctions(vault=[0, 1], coin=[300.0, np.nan])  # a Flipper row has no coin
    assert kpis(table=table)["keeper_incentives"] == pytest.approx(300.0)
    assert kpis(table=auctions(vault=[0]))["keeper_incentives"] == 0.0


def test_unsafe_debt_max_sums_ilks_at_each_tick():
    ts = timeseries(
        **{
            "unsafe_debt[ETH-A]": np.array([0.0, 5.0, 1.0]),
            "unsafe_debt[WBTC-A]": np.array([0.0, 1.0, 6.0]),
            "unsafe_debt_after[ETH-A]": np.array([0.0, 50.0, 0.0]),
        }
    )
    assert kpis(ts)["unsafe_debt_max"] == 7.0


def test_mkr_minted_over_the_run_and_min_cr_p05():
    ts = timeseries(
        mkr_minted=np.array([10.0, 10.0, 25.0]),
        **{
            "cr_p05[ETH-A]": np.array([2.0, 1.4, np.nan]),
            "cr_p05[WBTC-A]": np.array([1.8, 1.6, 1.3]),
            "cr_p50[ETH-A]": np.array([0.5, 0.5, 0.5]),
        },
    )
    s = kpis(ts)
    assert s["mkr_minted"] == 15.0
    assert s["min_cr_p05"] == 1.3
    assert math.isnan(kpis(timeseries())["min_cr_p05"])


def test_keeper_profit_is_in_dai_when_dai_is_off_its_peg():
    keeper = SimpleNamespace(name="k", dai=110.0, capital=100.0, gas_usd=5.0)
    keeper.profit = lambda: Keeper.profit(keeper)
    keeper.model = SimpleNamespace(
        keepers=[keeper],
        dai_market=SimpleNamespace(price=lambda: 1.25),
        market=SimpleNamespace(price=lambda asset: {"ETH": 50.0}[asset]),
        vat=SimpleNamespace(gem={("ETH-A", "k"): 1.0}),
        spec=SimpleNamespace(ilks={"ETH-A": SimpleNamespace(collateral="ETH")}),
        flippers={},
    )
    # 10 Dai gained, 50 USD of ETH held, 5 USD of gas: 10 + (50 − 5) / 1.25 = 46 Dai.
    assert keeper_profits(keeper.model) == {"k": pytest.approx(46.0)}


def test_keeper_profit_counts_the_lots_of_english_auctions_a_keeper_leads():
    # Cut mid-crash, the Flipper auctions are still running: the keepers' bids have left their
    # Dai and the lots they lead are theirs if the auctions end now.
    scenario = sim.load_scenario(
        SCENARIOS / "eth_crash_liq1.yaml", overrides=["clock.duration=12h"]
    )
    model = sim.ProtocolModel(scenario)
    model.run()
    flip = model.flippers["ETH-A"]
    ids = flip.active_ids()
    led = ids[flip.guy[ids] >= 0]
    assert led.size > 0
    lots_dai = float(flip.lot[led].sum()) * model.market.price("ETH") / model.dai_market.price()
    dai_only = {
        k.name: k.dai - k.capital - k.gas_usd / model.dai_market.price() for k in model.keepers
    }
    profits = keeper_profits(model)
    assert sum(profits.values()) == pytest.approx(sum(dai_only.values()) + lots_dai, rel=1e-9)
    # Bidding 5 % below the market value, the keepers are ahead, not out of their bids.
    assert sum(profits.values()) > 0 > sum(dai_only.values())


# ---------------------------------------------------------------------------------------- runs

#: Removes eth_crash_liq1/2's ETH market (an infinitely deep one, as `--set` clears it).
NO_MARKET = "collateral.ETH.market=null"


@pytest.fixture(scope="module")
def crash_runs() -> dict[str, sim.RunResult]:
    # The crash without the scenarios' thin ETH market (sales do not move the price): every
    # auction covers its debt and the Dog's hole never binds.
    return {
        name: sim.run(sim.load_scenario(SCENARIOS / f"{name}.yaml", overrides=[NO_MARKET]))
        for name in ("eth_crash_liq1", "eth_crash_liq2")
    }


def test_liq1_bites_a_vault_many_times_liq2_once_each(crash_runs):
    for name, event in (("eth_crash_liq1", "bite"), ("eth_crash_liq2", "bark")):
        result = crash_runs[name]
        s = result.summary
        starts = result.events[result.events.event == event]
        assert s["auctions"] == len(starts), name
        assert s["vaults_liquidated"] == starts.vault.nunique(), name
    liq1 = crash_runs["eth_crash_liq1"].summary
    liq2 = crash_runs["eth_crash_liq2"].summary
    # The Cat bites lump (50 ETH) at a time: the whales' vaults take many auctions each.
    assert liq1["vaults_liquidated"] < liq1["auctions"]
    # The Dog barks a whole vault when the hole/Hole room allows, as it does here.
    assert liq2["vaults_liquidated"] == liq2["auctions"]
    # Both designs liquidate the same vaults of the same book in the same crash.
    assert liq1["vaults_liquidated"] == liq2["vaults_liquidated"]


def test_a_tight_hole_cuts_liq2_vaults_into_several_auctions():
    scenario = sim.load_scenario(
        SCENARIOS / "eth_crash_liq2.yaml",
        overrides=["ilks.ETH-A.liquidation.hole=2.0e6", "clock.duration=12h"],
    )
    s = sim.run(scenario).summary
    assert 0 < s["vaults_liquidated"] < s["auctions"]


def test_crash_kpis_hold_together(crash_runs):
    for result in crash_runs.values():
        s = result.summary
        assert s["keeper_profit"] == pytest.approx(sum(s["keepers"].values()))
        assert 0 < s["penalty_collected"] <= (0.13 + 1e-9) * s["liquidated_debt"]
        assert s["collateral_sold_usd"] > s["liquidated_debt"]
        assert s["unsafe_debt_max"] > 0
    assert crash_runs["eth_crash_liq1"].summary["keeper_incentives"] == 0.0
    assert crash_runs["eth_crash_liq2"].summary["keeper_incentives"] > 0.0


# ---------------------------------------------------------------------------------------- ensembles


def test_value_at_risk_shortfall_and_probability_of_bad_debt():
    bad = np.array([0.0, 0.0, 0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 1000.0])
    assert metrics.value_at_risk(bad) == pytest.approx(np.quantile(bad, 0.95))
    assert metrics.value_at_risk(bad) == pytest.approx(60 + 0.55 * 940)  # linear interpolation
    assert metrics.value_at_risk(bad, 0.99) == pytest.approx(60 + 0.91 * 940)
    assert metrics.expected_shortfall(bad) == pytest.approx(1000.0)  # the tail above the VaR
    assert metrics.expected_shortfall(bad, 0.5) == pytest.approx(np.mean([30, 40, 50, 60, 1000]))
    assert metrics.probability_of_bad_debt(bad) == pytest.approx(0.7)
    assert metrics.liquidations_at_risk([1.0, 2.0, 3.0]) == pytest.approx(2.9)


def test_ensemble_statistics_leave_out_nan_and_need_values():
    stats = metrics.ensemble_kpi_stats("k", [1.0, np.nan, 3.0])
    assert stats == {
        "k_mean": 2.0,
        "k_std": pytest.approx(math.sqrt(2)),
        "k_p05": pytest.approx(1.1),
        "k_p50": 2.0,
        "k_p95": pytest.approx(2.9),
        "k_n_runs": 2,  # the finite values they rest on, not the 3 runs
    }
    assert math.isnan(metrics.ensemble_std([5.0]))
    empty = metrics.risk_stats([], [])
    assert set(empty) == {k.name for k in metrics.RISK_STATS} | {"n_runs"}
    assert empty["n_runs"] == 0
    assert all(math.isnan(v) for k, v in empty.items() if k != "n_runs")


def test_risk_stats_count_the_runs_they_rest_on():
    stats = metrics.risk_stats([1.0, np.nan, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0])
    assert stats["n_runs"] == 3  # the fewer finite values of the two KPIs
    assert metrics.risk_stats(np.zeros(60), np.ones(60))["n_runs"] == 60
    text = metrics.risk_text(metrics.risk_stats([0.0, 2e6, 0.0, 0.0], [1.0] * 4))
    assert text.startswith("VaR 95 % = ") and text.endswith("P(bad debt) = 25 % (n = 4 runs)")
    assert "ES 95 % = 2,000,000 Dai" in text


def test_a_tail_statistic_over_fewer_than_min_tail_runs_gets_a_warning():
    assert metrics.MIN_TAIL_RUNS == 50
    four = metrics.tail_warning(4)
    assert four is not None and four.startswith(
        "VaR/ES/LaR at 95 % rest on 4 runs (fewer than 50): read them as rough"
    )
    assert "the 95 % quantile lies between the two largest runs" in four
    assert "expected shortfall is the largest run alone" in four
    thirty = metrics.tail_warning(30, "VaR/ES at 95 %")
    assert thirty == "VaR/ES at 95 % rest on 30 runs (fewer than 50): read them as rough"
    assert "as few as 7 runs" in (metrics.tail_warning(7, fewest=True) or "")
    assert metrics.tail_warning(60) is None and metrics.tail_warning(50) is None
    assert metrics.tail_warning(0) is None  # no statistic, nothing to warn of
    # the 95 % quantile of n runs sits past the second largest up to 20 runs
    assert metrics.only_largest_at_or_above(20) and not metrics.only_largest_at_or_above(21)
    assert metrics.only_largest_at_or_above(1) and not metrics.only_largest_at_or_above(0)
    values = np.arange(20.0)
    assert metrics.expected_shortfall(values) == 19.0  # the largest run alone
    assert metrics.expected_shortfall(np.arange(21.0)) == 19.5
    assert metrics.runs_mark(20) == "(n = 20, < 50: rough; 95 % tail = largest run)"
    assert metrics.runs_mark(30) == "(n = 30, < 50: rough)"
    assert metrics.runs_mark(60) == "(n = 60)"
    assert metrics.is_tail_quantile(0.05) and metrics.is_tail_quantile(0.95)
    assert not metrics.is_tail_quantile(0.1) and not metrics.is_tail_quantile(0.5)


# ---------------------------------------------------------------------------------------- text


def test_format_kpis_prints_each_kpi_with_its_unit():
    summary = {**kpis(), "keepers": {"k": 1.0}}
    text = format_kpis(summary)
    lines = text.splitlines()
    assert len(lines) == len(KPIS)  # the nested keepers entry is left out
    for kpi, line in zip(KPIS, lines, strict=True):
        words = line.split()
        assert words[0] == kpi.name and words[-1] == kpi.unit
    values = {line.split()[0]: line.split()[1] for line in lines}
    assert values["min_cr_p05"] == "n/a"  # no CR quantile recorded
    assert format_kpis({"dai_supply_end": 1234567.8}).split()[1] == "1,234,568"


def test_readme_kpi_block_is_generated_from_the_registry():
    text = (ROOT / "README.md").read_text()
    assert readme_kpi_block() in text, (
        "README.md's KPI table differs from sim/metrics.py; regenerate it with\n"
        '  .venv/bin/python -c "from sim.metrics import write_readme; write_readme()"\n'
        "or paste:\n" + readme_kpi_block()
    )
    for kpi in KPIS:
        assert f"| `{kpi.name}` | {kpi.unit} |" in kpi_reference_markdown()


def test_write_readme_replaces_only_the_block(tmp_path):
    path = tmp_path / "README.md"
    path.write_text("before\n<!-- kpis:begin -->\nstale\n<!-- kpis:end -->\nafter\n")
    write_readme(path)
    assert path.read_text() == f"before\n{readme_kpi_block()}\nafter\n"
    write_readme(path)  # idempotent
    assert path.read_text() == f"before\n{readme_kpi_block()}\nafter\n"
    with pytest.raises(ValueError, match="kpis:begin"):
        update_readme("no block here")
    assert metrics.README == ROOT / "README.md"


def test_unit_of_is_the_registry_unit_and_empty_for_other_names():
    assert [metrics.unit_of(k.name) for k in KPIS] == [k.unit for k in KPIS]
    assert metrics.unit_of("bad_debt_max_mean") == "" and metrics.unit_of("point") == ""
