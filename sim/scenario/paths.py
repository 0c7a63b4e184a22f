"""Field paths: walking a pydantic schema along a data path, and reading what its fields say.

One toolkit for every YAML file cdpsim reads (the :class:`Scenario`, a sweep file's model): the
root model is an argument, the scenario by default. A path is dotted text
(``ilks.ETH-A.liquidation.buf``) or its parts; named entries (ilks, collateral) and list indices
are stepped over, and a union of sections is resolved by its tag field (``process``, ``engine``,
``kind``) in the data where there is data, else by the first member that has the next field.

- walking: :func:`field_at` (the field at a path, with its unit and label), :func:`value_at`
  (the value at a path of data or of a model), :func:`allowed_fields`, :func:`section_of`;
- naming what a pydantic error points at: its location mixes data keys with union tags and
  pydantic's own labels (``collateral.ETH.price.gbm.vol``, ``seeds.list[int]``):
  :func:`field_path` gives the path the user wrote (``collateral.ETH.price.vol``) and
  :func:`data_path` its longest prefix in the data (for its YAML line).

The unit and label of a field are the schema's metadata (:data:`~sim.scenario.fields.UNIT`,
:data:`~sim.scenario.fields.LABEL`), on the field or on its type.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.scenario.fields import LABEL, UNIT
from sim.scenario.schema import Scenario
from sim.scenario.yamlfile import DataPath

#: Fields whose value selects the member of a union of sections.
TAG_FIELDS = ("process", "engine", "kind", "action")

#: pydantic's labels of union members and validator wrappers in an error's location
#: (``list[int]``, ``constrained-int``, ``function-after[…]``, ``int``), not the user's keys.
#: ``[key]`` (a mapping key that failed) is kept: it says the key itself is wrong.
_LOC_LABEL = re.compile(
    r"^(?!\[key\]$).*[\[\]]|^(int|float|str|bool|list|dict|tuple|none|nullable|union|chain)$"
    r"|^(constrained|function|lax|json|tagged|is|typed|model|dataclass|definition)-[a-z-]+$"
)

#: A path: dotted text, or its parts (list indices as ``int`` or digits).
FieldPath = str | Sequence[Any]


def parts_of(path: FieldPath) -> tuple[Any, ...]:
    """A path's parts: dotted text split at the dots (each part stripped), or the parts as given."""
    if isinstance(path, str):
        return tuple(p.strip() for p in path.split("."))
    return tuple(path)


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
    """The field names a section allows in a file (the loader's own fields left out)."""
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


def union_tags(loc: DataPath, root: type[BaseModel] = Scenario) -> tuple[str, ...]:
    """The tags (``process``, ``kind``… values) of the union of sections at ``loc``, if any."""
    tp: Any = root
    for part in loc:
        tp = step_type(tp, part)
        if tp is None:
            return ()
    tags: list[str] = []
    for member in union_members(tp):
        for name in TAG_FIELDS:
            field = member.model_fields.get(name)
            if field is not None:
                tags.extend(str(t) for t in get_args(unwrap(field.annotation)))
    return tuple(tags)


@functools.lru_cache(maxsize=256)
def allowed_fields(loc: DataPath, root: type[BaseModel] = Scenario) -> tuple[str, ...]:
    """Field names allowed where an unknown key was found.

    Args:
        loc: a pydantic error location (union tags included) ending with the unknown key.
        root: the file's model.
    """
    tp: Any = root
    for part in loc[:-1]:
        tp = step_type(tp, part)
        if tp is None:
            return ()
    tp = unwrap(tp)
    return tuple(fields_of(tp)) if is_model(tp) else ()


# ---------------------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class FieldAt:
    """A schema field found at the end of a path.

    Attributes:
        name: the field's name (the path's last part).
        info: its pydantic field (default, bounds, description, metadata).
        annotation: its type as declared (``Annotated`` and ``| None`` kept).
        section: the section (model class) holding it.
        keys: the mapping keys and list items stepped over on the way, each with the field
            holding it: ``(("ilks", "ETH-A"),)``, ``(("keepers", 0),)`` (an index as ``int``).
    """

    name: str
    info: FieldInfo
    annotation: Any
    section: type[BaseModel]
    keys: tuple[tuple[str, Any], ...] = ()

    @property
    def unit(self) -> str | None:
        """The field's unit (``Dai``, ``s``, ``-`` …), ``None`` where it has none."""
        return _metadata(self.info).get(UNIT)

    @property
    def label(self) -> str | None:
        """The field's short human label (``liquidation ratio``), ``None`` where it has none."""
        return _metadata(self.info).get(LABEL)

    @property
    def title(self) -> str:
        """The label, or the field's name with spaces (``stability_fee`` → ``stability fee``)."""
        return self.label or self.name.replace("_", " ")


