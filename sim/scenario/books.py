"""Vault books from files: a cohort's vaults read from a CSV or Parquet file.

A cohort with ``book: {file: data/eth_a_book.csv}`` in place of ``vaults``/``debt``/``cr``/``size``
opens one vault per row of the file whose ``ilk`` is the cohort's (and, with ``classes``, whose
``class`` is one of them), in file order. The file's schema (one row per vault, a header row;
other columns are allowed and ignored):

=========  ========  ==========================================================================
column     unit      meaning
=========  ========  ==========================================================================
``ilk``    text      the vault's ilk (every row's ilk must be one of the scenario's)
``ink``    tokens    collateral locked (≥ 0)
``debt``   Dai       debt (≥ 0); or, without a ``debt`` column:
``art``    Dai       normalised debt (≥ 0), the debt being ``art · rate`` with the ilk's
                     accumulated ``rate`` from a ``rate`` column (per row, > 0) or the book's
                     ``rate`` field
``owner``  text      optional; not used by the model (a vault's owner there is its cohort)
``class``  text      optional strategy class: cohorts with ``classes`` take the rows of theirs
=========  ========  ==========================================================================

Every problem names the file, the row as a spreadsheet shows it (the header is row 1) and the
column: ``data/book.csv:7:debt: not a number``. The run starts every ilk at ``rate`` 1, so each
vault opens with ``art`` = its debt [Dai]. Files are read once per process and kept while their
size and modification time stay the same (:func:`read_book`).

This module reads and checks; drawing vaults from a book (``resample``) is
:func:`sim.agents.resample.resample_book`.
"""

from __future__ import annotations

import csv
import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.files import file_problem

if TYPE_CHECKING:
    from sim.scenario.agent_specs import BookSpec, Cohort
    from sim.scenario.schema import Scenario

#: Largest vault book file [bytes]: 256 MiB, about two million vaults as CSV (mainnet's whole
#: book is tens of thousands); above it the file is refused before it is read.
BOOK_MAX_BYTES = 256 * 1024**2
#: File suffixes read as CSV and as Parquet.
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
#: Columns every book has.
REQUIRED = ("ilk", "ink")


class BookError(ValueError):
    """A vault book that cannot be used: ``file:row:column: message``.

    Attributes:
        path: the file as shown.
        row: the row as a spreadsheet shows it (header = 1), ``None`` for the whole file.
        column: the column concerned ("" for the whole file).
        message: what is wrong.
    """

    def __init__(self, path: str, row: int | None, column: str, message: str):
        self.path = path
        self.row = row
        self.column = column
        self.message = message
        where = path if row is None else f"{path}:{row}:{column}"
        super().__init__(f"{where}: {message}")

    def __reduce__(self):
        """Pickle with the constructor's arguments (process pools send errors back)."""
        return (type(self), (self.path, self.row, self.column, self.message))


@dataclass(frozen=True)
class VaultBook:
    """A vault book as read: one entry per vault row (blank rows left out), in file order.

    Attributes:
        path: the file as shown in messages.
        rows: each vault's row as a spreadsheet shows it (header = 1).
        ilk: each vault's ilk.
        ink: collateral [tokens].
        debt: debt [Dai] (``art · rate`` when the file gives ``art``).
        klass: each vault's ``class`` (``None`` without that column).
        debt_column: the column the debt came from (``debt`` or ``art``), for messages.
    """

    path: str
    rows: np.ndarray
    ilk: np.ndarray
    ink: np.ndarray
    debt: np.ndarray
    klass: np.ndarray | None
    debt_column: str

    def select(self, ilk: str, classes: list[str] | tuple[str, ...] | None = None) -> np.ndarray:
        """Positions of the vaults of ``ilk`` (and of one of ``classes``), in file order."""
        mask = self.ilk == ilk
        if classes is not None:
            if self.klass is None:
                raise BookError(self.path, 1, "class", "no such column (the cohort names classes)")
            mask &= np.isin(self.klass, list(classes))
        return np.flatnonzero(mask)


