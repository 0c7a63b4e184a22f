"""Loading: a scenario file (and ``--set`` overrides) → a validated, frozen :class:`Scenario`.

Loading is strict and safe: YAML is read with limits and the safe constructor (nothing is
executed), unknown keys, wrong types, out-of-range values, data files outside the scenario's
folder, missing or unusable data and runs too large for the machine are all errors, reported
at once (up to :data:`~sim.scenario.errors.MAX_ERRORS`) as ``file:line: path.to.field:
message`` before anything runs. Errors caused by an override name the override instead of a
line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.files import is_sweep_data
from sim.scenario.checks import cross_check
from sim.scenario.errors import MAX_ERRORS, ErrorItem, ScenarioError
from sim.scenario.overrides import apply_overrides
from sim.scenario.paths import allowed_fields, data_path, field_path, suggestion
from sim.scenario.schema import LOADER_FIELDS, Scenario
from sim.scenario.yamlfile import DataPath, read_yaml

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
    }
)


def load_scenario(
    path: str | Path, overrides: Sequence[str] = (), data_dirs: Sequence[str | Path] = ()
) -> Scenario:
    """Load, override and validate a scenario file.

    Args:
        path: the YAML file.
        overrides: ``"path.to.field=value"`` strings applied before validation.
        data_dirs: folders besides the scenario's own that data files may come from.

    Returns:
        The validated, frozen scenario.

    Raises:
        ScenarioError: every problem, as ``file:line: field: message``.
    """
    path = Path(path)
    data, lines = read_yaml(path)
    overridden = apply_overrides(data, overrides, str(path))
    return validate_data(
        data,
        filename=str(path),
        base_dir=path.parent,
        lines=lines,
        overridden=overridden,
        data_dirs=data_dirs,
    )


def with_overrides(
    scenario: Scenario,
    overrides: Sequence[str],
    data_dirs: Sequence[str | Path] | None = None,
) -> Scenario:
    """A copy of ``scenario`` with ``path=value`` overrides applied and validated.

    Args:
        scenario: the scenario.
        overrides: ``"path.to.field=value"`` strings.
        data_dirs: extra data folders; default the scenario's own.

    Raises:
        ScenarioError: every problem.
    """
    data = scenario.to_dict()
    filename = f"<{scenario.name}>"
    overridden = apply_overrides(data, overrides, filename)
    return validate_data(
        data,
        filename=filename,
        base_dir=scenario.base_dir,
        overridden=overridden,
        data_dirs=scenario.data_dirs if data_dirs is None else data_dirs,
    )


#: What a sweep file given where a scenario file belongs is told.
SWEEP_FILE_MESSAGE = (
    "this is a sweep file (base, design, parameters), not a scenario file: run it with cdpsim sweep"
)


def validate_data(
    data: Any,
    *,
    filename: str,
    base_dir: str | Path,
    lines: Mapping[DataPath, int] | None = None,
    overridden: Mapping[DataPath, str] | None = None,
    data_dirs: Sequence[str | Path] = (),
) -> Scenario:
    """Validate already-parsed scenario data.

    Args:
        data: the YAML document as Python data.
        filename: name used in error messages.
        base_dir: folder that relative paths are resolved against.
        lines: YAML line of each data path (for messages).
        overridden: data paths set by ``--set`` and the override text (for messages).
        data_dirs: folders besides ``base_dir`` that data files may come from.

    Returns:
        The scenario.

    Raises:
        ScenarioError: listing every problem.
    """
    lines = lines or {}
    overridden = overridden or {}
    if not isinstance(data, dict):
        raise ScenarioError(
            [ErrorItem(filename, 1, "", "a scenario file must be a mapping of sections")]
        )

    def locate(path: DataPath, below: bool = False) -> tuple[str, int | None]:
        """The file (or override) and line to blame for a problem at ``path``.

        With ``below``, an override of a field under ``path`` is blamed too (a problem of a
        whole section, such as the run's length, caused by overriding one of its fields).
        """
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

    if is_sweep_data(data):
        file, line = locate(("base",) if "base" in data else ("design",))
        raise ScenarioError([ErrorItem(file, line, "", SWEEP_FILE_MESSAGE)])
    for name in LOADER_FIELDS:
        if name in data:
            file, line = locate((name,))
            raise ScenarioError([ErrorItem(file, line, name, "unknown field")])
    dirs = tuple(str(d) for d in data_dirs)
    payload = {**data, "base_dir": str(base_dir), "data_dirs": dirs}
    context = {"base_dir": str(base_dir), "data_dirs": dirs}
    try:
        scenario = Scenario.model_validate(payload, context=context)
    except ValidationError as exc:
        items, omitted = _schema_errors(exc, data, locate)
        raise ScenarioError(items, omitted) from None
    problems = list(dict.fromkeys(cross_check(scenario)))  # the same finding once
    if problems:
        items = []
        for path, message in problems:
            file, line = locate(path, below=True)
            items.append(ErrorItem(file, line, ".".join(str(p) for p in path), message))
        raise ScenarioError(items)
    return scenario


def _schema_errors(exc: ValidationError, data: Any, locate: Any) -> tuple[list[ErrorItem], int]:
    """The first :data:`MAX_ERRORS` distinct schema errors, and how many more there are.

    Only the errors listed are located and worded, so a file with a million unknown keys
    costs no more than one with fifty.
    """
    items: list[ErrorItem] = []
    seen: set[tuple[Any, ...]] = set()
    errors = exc.errors(include_url=False, include_context=True)
    for k, err in enumerate(errors):
        loc = tuple(err["loc"])
        file, line = locate(data_path(loc, data))
        item = ErrorItem(file, line, field_path(loc, data), _message(err))
        key = (item.line, item.path, item.message)
        if key in seen:
            continue
        seen.add(key)
        items.append(item)
        if len(items) == MAX_ERRORS:
            return items, len(errors) - k - 1
    return items, 0


def _message(err: Mapping[str, Any]) -> str:
    """A pydantic error as a message for people."""
    kind = err.get("type", "")
    msg = str(err.get("msg", ""))
    if kind == "extra_forbidden":
        loc = tuple(err.get("loc", ()))
        allowed = allowed_fields(loc)
        if not allowed:
            return "unknown field"
        hint = suggestion(loc[-1] if loc else "", allowed)
        return f"unknown field{hint} (allowed: {', '.join(allowed)})"
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        tag = _shown(ctx.get("tag"))
        return (
            f"unknown {ctx.get('discriminator', 'kind')} {tag}; "
            f"expected one of {ctx.get('expected_tags')}"
        )
    if kind == "union_tag_not_found":
        ctx = err.get("ctx", {})
        return f"missing {ctx.get('discriminator', 'kind')}"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind in _SHOW_INPUT or kind.startswith(
        ("greater_than", "less_than", "too_short", "too_long")
    ):
        return f"{msg} (got {_shown(err.get('input'))})"
    return msg


def _shown(value: Any) -> str:
    """``repr`` of a scalar from the file, cut to :data:`SHOWN_VALUE_CHARS`; a size for others.

    Lists and mappings are never printed: they may be huge, or share parts (YAML aliases).
    """
    if isinstance(value, dict):
        return f"a mapping of {len(value)} keys"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} items"
    text = repr(value)
    return text if len(text) <= SHOWN_VALUE_CHARS else text[: SHOWN_VALUE_CHARS - 1] + "…"