def _metadata(info: FieldInfo) -> dict[str, Any]:
    """A field's metadata: its type's (inside ``| None`` and ``Annotated``), then its own."""
    out: dict[str, Any] = {}
    for item in _type_metadata(info.annotation):
        if isinstance(item, FieldInfo) and isinstance(item.json_schema_extra, dict):
            out.update(item.json_schema_extra)
    if isinstance(info.json_schema_extra, dict):
        out.update(info.json_schema_extra)
    return out


def _type_metadata(tp: Any) -> list[Any]:
    """The ``Annotated`` metadata of a type and of the one type inside ``X | None``."""
    out: list[Any] = []
    while True:
        if get_origin(tp) is Annotated:
            out = [*get_args(tp)[1:], *out]  # inner metadata first: the outer one wins
            tp = get_args(tp)[0]
            continue
        args = [a for a in get_args(tp) if a is not type(None)]
        if get_origin(tp) in (Union, UnionType) and len(args) == 1:
            tp = args[0]
            continue
        return out


def _pick(tp: Any, node: Any, part: Any) -> type[BaseModel] | None:
    """The section a (union) type stands for: by the data's tag, else the first with ``part``."""
    section = section_of(tp, node)
    if section is not None:
        return section
    for member in union_members(tp):
        if isinstance(part, str) and part in member.model_fields:
            return member
    return None


def _index(part: Any) -> int | None:
    """A list index given as ``int`` or as digits, else ``None``."""
    if isinstance(part, int) and not isinstance(part, bool):
        return part
    if isinstance(part, str) and part.isascii() and part.isdigit():
        return int(part)
    return None


def field_at(root: type[BaseModel], path: FieldPath, data: Any = None) -> FieldAt | None:
    """The schema field a path leads to.

    Args:
        root: the file's model (:class:`Scenario`, a sweep file's model…).
        path: ``ilks.ETH-A.liquidation.buf`` or its parts; mapping keys and list items (by
            index, or by name as ``--set`` takes them) are stepped over.
        data: the file's data (or a model instance), to pick a union's member by its tag; without
            it (or where the data has no tag) the first member that has the next field is taken.

    Returns:
        The field, or ``None`` when the path does not end at a field of a section.
    """
    tp: Any = root
    node: Any = data
    found: FieldAt | None = None
    keys: list[tuple[str, Any]] = []
    holder = ""  # the field holding the mapping or list stepped into
    for part in parts_of(path):
        found = None
        inner = unwrap(tp)
        origin = get_origin(inner)
        if origin is dict:
            tp = get_args(inner)[1]
            keys.append((holder, part))
        elif origin in (list, tuple):
            args = get_args(inner)
            k = _index(part)
            if origin is list or (len(args) == 2 and args[1] is Ellipsis):
                tp = args[0]
            elif k is not None and k < len(args):
                tp = args[k]
            else:
                return None
            keys.append((holder, part if k is None else k))
        else:
            section = _pick(inner, _plain_node(node), part)
            field = section.model_fields.get(part) if section and isinstance(part, str) else None
            if section is None or field is None:
                return None
            found = FieldAt(part, field, field.annotation, section, tuple(keys))
            tp = field.annotation
            holder = part
        node = value_at(node, (part,)) if node is not None else None
    return found


def _plain_node(node: Any) -> Any:
    """A model instance as the data its union tag is read from."""
    if isinstance(node, BaseModel):
        return {name: getattr(node, name) for name in TAG_FIELDS if name in type(node).model_fields}
    return node


def value_at(source: Any, path: FieldPath) -> Any:
    """The value at a path of data (mappings and lists) or of a model, ``None`` where unset.

    Args:
        source: a file's data, or a model instance (a :class:`Scenario`).
        path: ``keepers.0.dai`` or its parts (list indices as ``int`` or digits).

    Returns:
        The value, or ``None`` where the path does not exist (or its value is ``None``).
    """
    node = source
    for part in parts_of(path):
        if isinstance(node, BaseModel):
            node = getattr(node, part) if part in type(node).model_fields else None
        elif isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list | tuple):
            k = _index(part)
            node = node[k] if k is not None and k < len(node) else None
        else:
            return None
        if node is None:
            return None
    return node


# ---------------------------------------------------------------------------------------- errors


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
    """Dotted field path of an error location, without union tags and pydantic's labels."""
    out: list[str] = []
    node: Any = data
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            out.append(str(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(str(part))
            node = node[part]
        elif isinstance(part, str) and _LOC_LABEL.search(part):
            continue  # a union member's or a validator's label
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
