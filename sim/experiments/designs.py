"""Experimental designs: where in parameter space a sweep runs.

Small and pure: every sampler returns an ``(points, parameters)`` array of **unit coordinates**
in [0, 1], and :func:`from_unit` maps a column to a parameter's values through the inverse CDF
of its distribution (``uniform`` or ``loguniform``). Samplers never see parameter names, ranges
or the scenario; the same seed gives the same design.

- :func:`grid` — the full Cartesian product of value lists (first parameter slowest);
- :func:`random_unit` — independent uniform draws (Monte Carlo);
- :func:`lhs_unit` — a Latin hypercube (:class:`scipy.stats.qmc.LatinHypercube`): each of the
  ``n`` equal strata of every parameter holds exactly one point;
- :func:`sobol_unit` — Saltelli's extension of a scrambled Sobol' sequence
  (:func:`SALib.sample.sobol.sample`), ``N·(D+2)`` points, ``N·(2D+2)`` with second-order
  indices; ``N`` must be a power of two;
- :func:`morris_unit` — Morris trajectories (:func:`SALib.sample.morris.sample`), ``r·(D+1)``
  points on a grid of ``levels`` levels; consecutive points of a trajectory differ in one
  parameter only.

SALib is imported on first use: it is not needed to validate a sweep file.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

Dist = Literal["uniform", "loguniform"]
#: Distributions a range may have.
DISTS: tuple[str, ...] = ("uniform", "loguniform")
#: Design kinds, as written in a sweep file's ``design.kind``.
KINDS: tuple[str, ...] = ("grid", "random", "lhs", "sobol", "morris")
#: Designs whose points feed sensitivity indices.
SENSITIVITY_KINDS: dict[str, str] = {"sobol": "sobol", "morris": "morris"}


def is_power_of_two(n: int) -> bool:
    """Whether ``n`` is a power of two (1, 2, 4, 8 and so on)."""
    return n >= 1 and n & (n - 1) == 0


def point_count(kind: str, n: int, d: int, *, second_order: bool = False) -> int:
    """Number of design points of a sampling design.

    Args:
        kind: ``random``, ``lhs``, ``sobol`` or ``morris`` (a grid counts its product itself).
        n: ``n`` of the design (points; Sobol base samples; Morris trajectories).
        d: number of parameters.
        second_order: Sobol only: the design also estimates second-order indices.

    Returns:
        The number of points.
    """
    if kind == "sobol":
        return n * (2 * d + 2 if second_order else d + 2)
    if kind == "morris":
        return n * (d + 1)
    return n


def grid(values: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """The full Cartesian product of the parameters' value lists (the first varies slowest)."""
    return list(itertools.product(*values))


def levels(low: float, high: float, count: int, dist: Dist = "uniform") -> list[float]:
    """``count`` evenly spaced levels from ``low`` to ``high`` (in log space for loguniform)."""
    if dist == "loguniform":
        return [float(v) for v in np.geomspace(low, high, count)]
    return [float(v) for v in np.linspace(low, high, count)]


def _problem(d: int) -> dict[str, Any]:
    """A SALib problem over the unit hypercube."""
    return {"num_vars": d, "names": [f"x{i}" for i in range(d)], "bounds": [[0.0, 1.0]] * d}


def random_unit(n: int, d: int, seed: int) -> np.ndarray:
    """``n`` independent uniform points in the unit hypercube."""
    return np.random.default_rng(seed).random((n, d))


def lhs_unit(n: int, d: int, seed: int) -> np.ndarray:
    """A Latin hypercube of ``n`` points: each of ``n`` equal strata per parameter hit once."""
    from scipy.stats import qmc

    return qmc.LatinHypercube(d=d, rng=np.random.default_rng(seed)).random(n)


def sobol_unit(n: int, d: int, seed: int, *, second_order: bool = False) -> np.ndarray:
    """Saltelli's Sobol' design of ``n`` base samples (a power of two) in the unit hypercube.

    Raises:
        ValueError: ``n`` is not a power of two (the sequence loses its balance properties).
    """
    if not is_power_of_two(n):
        raise ValueError(f"a Sobol design needs n a power of two (got {n})")
    from SALib.sample import sobol

    return sobol.sample(_problem(d), n, calc_second_order=second_order, scramble=True, seed=seed)


def morris_unit(n: int, d: int, seed: int, *, num_levels: int = 4) -> np.ndarray:
    """``n`` Morris trajectories of ``d + 1`` points on a grid of ``num_levels`` levels."""
    from SALib.sample import morris

    return morris.sample(_problem(d), n, num_levels=num_levels, seed=seed)


def unit_design(
    kind: str, n: int, d: int, seed: int, *, second_order: bool = False, num_levels: int = 4
) -> np.ndarray:
    """The unit coordinates of a sampling design (every kind but ``grid``).

    Args:
        kind: ``random``, ``lhs``, ``sobol`` or ``morris``.
        n: points (random, lhs), base samples (sobol) or trajectories (morris).
        d: number of parameters.
        seed: the design's seed.
        second_order: Sobol: also second-order indices.
        num_levels: Morris: grid levels.

    Returns:
        ``(point_count(kind, n, d), d)`` coordinates in [0, 1].
    """
    if kind == "random":
        return random_unit(n, d, seed)
    if kind == "lhs":
        return lhs_unit(n, d, seed)
    if kind == "sobol":
        return sobol_unit(n, d, seed, second_order=second_order)
    if kind == "morris":
        return morris_unit(n, d, seed, num_levels=num_levels)
    raise ValueError(f"unknown design kind {kind!r}; expected one of {', '.join(KINDS[1:])}")


def from_unit(u: np.ndarray, low: float, high: float, dist: Dist = "uniform") -> np.ndarray:
    """Map unit coordinates to values by the inverse CDF of the parameter's distribution.

    Args:
        u: coordinates in [0, 1].
        low: the range's lower end (``u = 0``).
        high: the range's upper end (``u = 1``).
        dist: ``uniform`` (linear) or ``loguniform`` (linear in the logarithm; ``low > 0``).

    Returns:
        The values, in the parameter's own unit.
    """
    u = np.asarray(u, dtype=np.float64)
    if dist == "loguniform":
        return np.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    if dist == "uniform":
        return low + u * (high - low)
    raise ValueError(f"unknown distribution {dist!r}; expected one of {', '.join(DISTS)}")


def to_unit(x: np.ndarray, low: float, high: float, dist: Dist = "uniform") -> np.ndarray:
    """The inverse of :func:`from_unit`: a parameter's CDF at ``x``."""
    x = np.asarray(x, dtype=np.float64)
    if dist == "loguniform":
        return (np.log(x) - math.log(low)) / (math.log(high) - math.log(low))
    return (x - low) / (high - low)


__all__ = [
    "DISTS",
    "KINDS",
    "SENSITIVITY_KINDS",
    "from_unit",
    "grid",
    "is_power_of_two",
    "levels",
    "lhs_unit",
    "morris_unit",
    "point_count",
    "random_unit",
    "sobol_unit",
    "to_unit",
    "unit_design",
]
