"""Columnar protocol event log (pure numpy; turned into a DataFrame by :mod:`sim.record`).

Every protocol operation that changes state appends one row per affected vault or auction.
Rows are appended in vectorised chunks so that a tick that liquidates 100 000 vaults costs a
handful of array copies, not 100 000 Python calls.

Columns (``events.parquet``):

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
#: Columns holding names (few distinct values): kept as codes into a list of names.
STRING_COLUMNS = ("event", "ilk", "actor")
#: Numeric columns given per row (or once per chunk) and their dtypes.
NUMERIC_COLUMNS = (
    ("vault", np.int64),
    ("auction", np.int64),
    ("collateral", np.float64),
    ("dai", np.float64),
    ("price", np.float64),
)


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
        """One array per column, strings as object arrays (convenient for small logs)."""
        numeric, coded = self.coded_columns()
        out = dict(numeric)
        for name, (codes, categories) in coded.items():
            out[name] = np.asarray(categories, dtype=object)[codes]
        return {name: out[name] for name in COLUMNS}

    def coded_columns(
        self, consume: bool = False
    ) -> tuple[dict[str, np.ndarray], dict[str, tuple[np.ndarray, list[str]]]]:
        """Concatenate the chunks: numeric columns as arrays, string columns as codes.

        The string columns (``event``, ``ilk``, ``actor``) take a few distinct values over
        millions of rows, so each is returned as ``(codes, categories)`` with int32 codes
        into a list of names, never as one Python object per row.

        Args:
            consume: empty the log while concatenating, freeing each column's chunks once it is
                built, so that the log and its columns are never both held in full (a run with
                a hundred million events needs half the memory at its end).

        Returns:
            ``(numeric, coded)``: ``numeric`` maps ``tick``, ``vault``, ``auction``,
            ``collateral``, ``dai``, ``price`` to arrays; ``coded`` maps ``event``, ``ilk``,
            ``actor`` to ``(codes, categories)``.
        """
        chunks = self._chunks
        sizes = np.array([int(c["n"]) for c in chunks], dtype=np.int64)
        numeric: dict[str, np.ndarray] = {
            "tick": np.repeat(np.array([c["tick"] for c in chunks], dtype=np.int64), sizes)
        }
        for name, dtype in NUMERIC_COLUMNS:
            parts = [
                np.broadcast_to(np.asarray(c[name], dtype=dtype), (int(c["n"]),)) for c in chunks
            ]
            numeric[name] = np.concatenate(parts) if parts else np.zeros(0, dtype)
            del parts
            if consume:
                for c in chunks:
                    c[name] = None
        coded: dict[str, tuple[np.ndarray, list[str]]] = {}
        for name in STRING_COLUMNS:
            index: dict[str, int] = {}
            per_chunk = np.array(
                [index.setdefault(str(c[name]), len(index)) for c in chunks], dtype=np.int32
            )
            coded[name] = (np.repeat(per_chunk, sizes), list(index))
        if consume:
            self._chunks = []
        return numeric, coded
