"""The vaults of a book in order of ``art/ink``, kept up to date from the vaults that changed.

A vault is unsafe when ``art·rate > ink·spot``, i.e. when its ratio ``art/ink`` is above
``spot/rate``; its CR at a price ``p`` is ``(p/rate)/(art/ink)``. So the book sorted by ratio
answers, without a pass over every vault, both "which vaults are above a threshold" (unsafe,
below a trigger CR, underwater) and "what are the CR quantiles" (order statistics). The ratio of
a closed vault (``art == 0``) is 0; a vault with debt and no collateral has ratio ``inf``.

:class:`RatioIndex` holds

- ``value``: every slot's ratio as the index knows it (and ``is_open``, ``n_open``: which slots
  hold debt, and how many);
- the *base*: the slots sorted by ratio at the last compaction (``base_val``, ``base_idx``);
- the *delta* since then: the multisets of ratios removed from and added to the base (sorted
  arrays), and which slots changed (``dirty``).

The book's owner calls :meth:`RatioIndex.touch` with the slots an operation changed; the index
reads their new ratios on the next query (:meth:`RatioIndex.sync`). A query answers from the base
and the delta, so a tick that changes ``k`` of ``n`` vaults costs ``O(k log k + log n)`` instead
of a sort of ``n``; once the delta reaches ``n/64`` slots it is merged into the base
(:meth:`RatioIndex.compact`, a few ``O(n)`` copies, no sort).

Exactness: ratios are computed exactly as ``np.divide(art, ink)`` elementwise, so order
statistics are bit for bit those of a full sort. Threshold queries (:meth:`RatioIndex.above`)
return a superset — every slot whose ratio exceeds the threshold, from which callers select with
their own exact test — so that a comparison written another way (``art·c > ink``) selects the
same vaults as a pass over the whole book would.

Pure numpy; no model, no agents.
"""

from __future__ import annotations

import numpy as np

#: Relative margin below a threshold for :meth:`RatioIndex.above` supersets: float rounding of
#: ``art·c`` against ``ink`` moves the boundary by a few ulps (~1e-16); this is far wider.
MARGIN = 1e-12
#: The delta is merged into the base once it holds this share of the slots (1/64) ...
COMPACT_SHARE = 64
#: ... or this many, whichever is larger.
COMPACT_MIN = 1024


