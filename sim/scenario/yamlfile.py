"""Safe YAML with line numbers and limits: a scenario file → plain data and the line of each path.

Only the YAML core types are built (no tags that construct objects); anchors, aliases and merge
keys (``<<: *defaults``) work. Hostile files are refused before they cost time or memory: a file
over :data:`MAX_FILE_BYTES`, a document of over :data:`MAX_NODES` nodes (counted on the parser's
events, before anything is built), a document whose aliases expand it past :data:`MAX_NODES`
nodes (an "alias bomb": a few lines that expand to billions of nodes; every visit of an aliased
node counts), or one nested deeper than :data:`MAX_DEPTH`. Every refusal is a
:class:`~sim.scenario.errors.ScenarioError` naming the file and, where there is one, the line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sim.files import file_problem
from sim.scenario.errors import ErrorItem, ScenarioError

#: Largest scenario file [bytes]: scenarios are a few kB; data belongs in CSV files.
MAX_FILE_BYTES = 5 * 1024 * 1024
#: Most nodes (values, keys, lists, mappings) in one document, and most built from it counting
#: each visit of an aliased node again: a scenario has a few hundred.
MAX_NODES = 100_000
#: Deepest nesting of sections (real scenarios nest about six levels).
MAX_DEPTH = 50

#: Longest key quoted in a message [characters].
SHOWN_KEY_CHARS = 40

#: A data path: mapping keys and list indices from the document's root.
DataPath = tuple[Any, ...]

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
#: libyaml's parser when it is installed (fast, and it bounds nesting itself); else pure Python.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> tuple[Any, dict[DataPath, int]]:
    """Read a scenario file: its data and the 1-based line of every mapping value and list item.

    Args:
        path: the file.

    Returns:
        ``(data, lines)``.

    Raises:
        ScenarioError: the file is missing, not a regular file (a folder, FIFO or device: see
            :func:`~sim.files.file_problem`), too large, not UTF-8, malformed or
            hostile.
    """
    filename = str(path)

    def fail(message: str, line: int | None = None, field: str = "") -> ScenarioError:
        return ScenarioError([ErrorItem(filename, line, field, message)])

    problem = file_problem(path)
    if problem is not None:  # a FIFO would block the open below, a device never end
        raise fail(problem)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise fail(_too_big(size))
        with path.open("rb") as handle:
            # Read one byte more than allowed: a file that grows is caught too.
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise fail("file not found") from None
    except OSError as exc:
        raise fail(f"cannot read: {exc.strerror or type(exc).__name__}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise fail(_too_big(MAX_FILE_BYTES, at_least=True))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise fail("not UTF-8 text", line) from None
    return compose(text, filename)


def _too_big(size: int, at_least: bool = False) -> str:
    return (
        f"the file has {'over ' if at_least else ''}{size:,} bytes, above the limit of "
        f"{MAX_FILE_BYTES:,} bytes ({MAX_FILE_BYTES // 1024**2} MB) for a scenario file "
        "(put data in CSV files)"
    )


def compose(text: str, filename: str) -> tuple[Any, dict[DataPath, int]]:
    """Parse YAML text into plain data and the line of each data path.

    Args:
        text: the YAML document.
        filename: name used in error messages.

    Returns:
        ``(data, lines)``: ``lines[path]`` is the line of the key (mapping values) or of the
        item (list items).

    Raises:
        ScenarioError: malformed YAML, a tag, a complex key, a duplicate key, too many nodes,
            too deep.
    """
    try:
        return _compose(text)
    except _BadNode as bad:
        field = ".".join(str(p) for p in bad.path)
        raise ScenarioError([ErrorItem(filename, bad.line, field, bad.message)]) from None
    except RecursionError:
        raise ScenarioError(
            [ErrorItem(filename, None, "", "malformed YAML: nested too deeply")]
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        message = f"malformed YAML: {problem}" + (f" ({context})" if context else "")
        raise ScenarioError([ErrorItem(filename, line, "", message)]) from None


def load_value(text: str) -> Any:
    """One YAML value (e.g. of a ``--set`` override), under the same limits as a file.

    Raises:
        yaml.YAMLError: the text is not YAML.
        ValueError: the value is too large, too deep or uses tags.
    """
    try:
        data, _ = _compose(text)
    except _BadNode as bad:
        raise ValueError(bad.message) from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
    return data


def _compose(text: str) -> tuple[Any, dict[DataPath, int]]:
    _count_events(text)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        builder = _Builder(loader)
        data = builder.build(node, ()) if node is not None else None
        return data, builder.lines
    finally:
        loader.dispose()


def _count_events(text: str) -> None:
    """Refuse a document of over :data:`MAX_NODES` nodes from its parser events (cheap)."""
    parser = _Loader(text)
    try:
        nodes = 0
        for event in iter(parser.get_event, None):
            if isinstance(event, yaml.NodeEvent):
                nodes += 1
                if nodes > MAX_NODES:
                    raise _BadNode(
                        event.start_mark.line + 1,
                        (),
                        f"the document has over {MAX_NODES:,} values (a scenario has a few "
                        "hundred; put data in CSV files)",
                    )
    finally:
        parser.dispose()


class _BadNode(Exception):
    def __init__(self, line: int, path: DataPath, message: str):
        self.line, self.path, self.message = line, path, message


class _Builder:
    """Builds plain data from a composed node graph, counting every node it builds.

    PyYAML shares one node between an anchor and its aliases, so a node seen before is an alias
    being expanded: every visit counts against :data:`MAX_NODES`.
    """

    def __init__(self, loader: Any):
        self.loader = loader
        self.lines: dict[DataPath, int] = {}
        self.nodes = 0

    def build(self, node: yaml.Node, path: DataPath) -> Any:
        line = node.start_mark.line + 1
        self._count(node, line, path)
        self.lines.setdefault(path, line)
        if len(path) > MAX_DEPTH:
            raise _BadNode(line, path[:2], "nested too deeply (a recursive anchor?)")
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP_TAG:
                raise _BadNode(line, path, f"tags are not allowed ({node.tag})")
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                raise _BadNode(line, path, f"tags are not allowed ({node.tag})")
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _count(self, node: yaml.Node, line: int, path: DataPath) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            # The document itself is below the limit (counted before): aliases expanded it.
            raise _BadNode(
                line,
                path[:2],
                f"aliases expand the document to over {MAX_NODES:,} values (an alias bomb?)",
            )

    def _mapping(self, node: yaml.MappingNode, path: DataPath) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        explicit: set[Any] = set()
        merges = [value for key, value in node.value if key.tag == _MERGE_TAG]
        for value in merges:
            # "<<: *a" or "<<: [*a, *b]": the first mapping that has a key wins.
            sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    raise _BadNode(source.start_mark.line + 1, path, "<< merges mappings only")
                for key, item in self.build(source, path).items():
                    out.setdefault(key, item)
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key_line = key_node.start_mark.line + 1
            self._count(key_node, key_line, path)
            if not isinstance(key_node, yaml.ScalarNode):
                raise _BadNode(key_line, path, "keys must be plain names, not lists or mappings")
            key = self._scalar(key_node, path)
            if not isinstance(key, str):
                raise _BadNode(
                    key_line,
                    path,
                    f"keys are names: quote {key_node.value[:SHOWN_KEY_CHARS]!r} to use it as one",
                )
            if key in explicit:
                raise _BadNode(key_line, (*path, key), "duplicate key")
            explicit.add(key)
            self.lines[(*path, key)] = key_line
            out[key] = self.build(value_node, (*path, key))
        return out

    def _scalar(self, node: yaml.Node, path: DataPath) -> Any:
        """A scalar's value; a value PyYAML cannot read (e.g. the date 2020-13-45) is an error."""
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, OverflowError) as exc:
            raise _BadNode(
                node.start_mark.line + 1, path, f"cannot read the value: {exc}"
            ) from None
