"""Field paths: walking the schema types along a data path, and naming what an error points at.

A pydantic error location mixes data keys with union tags (``collateral.ETH.price.gbm.vol``);
the helpers here turn it back into the data path the user wrote (``collateral.ETH.price.vol``)
and find its YAML line, and list the fields allowed where an unknown key was found.
"""

from __future__ import annotations

import difflib
import functools
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from sim.scenario.schema import Scenario
from sim.scenario.yamlfile import DataPath

#: Fields whose value selects the member of a union of sections.
TAG_FIELDS = ("process", "engine", "kind")


def unwrap(tp: Any) -> Any:
    """The type inside ``Annotated[...]`` and ``X | None``."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    args = [a for a in get_args(tp) if a is not type(None)]
    if get_origin(tp) in (Union, UnionType) and len(args) == 1:
        return unwrap(args[0])
    return tp


def is_model(tp: Any) -> bool:
    """Whether ``tp`` is a section (a pydantic model class)."""
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def union_members(tp: Any) -> list[type[BaseModel]]:
    """The sections of a union type (empty when ``tp`` is not a union of sections)."""
    tp = unwrap(tp)
    if get_origin(tp) not in (Union, UnionType):
        return []
    return [m for m in (unwrap(a) for a in get_args(tp)) if is_model(m)]


def member_by_tag(tp: Any, tag: Any) -> type[BaseModel] | None:
    """The member of a union of sections whose tag field (``process``, ``kind``…) is ``tag``."""
    for member in union_members(tp):
        for name in TAG_FIELDS:
            field = member.model_fields.get(name)
            if field is not None and tag in get_args(unwrap(field.annotation)):
                return member
    return None


def section_of(tp: Any, node: Any) -> type[BaseModel] | None:
    """The section class ``tp`` stands for, given its data ``node`` (a union picks by tag)."""
    tp = unwrap(tp)
    if is_model(tp):
        return tp
    if isinstance(node, dict):
        for name in TAG_FIELDS:
            if name in node:
                member = member_by_tag(tp, node[name])
                if member is not None:
                    return member
    return None


def fields_of(model: type[BaseModel]) -> list[str]:
    """The field names a section allows in a scenario file."""
    return [n for n, f in model.model_fields.items() if not f.exclude]


def step_type(tp: Any, part: Any) -> Any:
    """The type one step below ``tp`` along a pydantic error location."""
    tp = unwrap(tp)
    origin = get_origin(tp)
    if is_model(tp):
        field = tp.model_fields.get(part) if isinstance(part, str) else None
        return field.annotation if field is not None else None
    if origin is dict:
        return get_args(tp)[1]
    if origin in (list, tuple):
        return get_args(tp)[0]
    if origin in (Union, UnionType):
        return member_by_tag(tp, part)
    return None


@functools.lru_cache(maxsize=256)
def allowed_fields(loc: DataPath) -> tuple[str, ...]:
    """Field names allowed where an unknown key was found (``loc`` ends with that key)."""
    tp: Any = Scenario
    for part in loc[:-1]:
        tp = step_type(tp, part)
        if tp is None:
            return ()
    tp = unwrap(tp)
    return tuple(fields_of(tp)) if is_model(tp) else ()


def suggestion(name: Any, choices: list[str] | tuple[str, ...]) -> str:
    """``"; did you mean 'x'?"`` for the closest choice, or nothing."""
    close = difflib.get_close_matches(str(name), list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def data_path(loc: DataPath, data: Any) -> DataPath:
    """The longest prefix of an error location that exists in the data (union tags skipped)."""
    path: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str):
            # Either a union tag (skip it) or the missing/unknown field itself.
            continue
    return tuple(path)


def field_path(loc: DataPath, data: Any) -> str:
    """Dotted field path of an error location, without union tags."""
    out: list[str] = []
    node: Any = data
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            out.append(str(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(str(part))
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str):
            # A missing field is the last element; tags are followed by more elements.
            tag = _is_tag(node, part)
            if not tag:
                out.append(part)
                if i != len(loc) - 1:
                    node = None
        elif node is None:
            out.append(str(part))
    return ".".join(out)


def _is_tag(node: dict[str, Any], part: str) -> bool:
    return any(node.get(k) == part for k in TAG_FIELDS)
