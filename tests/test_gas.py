"""Tests for sim.market.gas: gas processes and transaction cost."""

from __future__ import annotations

import numpy as np
import pytest

from sim.market.gas import (
    GAS_BARK,
    GAS_USED,
    ConstantGas,
    Replay,
    SpikeGas,
    tx_cost_eth,
)
from sim.market.prices import Replay as PriceReplay
from sim.market.prices import simulate

HOUR = 3600.0


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_constant_gas():
    p = ConstantGas(25.0).path(10, 600.0, rng())
    assert p.shape == (11,)
    assert np.all(p == 25.0)
    with pytest.raises(ValueError):
        ConstantGas(-1.0)


def test_spike_shape():
    spike = SpikeGas(base=10.0, peak=200.0, at=2 * HOUR, over=HOUR, decay=HOUR)
    p = spike.path(12, HOUR, rng())
    assert np.all(p[:2] == 10.0)  # before at
    assert np.all(p[2:4] == 200.0)  # from at to at + over
    assert p[4] == pytest.approx(10.0 + 190.0 / 2)  # one half-life after at + over
    assert p[5] == pytest.approx(10.0 + 190.0 / 4)
    assert np.all(np.diff(p[3:]) < 0)
    assert np.all(p >= 10.0)
    assert p[-1] == pytest.approx(10.0, abs=190.0 * 2.0**-8 + 1e-9)


def test_spike_half_life_between_ticks():
    spike = SpikeGas(base=0.0, peak=100.0, at=0.0, over=0.0, decay=600.0)
    np.testing.assert_allclose(
        spike.level(np.array([0.0, 300.0, 600.0, 1200.0])), [100.0, 100.0 * 2**-0.5, 50.0, 25.0]
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base": 10, "peak": 100, "at": 0, "over": 0, "decay": 0},
        {"base": -1, "peak": 100, "at": 0, "over": 0, "decay": 1},
        {"base": 10, "peak": 100, "at": -5, "over": 0, "decay": 1},
    ],
)
def test_spike_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        SpikeGas(**kwargs)


def test_replay_is_reused_for_gas():
    assert Replay is PriceReplay
    gas = Replay(np.array([0.0, HOUR]), np.array([10.0, 200.0]), "previous")
    np.testing.assert_array_equal(gas.path(4, 1800.0, rng()), [10, 10, 200, 200, 200])


def test_gas_processes_fit_simulate():
    paths = simulate([ConstantGas(30.0), SpikeGas(10, 100, HOUR, 0, HOUR)], 4, HOUR, rng(1))
    assert paths.shape == (5, 2)
    np.testing.assert_array_equal(paths[:, 0], 30.0)
    assert paths[1, 1] == 100.0


def test_tx_cost_eth():
    assert tx_cost_eth(21_000, 100.0) == pytest.approx(0.0021)
    assert tx_cost_eth(GAS_BARK, 200.0) == pytest.approx(GAS_BARK * 200e-9)
    np.testing.assert_allclose(tx_cost_eth(300_000, np.array([10.0, 200.0])), [0.003, 0.06])


def test_gas_used_table():
    assert GAS_USED["bark"] == GAS_BARK
    assert {"bark", "take", "redo", "bite", "tend", "dent", "deal"} <= set(GAS_USED)
    assert all(isinstance(v, int) and 20_000 < v < 2_000_000 for v in GAS_USED.values())
