"""The numeric policy of the accounting: what "equal", "enough" and "zero" mean for float balances.

dss keeps balances as integers (``wad`` = 1e-18, ``rad`` = 1e-45) and compares them exactly.
cdpsim keeps them as float64, whose rounding error grows with the size of the amounts and with
the number of operations that produced them: a pooled balance built from thousands of additions
of different auctions' bids can differ from the sum it should equal in its 12th digit. Exact
comparisons would turn that residue into failed protocol calls, so every comparison of balances
goes through the functions here, and nowhere else is a tolerance written down:

- **equal** (:func:`same`): two amounts differ by at most their :func:`tolerance`;
- **enough** (:func:`covers`): a balance covers a debit that exceeds it by no more than the
  tolerance, and the debit is then clamped to the balance (:func:`debit`), so no balance ever
  goes negative;
- **zero** (:func:`negligible`): an amount within tolerance of zero is zero (a vault repaid in
  full, a lot sold out).

The tolerance of a comparison has three parts: :data:`REL_TOL` of the larger amount compared,
:data:`SCALE_TOL` of the unit's total in the system (``total``: all Dai issued or joined for a Dai
balance, all collateral joined for a collateral balance, all MKR for an MKR balance), and
:data:`ABS_TOL`. The middle part matters for pooled balances: an account that held billions and
now holds a little carries the rounding error of the billions (the ``ulp`` of 4e9 is 5e-7), which
no tolerance relative to what it holds now can absorb.

A real shortfall — larger than the tolerance — is still an error: the caller raises
:class:`~sim.protocol.vat.ProtocolError` with the numbers, and the run stops at that tick.

Why these sizes: float64 carries about 16 significant digits (``ε`` = 2.2e-16). Rounding residue
after millions of operations stays below about 1e-12 of the amounts involved, so :data:`REL_TOL` =
1e-9 leaves three orders of magnitude of headroom while staying far below anything economically
meaningful (a billionth of a balance). :data:`SCALE_TOL` = 1e-12 is about 4 500 ``ε``: the error
of thousands of operations at the system's largest magnitude (a cent in a system of ten billion
Dai). :data:`ABS_TOL` = 1e-9 (Dai, tokens or MKR) absorbs residue where no scale is known.
Keeper bids of 1e-18 Dai (the lowball strategy) are not balances and are compared exactly.
"""

from __future__ import annotations

import math

import numpy as np

#: Tolerance relative to the larger amount compared [-].
REL_TOL = 1e-9
#: Tolerance relative to the unit's total in the system (``scale``) [-].
SCALE_TOL = 1e-12
#: Absolute tolerance [Dai, tokens or MKR].
ABS_TOL = 1e-9
#: Tolerance of the accounting invariants (``Vat.check``), relative to the unit's total: looser
#: than a single comparison's, as sums over whole books (and incremental totals such as ``Art``)
#: gather the rounding of every operation of the run [-].
INVARIANT_TOL = 1e-8


def tolerance(a: float, b: float = 0.0, total: float = 0.0) -> float:
    """The tolerance of a comparison between ``a`` and ``b`` when the unit's total is ``total``.

    ``REL_TOL·max(|a|, |b|) + SCALE_TOL·|total| + ABS_TOL``, in the unit of the amounts.
    """
    return REL_TOL * max(abs(a), abs(b)) + SCALE_TOL * abs(total) + ABS_TOL


def same(a: float, b: float, total: float = 0.0) -> bool:
    """Whether two amounts are equal up to rounding."""
    return abs(a - b) <= tolerance(a, b, total)


def covers(have: float, need: float, total: float = 0.0) -> bool:
    """Whether a balance ``have`` is enough for a debit ``need`` (both ≥ 0), up to rounding."""
    return need <= have + tolerance(have, need, total)


def negligible(x: float, scale: float = 0.0) -> bool:
    """Whether ``x`` is zero up to rounding, at the scale ``scale`` of the amounts it came from."""
    return abs(x) <= tolerance(x, scale)


def debit(have: float, need: float) -> float:
    """The balance left after paying ``need`` from ``have``, clamped at zero.

    The caller has checked :func:`covers` (a larger shortfall is the caller's error to raise);
    the clamp absorbs the rounding residue the check allowed.
    """
    return max(have - need, 0.0)


def finite(x: float) -> bool:
    """Whether ``x`` is a finite number (not NaN, not ±inf)."""
    return math.isfinite(x)


# ---------------------------------------------------------------------------------------- arrays


def _tolerance_array(a, b, total) -> np.ndarray:
    return REL_TOL * np.maximum(np.abs(a), np.abs(b)) + SCALE_TOL * np.abs(total) + ABS_TOL


def same_array(a: np.ndarray, b: np.ndarray, total: float = 0.0) -> np.ndarray:
    """Element-wise :func:`same`."""
    return np.abs(a - b) <= _tolerance_array(a, b, total)


def covers_array(have: np.ndarray | float, need: np.ndarray, total: float = 0.0) -> np.ndarray:
    """Element-wise :func:`covers`."""
    return need <= have + _tolerance_array(have, need, total)


def zero_residue(x: np.ndarray, scale: np.ndarray | float) -> np.ndarray:
    """``x`` with elements that are :func:`negligible` at ``scale`` set to exactly 0."""
    return np.where(np.abs(x) <= _tolerance_array(x, scale, 0.0), 0.0, x)
