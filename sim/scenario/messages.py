"""Messages for people: pydantic's validation errors as ``file:line: field: message`` items.

One translator for every YAML file cdpsim reads — scenario files, ``--set`` overrides and sweep
files alike — given the file's root model: each error in the user's field names (never
pydantic's union tags or labels), located at its YAML line (or at the override to blame), an
unknown key with the closest allowed name (``did you mean 'mat'?``) and the allowed ones, a
wrong value quoted (cut to :data:`SHOWN_VALUE_CHARS`; lists and mappings by their size), each
problem once, at most :data:`~sim.scenario.errors.MAX_ERRORS` of them and the rest counted.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from numbers import Integral, Real
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.scenario.errors import MAX_ERRORS, ErrorItem
from sim.scenario.paths import allowed_fields, data_path, field_path, union_tags
from sim.scenario.schema import Scenario
from sim.scenario.yamlfile import DataPath

#: Longest value quoted in a message [characters]; longer ones are cut with "…".
SHOWN_VALUE_CHARS = 60

#: pydantic error types whose message gains the value given, "(got …)".
_SHOW_INPUT = frozenset(
    {
        "float_type",
        "int_type",
        "string_type",
        "bool_type",
        "dict_type",
        "list_type",
        "model_type",
        "tuple_type",
        "literal_error",
        "float_parsing",
        "int_parsing",
        "finite_number",
        "model_attributes_type",
    }
)

#: Where a problem at a data path is blamed: the file (or the override) and its line.
Locate = Callable[[DataPath], tuple[str, int | None]]


def locator(
    filename: str,
    lines: Mapping[DataPath, int] | None = None,
    overridden: Mapping[DataPath, str] | None = None,
) -> Callable[..., tuple[str, int | None]]:
    """Where to blame a problem at a data path: the override that set it, or its YAML line.

    Args:
        filename: the file's name in messages.
        lines: the YAML line of each data path.
        overridden: the data paths set by ``--set`` and the override's text.

    Returns:
        ``locate(path, below=False) -> (file, line)``: a problem at ``path`` (or, with
        ``below``, one of a whole section caused by overriding one of its fields, such as the
        run's length) is blamed on ``"file (--set text)"`` without a line when an override set
        it, else on the line of ``path``'s longest prefix in the file.
    """
    lines = lines or {}
    overridden = overridden or {}

    def locate(path: DataPath, below: bool = False) -> tuple[str, int | None]:
        for k in range(len(path), 0, -1):
            if path[:k] in overridden:
                return f"{filename} (--set {overridden[path[:k]]})", None
        if below:
            for set_path, text in overridden.items():
                if set_path[: len(path)] == path:
                    return f"{filename} (--set {text})", None
        found = path
        while found and found not in lines:
            found = found[:-1]
        return filename, lines.get(found)

    return locate


def suggestion(name: Any, choices: list[str] | tuple[str, ...]) -> str:
    """``"; did you mean 'x'?"`` for the closest choice, or nothing."""
    close = difflib.get_close_matches(str(name), list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def shown(value: Any, limit: int = SHOWN_VALUE_CHARS, digits: int | None = None) -> str:
    """A value as quoted in a message: ``repr`` of a scalar cut to ``limit``; a size for others.

    Lists and mappings are never printed: they may be huge, or share parts (YAML aliases).

    Args:
        value: the value.
        limit: the longest text [characters]; longer ones end in "…".
        digits: significant digits of a float, numpy's too (``None``: its ``repr``, every
            digit).
    """
    if isinstance(value, dict):
        return f"a mapping of {len(value)} keys"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} items"
    if digits is not None and isinstance(value, Real) and not isinstance(value, Integral):
        return f"{value:.{digits}g}"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def schema_errors(
    exc: ValidationError, data: Any, locate: Locate, root: type[BaseModel] = Scenario
) -> tuple[list[ErrorItem], int]:
    """The first :data:`MAX_ERRORS` distinct schema errors, and how many more there are.

    Only the errors listed are located and worded, so a file with a million unknown keys
    costs no more than one with fifty.

    Args:
        exc: pydantic's error.
        data: the data validated (the YAML document as Python data).
        locate: the file and line to blame for a problem at a data path.
        root: the model validated (for the fields an unknown key could have been).

    Returns:
        The items, and the number of errors left out.
    """
    items: list[ErrorItem] = []
    seen: set[tuple[Any, ...]] = set()
    errors = exc.errors(include_url=False, include_context=True)
    for k, err in enumerate(errors):
        loc = tuple(err["loc"])
        file, line = locate(data_path(loc, data))
        item = ErrorItem(file, line, field_path(loc, data), message(err, root))
        key = (item.line, item.path, item.message)
        if key in seen:
            continue
        seen.add(key)
        items.append(item)
        if len(items) == MAX_ERRORS:
            return items, len(errors) - k - 1
    return items, 0


def message(err: Mapping[str, Any], root: type[BaseModel] = Scenario) -> str:
    """A pydantic error (one of ``ValidationError.errors()``) as a message for people."""
    kind = err.get("type", "")
    msg = str(err.get("msg", ""))
    if kind == "extra_forbidden":
        loc = tuple(err.get("loc", ()))
        allowed = allowed_fields(loc, root)
        if not allowed:
            return "unknown field"
        hint = suggestion(loc[-1] if loc else "", allowed)
        return f"unknown field{hint} (allowed: {', '.join(allowed)})"
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        tag = shown(ctx.get("tag"))
        return (
            f"unknown {ctx.get('discriminator', 'kind')} {tag}; "
            f"expected one of {ctx.get('expected_tags')}"
        )
    if kind == "union_tag_not_found":
        ctx = err.get("ctx", {})
        tags = union_tags(tuple(err.get("loc", ())), root)
        expected = f"; one of {', '.join(repr(t) for t in tags)}" if tags else ""
        return f"missing {ctx.get('discriminator', 'kind')}{expected}"
    if kind in ("model_attributes_type", "model_type", "dict_type"):
        return f"expected a mapping of fields here (got {shown(err.get('input'))})"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind in _SHOW_INPUT or kind.startswith(
        ("greater_than", "less_than", "too_short", "too_long")
    ):
        return f"{msg} (got {shown(err.get('input'))})"
    return msg