def ratios(art: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """``art/ink`` per vault: 0 where ``art == 0`` (closed), ``inf`` where only ``ink == 0``."""
    out = np.zeros(art.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(art, ink, out=out, where=art > 0)
    return out


def lower_bound(threshold: float) -> float:
    """A ratio below which no vault can pass an exact test ``ratio > threshold``, with margin."""
    return threshold * (1.0 - MARGIN)


class RatioIndex:
    """The slots of a book ordered by ``art/ink``, updated lazily (see the module docstring).

    Args:
        art: the book's normalised debt per slot (kept by reference).
        ink: the book's collateral per slot (kept by reference).
    """

    def __init__(self, art: np.ndarray, ink: np.ndarray) -> None:
        self.art = art
        self.ink = ink
        self.size = int(art.shape[0])
        self._pending: list[np.ndarray] = []
        self._pending_n = 0
        self._rebuild()

    # ------------------------------------------------------------------ upkeep
    def _rebuild(self) -> None:
        """Everything from the book (a sort of all slots)."""
        self.is_open = self.art > 0
        self.n_open = int(np.count_nonzero(self.is_open))
        self.value = ratios(self.art, self.ink)
        self.base_idx = np.argsort(self.value, kind="stable")
        self.base_val = self.value[self.base_idx]
        self.dirty = np.zeros(self.size, dtype=bool)
        self._dirty_ids: list[np.ndarray] = []
        self._dirty_n = 0
        self.added = np.zeros(0)
        self.removed = np.zeros(0)
        self._pending = []
        self._pending_n = 0

    def touch(self, idx: np.ndarray | int) -> None:
        """Note that the slots ``idx`` may have changed (read on the next query)."""
        idx = np.atleast_1d(np.asarray(idx, dtype=np.int64))
        if self._pending_n > self.size:
            return  # more changes than slots pending: the next sync rebuilds
        self._pending.append(idx)
        self._pending_n += idx.shape[0]

    def sync(self) -> None:
        """Read the ratios of the slots touched since the last query."""
        if not self._pending:
            return
        if self._pending_n > self.size:
            self._rebuild()
            return
        ids = self._pending[0] if len(self._pending) == 1 else np.concatenate(self._pending)
        self._pending = []
        self._pending_n = 0
        if ids.shape[0] > 1:
            ids = np.unique(ids)
        # Open vaults are counted apart: a ratio that underflows to 0 is still an open vault.
        is_open = self.art[ids] > 0
        self.n_open += int(np.count_nonzero(is_open)) - int(np.count_nonzero(self.is_open[ids]))
        self.is_open[ids] = is_open
        new = ratios(self.art[ids], self.ink[ids])
        old = self.value[ids]
        changed = new != old
        if not changed.any():
            return
        ids, new, old = ids[changed], new[changed], old[changed]
        self.value[ids] = new
        self.removed = _merged(self.removed, old)
        self.added = _merged(self.added, new)
        fresh = ids[~self.dirty[ids]]
        if fresh.shape[0]:
            self.dirty[fresh] = True
            self._dirty_ids.append(fresh)
            self._dirty_n += fresh.shape[0]
        if self.added.shape[0] > max(COMPACT_MIN, self.size // COMPACT_SHARE):
            self.compact()

    def compact(self) -> None:
        """Merge the delta into the base: drop the changed slots, insert them at their ratios."""
        if not self._dirty_ids:
            return
        keep = ~self.dirty[self.base_idx]
        base_idx = self.base_idx[keep]
        base_val = self.base_val[keep]
        ids = np.concatenate(self._dirty_ids)
        vals = self.value[ids]
        order = np.argsort(vals, kind="stable")
        ids, vals = ids[order], vals[order]
        at = np.searchsorted(base_val, vals)
        self.base_val = np.insert(base_val, at, vals)
        self.base_idx = np.insert(base_idx, at, ids)
        self.dirty[ids] = False
        self._dirty_ids = []
        self._dirty_n = 0
        self.added = np.zeros(0)
        self.removed = np.zeros(0)

    # ------------------------------------------------------------------ queries
    def open_count(self) -> int:
        """How many slots hold debt (``art > 0``)."""
        self.sync()
        return self.n_open

    def count_le(self, x: np.ndarray | float) -> np.ndarray:
        """How many slots have a ratio ``≤ x`` (elementwise over ``x``)."""
        self.sync()
        return self._count_le(np.asarray(x, dtype=np.float64))

    def _count_le(self, x: np.ndarray) -> np.ndarray:
        count = np.searchsorted(self.base_val, x, side="right")
        if self.added.shape[0]:
            count = (
                count
                - np.searchsorted(self.removed, x, side="right")
                + np.searchsorted(self.added, x, side="right")
            )
        return count

    def order_stats(self, ranks: np.ndarray) -> np.ndarray:
        """The ratios at 0-based ``ranks`` in ascending order over all slots (closed ones are 0).

        Exactly the elements ``np.sort(ratios)[ranks]``.
        """
        self.sync()
        ranks = np.asarray(ranks, dtype=np.int64)
        base = self.base_val
        if not self.added.shape[0]:
            return base[ranks]
        # The answer is the least ratio x, among the base's and the added ones, with
        # count_le(x) > rank: bisect over each sorted array (every rank at once).
        want = ranks + 1
        best = self._least_reaching(base, want, len(self.added), len(self.removed))
        other = self._least_reaching(self.added, want, None, None)
        return np.minimum(best, other)

    def _least_reaching(
        self, values: np.ndarray, want: np.ndarray, n_added: int | None, n_removed: int | None
    ) -> np.ndarray:
        """Per rank, the least element ``x`` of sorted ``values`` with ``count_le(x) ≥ want``.

        ``inf`` where none reaches it. With ``n_added``/``n_removed`` (``values`` is the base),
        the search is narrowed to the window where the answer can lie: ``count_le(base[i])`` is
        at least ``i + 1 − n_removed`` and, below the first copy of ``base[want − 1 −
        n_added]``, at most ``want − 1``.
        """
        m = values.shape[0]
        if m == 0:
            return np.full(want.shape, np.inf)
        if n_added is None:
            lo = np.zeros(want.shape, dtype=np.int64)
            hi = np.full(want.shape, m, dtype=np.int64)
        else:
            start = np.clip(want - 1 - n_added, 0, m - 1)
            lo = np.searchsorted(values, values[start], side="left")
            hi = np.minimum(want + n_removed, m)
        # Invariant: the answer's position is in [lo, hi]; hi == m means "none".
        while True:
            open_ = lo < hi
            if not open_.any():
                break
            mid = (lo + hi) // 2
            mid_safe = np.minimum(mid, m - 1)
            reached = self._count_le(values[mid_safe]) >= want
            hi = np.where(open_ & reached, mid, hi)
            lo = np.where(open_ & ~reached, mid + 1, lo)
        out = np.full(want.shape, np.inf)
        found = lo < m
        out[found] = values[lo[found]]
        return out

    def above(self, threshold: float) -> np.ndarray:
        """Slots whose ratio is ``> threshold``, in ascending slot order."""
        self.sync()
        start = int(np.searchsorted(self.base_val, threshold, side="right"))
        ids = self.base_idx[start:]
        if self._dirty_ids:
            ids = ids[~self.dirty[ids]]
            dirty = np.concatenate(self._dirty_ids)
            ids = np.concatenate([ids, dirty[self.value[dirty] > threshold]])
        return np.sort(ids)


def _merged(sorted_values: np.ndarray, new: np.ndarray) -> np.ndarray:
    """``sorted_values`` with ``new`` added, sorted (a multiset union; both are short)."""
    out = np.concatenate((sorted_values, new))
    out.sort()
    return out
