"""Growable struct-of-arrays storage shared by the auction houses (ids are never reused)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np


class _Column:
    """A per-auction column: a view of the first ``kicks`` rows of the underlying array."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: AuctionTable | None, objtype: type | None = None) -> np.ndarray:
        if obj is None:
            return self  # type: ignore[return-value]
        return obj._cols[self.name][: obj.kicks]


class AuctionTable:
    """Per-auction columns held as numpy arrays whose capacity doubles when full.

    Subclasses set :attr:`FIELDS` (column name → ``(dtype, fill value of an unused slot)``,
    including a boolean ``active``) and call :meth:`_init_table`. Each column is then an
    attribute of the same name, a view of length :attr:`kicks` (one row per auction ever
    started; ids ``0 .. kicks-1``): grow with :meth:`_grow`, increment ``kicks``, then write.
    Auctions start and end through :meth:`_set_active`. Bidder and recipient names are interned
    as small integers (:meth:`name_id`, :attr:`names`).
    """

    FIELDS: ClassVar[dict[str, tuple[type, object]]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        for name in cls.FIELDS:
            column = _Column()
            column.__set_name__(cls, name)
            setattr(cls, name, column)

    def _init_table(self, capacity: int) -> None:
        self.kicks = 0
        self._active_ids: np.ndarray | None = None
        #: Ids started since :attr:`_active_ids` was last merged (merged on the next read).
        self._started: list[np.ndarray] = []
        self.names: list[str] = []
        self._name_id: dict[str, int] = {}
        cap = max(int(capacity), 1)
        self._cols: dict[str, np.ndarray] = {
            name: np.full(cap, fill, dtype=dtype) for name, (dtype, fill) in self.FIELDS.items()
        }

    def _grow(self, need: int) -> None:
        """Make room for ``need`` auctions in all (capacity doubles)."""
        cap = next(iter(self._cols.values())).shape[0]
        if need <= cap:
            return
        new_cap = max(need, 2 * cap)
        for name, (dtype, fill) in self.FIELDS.items():
            grown = np.empty(new_cap, dtype=dtype)
            grown[:cap] = self._cols[name]
            grown[cap:] = fill
            self._cols[name] = grown

    def _set_active(self, ids: np.ndarray | int, value: bool) -> None:
        """Start (``True``) or end (``False``) auctions; keeps :meth:`active_ids` up to date.

        The cached ids are updated from the auctions that changed (new ids come last; ended
        ones are dropped), never by a pass over every auction ever started. Started ids are
        kept aside and merged on the next read, so many starts in a row (a vault bitten lump
        by lump, one auction per bite) cost one merge, not one per start.
        """
        self.active[ids] = value
        if self._active_ids is None:
            return
        if value:
            self._started.append(np.atleast_1d(ids).astype(np.int64))
        else:
            cached = self.active_ids()
            self._active_ids = cached[self.active[cached]]

    def active_ids(self) -> np.ndarray:
        """Ids of running auctions, ascending (cached until one starts or ends)."""
        if self._active_ids is None:
            self._active_ids = np.flatnonzero(self.active)
        elif self._started:
            merged = np.concatenate((self._active_ids, *self._started))
            self._started.clear()
            if merged.shape[0] > 1 and not (merged[1:] > merged[:-1]).all():
                merged = np.unique(merged)
            self._active_ids = merged
        return self._active_ids

    def find_name(self, name: str) -> int:
        """Index of ``name`` in :attr:`names`, or -1 when it never took part."""
        return self._name_id.get(name, -1)

    def name_id(self, name: str) -> int:
        """Index of ``name`` in :attr:`names`, registering it on first use."""
        idx = self._name_id.get(name)
        if idx is None:
            idx = len(self.names)
            self.names.append(name)
            self._name_id[name] = idx
        return idx
