"""Exogenous price processes, generated for the whole run at build time.

Every process is a frozen dataclass with one method,
``path(n_ticks, dt, rng, z=None) -> ndarray`` of length ``n_ticks + 1``: the price at each tick
boundary ``t_i = i·dt`` [s since the start], index 0 being the start of the run. ``z`` (shape
``(n_ticks,)``) are optional pre-drawn standard normal shocks, one per tick, so that several
processes can be correlated (see :func:`correlated_normals` and :func:`simulate`); a process that
needs no shocks ignores them. Processes whose randomness is not fully given by ``z`` (jump
counts, Brownian-bridge pins off the tick grid) draw the rest from ``rng``, in a fixed order, so
the same generator state always gives the same path.

Units: prices in quote currency per token (e.g. USD/ETH), times in seconds since the start of
the run, volatilities ``vol`` and drifts ``drift`` per year (``YEAR`` = 31 536 000 s, 365 days):
over ``h = dt / YEAR`` years a log price moves with standard deviation ``vol·√h``. ``drift`` is
the arithmetic drift: ``E[S_t] = S_0·e^{drift·t}``.

Every process draws its shocks even when a parameter makes them irrelevant (``vol = 0``), so the
generator advances by the same amount whatever the parameter values: runs of a parameter sweep
share their random numbers (common random numbers).
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

import numpy as np

from sim.files import file_problem

#: Seconds per year (365 days), as in dss rate tooling.
YEAR = 31_536_000.0

Interpolation = Literal["linear", "previous", "bridge"]
_INTERPOLATIONS = ("linear", "previous", "bridge")
#: What a replay does outside its data: keep the first/last value, or refuse.
Beyond = Literal["hold", "error"]
_BEYOND = ("hold", "error")
#: Slack when testing whether data cover a time [s] (float rounding of tick times).
COVER_TOL_S = 1e-6


class PriceProcess(Protocol):
    """Anything with the ``path`` method of the processes in this module (prices or gas)."""

    def path(
        self, n_ticks: int, dt: float, rng: np.random.Generator, z: np.ndarray | None = None
    ) -> np.ndarray:
        """Values at the ``n_ticks + 1`` tick boundaries ``t_i = i·dt``."""
        ...


# ---------------------------------------------------------------------------------------------
# helpers


def tick_times(n_ticks: int, dt: float) -> np.ndarray:
    """Tick boundaries ``t_i = i·dt`` for ``i = 0 … n_ticks`` [s since the start]."""
    _check_grid(n_ticks, dt)
    return np.arange(n_ticks + 1, dtype=np.float64) * float(dt)


def _check_grid(n_ticks: int, dt: float) -> None:
    if int(n_ticks) != n_ticks or n_ticks < 0:
        raise ValueError(f"n_ticks must be a non-negative integer, got {n_ticks!r}")
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a positive number of seconds, got {dt!r}")


def _shocks(z: np.ndarray | None, n_ticks: int, rng: np.random.Generator) -> np.ndarray:
    """The given shocks (checked) or ``n_ticks`` fresh standard normals from ``rng``."""
    if z is None:
        return rng.standard_normal(n_ticks)
    z = np.asarray(z, dtype=np.float64)
    if z.shape != (n_ticks,):
        raise ValueError(f"z must have shape ({n_ticks},), got {z.shape}")
    return z


def _brownian(z: np.ndarray, dt: float) -> np.ndarray:
    """Standard Brownian motion [√yr] at the tick boundaries: ``W_0 = 0``, steps ``√h·z``."""
    w = np.empty(z.shape[0] + 1)
    w[0] = 0.0
    np.cumsum(z, out=w[1:])
    w[1:] *= math.sqrt(dt / YEAR)
    return w


def _brownian_at(
    s: np.ndarray, grid: np.ndarray, w: np.ndarray, xi: np.ndarray, dt: float
) -> np.ndarray:
    """The same Brownian motion ``w`` (known on ``grid``) at arbitrary times ``s`` [s], exactly.

    Between two grid points ``W`` is a Brownian bridge: linear interpolation plus an independent
    normal of variance ``(s − t_j)(t_{j+1} − s) / dt`` (in years); before the start and after the
    horizon it continues as free Brownian motion. ``xi`` holds one standard normal per time; on
    the grid the added term is exactly zero, so ``W(t_j)`` is returned unchanged.
    """
    t_end = grid[-1]
    mean = np.interp(s, grid, w)
    j = np.clip(np.searchsorted(grid, s, side="right") - 1, 0, max(grid.shape[0] - 2, 0))
    inside = (s > 0.0) & (s < t_end)
    # variance [s] of W(s) given the grid values; zero on grid points
    var_s = np.where(
        inside,
        (s - grid[j]) * (grid[np.minimum(j + 1, grid.shape[0] - 1)] - s) / dt,
        np.where(s < 0.0, -s, np.maximum(s - t_end, 0.0)),
    )
    return mean + np.sqrt(np.maximum(var_s, 0.0) / YEAR) * xi


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _finite(x: float) -> bool:
    return isinstance(x, int | float | np.floating | np.integer) and math.isfinite(x)


# ---------------------------------------------------------------------------------------------
# processes


@dataclass(frozen=True)
class GBM:
    """Geometric Brownian motion with exact log-normal steps.

    ``S_{i+1} = S_i·exp((drift − vol²/2)·h + vol·√h·z_i)`` with ``h = dt / YEAR``, so that
    ``E[S_t] = start·e^{drift·t}`` and ``Var[log S_t] = vol²·t``.

    Attributes:
        start: price at time 0 [quote/token], > 0.
        vol: volatility of the log price [1/√yr], ≥ 0 (0.8 = 80 %/yr).
        drift: arithmetic drift [1/yr].
    """

    start: float
    vol: float
    drift: float = 0.0

    def __post_init__(self) -> None:
        _require(_finite(self.start) and self.start > 0, f"start must be > 0, got {self.start!r}")
        _require(_finite(self.vol) and self.vol >= 0, f"vol must be >= 0, got {self.vol!r}")
        _require(_finite(self.drift), f"drift must be a finite number, got {self.drift!r}")

    def path(
        self, n_ticks: int, dt: float, rng: np.random.Generator, z: np.ndarray | None = None
    ) -> np.ndarray:
        """Prices at the ``n_ticks + 1`` tick boundaries; ``path[0] == start`` exactly."""
        _check_grid(n_ticks, dt)
        z = _shocks(z, n_ticks, rng)
        h = dt / YEAR
        steps = (self.drift - 0.5 * self.vol**2) * h + self.vol * math.sqrt(h) * z
        return self.start * np.exp(np.concatenate(([0.0], np.cumsum(steps))))


@dataclass(frozen=True)
class JumpDiffusion:
    """Merton jump diffusion: GBM plus log-normal jumps at Poisson times.

    Per tick of ``h = dt / YEAR`` years, the log price moves by
    ``(drift − vol²/2 − jump_rate·k)·h + vol·√h·z + Σ_{j ≤ N} Y_j`` with
    ``N ~ Poisson(jump_rate·h)`` jumps, ``Y_j ~ N(jump_mean, jump_std²)`` and
    ``k = E[e^Y] − 1 = exp(jump_mean + jump_std²/2) − 1`` (the compensator), so that
    ``E[S_t] = start·e^{drift·t}``. The sum of ``N`` jumps is drawn exactly as
    ``N·jump_mean + jump_std·√N·ε``. Diffusion shocks come from ``z``; jump counts and sizes
    from ``rng`` (counts first, then sizes).

    Attributes:
        start: price at time 0 [quote/token], > 0.
        vol: diffusion volatility [1/√yr], ≥ 0.
        drift: arithmetic drift including jumps [1/yr].
        jump_rate: expected number of jumps per year [1/yr], ≥ 0.
        jump_mean: mean log jump size (−0.1 ≈ a 10 % drop).
        jump_std: standard deviation of the log jump size, ≥ 0.
    """

    start: float
    vol: float
    drift: float = 0.0
    jump_rate: float = 0.0
    jump_mean: float = 0.0
    jump_std: float = 0.0

    def __post_init__(self) -> None:
        _require(_finite(self.start) and self.start > 0, f"start must be > 0, got {self.start!r}")
        _require(_finite(self.vol) and self.vol >= 0, f"vol must be >= 0, got {self.vol!r}")
        _require(_finite(self.drift), f"drift must be a finite number, got {self.drift!r}")
        _require(
            _finite(self.jump_rate) and self.jump_rate >= 0,
            f"jump_rate must be >= 0, got {self.jump_rate!r}",
        )
        _require(_finite(self.jump_mean), f"jump_mean must be finite, got {self.jump_mean!r}")
        _require(
            _finite(self.jump_std) and self.jump_std >= 0,
            f"jump_std must be >= 0, got {self.jump_std!r}",
        )

    @property
    def compensator(self) -> float:
        """``k = E[e^Y] − 1``, the mean relative price change of one jump."""
        return math.expm1(self.jump_mean + 0.5 * self.jump_std**2)

    def path(
        self, n_ticks: int, dt: float, rng: np.random.Generator, z: np.ndarray | None = None
    ) -> np.ndarray:
        """Prices at the ``n_ticks + 1`` tick boundaries; ``path[0] == start`` exactly."""
        _check_grid(n_ticks, dt)
        z = _shocks(z, n_ticks, rng)
        h = dt / YEAR
        counts = rng.poisson(self.jump_rate * h, size=n_ticks)
        eps = rng.standard_normal(n_ticks)
        jumps = counts * self.jump_mean + self.jump_std * np.sqrt(counts) * eps
        drift = (self.drift - 0.5 * self.vol**2 - self.jump_rate * self.compensator) * h
        steps = drift + self.vol * math.sqrt(h) * z + jumps
        return self.start * np.exp(np.concatenate(([0.0], np.cumsum(steps))))


@dataclass(frozen=True)
class Scripted:
    """A scripted price path, optionally with multiplicative GBM noise.

    Exactly one of:

    - ``points``: ``(t, price)`` pairs [s since start, quote/token] with strictly increasing
      ``t``, linearly interpolated and held flat before the first and after the last point. If
      ``start`` is also given and every point is at ``t > 0``, ``(0, start)`` is the first point.
    - ``crash = (depth, at, over)``: flat at ``start`` until ``at`` [s], then a linear decline to
      ``start·(1 − depth)`` reached at ``at + over`` [s], then flat (``over = 0``: a step at
      ``at``). ``depth`` is a fraction (0.45 = −45 %); a negative depth is a rally.

    With ``vol > 0`` the scripted level is multiplied by the driftless GBM factor
    ``exp(vol·W_t − vol²·t/2)`` (mean 1), so the script is met on average, not exactly.

    Attributes:
        start: price at time 0 [quote/token] (required with ``crash``).
        points: the ``(t, price)`` pairs.
        crash: ``(depth, at, over)``.
        vol: volatility of the multiplicative noise [1/√yr], ≥ 0.
    """

    start: float | None = None
    points: tuple[tuple[float, float], ...] | None = None
    crash: tuple[float, float, float] | None = None
    vol: float = 0.0

    def __post_init__(self) -> None:
        _require(
            (self.points is None) != (self.crash is None),
            "Scripted needs exactly one of points or crash",
        )
        _require(_finite(self.vol) and self.vol >= 0, f"vol must be >= 0, got {self.vol!r}")
        if self.start is not None:
            _require(
                _finite(self.start) and self.start > 0, f"start must be > 0, got {self.start!r}"
            )
        if self.crash is not None:
            crash = tuple(float(x) for x in self.crash)
            _require(len(crash) == 3, "crash must be (depth, at, over)")
            depth, at, over = crash
            _require(self.start is not None, "crash needs a start price")
            _require(math.isfinite(depth) and depth < 1, f"crash depth must be < 1, got {depth}")
            _require(math.isfinite(at) and at >= 0, f"crash at must be >= 0 s, got {at}")
            _require(math.isfinite(over) and over >= 0, f"crash over must be >= 0 s, got {over}")
            object.__setattr__(self, "crash", crash)
        else:
            pts = tuple((float(t), float(p)) for t, p in self.points)
            _require(len(pts) >= 1, "points must hold at least one (t, price) pair")
            times = [t for t, _ in pts]
            _require(all(math.isfinite(t) for t in times), "point times must be finite")
            _require(
                all(b > a for a, b in itertools.pairwise(times)),
                "point times must be strictly increasing",
            )
            _require(all(math.isfinite(p) and p > 0 for _, p in pts), "point prices must be > 0")
            if self.start is not None:
                if times[0] > 0:
                    pts = ((0.0, float(self.start)), *pts)
                else:
                    at_zero = float(np.interp(0.0, times, [p for _, p in pts]))
                    _require(
                        math.isclose(at_zero, self.start, rel_tol=1e-12),
                        f"start {self.start} contradicts the points (price {at_zero} at t=0)",
                    )
            object.__setattr__(self, "points", pts)

    def level(self, t: np.ndarray) -> np.ndarray:
        """The scripted (noise-free) price at times ``t`` [s]."""
        t = np.asarray(t, dtype=np.float64)
        if self.crash is not None:
            depth, at, over = self.crash
            if over > 0:
                progress = np.clip((t - at) / over, 0.0, 1.0)
            else:
                progress = (t >= at).astype(np.float64)
            return self.start * (1.0 - depth * progress)
        times = np.array([p[0] for p in self.points])
        prices = np.array([p[1] for p in self.points])
        return np.interp(t, times, prices)

    def path(
        self, n_ticks: int, dt: float, rng: np.random.Generator, z: np.ndarray | None = None
    ) -> np.ndarray:
        """Prices at the ``n_ticks + 1`` tick boundaries."""
        t = tick_times(n_ticks, dt)
        z = _shocks(z, n_ticks, rng)
        level = self.level(t)
        if self.vol == 0:
            return level
        w = _brownian(z, dt)
        return level * np.exp(self.vol * w - 0.5 * self.vol**2 * t / YEAR)


@dataclass(frozen=True, eq=False)
class Replay:
    """Replay of a data series (e.g. read by :func:`read_series_csv`) on the tick grid.

    Outside the data, ``beyond`` decides: ``hold`` (the default) keeps the first value before
    the first data point and the last value after the last; ``error`` refuses a tick grid the
    data do not cover (:meth:`path` raises :class:`ValueError`).
    Between data points, ``interpolate`` is one of:

    - ``linear``: linear interpolation of the value;
    - ``previous``: the last data value at or before the tick (a step function);
    - ``bridge``: a Brownian bridge in log price with volatility ``vol`` [1/√yr] between each
      pair of consecutive data points, pinned exactly at the data points: its mean is the
      geometric interpolation, its log variance at ``τ`` into a gap of length ``T`` is
      ``vol²·τ·(T − τ)/T`` (in years). Shocks come from ``z``; the Brownian motion at data
      times off the tick grid is completed exactly with one extra normal per data point drawn
      from ``rng``. Use it to add intra-hour noise to hourly data.

    A tick that falls exactly on a data time gets exactly the data value in every mode.

    Attributes:
        times: data times [s since the start of the run], strictly increasing (may be negative
            or beyond the horizon).
        values: data values (price [quote/token] or gas [gwei]); > 0 for ``bridge``.
        interpolate: ``linear``, ``previous`` or ``bridge``.
        vol: volatility of the bridge [1/√yr], ≥ 0 (only used by ``bridge``).
        beyond: ``hold`` or ``error`` (see above).
        after: with ``hold``, the value after the last data point instead of the last value
            (None: the last value).
    """

    times: np.ndarray
    values: np.ndarray
    interpolate: Interpolation = "linear"
    vol: float = 0.0
    beyond: Beyond = "hold"
    after: float | None = None

    def __post_init__(self) -> None:
        times = np.array(self.times, dtype=np.float64).ravel()
        values = np.array(self.values, dtype=np.float64).ravel()
        _require(times.shape == values.shape, "times and values must have the same length")
        _require(times.shape[0] >= 1, "Replay needs at least one data point")
        _require(bool(np.all(np.isfinite(times))), "times must be finite")
        _require(bool(np.all(np.isfinite(values))), "values must be finite")
        _require(bool(np.all(np.diff(times) > 0)), "times must be strictly increasing")
        _require(
            self.interpolate in _INTERPOLATIONS,
            f"interpolate must be one of {', '.join(_INTERPOLATIONS)}, got {self.interpolate!r}",
        )
        _require(_finite(self.vol) and self.vol >= 0, f"vol must be >= 0, got {self.vol!r}")
        _require(
            self.beyond in _BEYOND,
            f"beyond must be one of {', '.join(_BEYOND)}, got {self.beyond!r}",
        )
        if self.interpolate == "bridge":
            _require(bool(np.all(values > 0)), "bridge interpolation needs positive values")
        if self.after is not None:
            _require(
                _finite(self.after) and self.after > 0, f"after must be > 0, got {self.after!r}"
            )
        times.flags.writeable = False
        values.flags.writeable = False
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "values", values)

    def path(
        self, n_ticks: int, dt: float, rng: np.random.Generator, z: np.ndarray | None = None
    ) -> np.ndarray:
        """Values at the ``n_ticks + 1`` tick boundaries (no randomness unless ``bridge``).

        Raises:
            ValueError: with ``beyond="error"``, when the data do not cover every tick.
        """
        t = tick_times(n_ticks, dt)
        if self.beyond == "error" and not self.covers(float(t[-1])):
            raise ValueError(
                f"the data cover {self.times[0]:g} s to {self.times[-1]:g} s, the run needs "
                f"0 s to {t[-1]:g} s (beyond='error')"
            )
        if self.interpolate == "linear":
            out = np.interp(t, self.times, self.values)
        elif self.interpolate == "previous":
            i = np.searchsorted(self.times, t, side="right") - 1
            out = self.values[np.maximum(i, 0)]
        else:
            out = self._bridge(t, dt, rng, z)
        if self.after is not None:
            out = np.where(t > self.times[-1], self.after, out)
        return out

    def covers(self, end: float) -> bool:
        """Whether the data span the run from time 0 to ``end`` [s since the start]."""
        return bool(self.times[0] <= COVER_TOL_S and self.times[-1] >= end - COVER_TOL_S)

    def _bridge(
        self, t: np.ndarray, dt: float, rng: np.random.Generator, z: np.ndarray | None
    ) -> np.ndarray:
        n_ticks = t.shape[0] - 1
        z = _shocks(z, n_ticks, rng)
        xi = rng.standard_normal(self.times.shape[0])
        times, values = self.times, self.values
        m = times.shape[0]
        # flat before the first and after the last data point
        out = self.values[np.clip(np.searchsorted(times, t, side="right") - 1, 0, m - 1)]
        if m < 2:
            return out
        w = _brownian(z, dt)
        w_data = _brownian_at(times, t, w, xi, dt)
        a = np.searchsorted(times, t, side="right") - 1  # times[a] <= t < times[a + 1]
        inside = (a >= 0) & (a < m - 1)
        a = np.clip(a, 0, m - 2)
        b = a + 1
        frac = (t - times[a]) / (times[b] - times[a])
        bridge = w - w_data[a] - frac * (w_data[b] - w_data[a])
        log_step = np.log(values[b] / values[a])
        # values[a]·exp(0) at a data time keeps the pin exact
        inner = values[a] * np.exp(frac * log_step + self.vol * bridge)
        return np.where(inside, inner, out)


@dataclass(frozen=True)
class Bridge:
    """A random path pinned to reach ``target`` at time ``at``, then free GBM.

    Before ``at``: a Brownian bridge in log price from ``log start`` to ``log target`` with
    volatility ``vol`` (mean: the geometric interpolation; log variance ``vol²·t·(at − t)/at``
    in years). From ``at`` on: GBM from ``target`` with ``vol`` and ``drift``
    (``drift`` plays no role before ``at``). Shocks come from ``z``; if ``at`` is off the tick
    grid, one extra normal from ``rng`` completes the Brownian motion there exactly.

    Attributes:
        start: price at time 0 [quote/token], > 0.
        target: price reached at ``at`` [quote/token], > 0.
        at: time of the pin [s since start], > 0.
        vol: volatility [1/√yr], ≥ 0.
        drift: arithmetic drift after ``at`` [1/yr].
    """

    start: float
    target: float
    at: float
    vol: float
    drift: float = 0.0

    def __post_init__(self) -> None:
        _require(_finite(self.start) and self.start > 0, f"start must be > 0, got {self.start!r}")
        _require(
            _finite(self.target) and self.target > 0, f"target must be > 0, got {self.target!r}"
        )
        _require(_finite(self.at) and self.at > 0, f"at must be > 0 s, got {self.at!r}")
        _require(_finite(self.vol) and self.vol >= 0, f"vol must be >= 0, got {self.vol!r}")
        _require(_finite(self.drift), f"drift must be a finite number, got {self.drift!r}")

    def path(
        self, n_ticks: int, dt: float, rng: np.random.Generator, z: np.ndarray | None = None
    ) -> np.ndarray:
        """Prices at the ``n_ticks + 1`` tick boundaries; exactly ``target`` at a tick at ``at``."""
        t = tick_times(n_ticks, dt)
        z = _shocks(z, n_ticks, rng)
        xi = rng.standard_normal(1)
        w = _brownian(z, dt)
        w_at = float(_brownian_at(np.array([float(self.at)]), t, w, xi, dt)[0])
        before = t < self.at
        frac = t / self.at
        pinned = self.start * np.exp(
            frac * math.log(self.target / self.start) + self.vol * (w - frac * w_at)
        )
        free = self.target * np.exp(
            (self.drift - 0.5 * self.vol**2) * (t - self.at) / YEAR + self.vol * (w - w_at)
        )
        return np.where(before, pinned, free)


# ---------------------------------------------------------------------------------------------
# correlation


def correlated_normals(corr: np.ndarray, n_ticks: int, rng: np.random.Generator) -> np.ndarray:
    """Standard normal shocks with correlation matrix ``corr``, one row per tick.

    ``Z = E·Lᵀ`` with ``E`` iid standard normals of shape ``(n_ticks, k)`` and ``L`` the Cholesky
    factor of ``corr`` (an eigen-decomposition factor when ``corr`` is only semidefinite, e.g.
    two perfectly correlated assets). With ``corr = I`` this is exactly
    ``rng.standard_normal((n_ticks, k))``.

    Args:
        corr: ``k × k`` correlation matrix: symmetric, unit diagonal, entries in [−1, 1],
            positive semidefinite.
        n_ticks: number of rows.
        rng: generator.

    Returns:
        Array of shape ``(n_ticks, k)``.

    Raises:
        ValueError: ``corr`` is not a valid correlation matrix (the message says why).
    """
    c = np.asarray(corr, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] == 0:
        raise ValueError(f"corr must be a square k×k matrix, got shape {c.shape}")
    if not np.all(np.isfinite(c)):
        raise ValueError("corr must contain only finite numbers")
    tol = 1e-9
    asym = np.abs(c - c.T)
    if asym.max() > tol:
        i, j = np.unravel_index(int(np.argmax(asym)), c.shape)
        raise ValueError(
            f"corr must be symmetric: corr[{i},{j}]={c[i, j]} but corr[{j},{i}]={c[j, i]}"
        )
    diag_err = np.abs(np.diag(c) - 1.0)
    if diag_err.max() > tol:
        i = int(np.argmax(diag_err))
        raise ValueError(f"corr must have a unit diagonal: corr[{i},{i}]={c[i, i]}")
    if np.abs(c).max() > 1.0 + tol:
        raise ValueError("corr entries must lie in [-1, 1]")
    c = 0.5 * (c + c.T)
    eig = np.linalg.eigvalsh(c)
    if eig[0] < -tol:
        raise ValueError(
            f"corr must be positive semidefinite (smallest eigenvalue {eig[0]:.3g} < 0)"
        )
    k = c.shape[0]
    try:
        factor = np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(c)
        factor = vecs * np.sqrt(np.clip(vals, 0.0, None))
    e = rng.standard_normal((int(n_ticks), k))
    return e @ factor.T


def simulate(
    processes: list[PriceProcess],
    n_ticks: int,
    dt: float,
    rng: np.random.Generator,
    corr: np.ndarray | None = None,
) -> np.ndarray:
    """Paths of several processes driven by (correlated) shocks.

    Draws the shock matrix first (independent if ``corr`` is None, which is the same as the
    identity), then calls each process in order with its column, so process ``j`` gets
    ``z[:, j]`` and any extra draws it needs from ``rng``.

    Args:
        processes: ``k`` processes with a ``path`` method.
        n_ticks: number of ticks.
        dt: tick length [s].
        rng: generator.
        corr: optional ``k × k`` correlation matrix of the per-tick shocks.

    Returns:
        Array of shape ``(n_ticks + 1, k)``: column ``j`` is process ``j``'s path.
    """
    _check_grid(n_ticks, dt)
    k = len(processes)
    if corr is None:
        z = rng.standard_normal((n_ticks, k))
    else:
        shape = np.shape(corr)
        if shape != (k, k):
            raise ValueError(f"corr must be {k}×{k} for {k} processes, got shape {shape}")
        z = correlated_normals(corr, n_ticks, rng)
    out = np.empty((n_ticks + 1, k))
    for j, process in enumerate(processes):
        out[:, j] = process.path(n_ticks, dt, rng, np.ascontiguousarray(z[:, j]))
    return out


# ---------------------------------------------------------------------------------------------
# data


class DataError(Exception):
    """A problem in a data file; ``str()`` is ``PATH:LINE: COLUMN: MESSAGE``.

    Attributes:
        path: the file as given.
        line: 1-based line number in the file (1 = header; 0 when the file cannot be read).
        column: the column concerned.
        message: what is wrong.
    """

    def __init__(self, path: str | os.PathLike, line: int, column: str, message: str):
        self.path = os.fspath(path)
        self.line = int(line)
        self.column = column
        self.message = message
        super().__init__(f"{self.path}:{self.line}: {column}: {message}")

    def __reduce__(self):
        """Pickle with the constructor's arguments (process pools send errors back)."""
        return (type(self), (self.path, self.line, self.column, self.message))


