"""Checks of what a reader got from an output folder: a Parquet table's columns, a JSON file's shape.

An output folder is input to ``cdpsim plot``, ``report``, ``discover`` and the dashboard, and it
can be damaged (a half-copied file, a table from another folder, a manifest edited by hand). Each
reader checks what it read here, once, and raises its own user-facing error (``FolderError``,
``AnalysisError``, ...) with the file's path and the problem; the figures and tables after it can
rely on the columns and types they read. Nothing here reads files or raises.

Each check returns the problem as a phrase (``"column 'tick' holds text, not numbers"``), or
``None`` when there is none. :func:`format_problem` checks the format version a folder's
manifest states (the readers take only the version this cdpsim writes).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

#: Largest magnitude of a number in an output table. Nothing cdpsim records comes near it (an
#: amount of 1e100 Dai is damage, not a result), and matplotlib cannot draw an axis reaching 1e308.
MAX_MAGNITUDE = 1e100

#: Largest tick or count in an output table: whole numbers above it lose digits as floats.
MAX_COUNT = 2**53
#: Names of JSON kinds, for messages.
_KINDS = {
    dict: "an object",
    list: "a list",
    str: "text",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
}


def describe(value: Any) -> str:
    """A value's JSON kind and, when short, the value: ``text ('12h')``, ``a list``."""
    if value is None:
        return "null"
    for kind, name in _KINDS.items():
        if type(value) is kind:
            shown = repr(value) if kind in (str, int, float) and len(repr(value)) <= 40 else ""
            return f"{name} ({shown})" if shown else name
    return type(value).__name__


def _is(value: Any, kinds: tuple[type, ...]) -> bool:
    """Whether a JSON value is of one of ``kinds`` (a bool is no number; an int is a float)."""
    if isinstance(value, bool):
        return bool in kinds
    if isinstance(value, int) and float in kinds:
        return True
    return isinstance(value, kinds)


def shape_problem(data: Any, fields: Mapping[str, tuple[type, ...]]) -> str | None:
    """The first field of ``data`` that is not of its kinds, as a phrase; ``None`` if none.

    Args:
        data: a JSON object (already known to be a ``dict``).
        fields: dotted paths (``scenario.clock.tick``; ``*`` stands for every entry of an
            object or item of a list) and the kinds each may be. A missing field or ``null``
            is always allowed: readers give it a default.

    Returns:
        ``"'scenario.clock' is text ('12h'), not an object"``, or ``None``.
    """
    for path, kinds in fields.items():
        for where, value in _values(data, path.split(".")):
            if value is not None and not _is(value, kinds):
                wanted = " or ".join(dict.fromkeys(_KINDS[k] for k in kinds))
                return f"{where!r} is {describe(value)}, not {wanted}"
    return None


def _values(data: Any, keys: list[str], where: str = "") -> Iterable[tuple[str, Any]]:
    """``(path, value)`` of each value a dotted path reaches (parents of the wrong kind: none)."""
    if not keys:
        yield where, data
        return
    key, rest = keys[0], keys[1:]
    if key == "*":
        items = (
            data.items()
            if isinstance(data, dict)
            else enumerate(data)
            if isinstance(data, list)
            else ()
        )
        for k, value in items:
            yield from _values(value, rest, f"{where}.{k}" if where else str(k))
    elif isinstance(data, dict) and key in data:
        yield from _values(data[key], rest, f"{where}.{key}" if where else key)


def format_problem(manifest: Mapping[str, Any], version: int) -> str | None:
    """Why a folder's manifest is not of the format ``version``, as a phrase; ``None`` if it is.

    Every output folder states the version of its layout in its manifest (``"format": 1``); a
    reader takes only the version it writes, so no reader carries the paths of earlier layouts.

    Args:
        manifest: the folder's manifest (``manifest.json`` or ``batch.json``), a JSON object.
        version: the format version this cdpsim writes and reads.

    Returns:
        ``"written by an earlier cdpsim (no format version); run it again with this version"``,
        or for another version which one and what to do; ``None`` for ``version``.
    """
    found = manifest.get("format")
    if type(found) is int and found == version:
        return None
    if found is None:
        return "written by an earlier cdpsim (no format version); run it again with this version"
    if type(found) is int and found < version:
        return (
            f"written by an earlier cdpsim (format version {found}, this one reads {version}); "
            "run it again with this version"
        )
    if type(found) is int:
        return (
            f"written by a later cdpsim (format version {found}, this one reads {version}); "
            "read it with that version, or run it again with this one"
        )
    return (
        f"its format version is {describe(found)}, not one cdpsim writes (this one reads "
        f"{version}); run it again with this version"
    )


