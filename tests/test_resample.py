"""The book resampler (sim.agents.resample): a kernel density keeps a book's size–CR shape."""

from __future__ import annotations

import numpy as np
import pytest

from sim.agents.resample import resample_book

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def source_book(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Log-normal sizes; larger vaults at lower CRs (the dependence to keep)."""
    rng = np.random.default_rng(seed)
    log_debt = rng.normal(10.0, 1.2, n)
    log_cr = np.log(2.4) - 0.15 * (log_debt - 10.0) + rng.normal(0.0, 0.2, n)
    return np.exp(log_debt), np.exp(log_cr)


def shape_gaps(debt: np.ndarray, cr: np.ndarray, ref_debt: np.ndarray, ref_cr: np.ndarray):
    """Largest quantile gap of log debt and log CR, in standard deviations of the source, and
    the gap of the log–log correlation."""
    gaps = []
    for x, ref in ((np.log(debt), np.log(ref_debt)), (np.log(cr), np.log(ref_cr))):
        q, q_ref = np.quantile(x, QUANTILES), np.quantile(ref, QUANTILES)
        gaps.append(float(np.max(np.abs(q - q_ref)) / ref.std()))
    rho = np.corrcoef(np.log(debt), np.log(cr))[0, 1]
    rho_ref = np.corrcoef(np.log(ref_debt), np.log(ref_cr))[0, 1]
    return gaps[0], gaps[1], abs(rho - rho_ref)


#: Largest gaps allowed: a tenth of a standard deviation per quantile, 0.05 of correlation.
QUANTILE_TOL, RHO_TOL = 0.1, 0.05


def within(gaps: tuple[float, float, float]) -> bool:
    return gaps[0] <= QUANTILE_TOL and gaps[1] <= QUANTILE_TOL and gaps[2] <= RHO_TOL


def test_the_resampled_book_keeps_the_quantiles_and_the_dependence():
    debt, cr = source_book()
    got_debt, got_cr = resample_book(debt, cr, 5000, np.random.default_rng(1))
    assert within(shape_gaps(got_debt, got_cr, debt, cr)), shape_gaps(got_debt, got_cr, debt, cr)
    # The tolerance is tight enough to fail naive draws: uniform over the book's ranges, and
    # the right marginals drawn independently (the dependence lost).
    rng = np.random.default_rng(2)
    uniform_debt = np.exp(rng.uniform(np.log(debt).min(), np.log(debt).max(), 5000))
    uniform_cr = np.exp(rng.uniform(np.log(cr).min(), np.log(cr).max(), 5000))
    assert not within(shape_gaps(uniform_debt, uniform_cr, debt, cr))
    shuffled = rng.permutation(got_cr)
    assert not within(shape_gaps(got_debt, shuffled, debt, cr))


def test_draws_stay_in_the_book_range_and_are_seeded():
    debt, cr = source_book(300)
    a = resample_book(debt, cr, 1000, np.random.default_rng(7))
    b = resample_book(debt, cr, 1000, np.random.default_rng(7))
    c = resample_book(debt, cr, 1000, np.random.default_rng(8))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert a[0].min() >= debt.min() * (1 - 1e-12) and a[0].max() <= debt.max() * (1 + 1e-12)
    assert a[1].min() >= cr.min() * (1 - 1e-12) and a[1].max() <= cr.max() * (1 + 1e-12)


def test_total_and_shift():
    debt, cr = source_book(300)
    base = resample_book(debt, cr, 400, np.random.default_rng(3))
    moved = resample_book(
        debt, cr, 400, np.random.default_rng(3), total=2.0e9, cr_shift=-0.1, bandwidth=0.3
    )
    assert moved[0].sum() == pytest.approx(2.0e9, rel=1e-12)
    other = resample_book(debt, cr, 400, np.random.default_rng(3), total=1.0e9, cr_shift=-0.1)
    # The total moves every size by one factor, the shift every CR by the same amount.
    np.testing.assert_allclose(other[0] / other[0].sum(), base[0] / base[0].sum(), rtol=1e-12)
    np.testing.assert_allclose(other[1], base[1] - 0.1, rtol=1e-12)
    assert not np.allclose(moved[1], other[1])  # another bandwidth, another draw


def test_vaults_without_debt_are_left_out_and_two_are_needed():
    debt, cr = source_book(50)
    debt[:10] = 0.0
    cr[:10] = 0.0
    got, _ = resample_book(debt, cr, 100, np.random.default_rng(0))
    assert got.min() >= debt[10:].min() * (1 - 1e-12)
    with pytest.raises(ValueError, match="at least 2 vaults with debt"):
        resample_book(np.array([0.0, 5.0]), np.array([0.0, 2.0]), 10, np.random.default_rng(0))