def read_book(path: str | os.PathLike[str], rate: float | None = None) -> VaultBook:
    """Read and check a vault book (CSV or Parquet, by the file's suffix).

    Args:
        path: the file.
        rate: the ilk's accumulated rate [-] for an ``art`` column without a ``rate`` column.

    Returns:
        The book; its arrays are read-only (the same object is shared while the file does
        not change).

    Raises:
        BookError: the file cannot be read, is too large or empty; a required column is
            missing; a value is missing, not a number, not finite or negative; ``art`` without
            a rate, or a rate given twice.
    """
    shown = os.fspath(path)
    problem = file_problem(path)
    if problem is not None:
        raise BookError(shown, None, "", f"cannot open file: {problem}")
    stat = os.stat(path)
    if stat.st_size > BOOK_MAX_BYTES:
        raise BookError(
            shown,
            None,
            "",
            f"{stat.st_size / 1024**2:,.0f} MiB, over the {BOOK_MAX_BYTES // 1024**2} MiB a vault "
            "book may have",
        )
    return _read_cached(shown, stat.st_size, stat.st_mtime_ns, rate)


@functools.lru_cache(maxsize=16)
def _read_cached(shown: str, size: int, mtime_ns: int, rate: float | None) -> VaultBook:
    suffix = Path(shown).suffix.lower()
    if suffix in CSV_SUFFIXES:
        header, columns, rows = _csv_columns(shown)
    elif suffix in PARQUET_SUFFIXES:
        header, columns, rows = _parquet_columns(shown)
    else:
        raise BookError(shown, None, "", "a vault book is a .csv or .parquet file")
    return _book(shown, header, columns, rows, rate)


