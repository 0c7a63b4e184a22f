"""``--set path.to.field=value`` overrides: parsing them and applying them to scenario data.

An override follows the schema as it walks its path, so a typo is reported once, at the
override, with the names that exist (``unknown ilk 'ETH-B' (defined: ETH-A); did you mean
'ETH-A'?``), instead of validation errors about a half-built entry. Overrides change existing
named entries of ``collateral`` and ``ilks`` but never add one; list items are addressed by index
(``borrowers.0.debt``) and must exist; a missing optional section (``dai``, ``system.psm``…) is
created, and validation then asks for its required fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, get_args, get_origin

import yaml

from sim.scenario.errors import ErrorItem, ScenarioError
from sim.scenario.messages import suggestion
from sim.scenario.paths import fields_of, is_model, section_of, unwrap
from sim.scenario.schema import Scenario
from sim.scenario.yamlfile import DataPath, load_value

#: Maps of named entries that an override may change but not extend, and what an entry is.
NAMED_ENTRIES = {"collateral": "collateral", "ilks": "ilk"}
#: What an item of each list is called in messages.
LIST_ITEMS = {
    "borrowers": "cohort",
    "keepers": "keeper group",
    "points": "point",
    "spells": "spell",
    "governors": "governor",
    "do": "action",
}


class OverrideError(ValueError):
    """An override that cannot be applied; ``path`` is the part of its path that is wrong."""

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)

    def __reduce__(self):
        """Pickle with the constructor's arguments (process pools send errors back)."""
        return (type(self), (self.path, self.message))


def parse_override(text: str) -> tuple[tuple[str, ...], Any]:
    """Parse ``a.b.c=value`` into a path and a YAML-typed value.

    Raises:
        ValueError: when the text has no ``=`` or an empty path, or the value breaks the YAML
            limits of :mod:`sim.scenario.yamlfile` (an alias bomb, too many values).
    """
    if "=" not in text:
        raise ValueError(f"override {text!r} must look like path.to.field=value")
    key, _, raw = text.partition("=")
    parts = tuple(p.strip() for p in key.strip().split("."))
    if not key.strip() or any(not p for p in parts):
        raise ValueError(f"override {text!r} has an empty field name")
    try:
        value = load_value(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw  # not YAML: the text itself
    except ValueError as exc:
        raise ValueError(f"override {key.strip()}: {exc}") from None
    return parts, value


def apply_override(
    data: dict[str, Any],
    parts: Sequence[str],
    value: Any,
    created: list[DataPath] | None = None,
) -> DataPath:
    """Set ``data[parts] = value`` in place, following the schema.

    Args:
        data: scenario data (a YAML document as Python data).
        parts: the dotted path, split; list indices are numbers.
        value: the new value.
        created: if given, the path of each section the override creates is appended to it.

    Returns:
        The path as data keys (list indices as ``int``).

    Raises:
        OverrideError: an unknown section, field or named entry, a list index out of range, or a
            path through a value.
    """
    return _walk(data, parts, value, created, write=True)


def override_path(data: dict[str, Any], parts: Sequence[str]) -> DataPath:
    """The data path an override of ``parts`` would set, checked as :func:`apply_override` does.

    ``data`` is left as it is.

    Raises:
        OverrideError: as :func:`apply_override`.
    """
    return _walk(data, parts, None, None, write=False)


def _walk(
    data: dict[str, Any],
    parts: Sequence[str],
    value: Any,
    created: list[DataPath] | None,
    *,
    write: bool,
) -> DataPath:
    """Follow ``parts`` through the schema and the data; with ``write``, set the value."""
    tp: Any = Scenario
    node: Any = data
    typed: list[Any] = []
    for depth, part in enumerate(parts):
        where = ".".join(parts[:depth])
        here = ".".join(parts[: depth + 1])
        key, tp = _step(tp, node, part, where, here, depth)
        typed.append(key)
        if depth == len(parts) - 1:
            if write:
                node[key] = value
            break
        child = node[key] if isinstance(node, list) or key in node else None
        if child is None:
            child = {}
            if write:
                node[key] = child
            if created is not None:
                created.append(tuple(typed))
        elif not isinstance(child, dict | list):
            raise OverrideError(here, f"is a value, not a section: cannot set {parts[depth + 1]!r}")
        node = child
    return tuple(typed)


def _step(tp: Any, node: Any, part: str, where: str, here: str, depth: int) -> tuple[Any, Any]:
    """One step of :func:`apply_override`: the data key for ``part`` and the type below it."""
    tp = unwrap(tp)
    origin = get_origin(tp)
    last = where.rsplit(".", 1)[-1]
    if isinstance(node, list):
        item = LIST_ITEMS.get(last, "item")
        below = get_args(tp)[0] if origin is list else None
        if part.isascii() and part.isdigit() and int(part) < len(node):
            return int(part), below
        # A named item (a cohort, a keeper group) may be given by its name.
        names = [str(x.get("name")) for x in node if isinstance(x, dict) and "name" in x]
        if part in names:
            return names.index(part), below
        if not node:
            have = "none"
        elif len(node) == 1:
            have = "only item 0"
        else:
            have = f"items 0 to {len(node) - 1}"
        if names:
            have += " or by name: " + ", ".join(names)
        hint = suggestion(part, names) if names else ""
        raise OverrideError(here, f"no {item} {part!r} in {where} ({have}){hint}")
    if origin is dict:
        if part not in node and last in NAMED_ENTRIES and depth == 1:
            entry = NAMED_ENTRIES[last]
            names = [str(n) for n in node]
            hint = suggestion(part, names) or f"; --set changes existing {last} only"
            raise OverrideError(
                here, f"unknown {entry} {part!r} (defined: {', '.join(names)}){hint}"
            )
        return part, get_args(tp)[1]
    section = section_of(tp, node)
    if section is not None:
        allowed = fields_of(section)
        if part not in allowed:
            what = "section" if depth == 0 else "field"
            inside = f" in {where}" if where else ""
            raise OverrideError(
                here,
                f"unknown {what} {part!r}{inside} (allowed: {', '.join(allowed)})"
                + suggestion(part, allowed),
            )
        return part, section.model_fields[part].annotation
    if tp is None or is_model(tp) or get_origin(tp) is not None:
        # A union whose member the data does not name yet: validation checks the result.
        return part, None
    raise OverrideError(where, f"is a value, not a section: cannot set {part!r}")


def apply_overrides(data: Any, overrides: Sequence[str], filename: str) -> dict[DataPath, str]:
    """Apply ``--set`` overrides to scenario data in place.

    Args:
        data: scenario data (a YAML document as Python data).
        overrides: ``"path.to.field=value"`` strings.
        filename: name used in error messages.

    Returns:
        The data path set by each override and the override's text (to blame it in messages).

    Raises:
        ScenarioError: every override that cannot be applied, blamed on the override.
    """
    overridden: dict[DataPath, str] = {}
    errors = []
    for text in overrides:
        blame = f"{filename} (--set {text})"
        try:
            parts, value = parse_override(text)
            if not isinstance(data, dict):
                raise OverrideError("", "the file is not a mapping of sections")
            created: list[DataPath] = []
            overridden[apply_override(data, parts, value, created)] = text
            for path in created:  # problems inside a section the override made are its own
                overridden.setdefault(path, text)
        except OverrideError as exc:
            errors.append(ErrorItem(blame, None, exc.path, exc.message))
        except ValueError as exc:
            errors.append(ErrorItem(blame, None, "", str(exc)))
    if errors:
        raise ScenarioError(errors)
    return overridden
