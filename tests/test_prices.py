"""Tests for sim.market.prices: exogenous price processes, correlation and CSV input."""

from __future__ import annotations

import math
import pickle
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.market.prices import (
    GBM,
    YEAR,
    Bridge,
    DataError,
    JumpDiffusion,
    Replay,
    Scripted,
    correlated_normals,
    read_series_csv,
    simulate,
    tick_times,
)

HOUR = 3600.0
DAY = 86_400.0


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------------------------
# GBM


def test_gbm_log_returns_match_vol_and_drift():
    vol, drift, dt, n = 0.8, 0.3, HOUR, 200_000
    p = GBM(start=2000.0, vol=vol, drift=drift).path(n, dt, rng(1))
    assert p.shape == (n + 1,)
    assert p[0] == 2000.0
    r = np.diff(np.log(p))
    h = dt / YEAR
    mean, var = (drift - 0.5 * vol**2) * h, vol**2 * h
    # 4 standard errors: mean SE = sd/√n; variance SE = var·√(2/(n−1)) for normal returns
    assert abs(r.mean() - mean) < 4 * math.sqrt(var / n)
    assert abs(r.var(ddof=1) - var) < 4 * var * math.sqrt(2 / (n - 1))


def test_gbm_arithmetic_drift_gives_expected_growth():
    # E[S_{i+1}/S_i] = e^{drift·h}: gross returns are iid, so their mean checks the convexity term
    vol, drift, dt, n = 0.9, 0.5, DAY, 200_000
    p = GBM(start=1.0, vol=vol, drift=drift).path(n, dt, rng(2))
    gross = p[1:] / p[:-1]
    se = gross.std(ddof=1) / math.sqrt(n)
    assert abs(gross.mean() - math.exp(drift * dt / YEAR)) < 4 * se


def test_gbm_zero_vol_is_deterministic_exponential():
    p = GBM(100.0, vol=0.0, drift=0.1).path(10, DAY, rng())
    np.testing.assert_allclose(p, 100.0 * np.exp(0.1 * tick_times(10, DAY) / YEAR), rtol=1e-12)


def test_gbm_uses_given_shocks():
    z = np.array([1.0, -2.0, 0.5])
    h = HOUR / YEAR
    p = GBM(10.0, vol=0.5).path(3, HOUR, rng(), z)
    expected = 10.0 * np.exp(np.cumsum(np.r_[0.0, -0.125 * h + 0.5 * math.sqrt(h) * z]))
    np.testing.assert_allclose(p, expected, rtol=1e-12)
    with pytest.raises(ValueError, match="shape"):
        GBM(10.0, 0.5).path(3, HOUR, rng(), np.zeros(4))


@pytest.mark.parametrize(
    "kwargs",
    [{"start": 0.0, "vol": 0.5}, {"start": 1.0, "vol": -0.1}, {"start": 1.0, "vol": math.nan}],
)
def test_gbm_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        GBM(**kwargs)


def test_bad_grid_rejected():
    with pytest.raises(ValueError, match="dt"):
        GBM(1.0, 0.1).path(3, 0.0, rng())
    with pytest.raises(ValueError, match="n_ticks"):
        GBM(1.0, 0.1).path(-1, 1.0, rng())


# --------------------------------------------------------------------------------------------
# jump diffusion


def test_jump_counts_match_rate():
    # vol 0 and fixed jump size: every log return is c + N·jump_mean, so N is recoverable exactly
    rate, dt, n, m = 50.0, DAY, 100_000, -0.05
    proc = JumpDiffusion(start=100.0, vol=0.0, drift=0.0, jump_rate=rate, jump_mean=m, jump_std=0)
    p = proc.path(n, dt, rng(3))
    h = dt / YEAR
    c = -rate * proc.compensator * h
    counts = (np.diff(np.log(p)) - c) / m
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-6)
    counts = np.round(counts)
    lam = rate * h
    assert abs(counts.mean() - lam) < 4 * math.sqrt(lam / n)  # Poisson: var = mean
    assert abs(counts.var() - lam) < 0.05 * lam


