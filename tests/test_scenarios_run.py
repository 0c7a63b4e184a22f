"""Discovery: every scenario file validates and runs on a small size."""

from __future__ import annotations

import pytest

import sim
from sim.rundir import RUN_FILES
from tests.conftest import SCENARIOS

# the scenarios, the pre-registered events' and the gallery's
FILES = sorted(
    [*SCENARIOS.glob("*.yaml"), *SCENARIOS.glob("events/*.yaml"), *SCENARIOS.glob("gallery/*.yaml")]
)


def small_overrides(scenario: sim.Scenario) -> list[str]:
    out = [f"clock.duration={min(scenario.clock.duration, 48 * scenario.clock.tick):g}s"]
    for i, cohort in enumerate(scenario.borrowers):
        if cohort.book is None:
            out.append(f"borrowers.{i}.vaults={min(cohort.vaults, 40)}")
        elif cohort.book.resample is not None:  # a book's own rows stay as they are
            out.append(f"borrowers.{i}.book.resample.vaults={min(cohort.vaults, 40)}")
    return out


def test_there_are_scenarios():
    names = {p.name for p in FILES}
    assert {"baseline.yaml", "eth_crash_liq2.yaml"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_scenario_runs_small(path, tmp_path):
    scenario = sim.load_scenario(path)
    assert scenario.description, "every scenario has a description"
    assert path.read_text().startswith("#"), "every scenario starts with a header comment"
    small = sim.load_scenario(path, overrides=small_overrides(scenario))
    result = sim.run(small, out=tmp_path / "run")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == sorted(RUN_FILES)
    assert len(result.timeseries) == small.n_ticks + 1
    assert result.manifest["status"] == "ok"


@pytest.mark.slow
def test_baseline_is_the_calm_month_its_header_describes():
    """With its own seed nothing is liquidated; over ten seeds most months stay quiet."""
    path = SCENARIOS / "baseline.yaml"
    own = sim.run(path)
    assert len(own.auctions) == 0 and own.summary["bad_debt_max"] == 0
    quiet = [len(sim.run(path, seed=seed).auctions) == 0 for seed in range(10)]
    assert sum(quiet) >= 6, quiet


#: The notebooks' small crash: 12 hours at 10-minute ticks, ETH −50 % over 6 hours, 252 vaults.
SMALL_CRASH = [
    "clock.tick=10m",
    "clock.duration=12h",
    "collateral.ETH.price.crash.at=1h",
    "collateral.ETH.price.crash.over=6h",
    "borrowers.0.vaults=100",
    "borrowers.1.vaults=100",
    "borrowers.3.vaults=40",
]


def test_eth_crash_liq1_and_liq2_part_in_the_thin_market_their_headers_describe():
    def summary(name: str, seed: int, *extra: str) -> dict:
        scenario = sim.load_scenario(SCENARIOS / f"{name}.yaml", overrides=[*SMALL_CRASH, *extra])
        return sim.run(scenario, seed=seed).summary

    for seed in (1, 2):
        liq1, liq2 = (summary(n, seed) for n in ("eth_crash_liq1", "eth_crash_liq2"))
        # The same crash, book and keepers: the Cat's uncapped bites put more debt in auction at
        # once than the Dog's hole lets through, and leave more bad debt.
        assert liq1["bad_debt_max"] > liq2["bad_debt_max"] > 0, seed
        assert liq1["auction_debt_max"] > liq2["auction_debt_max"], seed
    # Without the thin market (sales move no price) neither design ends with bad debt.
    for name in ("eth_crash_liq1", "eth_crash_liq2"):
        assert summary(name, 1, "collateral.ETH.market=null")["bad_debt_final"] == 0.0, name