def plain_name(value: Any) -> bool:
    """Whether ``value`` can name a folder inside another: text without a path separator."""
    return (
        isinstance(value, str)
        and value not in ("", ".", "..")
        and not any(c in value for c in ("/", "\\", "\0"))
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _number_problem(name: str, values: pd.Series) -> str | None:
    if values.dtype.kind == "O":  # numbers and missing values (None) mixed are numbers too
        wrong = [v for v in values.dropna() if not _is_number(v)]
        if wrong:
            return f"column {name!r} holds {describe(wrong[0])}, not numbers"
    elif values.dtype.kind not in "iufb":  # dates, durations
        return f"column {name!r} holds {values.dtype} values, not numbers"
    numbers = values.to_numpy(dtype=np.float64)
    finite = numbers[np.isfinite(numbers)]
    if finite.size and np.max(np.abs(finite)) > MAX_MAGNITUDE:
        worst = finite[np.argmax(np.abs(finite))]
        return (
            f"column {name!r} holds {worst:g}, beyond any value cdpsim records "
            f"(|x| ≤ {MAX_MAGNITUDE:g})"
        )
    return None


def table_problem(
    table: pd.DataFrame,
    *,
    required: Sequence[str] = (),
    numbers: Iterable[str] = (),
    finite: Iterable[str] = (),
    whole: Iterable[str] = (),
    nonnegative: Iterable[str] = (),
    keys: Iterable[str] = (),
) -> str | None:
    """The first problem of a table read from an output folder, as a phrase; ``None`` if none.

    Columns named in ``numbers`` and the later groups but absent from the table are not checked
    (``required`` says which must be there).

    Args:
        table: the table.
        required: columns it must have.
        numbers: columns of numbers (no text; no finite value beyond :data:`MAX_MAGNITUDE`).
        finite: columns of numbers with no ±inf (NaN, a missing value, is allowed).
        whole: columns of whole numbers (ticks, counts); NaN allowed.
        nonnegative: columns with no value below 0.
        keys: columns whose values identify a row: no NaN, none repeated.
    """
    numbers, finite, whole = tuple(numbers), tuple(finite), tuple(whole)
    nonnegative, keys = tuple(nonnegative), tuple(keys)
    missing = [c for c in required if c not in table.columns]
    if missing:
        return f"no column {', '.join(map(repr, missing))}"
    if table.columns.duplicated().any():
        return f"column {table.columns[table.columns.duplicated()][0]!r} appears twice"
    checked: set[str] = set()
    for group in (numbers, finite, whole, nonnegative):
        for name in group:
            if name in table.columns and name not in checked:
                checked.add(name)
                problem = _number_problem(name, table[name])
                if problem:
                    return problem
    for name in finite:
        if name in table.columns and np.isinf(table[name].to_numpy(dtype=np.float64)).any():
            return f"column {name!r} holds an infinite value"
    for name in whole:
        if name in table.columns:
            values = table[name].to_numpy(dtype=np.float64)
            integral = np.isfinite(values) & (values == np.round(values))
            bad = values[~np.isnan(values) & ~integral]
            if bad.size:
                return f"column {name!r} holds {bad[0]:g}, not a whole number"
            if (np.abs(values) > MAX_COUNT).any():
                top = values[np.abs(values) > MAX_COUNT][0]
                return f"column {name!r} holds {top:g}, more than any tick or count cdpsim records"
    for name in nonnegative:
        if name in table.columns:
            values = table[name].to_numpy(dtype=np.float64)
            if (values < 0).any():
                return f"column {name!r} holds {values[values < 0][0]:g}, below 0"
    for name in keys:
        if name in table.columns:
            column = table[name]
            if column.isna().any():
                return f"column {name!r} has an empty value"
            hashable = column.map(repr) if column.dtype.kind == "O" else column  # lists, dicts
            repeated = column[hashable.duplicated()]
            if len(repeated):
                return f"column {name!r} repeats {_shown(repeated.iloc[0])}"
    return None


def _shown(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    if hasattr(value, "item"):
        value = value.item()
    return repr(value)


__all__ = [
    "MAX_COUNT",
    "MAX_MAGNITUDE",
    "describe",
    "format_problem",
    "plain_name",
    "shape_problem",
    "table_problem",
]
