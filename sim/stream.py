"""Streaming a run's growing tables into its folder as Parquet row groups while it runs.

A run written to a folder (``cdpsim run``, a batch's runs) does not keep its growing tables in
memory to the end: the :class:`~sim.record.Recorder` hands them to a :class:`RunStream`, which
writes them into the run's hidden temporary folder (:class:`sim.rundir.RunFolder`) with one
:class:`pyarrow.parquet.ParquetWriter` per table:

- ``timeseries.parquet``: the recorder holds a window of :data:`FLUSH_TICKS` rows; a full window
  is one row group;
- ``vaults.parquet``: each snapshot becomes its rows at once (the book is not copied again);
  they go out as one row group once they hold :data:`FLUSH_BYTES`;
- ``events.parquet``: the event log is drained into a row group once it holds
  :data:`FLUSH_BYTES` (estimated at :data:`EVENT_ROW_BYTES` a row).

Every table also goes out whenever the timeseries window turns over, so a table is flushed at
least every :data:`FLUSH_TICKS` ticks. The peak memory of a run therefore depends on its book
(and these two constants), not on its length.

**Same files.** A table that never needed a flush (every table of a run of at most
:data:`FLUSH_TICKS` ticks and small books) is held to the end and written in one go, exactly as
``DataFrame.to_parquet(path, index=False)`` writes it: the same bytes as before streaming. A table
that was flushed is written in row groups: its rows, columns and types read back identical (the
tests check every table against the in-memory run), but the file's bytes differ from the
one-go file in three documented ways, none of which a reader of format 1 notices: the row-group
boundaries; the dictionary columns of ``events.parquet`` (``event``, ``ilk``, ``actor``, whose
names grow during the run) are stored with 32-bit indices, and each row group's dictionary
holds the names known when it was written; the pandas metadata is the final table's (set when
the file is closed). ``RUN_FORMAT`` is unchanged.

**Interrupted runs.** Ctrl-C, SIGTERM, an error in the tick loop (a ``MemoryError`` included)
end the run with the tables' last rows written and every writer closed
(:meth:`RunStream.close`): the folder holds every row computed, readable, with status
``interrupted`` or ``failed``. A SIGKILL'd run leaves its temporary folder with files whose
Parquet footer was never written, which no reader can open; :func:`sim.rundir.clean_leftovers`
removes it as before. Keeping the flushed row groups through a SIGKILL would take closed part
files, merged into one file at the end by decoding and encoding every row again (twice the write
cost of a long run) or kept as parts (a new run-folder layout, ``RUN_FORMAT`` 2): not worth it
for a run that the user killed without letting it write.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.metrics import summary_columns
from sim.record import RunResult, events_frame, timeseries_frame, vault_rows_frame
from sim.rundir import _signals_held

if TYPE_CHECKING:
    from sim.model import ProtocolModel
    from sim.record import Recorder

#: Rows of the timeseries window: a full window is one row group, and every table is flushed
#: at least this often [ticks].
FLUSH_TICKS = 4096
#: Pending rows of the vault snapshots or of the event log are written as a row group once they
#: hold this much [bytes] (64 MiB: row groups of about a million rows).
FLUSH_BYTES = 64 << 20
#: What one row of the event log holds, to compare with :data:`FLUSH_BYTES` [bytes]: five
#: 8-byte columns in the log, its share of the call table, the tick and codes built on flush.
EVENT_ROW_BYTES = 64
#: The Parquet compression of every table (pandas' default, so one-go files are unchanged).
COMPRESSION = "snappy"
#: The growing tables a stream writes, by file.
STREAMED_TABLES = ("timeseries", "events", "vaults")


#: Arrow schemas (with their pandas metadata) of the tables written, by their columns' names,
#: dtypes and categories: a batch writes tables of the same layout thousands of times.
_SCHEMAS: dict[tuple, pa.Schema] = {}
#: Layouts kept at most (a process running many different scenarios does not grow with them).
_SCHEMAS_MAX = 256


def arrow_table(frame: pd.DataFrame) -> pa.Table:
    """``pa.Table.from_pandas(frame, preserve_index=False)``, faster for a layout seen before.

    The schema and its pandas metadata are computed once per layout (column names, dtypes,
    categories) and each column is converted alone (``pa.array(..., from_pandas=True)``, as
    ``from_pandas`` does): a third less time for a tiny run's tables, the same table (the
    tests compare the files' bytes with ``DataFrame.to_parquet``'s).
    """
    key = tuple(
        (
            name,
            str(dtype),
            tuple(dtype.categories) if isinstance(dtype, pd.CategoricalDtype) else None,
        )
        for name, dtype in frame.dtypes.items()
    )
    schema = _SCHEMAS.get(key)
    if schema is None:
        schema = pa.Schema.from_pandas(frame, preserve_index=False)
        # An object column of Nones only is typed null: another table of the same dtypes
        # could hold strings there, so such a schema is not kept for the layout.
        if not any(pa.types.is_null(f.type) for f in schema):
            if len(_SCHEMAS) >= _SCHEMAS_MAX:
                _SCHEMAS.clear()
            _SCHEMAS[key] = schema
    arrays = []
    for field_, (_, column) in zip(schema, frame.items(), strict=True):
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = pa.array(column.cat.codes.to_numpy(), from_pandas=True)
            names = pa.array(column.cat.categories.to_numpy(), type=field_.type.value_type)
            arrays.append(pa.DictionaryArray.from_arrays(codes, names))
        else:
            values = column.to_numpy() if column.dtype.kind in "fiub" else column.array
            arrays.append(pa.array(values, type=field_.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def write_frame(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a whole table in one go: the bytes ``frame.to_parquet(path, index=False)`` writes.

    pyarrow directly (:func:`arrow_table` + ``write_table``): pandas' own path handling and
    conversion cost about 0.7 ms and 0.5 ms a file, most of the write of a tiny run's table.

    Args:
        frame: the table.
        path: the Parquet file to write.
    """
    pq.write_table(arrow_table(frame), str(path), compression=COMPRESSION)


