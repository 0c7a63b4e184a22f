"""Helpers of the scenario package's tests: write a scenario file, load it and read its errors.

Used by tests/test_loader.py, test_schema.py, test_yamlfile.py, test_overrides.py,
test_checks.py, test_resources.py, test_build.py, test_scenario_errors.py, test_messages.py and
test_cli_input.py (the alias bomb).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.scenario import ScenarioError, load_scenario
from tests.conftest import SMALL

#: SMALL's price process, replaced by the data-file tests.
SCRIPTED = "{process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}}"
#: 12 h of hourly prices from the SMALL clock's default start (2020-01-01T00:00:00Z).
CSV = "timestamp,eth,gas\n" + "".join(
    f"2020-01-01T{h:02d}:00:00Z,{2000 - 50 * h},{10 + h if h < 6 else ''}\n" for h in range(13)
)


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path, overrides=()) -> ScenarioError:
    """The error loading ``path`` raises."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides=overrides)
    return info.value


def messages_of(path: Path, overrides=()) -> list[str]:
    """Each problem loading ``path`` finds, as ``file:line: field: message``."""
    return [str(e) for e in error_of(path, overrides).errors]


def line_of(text: str, needle: str) -> int:
    """The 1-based line of ``text`` where ``needle`` first appears."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def scenario_with(tmp_path: Path, file: str, extra: str = "", folder: str = "case") -> Path:
    """SMALL replaying ``file`` for ETH, written to ``tmp_path/folder/s.yaml``."""
    where = tmp_path / folder
    where.mkdir(exist_ok=True)
    price = f"{{process: replay, file: '{file}', column: eth{extra}}}"
    path = where / "s.yaml"
    path.write_text(SMALL.replace(SCRIPTED, price))
    return path


def only_error(path: Path, **kwargs) -> str:
    """The one problem loading ``path`` (with ``load_scenario``'s ``kwargs``) finds."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, **kwargs)
    assert len(info.value.errors) == 1, str(info.value)
    return str(info.value.errors[0])


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The "billion laughs": each level lists the previous one ``width`` times."""
    lines = ["name: bomb", f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"
