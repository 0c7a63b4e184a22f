"""Finding scenario files: files, folders (their ``*.yaml``) and glob patterns, in order."""

from __future__ import annotations

import glob
from collections.abc import Iterable
from pathlib import Path

#: Scenario file suffixes a folder given as a PATH contributes.
SCENARIO_SUFFIXES = (".yaml", ".yml")


def expand_paths(paths: Iterable[str | Path]) -> tuple[list[Path], list[str]]:
    """Scenario files from files, folders (their ``*.yaml``) and glob patterns, in order.

    Returns:
        The files (each once) and a message per path that matched nothing.
    """
    files: list[Path] = []
    problems: list[str] = []
    for raw in paths:
        text = str(raw)
        if glob.has_magic(text):
            matches = [Path(p) for p in sorted(glob.glob(text)) if Path(p).is_file()]
            if not matches:
                problems.append(f"{text}: no file matches")
            files.extend(matches)
        elif Path(text).is_dir():
            found = sorted(
                p for p in Path(text).iterdir() if p.is_file() and p.suffix in SCENARIO_SUFFIXES
            )
            if not found:
                problems.append(f"{text}: no scenario files (*.yaml) in this folder")
            files.extend(found)
        else:
            files.append(Path(text))
    unique = list(dict.fromkeys(files))
    return unique, problems
