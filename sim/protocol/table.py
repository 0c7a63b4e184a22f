"""Growable struct-of-arrays storage shared by the auction houses (ids are never reused)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np


class AuctionTable:
    """Per-auction columns held as numpy arrays whose capacity doubles when full.

    Subclasses set :attr:`FIELDS` (column name → ``(dtype, fill value of an unused slot)``) and
    call :meth:`_init_table`; each column is then an attribute of the same name. Bidder and
    recipient names are interned as small integers (:meth:`name_id`, :attr:`names`).
    """

    FIELDS: ClassVar[dict[str, tuple[type, object]]] = {}

    def _init_table(self, capacity: int) -> None:
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

    def name_id(self, name: str) -> int:
        """Index of ``name`` in :attr:`names`, registering it on first use."""
        idx = self._name_id.get(name)
        if idx is None:
            idx = len(self.names)
            self.names.append(name)
            self._name_id[name] = idx
        return idx