def test_jump_diffusion_is_compensated():
    # E[S_{i+1}/S_i] = e^{drift·h}; without the compensator the mean would be off by ~40 SE
    proc = JumpDiffusion(100.0, vol=0.6, drift=0.1, jump_rate=20, jump_mean=-0.1, jump_std=0.1)
    dt, n = DAY, 200_000
    p = proc.path(n, dt, rng(4))
    gross = p[1:] / p[:-1]
    se = gross.std(ddof=1) / math.sqrt(n)
    assert abs(gross.mean() - math.exp(0.1 * dt / YEAR)) < 4 * se
    uncompensated_shift = abs(proc.jump_rate * proc.compensator * dt / YEAR)
    assert uncompensated_shift > 20 * se  # the test can tell the difference


def test_jump_diffusion_without_jumps_is_gbm():
    z = rng(5).standard_normal(50)
    a = JumpDiffusion(10.0, vol=0.7, drift=0.2).path(50, HOUR, rng(6), z)
    b = GBM(10.0, vol=0.7, drift=0.2).path(50, HOUR, rng(6), z)
    np.testing.assert_allclose(a, b, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# scripted


def test_scripted_crash_reaches_depth_at_at_plus_over():
    dt = 600.0
    proc = Scripted(start=2000.0, crash=(0.5, 12 * HOUR, 24 * HOUR))
    p = proc.path(int(48 * HOUR / dt), dt, rng())
    t = tick_times(int(48 * HOUR / dt), dt)
    assert np.all(p[t <= 12 * HOUR] == 2000.0)
    assert p[int(24 * HOUR / dt)] == pytest.approx(1500.0)  # half-way down
    end = int(36 * HOUR / dt)
    assert p[end] == pytest.approx(1000.0, rel=1e-12)
    assert np.all(p[end:] == p[end])
    assert np.all(np.diff(p) <= 0)


def test_scripted_crash_step_when_over_is_zero():
    p = Scripted(start=100.0, crash=(0.3, HOUR, 0.0)).path(4, 1800.0, rng())
    np.testing.assert_allclose(p, [100, 100, 70, 70, 70])


def test_scripted_points_interpolate_and_hold():
    pts = [[0, 2000], [6 * HOUR, 1200], [48 * HOUR, 1500]]
    proc = Scripted(points=pts)
    dt = HOUR
    p = proc.path(60, dt, rng())
    assert p[0] == 2000 and p[6] == 1200 and p[48] == 1500
    assert p[3] == pytest.approx(1600.0)
    assert p[27] == pytest.approx(1350.0)
    assert np.all(p[48:] == 1500)


def test_scripted_points_with_start_and_flat_before_first_point():
    p = Scripted(start=100.0, points=[(2 * HOUR, 50.0)]).path(4, HOUR, rng())
    np.testing.assert_allclose(p, [100, 75, 50, 50, 50])
    p = Scripted(points=[(2 * HOUR, 50.0), (3 * HOUR, 60.0)]).path(4, HOUR, rng())
    np.testing.assert_allclose(p, [50, 50, 50, 60, 60])
    with pytest.raises(ValueError, match="contradicts"):
        Scripted(start=10.0, points=[(0.0, 20.0)])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": 1.0},
        {"start": 1.0, "points": [(0, 1)], "crash": (0.5, 0, 1)},
        {"crash": (0.5, 0, 1)},
        {"start": 1.0, "crash": (1.0, 0, 1)},
        {"start": 1.0, "crash": (0.5, -1, 1)},
        {"points": [(0, 1), (0, 2)]},
        {"points": [(0, 1), (1, -2)]},
        {"points": []},
    ],
)
def test_scripted_rejects_bad_scripts(kwargs):
    with pytest.raises(ValueError):
        Scripted(**kwargs)


def test_scripted_noise_is_mean_one_multiplicative():
    proc = Scripted(start=100.0, crash=(0.4, 0.0, 10 * DAY), vol=0.8)
    n, dt = 240, HOUR
    finals = np.array([proc.path(n, dt, rng(s))[-1] for s in range(2000)])
    assert finals.mean() == pytest.approx(60.0, rel=4 * finals.std() / 60.0 / math.sqrt(2000))
    assert finals.std() > 0


# --------------------------------------------------------------------------------------------
# replay


TIMES = np.array([0.0, HOUR, 2 * HOUR, 5 * HOUR])
VALUES = np.array([100.0, 80.0, 120.0, 90.0])


