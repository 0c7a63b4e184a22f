"""Draw a vault book like a given one: a kernel density over (log debt, log CR).

:func:`resample_book` fits scikit-learn's ``KernelDensity`` (Gaussian kernel) to the vaults of a
book and samples as many vaults as asked, so that a cohort can be a real book made larger,
smaller, richer or riskier while keeping its shape.

What is preserved: the joint shape of vault size and collateral ratio — each marginal's
quantiles and their dependence (in a real book whales often run at lower CRs than small vaults;
resampled whales do too), smoothed by the kernel. What is not: the exact vaults (every drawn
vault is new), anything beyond the book's range (draws outside the book's smallest and largest
debt and CR are drawn again), vaults without debt (they are left out of the fit), the total
debt (rescaled to ``total`` when given, which moves every size by one factor), owners and
classes, and the CRs' shape once ``cr_shift`` moves them all (a shift, not a rescaling).

The bandwidth: the points are first whitened (centred, and multiplied by the inverse Cholesky
factor of their covariance, so both coordinates have unit variance and no correlation), then
the kernel has the same width in both: Scott's rule ``n^(-1/(d+4))`` = ``n^(-1/6)`` by
default, which with the whitening is the multivariate Scott rule of ``scipy.stats.gaussian_kde``
(kernel covariance ``n^(-1/3)·Σ``); or Silverman's, or a given number of standard deviations.
"""

from __future__ import annotations

import numpy as np

#: Rounds of drawing again the samples that fell outside the book's range; what is still
#: outside after them is clipped to the range (a kernel much wider than the book).
REDRAW_ROUNDS = 20


def _whitening(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and a factor ``L`` with ``L·Lᵀ`` = the covariance of ``x`` (rows: points).

    A degenerate covariance (a constant coordinate, or perfectly correlated ones) falls back
    to the standard deviations, a constant coordinate to 1.
    """
    mean = x.mean(axis=0)
    cov = np.atleast_2d(np.cov(x, rowvar=False))
    try:
        factor = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        std = np.sqrt(np.diag(cov))
        factor = np.diag(np.where(std > 0, std, 1.0))
    return mean, factor


def resample_book(
    debt: np.ndarray,
    cr: np.ndarray,
    n: int,
    rng: np.random.Generator,
    *,
    total: float | None = None,
    cr_shift: float = 0.0,
    bandwidth: str | float = "scott",
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` vaults from a kernel density fitted to a book's (log debt, log CR).

    Args:
        debt: the book's debts [Dai]; vaults with no debt are left out of the fit.
        cr: the book's collateral ratios at the price the draw is for [-].
        n: vaults to draw.
        rng: the generator (the cohort's stream): the same stream gives the same vaults.
        total: rescale the drawn debts to this total [Dai] (``None``: as drawn).
        cr_shift: added to every drawn CR [-] (−0.1: ten points less collateral).
        bandwidth: ``"scott"``, ``"silverman"`` or a kernel width in standard deviations of
            the whitened data.

    Returns:
        ``(debt, cr)`` of the ``n`` drawn vaults [Dai, -].

    Raises:
        ValueError: fewer than 2 vaults with debt, or ``n`` < 1.
    """
    from sklearn.neighbors import KernelDensity

    owing = np.asarray(debt) > 0
    if owing.sum() < 2:
        raise ValueError("a kernel density needs at least 2 vaults with debt")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    x = np.column_stack([np.log(np.asarray(debt)[owing]), np.log(np.asarray(cr)[owing])])
    mean, factor = _whitening(x)
    z = np.linalg.solve(factor, (x - mean).T).T
    kde = KernelDensity(kernel="gaussian", bandwidth=bandwidth).fit(z)
    lo, hi = x.min(axis=0), x.max(axis=0)
    drawn = np.empty((n, 2))
    todo = np.arange(n)
    for _ in range(REDRAW_ROUNDS):
        seed = int(rng.integers(2**32))
        y = mean + kde.sample(todo.size, random_state=seed) @ factor.T
        inside = np.all((y >= lo) & (y <= hi), axis=1)
        drawn[todo[inside]] = y[inside]
        todo = todo[~inside]
        if todo.size == 0:
            break
    else:
        drawn[todo] = np.clip(mean + kde.sample(todo.size, random_state=seed) @ factor.T, lo, hi)
    sizes = np.exp(drawn[:, 0])
    if total is not None:
        sizes *= total / sizes.sum()
    return sizes, np.exp(drawn[:, 1]) + cr_shift
