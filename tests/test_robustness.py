"""Perturbed versions of every shipped scenario run to their end (scripts/robustness.py, small)."""

from __future__ import annotations

import pytest

from scripts.robustness import (
    FACTOR_RANGE,
    GROUPS,
    Case,
    cases,
    perturbed,
    run_case,
    scenario_files,
)

#: Random cases per scenario in CI (the script runs more: see its docstring).
N_RANDOM = 3
#: Longer clocks are coarsened to this many ticks in CI.
MAX_TICKS = 240

CASES = list(cases(scenario_files(), N_RANDOM, seed=2026))


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.scenario.stem}-{c.label}")
def test_perturbed_scenario_runs_to_its_end(case: Case):
    out = run_case(case, MAX_TICKS)
    assert out.status != "failed", out.message
    assert out.status == "ok", f"the perturbation was refused: {out.message}"
    assert out.ticks == out.n_ticks > 0


def test_every_scenario_is_covered_at_both_corners():
    files = scenario_files()
    assert len(files) >= 6
    corners = {(c.scenario, c.label) for c in CASES}
    for path in files:
        for f in FACTOR_RANGE:
            assert (path, f"all×{f:g}") in corners


def test_perturbation_changes_what_it_says():
    path = next(p for p in scenario_files() if p.stem == "eth_crash_liq2")
    base, _ = perturbed(Case(path, "id", dict.fromkeys(GROUPS, 1.0)), None)
    scaled, overrides = perturbed(Case(path, "x10", dict.fromkeys(GROUPS, 10.0)), 100)
    assert scaled.n_ticks <= 100 < base.n_ticks
    assert scaled.clock.duration == base.clock.duration
    for a, b in zip(base.borrowers, scaled.borrowers, strict=True):
        assert b.debt == pytest.approx(10 * a.debt)
        dust = base.ilks[a.ilk].dust
        assert b.vaults == min(10 * a.vaults, int(b.debt // dust))
    assert scaled.collateral["ETH"].price.start == pytest.approx(
        10 * base.collateral["ETH"].price.start
    )
    assert scaled.keepers[0].dai == pytest.approx(10 * base.keepers[0].dai)
    assert scaled.system.vow.sump == pytest.approx(10 * base.system.vow.sump)
    assert any(o.startswith("ilks.ETH-A.line=") for o in overrides)
