"""The example scenarios, sweeps and their data files shipped with cdpsim (``sim/examples/``).

In the repository ``sim/examples`` is a symbolic link to ``scenarios/``: the files the README,
the docs and the tests name are the files the package ships, with one copy in the repository.
pyproject.toml's package data puts them into the wheel (``sim/examples/**``, the data files
with them), so an installed cdpsim has them without a checkout; an editable install reads them
through the link.

``cdpsim examples DIR`` copies them out (:func:`copy_examples`); ``cdpsim run NAME`` with a bare
name that is no file here runs the shipped scenario of that name (:func:`find_example`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from sim.atomic import write_bytes
from sim.files import SCENARIO_KEYS, SWEEP_KEYS

#: Where the shipped examples are: ``sim/examples`` (in a checkout, a link to ``scenarios/``).
EXAMPLES = Path(__file__).parent / "examples"
#: Extensions of the scenario and sweep files among the examples.
YAML_SUFFIXES = (".yaml", ".yml")


class ExamplesError(Exception):
    """The examples cannot be copied or found as asked (a one-line message for the user)."""


@dataclass(frozen=True)
class Example:
    """One shipped scenario or sweep file.

    Attributes:
        name: its name without the extension (``eth_crash_liq2``).
        path: the file, inside :data:`EXAMPLES`.
        kind: ``scenario`` or ``sweep`` (other YAML files, such as calibrations and cases, are
            neither and are not listed).
        about: the first line of its leading comment, its description (empty if none).
    """

    name: str
    path: Path
    kind: str
    about: str

    @property
    def relative(self) -> Path:
        """Its path under :data:`EXAMPLES` (``sweeps/crash_grid.yaml``)."""
        return self.path.relative_to(EXAMPLES)


def examples_root() -> Path:
    """The folder of the shipped examples.

    Raises:
        ExamplesError: this installation of cdpsim carries no examples (a package built
            without its package data).
    """
    if not EXAMPLES.is_dir():
        raise ExamplesError(
            f"{EXAMPLES}: this installation of cdpsim has no examples (it was built without its "
            "package data); reinstall cdpsim from its wheel or a checkout"
        )
    return EXAMPLES


def example_files() -> list[Path]:
    """Every shipped file (scenarios, sweeps, data, READMEs), relative to the examples folder.

    Sorted; hidden files and Python caches are left out.
    """
    root = examples_root()
    found = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in files:
            if not name.startswith("."):
                found.append((Path(folder) / name).relative_to(root))
    return sorted(found)


def _about(text: str) -> str:
    """The first comment line of a YAML file, without ``#`` and the name before a dash."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            return ""
        body = stripped.lstrip("#").strip()
        if body:
            return body.split(" — ", 1)[-1]
    return ""


def _kind(text: str) -> str | None:
    """``scenario``, ``sweep`` or ``None`` for a YAML document's text."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when built with it
    try:
        data = yaml.load(text, Loader=loader)  # a safe loader
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict):
        return None
    keys = set(data)
    if keys & SCENARIO_KEYS:
        return "scenario"
    if keys & SWEEP_KEYS and "targets" not in keys:  # a calibration has a base and targets
        return "sweep"
    return None


def list_examples() -> list[Example]:
    """The shipped scenario and sweep files, those at the top first, then by folder and name."""
    root = examples_root()
    out = []
    for relative in example_files():
        if relative.suffix.lower() not in YAML_SUFFIXES:
            continue
        path = root / relative
        text = path.read_text(encoding="utf-8")
        kind = _kind(text)
        if kind is not None:
            out.append(Example(relative.stem, path, kind, _about(text)))
    return sorted(out, key=lambda e: (len(e.relative.parts), str(e.relative)))


def is_bare_name(text: str | os.PathLike[str]) -> bool:
    """Whether ``text`` is a bare example name: no folder, no extension (``eth_crash_liq2``)."""
    name = os.fspath(text)
    return bool(name) and os.sep not in name and "/" not in name and "." not in name


def find_example(name: str, kind: str = "scenario") -> Example | None:
    """The shipped file of a kind named ``name`` (at the top of the examples first).

    Args:
        name: a bare name (:func:`is_bare_name`), such as ``eth_crash_liq2``.
        kind: ``scenario`` or ``sweep``.

    Returns:
        The example, or ``None`` when none of that kind has the name (or there are no
        examples).
    """
    if not EXAMPLES.is_dir():
        return None
    for example in list_examples():
        if example.name == name and example.kind == kind:
            return example
    return None


def copy_examples(dest: str | Path, *, force: bool = False) -> tuple[list[Path], list[Path]]:
    """Copy every shipped file into ``dest``, keeping the folders (``data/``, ``sweeps/``, ...).

    Nothing is written unless every file may be: a file already in ``dest`` with the same
    content is left as it is; one with other content (a user's edit) is replaced only with
    ``force``. Other files in ``dest`` are never touched.

    Args:
        dest: the folder to copy into (made if missing).
        force: replace files in ``dest`` whose content differs from the shipped one.

    Returns:
        ``(written, unchanged)``: the files copied and those already there, relative to
        ``dest``.

    Raises:
        ExamplesError: ``dest`` is a file, a path in it is a folder or a file where the
            examples need the other, a file differs and ``force`` is not given, or a file
            cannot be written (naming it).
    """
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise ExamplesError(f"{dest}: is a file, not a folder; give a folder to copy into")
    root = examples_root()
    written, unchanged, differing = [], [], []
    for relative in example_files():
        target = dest / relative
        data = (root / relative).read_bytes()
        for parent in reversed(relative.parents[:-1]):
            if (dest / parent).exists() and not (dest / parent).is_dir():
                raise ExamplesError(f"{dest / parent}: is a file; the examples need a folder there")
        if target.is_dir():
            raise ExamplesError(f"{target}: is a folder; the examples need a file there")
        if target.exists():
            try:
                same = target.read_bytes() == data
            except OSError as exc:
                raise ExamplesError(f"{target}: cannot read: {exc.strerror or exc}") from None
            if same:
                unchanged.append(relative)
                continue
            differing.append(relative)
        written.append((relative, data))
    if differing and not force:
        shown = ", ".join(str(p) for p in differing[:3]) + (" ..." if len(differing) > 3 else "")
        raise ExamplesError(
            f"{dest}: {len(differing)} file(s) there differ from the shipped examples ({shown}); "
            "they are left alone and nothing was copied: pass --force to replace them, or give "
            "another folder"
        )
    for relative, data in written:
        target = dest / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_bytes(target, data)
        except OSError as exc:
            raise ExamplesError(f"{target}: cannot write: {exc.strerror or exc}") from None
    return [r for r, _ in written], unchanged


__all__ = [
    "EXAMPLES",
    "Example",
    "ExamplesError",
    "copy_examples",
    "example_files",
    "examples_root",
    "find_example",
    "is_bare_name",
    "list_examples",
]