def _as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _parse_time(text: str) -> datetime:
    return _as_utc(datetime.fromisoformat(text.strip()))


#: A header cell that looks like a column name (listed in messages; anything else is not).
_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")
#: Most column names listed in a message.
_MAX_LISTED_COLUMNS = 20


def _describe_header(header: list[str]) -> str:
    """The header's column names when they look like names; never other file contents."""
    if not header or not all(_COLUMN_NAME.match(h) for h in header):
        return "the first line is not a header of column names"
    listed = ", ".join(header[:_MAX_LISTED_COLUMNS])
    more = len(header) - _MAX_LISTED_COLUMNS
    return f"columns: {listed}" + (f" and {more} more" if more > 0 else "")


def read_series_csv(
    path: str | os.PathLike,
    column: str,
    time_column: str = "timestamp",
    start: datetime | str | None = None,
    *,
    positive: bool = True,
    missing: Literal["error", "trailing", "skip"] = "trailing",
    bounds: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Read one numeric column of a time-stamped CSV file.

    The file has a header row; ``time_column`` holds ISO-8601 timestamps
    (``2020-03-12T00:00:00Z``; a timestamp without a zone is taken as UTC), strictly increasing.
    The timestamp is taken as the time of the value: for candle files stamped at the candle's
    start, the ``open`` column is the price at that time (``close`` belongs one candle later).

    Args:
        path: the CSV file.
        column: the value column.
        time_column: the timestamp column.
        start: time 0 of the run (datetime or ISO-8601 string); default the first row's time.
            Rows before it get negative times.
        positive: require values > 0 (prices, gas).
        missing: what an empty value cell means: ``error``; ``trailing`` (default) allows empty
            cells only after the last non-empty one (a column that stops early, e.g. a gas
            series covering only the first day) and drops those rows; ``skip`` drops every row
            with an empty value. Timestamps are required on every row in all modes.
        bounds: ``(lowest, highest)`` value allowed, e.g. the price bounds of a scenario.

    Returns:
        ``(times, values)``: times [s since ``start``] and values, float64 arrays.

    Raises:
        DataError: missing or unreadable file, not a regular file (a FIFO, device or folder),
            missing column, unparsable timestamp or number,
            non-increasing timestamps, a non-positive value with ``positive=True``, a value
            outside ``bounds``, a missing value not allowed by ``missing``, or no data rows; it
            names file, line and column, and never quotes the file's contents (a file given
            by mistake, e.g. a secret, is not echoed).
    """
    if missing not in ("error", "trailing", "skip"):
        raise ValueError(f"missing must be error, trailing or skip, got {missing!r}")
    shown = os.fspath(path)
    problem = file_problem(path)
    if problem is not None:  # a FIFO would block the open below, a device never end
        raise DataError(shown, 0, column, f"cannot open file: {problem}")
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(shown, 0, column, f"cannot open file: {exc.strerror or exc}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                raise DataError(shown, 1, column, "empty file (no header row)")
            header = [h.strip() for h in header]
            for name in (time_column, column):
                if name not in header:
                    raise DataError(shown, 1, name, f"no such column ({_describe_header(header)})")
            i_time = header.index(time_column)
            i_value = header.index(column)
            stamps: list[datetime] = []
            values: list[float] = []
            lines: list[int] = []
            first_empty: int | None = None  # line of the first empty value cell ('trailing')
            for row in reader:
                line = reader.line_num
                if not row or all(not cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise DataError(
                        shown, line, column, f"row has {len(row)} fields, header has {len(header)}"
                    )
                try:
                    stamp = _parse_time(row[i_time])
                except ValueError:
                    raise DataError(shown, line, time_column, "not an ISO-8601 timestamp") from None
                if stamps and stamp <= stamps[-1]:
                    raise DataError(
                        shown,
                        line,
                        time_column,
                        "timestamps must be strictly increasing: this one does not come after "
                        f"the one on line {lines[-1]}",
                    )
                text = row[i_value].strip()
                if not text:
                    if missing == "error":
                        raise DataError(shown, line, column, "missing value")
                    if first_empty is None:
                        first_empty = line
                    stamps.append(stamp)
                    values.append(math.nan)
                    lines.append(line)
                    continue
                if missing == "trailing" and first_empty is not None:
                    raise DataError(
                        shown,
                        first_empty,
                        column,
                        f"missing value (a value follows on line {line}; only trailing "
                        "empty cells are allowed)",
                    )
                try:
                    value = float(text)
                except ValueError:
                    raise DataError(shown, line, column, "not a number") from None
                if not math.isfinite(value):
                    raise DataError(shown, line, column, "not a finite number")
                if positive and value <= 0:
                    raise DataError(shown, line, column, "the value must be > 0")
                if bounds is not None and not bounds[0] <= value <= bounds[1]:
                    raise DataError(
                        shown,
                        line,
                        column,
                        f"the value is outside the allowed range [{bounds[0]:g}, {bounds[1]:g}]",
                    )
                stamps.append(stamp)
                values.append(value)
                lines.append(line)
        except csv.Error as exc:
            raise DataError(shown, reader.line_num, column, f"malformed CSV: {exc}") from None
        except UnicodeDecodeError:
            raise DataError(shown, reader.line_num + 1, column, "not UTF-8 text") from None
    if not stamps:
        raise DataError(shown, 1, column, "no data rows")
    if start is None:
        origin = stamps[0]
    elif isinstance(start, datetime):
        origin = _as_utc(start)
    else:
        try:
            origin = _parse_time(str(start))
        except ValueError:
            raise ValueError(f"start is not an ISO-8601 timestamp: {start!r}") from None
    keep = [i for i, v in enumerate(values) if not math.isnan(v)]
    if not keep:
        raise DataError(shown, lines[0], column, "the column holds no values")
    times = np.array([(stamps[i] - origin).total_seconds() for i in keep], dtype=np.float64)
    vals = np.array([values[i] for i in keep], dtype=np.float64)
    return times, vals