def read_frame(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A table written by :func:`write_frame` or a :class:`TableSink`, as ``pd.read_parquet``.

    On one thread: a thread pool's stacks and allocator arenas cost address space, which a
    run under ``ulimit -v`` may not have.

    Args:
        path: the Parquet file.
        columns: the columns to read (all by default).
    """
    return pq.read_table(str(path), columns=columns, use_threads=False).to_pandas()


def _stream_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with 32-bit dictionary indices, so that later row groups with more names fit."""
    fields = [
        pa.field(f.name, pa.dictionary(pa.int32(), f.type.value_type, f.type.ordered))
        if pa.types.is_dictionary(f.type)
        else f
        for f in schema
    ]
    return pa.schema(fields, metadata=schema.metadata)


class TableSink:
    """One growing table of a run folder, written in row groups by a ParquetWriter.

    The writer is opened by the first :meth:`write`; a table never written before
    :meth:`close` is left to the caller, to be written in one go.

    Attributes:
        path: the Parquet file.
        rows: rows written so far.
        row_groups: :meth:`write` calls that wrote rows.
    """

    def __init__(self, path: Path):
        self.path = path
        self.rows = 0
        self.row_groups = 0
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    @property
    def opened(self) -> bool:
        """Whether rows were written (the table lives in its file, not in memory)."""
        return self._writer is not None

    def write(self, frame: pd.DataFrame) -> None:
        """Write ``frame``'s rows as the next row group (nothing for no rows).

        Raises:
            OSError: the file could not be written.
        """
        if len(frame) == 0:
            return
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._writer is None:
            self._schema = _stream_schema(table.schema)
            self._writer = pq.ParquetWriter(str(self.path), self._schema, compression=COMPRESSION)
        if not table.schema.equals(self._schema, check_metadata=False):
            table = table.cast(self._schema)
        self._writer.write_table(table)
        self.rows += len(frame)
        self.row_groups += 1

    def close(self, last: pd.DataFrame) -> None:
        """Write the last rows and the footer (the pandas metadata of ``last``, the whole table's).

        Args:
            last: the table's last rows (possibly none), with the final categories.
        """
        if self._writer is None:
            raise RuntimeError(f"{self.path}: nothing was written, write the table in one go")
        self.write(last)
        meta = pa.Schema.from_pandas(last.iloc[:0], preserve_index=False).metadata or {}
        if b"pandas" in meta:
            self._writer.add_key_value_metadata({"pandas": meta[b"pandas"].decode()})
        writer, self._writer = self._writer, None
        writer.close()

    def abort(self) -> None:
        """Close the file as it is (its row groups so far), ignoring errors."""
        writer, self._writer = self._writer, None
        if writer is not None:
            try:
                writer.close()
            except (OSError, pa.ArrowException):
                pass


class RunStream:
    """Where a running model's growing tables go: a :class:`TableSink` each, in ``folder``.

    Built before the model (``ProtocolModel(..., stream=...)``) and called by its
    :class:`~sim.record.Recorder`; :meth:`close` ends it when the run ends, however it ends.

    Args:
        folder: the run's temporary folder.
        flush_ticks: the timeseries window [ticks] (default :data:`FLUSH_TICKS`).
        flush_bytes: the pending bytes of vault snapshots or events that make a row group
            (default :data:`FLUSH_BYTES`).
        keep: the tables the run keeps (default all of :data:`STREAMED_TABLES`). Events or
            vaults left out are not recorded at all (no vault snapshots are taken, the event
            log takes no rows) and the result holds them empty. The timeseries left out is
            still recorded, for the KPIs (a long run's full windows still go to its file, read
            back for them), but a run that never filled a window ends with only the columns
            the KPIs read (:func:`sim.metrics.summary_columns`). A batch run kept as a summary
            (``keep: summary``) keeps none.
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        flush_ticks: int | None = None,
        flush_bytes: int | None = None,
        keep: tuple[str, ...] = STREAMED_TABLES,
    ):
        flush_ticks = FLUSH_TICKS if flush_ticks is None else flush_ticks
        flush_bytes = FLUSH_BYTES if flush_bytes is None else flush_bytes
        if flush_ticks < 1 or flush_bytes < 1:
            raise ValueError("flush_ticks and flush_bytes must be positive")
        if set(keep) - set(STREAMED_TABLES):
            raise ValueError(f"keep may hold only tables of {STREAMED_TABLES}: {keep}")
        self.keep = frozenset(keep)
        self.folder = Path(folder)
        self.flush_ticks = int(flush_ticks)
        self.flush_bytes = int(flush_bytes)
        self.sinks = {name: TableSink(self.folder / f"{name}.parquet") for name in STREAMED_TABLES}
        #: Tables whose file could not be written, with the error (filled by :meth:`close`,
        #: or by a flush that failed during the run).
        self.failed: dict[str, BaseException] = {}
        self._vault_parts: list[dict[str, Any]] = []
        self._vault_bytes = 0

    # ------------------------------------------------------------------ called by the recorder

    def window_full(self, recorder: Recorder) -> None:
        """The timeseries window is full: write it, start it again, flush the other tables.

        Ctrl-C and SIGTERM wait for the end of a flush, so that no row is written twice or
        lost between the recorder and the file.
        """
        with _signals_held():
            self._write("timeseries", timeseries_frame(recorder.model))
            recorder.start_window()
            self._flush_events(recorder.model)
            self._flush_vaults(recorder)

    def snapshot(self, recorder: Recorder, rows: dict[str, Any]) -> None:
        """Take one ilk's snapshot rows (:func:`sim.record.snapshot_rows`)."""
        self._vault_parts.append(rows)
        self._vault_bytes += sum(v.nbytes for v in rows.values() if hasattr(v, "nbytes"))

    def after_tick(self, recorder: Recorder) -> None:
        """After each recorded tick: flush the snapshots or the event log if they are big."""
        if self._vault_bytes >= self.flush_bytes:
            with _signals_held():
                self._flush_vaults(recorder)
        if len(recorder.model.vat.log) * EVENT_ROW_BYTES >= self.flush_bytes:
            with _signals_held():
                self._flush_events(recorder.model)

    def _flush_vaults(self, recorder: Recorder) -> None:
        if self._vault_parts:
            self._write("vaults", self._vault_frame(recorder))
            self._vault_bytes = 0

    def _flush_events(self, model: ProtocolModel) -> None:
        if len(model.vat.log):
            self._write("events", events_frame(model, drain=True))

    def _write(self, name: str, frame: pd.DataFrame) -> None:
        """A row group of table ``name``; a failure is kept in :attr:`failed`, then raised."""
        try:
            self.sinks[name].write(frame)
        except (OSError, pa.ArrowException) as exc:
            self.failed[name] = exc
            raise

    def _vault_frame(self, recorder: Recorder) -> pd.DataFrame:
        cohorts = [c.name for c in recorder.model.cohorts]
        return vault_rows_frame(self._vault_parts, list(recorder.ilks), cohorts)

    # ------------------------------------------------------------------ the end

    def close(self, model: ProtocolModel) -> dict[str, pd.DataFrame | None]:
        """End the stream: the last rows of each table written and its file closed.

        A table that never needed a flush is not written here: it is returned whole, to be
        written in one go with the run's other files (the bytes of an in-memory run's). A table
        whose file cannot be finished (a full disk, a lost mount) does not stop the others: its
        writer is closed as it is and the error is kept in :attr:`failed`.

        Args:
            model: the model (finished or stopped; it will not step again).

        Returns:
            Table name → the whole table, or ``None`` when it is in its file (or its file
            failed: see :attr:`failed`).
        """
        recorder = model.recorder
        last = {
            "timeseries": (
                timeseries_frame(model)
                if "timeseries" in self.keep or self.sinks["timeseries"].opened
                else timeseries_frame(model, pick=summary_columns)
            ),
            "events": (
                events_frame(model, consume=True) if "events" in self.keep else pd.DataFrame()
            ),
            "vaults": self._vault_frame(recorder) if "vaults" in self.keep else pd.DataFrame(),
        }
        self._vault_bytes = 0
        out: dict[str, pd.DataFrame | None] = {}
        try:
            for name, frame in last.items():
                sink = self.sinks[name]
                if name in self.failed:  # a flush failed during the run
                    out[name] = None
                elif sink.opened:
                    try:
                        sink.close(frame)
                    except (OSError, pa.ArrowException) as exc:
                        self.failed[name] = exc
                    out[name] = None
                else:
                    out[name] = frame
        finally:
            self.abort()
        return out

    def readable(self, name: str) -> bool:
        """Whether table ``name``'s file exists and can be read (its footer was written)."""
        try:
            pq.read_metadata(self.sinks[name].path)
        except (OSError, pa.ArrowException):
            return False
        return True

    def abort(self) -> None:
        """Close every writer as it is, ignoring errors (the stream is being given up)."""
        for sink in self.sinks.values():
            sink.abort()

    @property
    def opened(self) -> list[str]:
        """The tables being written in row groups (their writers open)."""
        return [name for name, sink in self.sinks.items() if sink.opened]

    def opened_files(self) -> list[Path]:
        """The files of the tables that have rows written in row groups (open or closed)."""
        return [sink.path for sink in self.sinks.values() if sink.row_groups]


class _StoredTable:
    """A table of a :class:`StoredRunResult`: held in memory, or read from its file on access."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: StoredRunResult | None, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        held = obj.__dict__.get(f"_held_{self.name}")
        if held is not None:
            return held
        return read_frame(obj.folder / f"{self.name}.parquet")

    def __set__(self, obj: StoredRunResult, value: pd.DataFrame | None) -> None:
        obj.__dict__[f"_held_{self.name}"] = value


class StoredRunResult(RunResult):
    """The result of a streamed run: its big tables stay in their files.

    ``timeseries``, ``events`` and ``vaults`` are each a DataFrame held (a table written in one
    go) or ``None`` at construction; a ``None`` table is read from ``folder`` at every access
    (:func:`read_frame`: equal to the in-memory table), so the result never holds a table that
    did not fit the stream's limits. ``folder`` follows the files: the temporary folder while
    the run is written, then the run folder (or the fallback folder).

    Attributes:
        folder: where the stored tables are.
    """

    timeseries = _StoredTable()
    events = _StoredTable()
    vaults = _StoredTable()
    folder: Path

    def stored(self, name: str) -> Path | None:
        """The file of table ``name`` if it is stored rather than held (``None`` if held)."""
        if name in STREAMED_TABLES and self.__dict__.get(f"_held_{name}") is None:
            return self.folder / f"{name}.parquet"
        return None


__all__ = [
    "COMPRESSION",
    "EVENT_ROW_BYTES",
    "FLUSH_BYTES",
    "FLUSH_TICKS",
    "STREAMED_TABLES",
    "RunStream",
    "StoredRunResult",
    "TableSink",
    "arrow_table",
    "read_frame",
    "write_frame",
]