def test_replay_linear_pinned_and_interpolated():
    p = Replay(TIMES, VALUES, "linear").path(36, 600.0, rng())
    assert np.all(p[[0, 6, 12, 30]] == VALUES)
    assert p[3] == pytest.approx(90.0)
    assert np.all(p[30:] == 90.0)


def test_replay_previous_is_a_step():
    p = Replay(TIMES, VALUES, "previous").path(36, 600.0, rng())
    assert np.all(p[0:6] == 100.0)
    assert np.all(p[6:12] == 80.0)
    assert np.all(p[12:30] == 120.0)
    assert np.all(p[30:] == 90.0)


def test_replay_holds_outside_the_data():
    proc = Replay(np.array([HOUR, 2 * HOUR]), np.array([10.0, 20.0]), "linear")
    p = proc.path(4, HOUR, rng())
    np.testing.assert_array_equal(p, [10, 10, 20, 20, 20])
    p = Replay(np.array([HOUR, 2 * HOUR]), np.array([10.0, 20.0]), "previous").path(4, HOUR, rng())
    np.testing.assert_array_equal(p, [10, 10, 20, 20, 20])


def test_replay_bridge_pinned_at_data_points_and_random_between():
    proc = Replay(TIMES, VALUES, "bridge", vol=1.5)
    p = proc.path(36, 600.0, rng(7))
    assert np.all(p[[0, 6, 12, 30]] == VALUES)  # exactly
    assert np.all(p[30:] == 90.0)
    linear = Replay(TIMES, VALUES, "linear").path(36, 600.0, rng())
    between = np.ones(37, bool)
    between[[0, 6, 12]] = False
    between[30:] = False
    assert np.all(p[between] != linear[between])
    q = proc.path(36, 600.0, rng(8))
    assert np.all(q[[0, 6, 12, 30]] == VALUES)
    assert not np.array_equal(p, q)


def test_replay_bridge_variance_is_a_brownian_bridge():
    # flat data over 2 h, ticks of 10 min: log price at τ has variance vol²·τ(T−τ)/T (years)
    vol, big_t = 2.0, 2 * HOUR
    proc = Replay(np.array([0.0, big_t]), np.array([50.0, 50.0]), "bridge", vol=vol)
    n = 4000
    logs = np.log(np.array([proc.path(12, 600.0, rng(s)) for s in range(n)]) / 50.0)
    for k in (3, 6, 9):
        tau = k * 600.0
        var = vol**2 * tau * (big_t - tau) / big_t / YEAR
        assert abs(logs[:, k].mean()) < 4 * math.sqrt(var / n)
        assert abs(logs[:, k].var() - var) < 4 * var * math.sqrt(2 / n)


def test_replay_bridge_off_grid_data_times_variance():
    # data times off the tick grid: the Brownian motion there is completed exactly from rng
    vol = 2.0
    times = np.array([-700.0, 1300.0, 4100.0])
    proc = Replay(times, np.array([50.0, 50.0, 50.0]), "bridge", vol=vol)
    n = 4000
    logs = np.log(np.array([proc.path(6, 600.0, rng(s)) for s in range(n)]) / 50.0)
    for k, (a, b) in [(0, (-700.0, 1300.0)), (1, (-700.0, 1300.0)), (3, (1300.0, 4100.0))]:
        tau = k * 600.0 - a
        var = vol**2 * tau * (b - a - tau) / (b - a) / YEAR
        assert abs(logs[:, k].var() - var) < 4 * var * math.sqrt(2 / n)


def test_replay_bridge_uses_given_shocks():
    proc = Replay(TIMES, VALUES, "bridge", vol=1.0)
    z = rng(9).standard_normal(36)
    np.testing.assert_array_equal(proc.path(36, 600.0, rng(1), z), proc.path(36, 600.0, rng(1), z))
    z2 = z.copy()
    z2[2] += 1.0
    assert not np.array_equal(proc.path(36, 600.0, rng(1), z), proc.path(36, 600.0, rng(1), z2))