def _csv_columns(shown: str) -> tuple[list[str], dict[str, list[Any]], np.ndarray]:
    """The CSV file's header, its cells by column name, and each record's spreadsheet row."""
    try:
        handle = open(shown, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise BookError(shown, None, "", f"cannot open file: {exc.strerror or exc}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                raise BookError(shown, 1, "ilk", "empty file (no header row)")
            header = [h.strip() for h in header]
            cells: list[list[str]] = []
            rows: list[int] = []
            for k, record in enumerate(reader):
                if not record or all(not c.strip() for c in record):
                    continue  # a blank row: counted as a row, not a vault
                row = k + 2
                if len(record) != len(header):
                    raise BookError(
                        shown,
                        row,
                        header[0] if header else "",
                        f"row has {len(record)} fields, header has {len(header)}",
                    )
                cells.append(record)
                rows.append(row)
        except UnicodeDecodeError:
            raise BookError(shown, None, "", "not UTF-8 text (is it a CSV file?)") from None
        except csv.Error as exc:
            raise BookError(shown, reader.line_num, "", f"not a CSV file ({exc})") from None
    columns = {name: [r[j] for r in cells] for j, name in enumerate(header)}
    return header, columns, np.asarray(rows, dtype=np.int64)


def _parquet_columns(shown: str) -> tuple[list[str], dict[str, list[Any]], np.ndarray]:
    """The Parquet file's column names, its values by column, and each row's spreadsheet row."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(shown)
    except (pa.ArrowException, OSError) as exc:
        raise BookError(shown, None, "", f"not a readable Parquet file ({exc})") from None
    header = list(table.column_names)
    columns = {name: table.column(name).to_pylist() for name in header}
    return header, columns, np.arange(2, table.num_rows + 2, dtype=np.int64)


def _book(
    shown: str,
    header: list[str],
    columns: dict[str, list[Any]],
    rows: np.ndarray,
    rate: float | None,
) -> VaultBook:
    if len(set(header)) != len(header):
        twice = next(h for h in header if header.count(h) > 1)
        raise BookError(shown, 1, twice, "the column appears twice in the header")
    for name in REQUIRED:
        if name not in header:
            raise BookError(shown, 1, name, f"no such column ({_listed(header)})")
    if "debt" not in header and "art" not in header:
        raise BookError(shown, 1, "debt", f"no debt or art column ({_listed(header)})")
    if rows.size == 0:
        raise BookError(shown, 2, "ilk", "no vaults: the file has a header and no rows")
    ilk = _texts(shown, columns["ilk"], rows, "ilk", required=True)
    ink = _amounts(shown, columns["ink"], rows, "ink")
    if "debt" in header:
        if rate is not None:
            raise BookError(shown, 1, "debt", "the file gives debt: rate is for an art column")
        debt = _amounts(shown, columns["debt"], rows, "debt")
        debt_column = "debt"
    else:
        art = _amounts(shown, columns["art"], rows, "art")
        if "rate" in header:
            if rate is not None:
                raise BookError(shown, 1, "rate", "rate is given twice: in the file and the book")
            rates = _amounts(shown, columns["rate"], rows, "rate")
            zero = np.flatnonzero(rates <= 0)
            if zero.size:
                raise BookError(shown, int(rows[zero[0]]), "rate", "the rate must be > 0")
        elif rate is None:
            raise BookError(
                shown, 1, "art", "art is normalised debt: add a rate column or the book's rate"
            )
        else:
            rates = np.full(art.size, float(rate))
        debt = art * rates
        debt_column = "art"
    klass = _texts(shown, columns["class"], rows, "class") if "class" in header else None
    for values in (ilk, ink, debt, rows, *(() if klass is None else (klass,))):
        values.setflags(write=False)
    return VaultBook(shown, rows, ilk, ink, debt, klass, debt_column)


def _listed(header: list[str]) -> str:
    shown = ", ".join(h for h in header[:20] if len(h) <= 64)
    return f"columns: {shown}" if shown else "the first row is not a header of column names"


def _texts(
    shown: str, cells: list[Any], rows: np.ndarray, column: str, required: bool = False
) -> np.ndarray:
    out = np.array(["" if c is None else str(c).strip() for c in cells], dtype=object)
    if required:
        empty = np.flatnonzero(out == "")
        if empty.size:
            raise BookError(shown, int(rows[empty[0]]), column, "missing value")
    return out


def _amounts(shown: str, cells: list[Any], rows: np.ndarray, column: str) -> np.ndarray:
    """A column of amounts: numbers, finite, ≥ 0 (the first bad cell names its row)."""
    try:
        values = np.array(cells, dtype=np.float64)
    except (TypeError, ValueError):
        values = None
    if values is None:
        for k, cell in enumerate(cells):
            text = "" if cell is None else str(cell).strip()
            if not text:
                raise BookError(shown, int(rows[k]), column, "missing value")
            try:
                float(text)
            except ValueError:
                raise BookError(shown, int(rows[k]), column, "not a number") from None
        raise BookError(shown, int(rows[0]), column, "not a number")  # pragma: no cover
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise BookError(shown, int(rows[bad[0]]), column, "not a finite number")
    negative = np.flatnonzero(values < 0)
    if negative.size:
        k = negative[0]
        raise BookError(shown, int(rows[k]), column, f"{values[k]:.6g} is negative")
    return values


# ------------------------------------------------------------------------------ scenario side


def book_path(spec: BookSpec, context: Mapping[str, Any] | None) -> Path:
    """The book's file, resolved against the scenario's folder (``base_dir`` in ``context``)."""
    base = (context or {}).get("base_dir")
    return Path(spec.file) if base is None else Path(base) / spec.file


def cohort_size(cohort: Cohort, context: Mapping[str, Any] | None) -> tuple[int, float]:
    """The vaults a book cohort opens and their total debt [Dai].

    From the file's rows of the cohort's ilk (and classes), or ``resample.vaults`` and
    ``resample.debt`` (default: the rows' mean debt per vault times ``resample.vaults``).

    Raises:
        BookError: the file is unusable or has no row for the cohort.
    """
    spec = cohort.book
    book = read_book(book_path(spec, context), spec.rate)
    picked = book.select(cohort.ilk, spec.classes)
    if picked.size == 0:
        which = f" of class {', '.join(spec.classes)}" if spec.classes else ""
        raise BookError(book.path, None, "", f"no vault of ilk {cohort.ilk!r}{which} in the file")
    debt = book.debt[picked]
    total = float(debt.sum())
    if spec.resample is None:
        return int(picked.size), total
    n = spec.resample.vaults
    if spec.resample.debt is not None:
        return n, float(spec.resample.debt)
    return n, total / picked.size * n


def cohort_rows(scenario: Scenario, cohort: Cohort) -> tuple[np.ndarray, np.ndarray]:
    """The rows a book cohort reads: ``(ink, debt)`` [tokens, Dai], in file order.

    Raises:
        BookError: the file is unusable, or no longer gives the vault count validated.
    """
    spec = cohort.book
    book = read_book(scenario.resolve(spec.file), spec.rate)
    picked = book.select(cohort.ilk, spec.classes)
    if spec.resample is None and picked.size != cohort.vaults:
        raise BookError(
            book.path,
            None,
            "",
            f"the file changed since the scenario was validated: {picked.size} vaults of "
            f"{cohort.ilk}, not {cohort.vaults}",
        )
    return book.ink[picked], book.debt[picked]


def start_price(scenario: Scenario, asset: str) -> float | None:
    """An asset's price at the run's start [USD/token] (``None`` when its process fails)."""
    from sim.market.prices import DataError
    from sim.scenario.build import build_price_process

    try:
        process = build_price_process(scenario.collateral[asset].price, scenario)
        return float(process.path(0, scenario.clock.tick, np.random.default_rng(0))[0])
    except (DataError, ValueError, TypeError, KeyError):
        return None


def check_books(s: Scenario) -> list[tuple[tuple[Any, ...], str]]:
    """The book cohorts against the scenario: ilks, dust, safety at the start, overlaps.

    Each problem is ``(data path, message)``; a row's problem reads ``file:row:column: …``.
    """
    problems: list[tuple[tuple[Any, ...], str]] = []
    seen_files: set[Path] = set()
    claimed: dict[tuple[Path, str], list[tuple[int, tuple[str, ...] | None]]] = {}
    for i, cohort in enumerate(s.borrowers):
        spec = cohort.book
        ilk = s.ilks.get(cohort.ilk)
        if spec is None or ilk is None:
            continue
        where = ("borrowers", i, "book")
        try:
            book = read_book(s.resolve(spec.file), spec.rate)
            picked = book.select(cohort.ilk, spec.classes)
        except BookError as exc:
            problems.append(((*where, "file"), str(exc)))
            continue
        key = s.resolve(spec.file).resolve()
        if key not in seen_files:
            seen_files.add(key)
            unknown = np.flatnonzero(~np.isin(book.ilk, list(s.ilks)))
            if unknown.size:
                k = unknown[0]
                problems.append(
                    (
                        (*where, "file"),
                        str(
                            BookError(
                                book.path,
                                int(book.rows[k]),
                                "ilk",
                                f"unknown ilk {book.ilk[k]!r} (defined: {', '.join(s.ilks)})",
                            )
                        ),
                    )
                )
        classes = tuple(spec.classes) if spec.classes is not None else None
        opened = claimed.get((key, cohort.ilk), []) if spec.resample is None else []
        for j, other in opened:
            if classes is None or other is None or set(classes) & set(other):
                problems.append(
                    (
                        where,
                        f"borrowers.{j} reads the same vaults of {cohort.ilk} from this file: "
                        "give each cohort its own classes",
                    )
                )
        if spec.resample is None:  # a resampled cohort opens new vaults, not the rows
            claimed.setdefault((key, cohort.ilk), []).append((i, classes))
        price = start_price(s, ilk.collateral)
        if price is None:
            continue
        ink, debt = book.ink[picked], book.debt[picked]
        if spec.resample is None:
            problems.extend(_row_problems(book, picked, ilk, cohort.ilk, price, where))
        else:
            problems.extend(_resample_problems(cohort, ink, debt, ilk, price, where))
    return problems


def _row_problems(
    book: VaultBook, picked: np.ndarray, ilk: Any, name: str, price: float, where: tuple[Any, ...]
) -> list[tuple[tuple[Any, ...], str]]:
    """The first vault below dust and the first unsafe at the start price, by row."""
    out = []
    ink, debt, rows = book.ink[picked], book.debt[picked], book.rows[picked]
    dusty = np.flatnonzero((debt > 0) & (debt < ilk.dust))
    if dusty.size:
        k = dusty[0]
        out.append(
            (
                (*where, "file"),
                str(
                    BookError(
                        book.path,
                        int(rows[k]),
                        book.debt_column,
                        f"debt {debt[k]:,.6g} Dai is below {name}'s dust {ilk.dust:,.6g} Dai "
                        f"({dusty.size} vault{'s' if dusty.size > 1 else ''} in all)",
                    )
                ),
            )
        )
    unsafe = np.flatnonzero((debt > 0) & (ink * price <= debt * ilk.mat))
    if unsafe.size:
        k = unsafe[0]
        cr = ink[k] * price / debt[k]
        out.append(
            (
                (*where, "file"),
                str(
                    BookError(
                        book.path,
                        int(rows[k]),
                        "ink",
                        f"the vault's CR at the start price {price:,.6g} USD is {cr:.4g}, not "
                        f"above {name}'s mat {ilk.mat:g}: it would open unsafe ({unsafe.size} "
                        f"vault{'s' if unsafe.size > 1 else ''} in all)",
                    )
                ),
            )
        )
    return out


def _resample_problems(
    cohort: Cohort,
    ink: np.ndarray,
    debt: np.ndarray,
    ilk: Any,
    price: float,
    where: tuple[Any, ...],
) -> list[tuple[tuple[Any, ...], str]]:
    """A resampled cohort: enough source vaults, CRs above mat after the shift, sizes above dust."""
    res = cohort.book.resample
    out = []
    owing = debt > 0
    if owing.sum() < 2:
        out.append(((*where, "file"), "resample needs at least 2 vaults with debt in the book"))
        return out
    lowest = float(np.min(ink[owing] * price / debt[owing])) + res.cr_shift
    if lowest <= ilk.mat:
        out.append(
            (
                (*where, "resample", "cr_shift"),
                f"the book's lowest CR at the start price {price:,.6g} USD, shifted by "
                f"{res.cr_shift:+g}, is {lowest:.4g}, not above {cohort.ilk}'s mat {ilk.mat:g}: "
                "vaults would open unsafe",
            )
        )
    per_vault = cohort.debt / res.vaults
    if ilk.dust > 0 and per_vault < ilk.dust:
        out.append(
            (
                (*where, "resample", "vaults"),
                f"{per_vault:,.6g} Dai per vault is below {cohort.ilk}'s dust {ilk.dust:,.6g}",
            )
        )
    return out


def unread_rows(s: Scenario) -> list[str]:
    """Advisories: rows of a book file of a defined ilk that no cohort reads."""
    out = []
    readers: dict[Path, list[Cohort]] = {}
    first: dict[Path, int] = {}
    for i, cohort in enumerate(s.borrowers):
        if cohort.book is not None:
            key = s.resolve(cohort.book.file).resolve()
            readers.setdefault(key, []).append(cohort)
            first.setdefault(key, i)
    for key, cohorts in readers.items():
        spec = cohorts[0].book
        try:
            book = read_book(s.resolve(spec.file), spec.rate)
            read = np.zeros(book.ilk.size, dtype=bool)
            for c in cohorts:
                read[book.select(c.ilk, c.book.classes)] = True
        except BookError:
            continue
        left = ~read & np.isin(book.ilk, list(s.ilks))
        if left.any():
            debt = float(book.debt[left].sum())
            out.append(
                f"borrowers.{first[key]}.book.file: {int(left.sum())} vaults of {book.path} "
                f"({debt:,.0f} Dai; first on row {int(book.rows[left][0])}) are read by no cohort"
            )
    return out
