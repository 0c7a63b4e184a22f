"""Growable struct-of-arrays storage shared by the auction houses (ids are never reused)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np


class AuctionTable:
    """Per-auction columns held as numpy arrays whose capacity doubles when full.

    Subclasses set :attr:`FIELDS` (column name → ``(dtype, fill value of an unused slot)``,
    including a boolean ``active``) and call :meth:`_init_table`; each column is then an
    attribute of the same name. Auctions start and end through :meth:`_set_active`. Bidder and
    recipient names are interned as small integers (:meth:`name_id`, :attr:`names`).
    """

    FIELDS: ClassVar[dict[str, tuple[type, object]]] = {}

    def _init_table(self, capacity: int) -> None:
        self._active_ids: np.ndarray | None = None
        self.names: list[str] = []
        self._name_id: dict[str, int] = {}
        self.kicks = 0
        self._capacity = 0
        for name, (dtype, fill) in self.FIELDS.items():
            setattr(self, name, np.full(0, fill, dtype=dtype))
        self._grow(max(int(capacity), 1))

    def _grow(self, need: int) -> None:
        """Make room for ``need`` auctions (capacity doubles)."""
        if need <= self._capacity:
            return
        cap = max(need, 2 * self._capacity)
        for name, (dtype, fill) in self.FIELDS.items():
            old = getattr(self, name)
            new = np.full(cap, fill, dtype=dtype)
            new[: old.shape[0]] = old
            setattr(self, name, new)
        self._capacity = cap

    def _set_active(self, ids: np.ndarray | int, value: bool) -> None:
        """Start (``True``) or end (``False``) auctions; keeps :meth:`active_ids` cached."""
        self.active[ids] = value
        self._active_ids = None

    def active_ids(self) -> np.ndarray:
        """Ids of running auctions (cached until one starts or ends)."""
        if self._active_ids is None:
            self._active_ids = np.flatnonzero(self.active[: self.kicks])
        return self._active_ids

    def name_id(self, name: str) -> int:
        """Index of ``name`` in :attr:`names`, registering it on first use."""
        idx = self._name_id.get(name)
        if idx is None:
            idx = len(self.names)
            self.names.append(name)
            self._name_id[name] = idx
        return idx
