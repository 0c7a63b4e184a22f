"""Columnar protocol event log (pure numpy; turned into a DataFrame by :mod:`sim.record`).

Every protocol operation that changes state appends one row per affected vault or auction.
Rows are appended in vectorised chunks so that a tick that liquidates 100 000 vaults costs a
handful of array copies, not 100 000 Python calls; the log itself grows in blocks of numpy
arrays (:class:`EventLog`), never one Python object per call or per row.

Columns (``events.parquet``):

- ``tick``: the model tick at which the event happened.
- ``event``: the dss verb (``frob``, ``bark``, ``kick``, ``take``, ``redo``, ``bite``, ``tend``,
  ``dent``, ``deal``, ``tick``, ``flop``, ``flap``, ``heal``, ``suck``, ...); ``exec`` is a
  DssAutoLine change of an ilk's ceiling (``dai`` = the new ``line``), ``breaker`` a ClipperMom
  change of a Clipper's ``stopped`` (``auction`` = the level set, ``price`` = the OSM's next price
  when tripped).
- ``ilk``: the collateral type, or ``""`` for system events.
- ``vault``: the vault index within the ilk's book, or -1.
- ``auction``: the auction id (per ilk for liquidation auctions, per house for flop/flap), or -1.
- ``actor``: who called (keeper name, cohort name, ``"system"``); for a ``spell`` event (one per
  field a governance spell or governor changed; ``ilk`` is the field's ilk or ``""``) the spell
  or governor and its change, ``NAME: field old → new``; one per action called, ``NAME: stop_osm
  ETH``; a governor's firing refused by the checks, ``NAME: not fired: reason``.
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


#: Rows per block of the row columns: the log grows a block at a time, never copying old rows.
BLOCK_ROWS = 1 << 15
#: Calls the call table holds at first (it doubles when full).
FIRST_CALLS = 256


class EventLog:
    """Append-only event log held as columns that grow in blocks.

    Each call of :meth:`add` appends its rows to the row columns (``vault``, ``auction``,
    ``collateral``, ``dai``, ``price``: numpy blocks of :data:`BLOCK_ROWS` rows, a new block
    when the last is full) and one row to the call table (its row count, ``tick`` and the codes
    of its ``event``, ``ilk`` and ``actor`` names, in arrays that double when full). No Python
    object is kept per call or per row, so a run with millions of events holds a few bytes per
    row and per call, and building the table at the end is a handful of concatenations.

    Attributes:
        tick: the current model tick, stamped on every appended row (set by the model).
        enabled: when False, appends are ignored (used by benchmarks that measure raw speed).
    """

    def __init__(self, block_rows: int = BLOCK_ROWS) -> None:
        self.tick = 0
        self.enabled = True
        self._block_rows = int(block_rows)
        self._clear()

    def clear(self) -> None:
        """Forget every row and call (the tick and ``enabled`` are kept)."""
        self._clear()

    def _clear(self) -> None:
        """Forget every row and call (the tick and ``enabled`` are kept)."""
        self._blocks: list[dict[str, np.ndarray]] = []
        self._used = 0  # rows used in the last block
        self._rows = 0
        self._calls = 0
        self._call_rows = np.zeros(FIRST_CALLS, dtype=np.int64)
        self._call_tick = np.zeros(FIRST_CALLS, dtype=np.int64)
        self._call_codes = {name: np.zeros(FIRST_CALLS, dtype=np.int32) for name in STRING_COLUMNS}
        self._names: dict[str, dict[str, int]] = {name: {} for name in STRING_COLUMNS}

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

        Arrays must all have the same length (or length 1); scalars apply to every row.

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
        values = (vault, auction, collateral, dai, price)
        sizes = [v.shape[0] for v in values if isinstance(v, np.ndarray)]
        n = max(sizes) if sizes else 1
        if n == 0 or (sizes and min(sizes) == 0):
            return
        self._add_call(n, event, ilk, actor)
        done = 0
        while done < n:
            if not self._blocks or self._used == self._block_rows:
                self._new_block()
            block = self._blocks[-1]
            k = min(n - done, self._block_rows - self._used)
            lo, hi = self._used, self._used + k
            for (name, _), value in zip(NUMERIC_COLUMNS, values, strict=True):
                if isinstance(value, np.ndarray) and value.shape[0] != 1:
                    block[name][lo:hi] = value[done : done + k]
                else:
                    block[name][lo:hi] = value
            self._used = hi
            done += k
        self._rows += n

    def _new_block(self) -> None:
        rows = self._block_rows
        self._blocks.append({name: np.empty(rows, dtype=dtype) for name, dtype in NUMERIC_COLUMNS})
        self._used = 0

    def _add_call(self, n: int, event: str, ilk: str, actor: str) -> None:
        """One row of the call table: row count, tick and name codes."""
        k = self._calls
        if k == self._call_rows.shape[0]:
            grow = 2 * k
            self._call_rows = _grown(self._call_rows, grow)
            self._call_tick = _grown(self._call_tick, grow)
            self._call_codes = {
                name: _grown(codes, grow) for name, codes in self._call_codes.items()
            }
        self._call_rows[k] = n
        self._call_tick[k] = self.tick
        for name, text in (("event", event), ("ilk", ilk), ("actor", actor)):
            index = self._names[name]
            code = index.get(text)
            if code is None:
                code = index[text] = len(index)
            self._call_codes[name][k] = code
        self._calls = k + 1

    def __len__(self) -> int:
        return self._rows

    def count(self, event: str, ilk: str | None = None) -> int:
        """Number of rows of one event kind (optionally for one ilk)."""
        code = self._names["event"].get(event)
        if code is None:
            return 0
        k = self._calls
        hit = self._call_codes["event"][:k] == code
        if ilk is not None:
            ilk_code = self._names["ilk"].get(ilk)
            if ilk_code is None:
                return 0
            hit &= self._call_codes["ilk"][:k] == ilk_code
        return int(self._call_rows[:k][hit].sum())

    def columns(self) -> dict[str, np.ndarray]:
        """One array per column, strings as object arrays (convenient for small logs)."""
        numeric, coded = self.coded_columns()
        out = dict(numeric)
        for name, (codes, categories) in coded.items():
            out[name] = np.asarray(categories, dtype=object)[codes]
        return {name: out[name] for name in COLUMNS}

    def coded_columns(
        self, consume: bool = False, keep_names: bool = False
    ) -> tuple[dict[str, np.ndarray], dict[str, tuple[np.ndarray, list[str]]]]:
        """The whole log: numeric columns as arrays, string columns as codes.

        The string columns (``event``, ``ilk``, ``actor``) take a few distinct values over
        millions of rows, so each is returned as ``(codes, categories)`` with int32 codes
        into a list of names (in the order the names first appeared), never as one Python
        object per row.

        Args:
            consume: empty the log while building the columns, freeing each column's blocks once
                it is built, so that the log and its columns are never both held in full (a run
                with a hundred million events needs half the memory at its end).
            keep_names: with ``consume``, keep the names and their codes, so that the rows
                logged next continue them (a log drained in chunks as the run goes).

        Returns:
            ``(numeric, coded)``: ``numeric`` maps ``tick``, ``vault``, ``auction``,
            ``collateral``, ``dai``, ``price`` to arrays; ``coded`` maps ``event``, ``ilk``,
            ``actor`` to ``(codes, categories)``.
        """
        k = self._calls
        per_call = self._call_rows[:k]
        numeric: dict[str, np.ndarray] = {"tick": np.repeat(self._call_tick[:k], per_call)}
        blocks = self._blocks
        for name, dtype in NUMERIC_COLUMNS:
            parts = [b[name] for b in blocks[:-1]]
            if blocks:
                parts.append(blocks[-1][name][: self._used])
            numeric[name] = np.concatenate(parts) if parts else np.zeros(0, dtype)
            del parts
            if consume:
                for b in blocks:
                    b[name] = None  # type: ignore[assignment]
        coded = {
            name: (np.repeat(self._call_codes[name][:k], per_call), list(self._names[name]))
            for name in STRING_COLUMNS
        }
        if consume:
            names = self._names
            self._clear()
            if keep_names:
                self._names = names
        return numeric, coded


def _grown(values: np.ndarray, size: int) -> np.ndarray:
    """``values`` copied into a longer array of the same dtype (the tail uninitialised)."""
    out = np.empty(size, dtype=values.dtype)
    out[: values.shape[0]] = values
    return out
