"""Columnar protocol event log (pure numpy; turned into a DataFrame by :mod:`sim.record`).

Every protocol operation that changes state appends one row per affected vault or auction.
Rows are appended in vectorised chunks so that a tick that liquidates 100 000 vaults costs a
handful of array copies, not 100 000 Python calls.

Columns (see DESIGN.md section 8, ``events.parquet``):

- ``tick``: the model tick at which the event happened.
- ``event``: the dss verb (``frob``, ``bark``, ``kick``, ``take``, ``redo``, ``bite``, ``tend``,
  ``dent``, ``deal``, ``tick``, ``flop``, ``flap``, ``heal``, ``suck``, ...).
- ``ilk``: the collateral type, or ``""`` for system events.
- ``vault``: the vault index within the ilk's book, or -1.
- ``auction``: the auction id (per ilk for liquidation auctions, per house for flop/flap), or -1.
- ``actor``: who called (keeper name, cohort name, ``"system"``).
- ``collateral``: collateral amount moved [tokens] (MKR for flop/flap).
- ``dai``: Dai amount moved [Dai].
- ``price``: the price the event used [Dai per token], NaN if none.
"""

from __future__ import annotations

import numpy as np

COLUMNS = ("tick", "event", "ilk", "vault", "auction", "actor", "collateral", "dai", "price")


class EventLog:
    """Append-only event log held as chunks of numpy arrays.

    Attributes:
        tick: the current model tick, stamped on every appended row (set by the model).
        enabled: when False, appends are ignored (used by benchmarks that measure raw speed).
    """

    def __init__(self) -> None:
        self.tick = 0
        self.enabled = True
        self._chunks: list[dict[str, np.ndarray | str | int]] = []

    def add(
        self,
        event: str,
        *,
        ilk: str = "",
        vault: np.ndarray | int = -1,
        auction: np.ndarray | int = -1,
        actor: str = "system",
        collateral: np.ndarray | float = 0.0,
        dai: np.ndarray | float = 0.0,
        price: np.ndarray | float = np.nan,
    ) -> None:
        """Append one event, or one row per element when any amount argument is an array.

        Args:
            event: dss verb.
            ilk: collateral type name.
            vault: vault index (or indices).
            auction: auction id (or ids).
            actor: caller name.
            collateral: collateral moved [tokens].
            dai: Dai moved [Dai].
            price: price used [Dai/token].
        """
        if not self.enabled:
            return
        sizes = [
            v.shape[0]
            for v in (vault, auction, collateral, dai, price)
            if isinstance(v, np.ndarray)
        ]
        n = max(sizes) if sizes else 1
        if n == 0 or (sizes and min(sizes) == 0):
            return
        self._chunks.append(
            {
                "n": n,
                "tick": self.tick,
                "event": event,
                "ilk": ilk,
                "actor": actor,
                "vault": vault,
                "auction": auction,
                "collateral": collateral,
                "dai": dai,
                "price": price,
            }
        )

    def __len__(self) -> int:
        return sum(int(c["n"]) for c in self._chunks)

    def count(self, event: str, ilk: str | None = None) -> int:
        """Number of rows of one event kind (optionally for one ilk)."""
        return sum(
            int(c["n"])
            for c in self._chunks
            if c["event"] == event and (ilk is None or c["ilk"] == ilk)
        )

    def columns(self) -> dict[str, np.ndarray]:
        """Concatenate the chunks into one array per column (strings as object arrays)."""
        if not self._chunks:
            return {
                "tick": np.zeros(0, np.int64),
                "event": np.zeros(0, object),
                "ilk": np.zeros(0, object),
                "vault": np.zeros(0, np.int64),
                "auction": np.zeros(0, np.int64),
                "actor": np.zeros(0, object),
                "collateral": np.zeros(0, np.float64),
                "dai": np.zeros(0, np.float64),
                "price": np.zeros(0, np.float64),
            }
        sizes = np.array([int(c["n"]) for c in self._chunks])
        out: dict[str, np.ndarray] = {}
        for name in ("tick", "event", "ilk", "actor"):
            values = np.array([c[name] for c in self._chunks], dtype=object)
            out[name] = np.repeat(values, sizes)
        out["tick"] = out["tick"].astype(np.int64)
        for name, dtype in (
            ("vault", np.int64),
            ("auction", np.int64),
            ("collateral", np.float64),
            ("dai", np.float64),
            ("price", np.float64),
        ):
            parts = [
                np.broadcast_to(np.asarray(c[name], dtype=dtype), (int(c["n"]),))
                for c in self._chunks
            ]
            out[name] = np.concatenate(parts)
        return out
