"""Experimental designs: full grids, Latin hypercube strata, Sobol and Morris point sets."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sim.experiments import designs


def test_the_grid_is_the_full_product_first_parameter_slowest():
    values = [[1.3, 1.45], ["a", "b", "c"], [10]]
    points = designs.grid(values)
    assert len(points) == 2 * 3 * 1
    assert set(points) == set(itertools.product(*values))
    assert points[:3] == [(1.3, "a", 10), (1.3, "b", 10), (1.3, "c", 10)]


def test_levels_are_even_in_the_value_or_in_its_logarithm():
    assert designs.levels(1.0, 2.0, 3) == [1.0, 1.5, 2.0]
    logs = designs.levels(1e6, 1e8, 3, "loguniform")
    np.testing.assert_allclose(logs, [1e6, 1e7, 1e8])


@pytest.mark.parametrize("n, d", [(10, 1), (17, 3), (64, 8)])
def test_each_latin_hypercube_stratum_is_hit_exactly_once(n, d):
    unit = designs.lhs_unit(n, d, seed=5)
    assert unit.shape == (n, d)
    strata = np.floor(unit * n).astype(int)
    for j in range(d):
        assert sorted(strata[:, j]) == list(range(n))


def test_latin_hypercube_strata_hold_for_a_loguniform_parameter():
    n = 20
    unit = designs.lhs_unit(n, 1, seed=1)[:, 0]
    values = designs.from_unit(unit, 1e6, 2e7, "loguniform")
    # the strata are equal in probability: equal widths in log space
    edges = np.geomspace(1e6, 2e7, n + 1)
    assert sorted(np.searchsorted(edges, values) - 1) == list(range(n))


def test_from_unit_maps_the_ends_and_inverts():
    u = np.array([0.0, 0.5, 1.0])
    np.testing.assert_allclose(designs.from_unit(u, 2.0, 4.0), [2.0, 3.0, 4.0])
    np.testing.assert_allclose(designs.from_unit(u, 1.0, 100.0, "loguniform"), [1.0, 10.0, 100.0])
    x = designs.from_unit(u, 1.0, 100.0, "loguniform")
    np.testing.assert_allclose(designs.to_unit(x, 1.0, 100.0, "loguniform"), u, atol=1e-12)
    with pytest.raises(ValueError, match="unknown distribution"):
        designs.from_unit(u, 1.0, 2.0, "normal")  # type: ignore[arg-type]


def test_sobol_design_sizes_and_power_of_two():
    assert designs.is_power_of_two(64) and not designs.is_power_of_two(96)
    first = designs.sobol_unit(16, 3, seed=0)
    second = designs.sobol_unit(16, 3, seed=0, second_order=True)
    assert first.shape == (16 * (3 + 2), 3) == (designs.point_count("sobol", 16, 3), 3)
    assert second.shape == (16 * (2 * 3 + 2), 3)
    assert ((first >= 0) & (first <= 1)).all()
    np.testing.assert_array_equal(first, designs.sobol_unit(16, 3, seed=0))
    assert not np.array_equal(first, designs.sobol_unit(16, 3, seed=1))
    with pytest.raises(ValueError, match="power of two"):
        designs.sobol_unit(24, 3, seed=0)


def test_sobol_blocks_share_the_base_samples():
    """Saltelli's layout: A, then A with column i from B (for each i), then B."""
    d = 3
    x = designs.sobol_unit(8, d, seed=2).reshape(8, d + 2, d)
    a, b = x[:, 0, :], x[:, -1, :]
    for i in range(d):
        ab = x[:, 1 + i, :]
        np.testing.assert_array_equal(np.delete(ab, i, axis=1), np.delete(a, i, axis=1))
        np.testing.assert_array_equal(ab[:, i], b[:, i])


def test_morris_trajectories_move_one_parameter_per_step():
    n, d, levels = 6, 4, 4
    unit = designs.morris_unit(n, d, seed=3, num_levels=levels)
    assert unit.shape == (designs.point_count("morris", n, d), d) == (n * (d + 1), d)
    delta = levels / (2 * (levels - 1))
    grid = np.linspace(0, 1, levels)
    assert np.isin(np.round(unit, 12), np.round(grid, 12)).all()
    for trajectory in unit.reshape(n, d + 1, d):
        steps = np.diff(trajectory, axis=0)
        moved = np.abs(steps) > 1e-12
        assert (moved.sum(axis=1) == 1).all()  # one parameter per step
        assert sorted(np.flatnonzero(moved.any(axis=0))) == list(range(d))  # each once
        np.testing.assert_allclose(np.abs(steps[moved]), delta)


def test_random_designs_are_reproducible_and_inside_the_cube():
    a = designs.unit_design("random", 50, 2, seed=9)
    np.testing.assert_array_equal(a, designs.unit_design("random", 50, 2, seed=9))
    assert a.shape == (50, 2) and ((a >= 0) & (a < 1)).all()
    with pytest.raises(ValueError, match="unknown design kind"):
        designs.unit_design("grid", 4, 2, seed=0)
