"""The architecture checks itself: import layers, and a test file per module.

The layers are read from docs/ARCHITECTURE.md (between the ``layers`` markers), so the document
and the code cannot drift apart: each line there is a layer, and a module may import only from
its own layer and the layers above it. Every import counts, those inside functions (lazy) too;
only imports under ``if TYPE_CHECKING:`` are left out, since they never run.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sim"
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"
_BLOCK = re.compile(r"<!-- layers:begin.*?-->\n```\n(.*?)```\n<!-- layers:end -->", re.S)


def layers(text: str | None = None) -> list[list[str]]:
    """The layers listed in ARCHITECTURE.md, lowest first: each a list of module prefixes."""
    text = ARCHITECTURE.read_text() if text is None else text
    found = _BLOCK.search(text)
    assert found, "docs/ARCHITECTURE.md has no layers block"
    out = []
    for line in found.group(1).splitlines():
        names = line.split("#", 1)[0].split()
        if names:
            out.append(names)
    return out


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str, table: list[list[str]]) -> int:
    """The index of the layer whose longest prefix names ``module``."""
    best, where = -1, None
    for k, names in enumerate(table):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, where = len(name), k
    if where is None:
        raise AssertionError(f"{module} is in no layer of docs/ARCHITECTURE.md")
    return where


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return hidden


def imports(path: Path, module: str) -> Iterator[tuple[int, str]]:
    """``(line, module)`` of every cdpsim import in the file of ``module``, lazy ones included."""
    tree = ast.parse(path.read_text())
    hidden = _type_checking_nodes(tree)
    package = module
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "sim" or alias.name.startswith("sim."):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target == "sim" or target.startswith("sim."):
                if target == "sim":  # from sim import x: the module sim.x, else the package
                    for alias in node.names:
                        yield node.lineno, f"sim.{alias.name}"
                else:
                    yield node.lineno, target


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def violations(table: list[list[str]], files: dict[str, Path]) -> list[str]:
    """Every import that points up the layers, as ``file:line: what imports what``."""
    found = []
    for module, path in files.items():
        mine = layer_of(module, table)
        for line, target in imports(path, module):
            if target not in files and target.rpartition(".")[0] in files:
                target = target.rpartition(".")[0]  # from sim.x import name
            if target not in files:
                continue
            theirs = layer_of(target, table)
            if theirs > mine:
                found.append(
                    f"{_shown(path)}:{line}: {module} (layer {mine + 1}) imports "
                    f"{target} (layer {theirs + 1}, above it)"
                )
    return found


def test_every_module_is_in_a_layer():
    table = layers()
    for module in modules():
        layer_of(module, table)


def test_imports_point_down_the_layers():
    assert violations(layers(), modules()) == []


def test_a_wrong_import_is_caught(tmp_path):
    """The check is not vacuous: the protocol importing the model is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from sim.model import ProtocolModel\n    return ProtocolModel\n")
    files = {**modules(), "sim.protocol.bad": bad}
    found = violations(layers(), files)
    assert found == [f"{bad}:2: sim.protocol.bad (layer 2) imports sim.model (layer 6, above it)"]


@pytest.mark.parametrize(
    ("library", "allowed"),
    [
        ("matplotlib", ("sim.plots",)),
        ("solara", ("sim.app",)),
        ("mesa", ("sim.model", "sim.agents", "sim.rundir")),
        (
            "click",
            (
                "sim.cli",
                "sim.cli_gallery",
                "sim.cli_calibrate",
                "sim.cli_output",
                "sim.cli_sweep",
                "sim.cli_export",
                "sim.cli_examples",
            ),
        ),
        ("pyabc", ("sim.calibrate.abc",)),
    ],
)
def test_heavy_libraries_stay_in_their_layer(library, allowed):
    """Matplotlib only in plots, Solara only in the app, mesa not in the protocol."""
    for module, path in modules().items():
        tree = ast.parse(path.read_text())
        used = [
            node.lineno
            for node in ast.walk(tree)
            if (
                isinstance(node, ast.Import)
                and any(a.name.split(".")[0] == library for a in node.names)
            )
            or (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == library)
        ]
        if used and not any(module == a or module.startswith(a + ".") for a in allowed):
            raise AssertionError(f"{module} imports {library} (line {used[0]})")


def expected_test_files(module: str) -> tuple[str, ...]:
    """The test files that may stand for ``module``: ``test_<last>.py`` or ``test_<pkg>_<last>.py``."""
    parts = module.split(".")
    names = [f"test_{parts[-1]}.py"]
    if len(parts) > 2:
        names.append(f"test_{parts[-2]}_{parts[-1]}.py")
    return tuple(names)


def test_every_module_has_a_test_file_named_after_it():
    """Tests mirror modules, so a module's tests are found by its name (packages' __init__ aside)."""
    present = {p.name for p in (ROOT / "tests").glob("test_*.py")}
    missing = [
        f"{module} (expected {' or '.join(expected_test_files(module))})"
        for module, path in modules().items()
        if path.name != "__init__.py" and not any(n in present for n in expected_test_files(module))
    ]
    assert missing == []