@pytest.mark.parametrize(
    "args",
    [
        ([0, 0], [1, 2], "linear"),
        ([0, 1], [1], "linear"),
        ([], [], "linear"),
        ([0, 1], [1, 2], "cubic"),
        ([0, 1], [1, -2], "bridge"),
    ],
)
def test_replay_rejects_bad_data(args):
    with pytest.raises(ValueError):
        Replay(*args)


@settings(max_examples=50, deadline=None)
@given(
    gaps=st.lists(st.integers(1, 20), min_size=1, max_size=8),
    values=st.lists(st.floats(1.0, 1e4), min_size=9, max_size=9),
    vol=st.floats(0.0, 3.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_replay_property_pins_and_ranges(gaps, values, vol, seed):
    dt = 300.0
    times = np.concatenate(([0.0], np.cumsum(gaps) * dt))
    vals = np.array(values[: times.shape[0]])
    n = int(times[-1] / dt) + 3
    idx = (times / dt).astype(int)
    lin = Replay(times, vals, "linear").path(n, dt, rng())
    prev = Replay(times, vals, "previous").path(n, dt, rng())
    bri = Replay(times, vals, "bridge", vol=vol).path(n, dt, rng(seed))
    for p in (lin, prev, bri):
        assert np.all(p[idx] == vals)
        assert np.all(p[idx[-1] :] == vals[-1])
    assert np.all((lin >= vals.min() - 1e-9) & (lin <= vals.max() + 1e-9))
    assert set(np.unique(prev)) <= set(vals)
    assert np.all(bri > 0) and np.all(np.isfinite(bri))


# --------------------------------------------------------------------------------------------
# bridge


def test_bridge_hits_target_exactly_at_at():
    proc = Bridge(start=200.0, target=110.0, at=18 * HOUR, vol=1.2, drift=0.1)
    for seed in range(5):
        p = proc.path(48, HOUR, rng(seed))
        assert p[0] == 200.0
        assert p[18] == 110.0
        assert np.all(np.isfinite(p)) and np.all(p > 0)
    assert not np.array_equal(proc.path(48, HOUR, rng(0)), proc.path(48, HOUR, rng(1)))


def test_bridge_zero_vol_is_geometric_then_drift():
    p = Bridge(100.0, 25.0, 2 * HOUR, vol=0.0, drift=0.0).path(4, HOUR, rng())
    np.testing.assert_allclose(p, [100, 50, 25, 25, 25], rtol=1e-12)


def test_bridge_after_at_is_gbm():
    vol, n, dt = 0.9, 100_000, HOUR
    p = Bridge(100.0, 50.0, HOUR, vol=vol).path(n, dt, rng(10))
    r = np.diff(np.log(p[1:]))
    var = vol**2 * dt / YEAR
    assert abs(r.var(ddof=1) - var) < 4 * var * math.sqrt(2 / (n - 2))


def test_bridge_off_grid_at_variance_before_pin():
    # at = 50 min with 20-min ticks: log variance at t is vol²·t·(at−t)/at
    vol, at, n = 2.0, 3000.0, 4000
    proc = Bridge(100.0, 100.0, at, vol=vol)
    logs = np.log(np.array([proc.path(3, 1200.0, rng(s)) for s in range(n)]) / 100.0)
    for k in (1, 2):
        t = k * 1200.0
        var = vol**2 * t * (at - t) / at / YEAR
        assert abs(logs[:, k].var() - var) < 4 * var * math.sqrt(2 / n)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": 1, "target": 0, "at": 1, "vol": 0.1},
        {"start": 1, "target": 1, "at": 0, "vol": 0.1},
        {"start": 1, "target": 1, "at": 1, "vol": -1},
    ],
)
def test_bridge_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        Bridge(**kwargs)


# --------------------------------------------------------------------------------------------
# correlation


def test_correlated_normals_match_correlation():
    corr = np.array([[1.0, 0.8, -0.3], [0.8, 1.0, 0.1], [-0.3, 0.1, 1.0]])
    n = 200_000
    z = correlated_normals(corr, n, rng(11))
    assert z.shape == (n, 3)
    sample = np.corrcoef(z, rowvar=False)
    se = (1 - corr**2) / math.sqrt(n)  # standard error of a sample correlation
    off = ~np.eye(3, dtype=bool)
    assert np.all(np.abs(sample - corr)[off] < 3 * se[off])
    assert np.all(np.abs(z.std(axis=0) - 1) < 3 / math.sqrt(2 * n))


