"""Borrower strategies in the whole model: leverage and close trade through the markets."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.agents.borrower import initial_book
from sim.scenario import Cohort
from tests.conftest import SMALL

RISING = SMALL.replace(
    "price: {process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}}",
    "price: {process: scripted, points: [[0h, 2000], [6h, 3000]]}\n"
    "    market: {depth_usd_2pct: 2.0e6, recovery_half_life: 1h}",
)


def load(tmp_path, text, overrides=()):
    path = tmp_path / "b.yaml"
    path.write_text(text)
    return sim.load_scenario(path, overrides=list(overrides))


def test_initial_book_matches_the_cohort_spec():
    cohort = Cohort.model_validate(
        {
            "name": "c",
            "ilk": "ETH-A",
            "vaults": 500,
            "debt": 1.0e7,
            "cr": {"dist": "lognormal", "median": 2.0, "sigma": 0.3, "min": 1.6, "max": 3.0},
            "size": {"dist": "lognormal", "sigma": 1.0},
        }
    )
    ink, debt = initial_book(cohort, 2000.0, np.random.default_rng(0))
    assert debt.sum() == pytest.approx(1.0e7)
    cr = ink * 2000.0 / debt
    assert cr.min() >= 1.6 - 1e-12 and cr.max() <= 3.0 + 1e-12
    assert 1.8 < np.median(cr) < 2.2
    assert debt.std() > 0


def test_leverage_draws_and_buys_collateral_when_cr_rises(tmp_path):
    text = RISING.replace(
        "strategy: {kind: target_cr, trigger: 1.7, target: 2.2}",
        "strategy: {kind: leverage, target: 1.9, up: 2.3}",
    )
    result = sim.run(load(tmp_path, text), seed=1)
    snap = result.vaults
    lev0 = snap[(snap.tick == 0) & (snap.cohort == "careful")]
    lev1 = snap[(snap.tick == snap.tick.max()) & (snap.cohort == "careful")]
    assert lev1.debt.sum() > 1.2 * lev0.debt.sum()
    assert lev1.ink.sum() > lev0.ink.sum()
    # Back near the target after levering (the last tick's price may have moved on a little).
    assert lev1.cr.median() < 2.3
    # Buying ETH pushed the market above the exogenous path; selling Dai pushed Dai below par.
    ts = result.ilk("ETH-A")
    exo = 2000 + 1000 * np.minimum(ts.tick.to_numpy() * 600 / (6 * 3600), 1.0)
    assert (ts.price.to_numpy() >= exo - 1e-6).all() and (ts.price.to_numpy() > exo + 1).any()


def test_close_repays_and_exits_in_a_panic_buying_dai(tmp_path):
    text = (
        SMALL.replace(
            "strategy: {kind: target_cr, trigger: 1.7, target: 2.2}",
            "strategy: {kind: close, panic: 1.8}",
        )
        + "dai: {depth_usd_2pct: 1.0e6, recovery_half_life: 6h}\n"
    )
    result = sim.run(load(tmp_path, text), seed=1)
    snap = result.vaults
    closers = snap[(snap.tick == snap.tick.max()) & (snap.cohort == "careful")]
    assert (closers.debt == 0).all() and (closers.ink == 0).all()
    assert not set(result.auctions.vault) & set(closers.vault)
    assert result.timeseries["dai_price"].max() > 1.0
    frobs = result.events[(result.events.event == "frob") & (result.events.actor == "careful")]
    assert (frobs.collateral < 0).all() and (frobs.dai < 0).all()


def test_target_cr_repay_uses_the_dai_wallet(tmp_path):
    text = SMALL.replace(
        "strategy: {kind: target_cr, trigger: 1.7, target: 2.2}",
        "strategy: {kind: target_cr, trigger: 1.7, target: 2.2, action: repay, wallet: 0.3}",
    )
    result = sim.run(load(tmp_path, text), seed=1)
    snap = result.vaults
    before = snap[(snap.tick == 0) & (snap.cohort == "careful")].set_index("vault")
    after = snap[(snap.tick == snap.tick.max()) & (snap.cohort == "careful")].set_index("vault")
    repaid = before.debt - after.debt
    assert (repaid > 0).any()
    # Never more than the wallet (30 % of the initial debt), fees aside.
    assert (repaid <= 0.3 * before.debt * (1 + 1e-6)).all()
    assert (after.ink == before.ink).all()
