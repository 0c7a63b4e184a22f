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
from sim.scenario.errors import ErrorItem, ScenarioError
from sim.scenario.governance import spell_problems
from sim.scenario.messages import locator, schema_errors
from sim.scenario.overrides import apply_overrides
from sim.scenario.schema import LOADER_FIELDS, Scenario
from sim.scenario.yamlfile import DataPath, read_yaml


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
    if not isinstance(data, dict):
        raise ScenarioError(
            [ErrorItem(filename, 1, "", "a scenario file must be a mapping of sections")]
        )
    locate = locator(filename, lines, overridden)
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
        items, omitted = schema_errors(exc, data, locate)
        raise ScenarioError(items, omitted) from None
    problems = list(dict.fromkeys(cross_check(scenario)))  # the same finding once
    if not problems:
        # Each spell's scenario, checked as the base was (only once the base is sound).
        problems = list(dict.fromkeys(spell_problems(scenario)))
    if problems:
        items = []
        for path, message in problems:
            file, line = locate(path, below=True)
            items.append(ErrorItem(file, line, ".".join(str(p) for p in path), message))
        raise ScenarioError(items)
    return scenario