def test_correlated_normals_identity_is_plain_normals_and_singular_ok():
    np.testing.assert_array_equal(
        correlated_normals(np.eye(2), 100, rng(12)), rng(12).standard_normal((100, 2))
    )
    z = correlated_normals(np.ones((2, 2)), 1000, rng(13))  # PSD but singular
    np.testing.assert_allclose(z[:, 0], z[:, 1], atol=1e-12)
    assert z[:, 0].std() == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize(
    ("corr", "match"),
    [
        ([[1.0, 0.5], [0.4, 1.0]], "symmetric"),
        ([[1.0, 0.5], [0.5, 0.9]], "unit diagonal"),
        ([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]], "positive semidefinite"),
        ([[1.0, 1.5], [1.5, 1.0]], r"\[-1, 1\]"),
        ([1.0, 0.5], "square"),
        ([[1.0, 0.5, 0.2], [0.5, 1.0, 0.1]], "square"),
        ([[1.0, math.nan], [math.nan, 1.0]], "finite"),
    ],
)
def test_invalid_corr_raises(corr, match):
    with pytest.raises(ValueError, match=match):
        correlated_normals(np.array(corr), 10, rng())


def test_simulate_correlates_log_returns():
    procs = [GBM(2000.0, 0.8), JumpDiffusion(30_000.0, 0.6), Scripted(1.0, crash=(0.1, 0, DAY))]
    corr = np.array([[1.0, 0.9, 0.0], [0.9, 1.0, 0.0], [0.0, 0.0, 1.0]])
    n = 100_000
    paths = simulate(procs, n, 600.0, rng(14), corr=corr)
    assert paths.shape == (n + 1, 3)
    assert paths[0, 0] == 2000.0 and paths[0, 1] == 30_000.0
    r = np.diff(np.log(paths[:, :2]), axis=0)
    rho = np.corrcoef(r, rowvar=False)[0, 1]
    assert abs(rho - 0.9) < 3 * (1 - 0.81) / math.sqrt(n)
    with pytest.raises(ValueError, match="3×3"):
        simulate(procs, 10, 600.0, rng(), corr=np.eye(2))


def test_simulate_without_corr_equals_identity():
    procs = [GBM(1.0, 0.5), Replay(TIMES, VALUES, "bridge", vol=1.0)]
    a = simulate(procs, 36, 600.0, rng(15))
    b = simulate(procs, 36, 600.0, rng(15), corr=np.eye(2))
    np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------------------------
# determinism


STOCHASTIC = [
    GBM(100.0, 0.8, 0.1),
    JumpDiffusion(100.0, 0.8, 0.0, 10.0, -0.1, 0.05),
    Scripted(100.0, crash=(0.5, HOUR, HOUR), vol=0.5),
    Replay(TIMES, VALUES, "bridge", vol=1.0),
    Bridge(100.0, 60.0, 3 * HOUR, 1.0),
]


@pytest.mark.parametrize("proc", STOCHASTIC, ids=lambda p: type(p).__name__)
def test_same_seed_same_path_different_seed_different(proc):
    a = proc.path(36, 600.0, rng(42))
    b = proc.path(36, 600.0, rng(42))
    c = proc.path(36, 600.0, rng(43))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_processes_pickle():
    for proc in STOCHASTIC:
        clone = pickle.loads(pickle.dumps(proc))
        np.testing.assert_array_equal(proc.path(5, 60.0, rng(1)), clone.path(5, 60.0, rng(1)))


# --------------------------------------------------------------------------------------------
# CSV


HEADER = "timestamp,eth_close,gas_mean_gwei\n"


def write(tmp_path, text, name="series.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_series_csv_reads_times_and_values(tmp_path):
    path = write(
        tmp_path,
        HEADER
        + "2020-03-12T00:00:00Z,193.44,10\n"
        + "2020-03-12T01:00:00Z,184.43,12\n"
        + "\n"
        + "2020-03-12T02:30:00Z,183.70,\n",
    )
    times, values = read_series_csv(path, "eth_close")
    np.testing.assert_array_equal(times, [0.0, 3600.0, 9000.0])
    np.testing.assert_array_equal(values, [193.44, 184.43, 183.70])
    times, values = read_series_csv(path, "gas_mean_gwei")  # trailing empty cell dropped
    np.testing.assert_array_equal(times, [0.0, 3600.0])
    np.testing.assert_array_equal(values, [10.0, 12.0])
    times, _ = read_series_csv(path, "eth_close", start=datetime(2020, 3, 11, 23, tzinfo=UTC))
    np.testing.assert_array_equal(times, [3600.0, 7200.0, 12600.0])
    times, _ = read_series_csv(path, "eth_close", start="2020-03-12T01:00:00")
    np.testing.assert_array_equal(times, [-3600.0, 0.0, 5400.0])


def test_read_series_csv_feeds_replay(tmp_path):
    path = write(tmp_path, HEADER + "2020-03-12T00:00:00Z,100,1\n2020-03-12T01:00:00Z,50,1\n")
    p = Replay(*read_series_csv(path, "eth_close"), "linear").path(4, 1800.0, rng())
    np.testing.assert_array_equal(p, [100, 75, 50, 50, 50])


def expect_error(path, column, line, err_column, fragment, **kwargs):
    with pytest.raises(DataError) as info:
        read_series_csv(path, column, **kwargs)
    err = info.value
    assert err.path == str(path)
    assert err.line == line
    assert err.column == err_column
    assert fragment in err.message
    assert str(err) == f"{path}:{line}: {err_column}: {err.message}"
    return err


def test_csv_missing_file(tmp_path):
    expect_error(tmp_path / "nope.csv", "eth_close", 0, "eth_close", "cannot open")


def test_csv_missing_column(tmp_path):
    path = write(tmp_path, HEADER + "2020-03-12T00:00:00Z,1,1\n")
    expect_error(path, "eth_open", 1, "eth_open", "no such column")
    expect_error(path, "eth_close", 1, "time", "no such column", time_column="time")


def test_csv_bad_number(tmp_path):
    path = write(tmp_path, HEADER + "2020-03-12T00:00:00Z,1,1\n2020-03-12T01:00:00Z,1.2.3,1\n")
    expect_error(path, "eth_close", 3, "eth_close", "not a number")


def test_csv_bad_timestamp(tmp_path):
    path = write(tmp_path, HEADER + "2020-03-12T00:00:00Z,1,1\nyesterday,2,1\n")
    expect_error(path, "eth_close", 3, "timestamp", "ISO-8601")


def test_csv_non_increasing_timestamps(tmp_path):
    path = write(
        tmp_path,
        HEADER + "2020-03-12T00:00:00Z,1,1\n2020-03-12T01:00:00Z,2,1\n2020-03-12T01:00:00Z,3,1\n",
    )
    expect_error(path, "eth_close", 4, "timestamp", "strictly increasing")


def test_csv_non_positive_values(tmp_path):
    path = write(tmp_path, HEADER + "2020-03-12T00:00:00Z,1,1\n2020-03-12T01:00:00Z,-2,1\n")
    expect_error(path, "eth_close", 3, "eth_close", "> 0")
    _, values = read_series_csv(path, "eth_close", positive=False)
    np.testing.assert_array_equal(values, [1.0, -2.0])


def test_csv_missing_values(tmp_path):
    path = write(
        tmp_path,
        HEADER + "2020-03-12T00:00:00Z,1,1\n2020-03-12T01:00:00Z,,1\n2020-03-12T02:00:00Z,3,1\n",
    )
    expect_error(path, "eth_close", 3, "eth_close", "missing value")
    expect_error(path, "eth_close", 3, "eth_close", "missing value", missing="error")
    times, values = read_series_csv(path, "eth_close", missing="skip")
    np.testing.assert_array_equal(times, [0.0, 7200.0])
    np.testing.assert_array_equal(values, [1.0, 3.0])


def test_csv_ragged_row_and_empty_file(tmp_path):
    path = write(tmp_path, HEADER + "2020-03-12T00:00:00Z,1\n")
    expect_error(path, "eth_close", 2, "eth_close", "fields")
    expect_error(write(tmp_path, "", "empty.csv"), "eth_close", 1, "eth_close", "empty file")
    expect_error(write(tmp_path, HEADER, "header.csv"), "eth_close", 1, "eth_close", "no data")


def test_data_error_pickles():
    err = DataError("a.csv", 3, "eth_close", "not a number: 'x'")
    clone = pickle.loads(pickle.dumps(err))
    assert str(clone) == "a.csv:3: eth_close: not a number: 'x'"
    assert (clone.path, clone.line, clone.column) == ("a.csv", 3, "eth_close")


# --------------------------------------------------------------------------------------------
# what the data do beyond their span; messages that name, never quote


def test_replay_beyond_error_refuses_ticks_outside_the_data():
    proc = Replay(np.array([0.0, HOUR]), np.array([10.0, 20.0]), "linear", beyond="error")
    np.testing.assert_array_equal(proc.path(2, 1800.0, rng()), [10, 15, 20])  # covered
    with pytest.raises(ValueError, match="the data cover 0 s to 3600 s"):
        proc.path(3, 1800.0, rng())
    late = Replay(np.array([600.0, HOUR]), np.array([10.0, 20.0]), "linear", beyond="error")
    with pytest.raises(ValueError, match="beyond='error'"):
        late.path(1, 1800.0, rng())
    assert proc.covers(HOUR) and not proc.covers(HOUR + 1) and not late.covers(HOUR)


def test_replay_beyond_hold_is_the_default_and_checked():
    proc = Replay(np.array([HOUR]), np.array([10.0]), "previous")
    assert proc.beyond == "hold"
    np.testing.assert_array_equal(proc.path(3, HOUR, rng()), [10, 10, 10, 10])
    with pytest.raises(ValueError, match="beyond must be one of"):
        Replay(np.array([0.0]), np.array([1.0]), beyond="extrapolate")


SECRET = "hunter2-do-not-print"


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        (f"root:x:0:0:{SECRET}:/root:/bin/bash\n", "eth_close", "not a header of column names"),
        (f"timestamp,eth_close\n{SECRET},1\n", "eth_close", "not an ISO-8601 timestamp"),
        (f"timestamp,eth_close\n2020-03-12T00:00:00Z,{SECRET}\n", "eth_close", "not a number"),
        (
            "timestamp,eth_close\n2020-03-12T00:00:00Z,1\n2020-03-12T00:00:00Z,2\n",
            "eth_close",
            "does not come after the one on line 2",
        ),
        ("timestamp,eth_close\n2020-03-12T00:00:00Z,-7.25\n", "eth_close", "must be > 0"),
        ("timestamp,eth_close\n2020-03-12T00:00:00Z,inf\n", "eth_close", "not a finite number"),
    ],
    ids=["passwd-like", "timestamp", "number", "order", "negative", "infinite"],
)
def test_csv_errors_never_quote_the_file(tmp_path, text, column, fragment):
    path = write(tmp_path, text)
    with pytest.raises(DataError) as info:
        read_series_csv(path, column)
    err = info.value
    assert fragment in err.message
    shown = f"{err.column}: {err.message}"  # what is said besides the file's own name
    assert SECRET not in shown and "-7.25" not in shown and "inf" not in err.message


def test_csv_header_names_are_listed_when_they_look_like_names(tmp_path):
    path = write(tmp_path, HEADER + "2020-03-12T00:00:00Z,1,1\n")
    err = expect_error(path, "eth_open", 1, "eth_open", "no such column")
    assert "columns: timestamp, eth_close, gas_mean_gwei" in err.message
    wide = write(tmp_path, ",".join(f"c{i}" for i in range(30)) + "\n", "wide.csv")
    err = expect_error(wide, "x", 1, "timestamp", "and 10 more")
    assert "c19" in err.message and "c20" not in err.message


def test_csv_bounds(tmp_path):
    path = write(tmp_path, HEADER + "2020-03-12T00:00:00Z,5,1\n2020-03-12T01:00:00Z,2e13,1\n")
    err = expect_error(path, "eth_close", 3, "eth_close", "outside", bounds=(1e-9, 1e12))
    assert "[1e-09, 1e+12]" in err.message and "2e13" not in err.message
    _, values = read_series_csv(path, "eth_close", bounds=(1.0, 1e14))
    np.testing.assert_array_equal(values, [5.0, 2e13])
