"""A sweep file's checks: layered validation from its YAML to a sweep's parts, lazy points.

Validation goes in layers, each checking what the layers before found valid, and raises
everything together (:class:`Problems`, as ``file:line: field: message``, each once, in line
order): the file's own fields (:mod:`sim.experiments.sweep_schema`; a field that fails is left
out, so that the rest is still checked), the base and the fixed overrides (one whose value the
scenario refuses is left out of the base), every parameter path in the base scenario and its fit
to the design, each parameter's values (a grid's values, a range's ends) on their own; then,
when all that is right, every design point: all before any run. Each point is validated and
dropped, so that validation's memory does not grow with the design (:class:`PointScenarios`
builds a point's scenario again when its run is handed to a worker). :func:`check_sweep` returns
the parts :class:`sim.experiments.sweep.Sweep` is made of.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import ValidationError

from sim.experiments import designs
from sim.experiments.batch import derive_seeds
from sim.experiments.points import COUNT_COLUMNS
from sim.experiments.store import RUN_COLUMNS
from sim.experiments.sweep_schema import (
    MAX_RUNS,
    NAME_RE,
    SCENARIO_FILE_MESSAGE,
    SCENARIO_ONLY,
    GridDesign,
    MorrisDesign,
    ParameterSpec,
    SobolDesign,
    SweepFile,
    quoted,
)
from sim.files import file_problem, is_sweep_data
from sim.metrics import ENSEMBLE_QUANTILES, KPI_BY_NAME, N_RUNS, RISK_STATS
from sim.scenario import (
    MAX_ERRORS,
    ErrorItem,
    OverrideError,
    Scenario,
    ScenarioError,
    apply_override,
    validate_data,
)
from sim.scenario.messages import locator, schema_errors
from sim.scenario.overrides import apply_overrides, override_path
from sim.scenario.paths import parts_of, value_at
from sim.scenario.yamlfile import DataPath, read_yaml
from sim.units import format_duration, parse_duration

#: Data path of "this problem is the design's" in messages.
_DESIGN: DataPath = ("design",)
#: Filename given to point validation, to tell its messages apart.
_POINT = "<sweep point>"


# ---------------------------------------------------------------------------------------- problems


class Problems:
    """Problems of one sweep file, located by their data path's line, raised all together."""

    def __init__(self, filename: str, lines: Mapping[DataPath, int]):
        self.filename = filename
        self.locate = locator(filename, lines)
        self.items: list[ErrorItem] = []
        self.omitted = 0

    def line(self, path: DataPath) -> int | None:
        """The YAML line of ``path``'s longest prefix in the file."""
        return self.locate(path)[1]

    def add(self, path: DataPath, message: str, field: str | None = None) -> None:
        """A problem at ``path`` (shown as ``field``, default the path itself)."""
        shown = field if field is not None else ".".join(str(p) for p in path)
        self.items.append(ErrorItem(self.filename, self.line(path), shown, message))

    def extend(self, items: Sequence[ErrorItem], omitted: int = 0) -> None:
        """Problems found elsewhere (the base scenario's, the schema's), and a count of more."""
        self.items.extend(items)
        self.omitted += omitted

    def schema(self, exc: ValidationError, data: Any) -> None:
        """The sweep file's schema errors, worded as a scenario file's are."""
        self.extend(*schema_errors(exc, data, self.locate, SweepFile))

    def raise_any(self) -> None:
        """Raise every problem found so far (each once), the sweep file's in line order."""
        if self.items:
            unique = list(dict.fromkeys(self.items))
            ordered = sorted(
                unique,
                key=lambda e: (e.file != self.filename, e.line if e.line is not None else 0),
            )
            raise ScenarioError(ordered, self.omitted)


# ---------------------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class SweepParameter:
    """A swept parameter, resolved against the base scenario.

    Attributes:
        name: its key in the sweep file and its column in the tables.
        kind: ``value`` (the key is a scenario path) or ``scale`` (multiplies ``paths``).
        paths: the scenario paths it sets.
        range: ``(low, high)`` (seconds for durations), or ``None``.
        values: the grid values (seconds for durations), or ``None``.
        dist: ``uniform`` or ``loguniform`` for a range, else ``None``.
        duration: the values are durations (written with a unit, held in seconds).
        base_values: the base scenario's value at each path (what a scale multiplies).
        typed_paths: the data paths (list indices as ``int``).
    """

    name: str
    kind: Literal["value", "scale"]
    paths: tuple[str, ...]
    range: tuple[float, float] | None
    values: tuple[Any, ...] | None
    dist: str | None
    duration: bool
    base_values: tuple[Any, ...]
    typed_paths: tuple[DataPath, ...]

    def grid_values(self, levels: int | None) -> list[Any]:
        """The values a grid takes: ``values``, or ``levels`` levels of the range."""
        if self.values is not None:
            return list(self.values)
        assert self.range is not None and levels is not None
        return designs.levels(self.range[0], self.range[1], levels, self.dist or "uniform")

    def assignments(self, value: Any) -> list[tuple[DataPath, str, Any]]:
        """What the parameter at ``value`` sets: (data path, dotted path, scenario value)."""
        out = []
        for typed, path, base in zip(self.typed_paths, self.paths, self.base_values, strict=True):
            if self.kind == "scale":
                out.append((typed, path, _scaled(base, value)))
            else:
                out.append((typed, path, _as_field(base, value, self.duration)))
        return out

    def record(self, levels: int | None = None) -> dict[str, Any]:
        """How ``batch.json`` describes it."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "paths": list(self.paths)}
        if self.range is not None:
            out["range"] = [float(self.range[0]), float(self.range[1])]
            if levels is not None:
                out["levels"] = levels
        else:
            out["values"] = [plain(v) for v in self.values or ()]
        out["dist"] = self.dist
        out["unit"] = "s" if self.duration else None
        return out


def plain(value: Any) -> Any:
    """A JSON-ready scalar (numpy numbers become Python ones)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def _is_duration_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_duration(value)
    except ValueError:
        return False
    return True


def _as_field(base: Any, value: Any, duration: bool) -> Any:
    """A parameter value as the scenario field takes it."""
    value = plain(value)
    if duration and _is_number(value):
        return format_duration(float(value))
    if isinstance(base, int) and not isinstance(base, bool) and isinstance(value, float):
        return round(value)
    return value


def _scaled(base: Any, factor: Any) -> Any:
    """``base`` multiplied by ``factor`` (durations stay durations, integers integers)."""
    factor = float(plain(factor))
    if isinstance(base, str):
        return format_duration(parse_duration(base) * factor)
    if isinstance(base, int) and not isinstance(base, bool):
        return round(base * factor)
    return float(base) * factor


def override_text(path: str, value: Any) -> str:
    """``path=value`` as recorded in the runs table."""
    if isinstance(value, float):
        return f"{path}={value!r}"
    if isinstance(value, dict | list):
        return f"{path}={json.dumps(value)}"
    return f"{path}={value}"


# ---------------------------------------------------------------------------------------- checks


@dataclass(frozen=True, eq=False)
class Checked:
    """What a valid sweep file comes to (the parts of a :class:`~sim.experiments.sweep.Sweep`).

    Attributes:
        spec: the sweep file, validated.
        base_file: the base scenario file.
        base: the base scenario with the fixed overrides.
        overrides: the fixed overrides as ``path=value``.
        parameters: the swept parameters, resolved against the base, in file order.
        seeds: the seeds every point runs with.
        points: the design: ``point`` and one column per parameter (durations in seconds).
        scenarios: each point's scenario, built when indexed.
        cli_overrides: the command line's ``--set`` overrides, applied to the base after the
            file's (as given).
    """

    spec: SweepFile
    base_file: Path
    base: Scenario
    overrides: tuple[str, ...]
    parameters: tuple[SweepParameter, ...]
    seeds: tuple[int, ...]
    points: pd.DataFrame
    scenarios: PointScenarios
    cli_overrides: tuple[str, ...] = ()


def check_sweep(
    data: Any,
    *,
    filename: str = "<sweep>",
    base_dir: str | Path = ".",
    lines: Mapping[DataPath, int] | None = None,
    data_dirs: Sequence[str | Path] = (),
    cli_overrides: Sequence[str] = (),
) -> Checked:
    """Validate sweep data (a sweep file's YAML as Python data), layer by layer.

    Args:
        data: the sweep as a mapping.
        filename: name used in messages.
        base_dir: the folder ``base`` is relative to.
        lines: the YAML line of each data path (for messages).
        data_dirs: extra data folders of the base scenario.
        cli_overrides: ``--set path=value`` overrides of the base scenario, applied after the
            file's ``overrides`` and blamed as ``cdpsim run --set`` blames them
            (``base.yaml (--set path=value): field: message``); one that sets a swept field is
            refused (the points would replace it).

    Returns:
        The sweep's parts, every design point validated.

    Raises:
        ScenarioError: every problem, before any run.
    """
    errors = Problems(filename, lines or {})
    if not isinstance(data, dict):
        errors.add((), "a sweep file is a mapping (name, base, design, parameters, …)")
        errors.raise_any()
    if not is_sweep_data(data) and SCENARIO_ONLY & set(data):
        errors.add((), SCENARIO_FILE_MESSAGE)
        errors.raise_any()
    # Layer by layer, each on what the layers before found valid, all problems raised together:
    # the file's own fields; the base and the fixed overrides; each parameter's path; each
    # parameter's values alone; then (only when all that is right) every design point.
    parsed = _parse_file(data, errors)
    if parsed is None:
        errors.raise_any()
    assert parsed is not None
    spec = parsed.spec
    base_file = Path(base_dir) / spec.base
    problem = file_problem(base_file)
    if problem is not None:
        errors.add(("base",), f"the base scenario {base_file}: {problem}")
        errors.raise_any()
    base, overrides, dropped = _load_base(spec, base_file, errors, data_dirs, cli_overrides)
    resolved = base.to_dict()
    parameters = _resolve_parameters(
        spec, resolved, errors, parsed.kind, design_ok=parsed.design_ok, dropped=dropped
    )
    _check_swept_sets(cli_overrides, parameters, base_file, errors)
    seeds = _seeds(spec, base)
    if not parsed.design_ok or _check_size(spec, parameters, len(seeds), errors):
        _check_ends(spec, parameters, base, resolved, errors, parsed.kind)  # with the others
    errors.raise_any()
    points = _design_points(spec, parameters)
    _check_points(parameters, points, base, resolved, errors)
    errors.raise_any()
    return Checked(
        spec=spec,
        base_file=base_file,
        base=base,
        overrides=overrides,
        parameters=tuple(parameters),
        seeds=tuple(seeds),
        points=points,
        scenarios=PointScenarios(parameters, points, base, resolved),
        cli_overrides=tuple(cli_overrides),
    )


def _check_swept_sets(
    cli_overrides: Sequence[str],
    parameters: Sequence[SweepParameter],
    base_file: Path,
    errors: Problems,
) -> None:
    """Refuse a ``--set`` of a field a parameter sweeps (every point would replace it)."""
    for text in cli_overrides:
        key = [p.strip() for p in text.partition("=")[0].split(".")]
        for parameter in parameters:
            for path in parameter.paths:
                swept = [p.strip() for p in path.split(".")]
                if key[: len(swept)] == swept:
                    errors.extend(
                        [
                            ErrorItem(
                                f"{base_file} (--set {text})",
                                None,
                                ".".join(key),
                                f"the sweep varies {path} (parameters.{parameter.name}): every "
                                "point would replace this value; change the parameter in the "
                                "sweep file instead",
                            )
                        ]
                    )


@dataclass(frozen=True)
class _Parsed:
    """The sweep file's fields that passed the schema (the others reported, then left out).

    Attributes:
        spec: the file with every invalid optional field at its default, every invalid
            parameter left out, and an invalid design replaced by the smallest of its kind.
        design_ok: the design as written is valid (else the checks that need it are skipped).
        kind: the design's kind as written, when it is one (else ``None``).
    """

    spec: SweepFile
    design_ok: bool
    kind: str | None


#: The smallest valid design of each kind (standing in for an invalid design as written).
_STAND_IN_DESIGNS: dict[str, dict[str, Any]] = {
    "grid": {"kind": "grid"},
    "random": {"kind": "random", "n": 1},
    "lhs": {"kind": "lhs", "n": 2},
    "sobol": {"kind": "sobol", "n": 2},
    "morris": {"kind": "morris", "n": 2},
}


def _parse_file(data: dict[str, Any], errors: Problems) -> _Parsed | None:
    """The sweep file's own fields, every schema problem reported; ``None`` without a base.

    A field that fails its schema is reported and left out (its default taken, a placeholder
    name, a stand-in design of the same kind), so that the layers after it still check the rest.
    """
    try:
        spec = SweepFile.model_validate(data)
    except ValidationError as exc:
        errors.schema(exc, data)
        failed = {err["loc"][0] for err in exc.errors() if err["loc"]}
    else:
        return _Parsed(spec, design_ok=True, kind=spec.design.kind)
    fields = SweepFile.model_fields
    kept = {k: v for k, v in data.items() if k in fields and k not in failed}
    if "base" not in kept:
        return None
    kept.setdefault("name", "sweep")
    design_ok = "design" not in failed and "design" in kept
    raw_design = data.get("design")
    kind = raw_design.get("kind") if isinstance(raw_design, dict) else None
    kind = kind if isinstance(kind, str) and kind in _STAND_IN_DESIGNS else None
    if not design_ok:
        kept["design"] = _STAND_IN_DESIGNS[kind or "random"]
    kept["parameters"] = {"stand-in": {"values": [0]}}  # replaced below
    try:
        spec = SweepFile.model_validate(kept)
    except ValidationError:  # not expected: every field left is valid or a stand-in
        return None
    parameters: dict[str, ParameterSpec] = {}
    raw = data.get("parameters")
    for name, value in raw.items() if isinstance(raw, dict) else ():
        if isinstance(name, str):
            try:
                parameters[name] = ParameterSpec.model_validate(value)
            except ValidationError:
                continue  # reported above
    return _Parsed(spec.model_copy(update={"parameters": parameters}), design_ok, kind)


def _load_base(
    spec: SweepFile,
    base_file: Path,
    errors: Problems,
    data_dirs: Sequence[str | Path],
    cli_overrides: Sequence[str] = (),
) -> tuple[Scenario, tuple[str, ...], tuple[str, ...]]:
    """The base scenario with the fixed overrides, problems blamed on the sweep's lines.

    An override whose value the scenario refuses is reported and left out, and the base built
    without it, so that the parameters are checked too; a base whose own file has problems
    stops the validation there (they are the base file's, with its lines).

    Returns:
        The base scenario, the overrides applied as ``path=value``, and the keys of the
        overrides left out because the scenario refused their value.
    """
    refused: set[str] = set()
    while True:
        base, texts, blamed = _try_base(spec, base_file, errors, data_dirs, refused, cli_overrides)
        if base is not None:
            return base, texts, tuple(k for k in spec.overrides if k in refused)
        if not blamed or blamed <= refused:
            errors.raise_any()
        refused |= blamed


def _try_base(
    spec: SweepFile,
    base_file: Path,
    errors: Problems,
    data_dirs: Sequence[str | Path],
    refused: set[str],
    cli_overrides: Sequence[str] = (),
) -> tuple[Scenario | None, tuple[str, ...], set[str]]:
    """The base with the overrides but ``refused``, then ``cli_overrides``; else the blamed.

    The overrides its errors blame are returned; a ``--set``'s problems are its own, reported
    as ``cdpsim run`` reports them, and stop the validation there.

    Returns:
        ``(base, texts, set())`` when it validates; ``(None, (), keys)`` when every problem is
        blamed on overrides (``keys``; reported), ``(None, (), set())`` when the base file
        itself has problems (reported).
    """
    base_data, base_lines = read_yaml(base_file)  # the base file's own problems are its own
    overridden: dict[DataPath, str] = {}
    texts = []
    report = not refused  # the override-path problems, once
    for key, value in spec.overrides.items():
        if key in refused:
            continue
        parts = tuple(p.strip() for p in key.split("."))
        if not isinstance(base_data, dict):
            break  # validation below reports it
        try:
            created: list[DataPath] = []
            overridden[apply_override(base_data, parts, value, created)] = key
            for path in created:
                overridden.setdefault(path, key)
        except OverrideError as exc:
            if report:
                errors.add(("overrides", key), exc.message, f"overrides.{key}")
            continue
        texts.append(override_text(key, value))
    if cli_overrides and isinstance(base_data, dict):
        try:  # after the file's overrides: the command line has the last word
            overridden.update(apply_overrides(base_data, cli_overrides, str(base_file)))
        except ScenarioError as exc:
            if report:
                errors.extend(exc.errors, exc.omitted)
            return None, (), set()
    try:  # without the overrides refused above, so that the parameters are checked too
        base = validate_data(
            base_data,
            filename=str(base_file),
            base_dir=base_file.parent,
            lines=base_lines,
            overridden=overridden,
            data_dirs=data_dirs,
        )
    except ScenarioError as exc:
        blamed = {f"{base_file} (--set {key})": key for key in spec.overrides}
        items = []
        keys: set[str] = set()
        own = False
        for item in exc.errors:
            key = blamed.get(item.file)
            if key is None:
                items.append(item)
                own = True
                continue
            keys.add(key)
            where = f"{item.path}: " if item.path and item.path != key else ""
            items.append(
                ErrorItem(
                    errors.filename,
                    errors.line(("overrides", key)),
                    f"overrides.{key}",
                    f"{where}{item.message}",
                )
            )
        errors.extend(items, exc.omitted if report else 0)
        return None, (), set() if own else keys
    return base, tuple(texts), set()


def _parameter_path(
    resolved: dict[str, Any], dotted: str
) -> tuple[DataPath | None, Any, str | None]:
    """A scenario path's data path and base value, or the reason it is not a path."""
    parts = parts_of(dotted)
    if not dotted or any(not p for p in parts):
        return None, None, "a scenario path such as ilks.ETH-A.mat (no empty parts)"
    try:
        typed = override_path(resolved, parts)
    except OverrideError as exc:
        return None, None, exc.message
    return typed, value_at(resolved, typed), None


def _resolve_parameters(
    spec: SweepFile,
    resolved: dict[str, Any],
    errors: Problems,
    kind: str | None,
    *,
    design_ok: bool = True,
    dropped: Sequence[str] = (),
) -> list[SweepParameter]:
    """Resolve every parameter's paths in the base scenario and check it fits the design.

    Args:
        spec: the sweep file (its valid fields).
        resolved: the base scenario with the fixed overrides, as data.
        errors: where problems go.
        kind: the design's kind (``None``: unknown, so not checked against the parameters).
        design_ok: the design as written is valid (else a grid's ``levels`` are not checked
            against ranges).
        dropped: overrides left out of the base (the scenario refused their value): a parameter
            below one of them is not checked against a base that lacks it.
    """
    levels = spec.design.levels if isinstance(spec.design, GridDesign) else None
    reserved = _reserved_columns(spec.kpis)
    out = []
    for name, p in spec.parameters.items():
        where = ("parameters", name)
        if name in reserved:
            errors.add(where, f"{name!r} is a column of the tables already; choose another name")
            continue
        paths = p.scale if p.scale is not None else [name]
        if any(_below(path, key) for path in paths for key in dropped):
            continue
        if kind is not None and kind != "grid" and p.range is None:
            errors.add(
                (*where, "values"), f"a {kind} design samples ranges: give range: [low, high]"
            )
        if kind == "grid" and p.range is not None and levels is None and design_ok:
            errors.add(
                (*where, "range"),
                "a grid takes values: [...]; or set design.levels to split ranges into levels",
            )
        if p.scale is None:
            typed, base_value, problem = _parameter_path(resolved, name)
            if problem is not None:
                errors.add(where, problem)
                continue
            paths, typed_paths, base_values = (name,), (typed,), (base_value,)
        else:
            if not NAME_RE.match(name):
                errors.add(where, "a scale parameter's name is a plain name (letters, digits, _ -)")
                continue
            paths, typed_list, base_list = [], [], []
            for i, dotted in enumerate(p.scale):
                typed, base_value, problem = _parameter_path(resolved, dotted)
                if problem is None and not (
                    _is_number(base_value) or _is_duration_text(base_value)
                ):
                    problem = (
                        f"the base scenario has {quoted(base_value)} there; a scale multiplies "
                        "a number or a duration"
                    )
                if problem is not None:
                    errors.add(
                        (*where, "scale", i), f"{dotted}: {problem}", f"parameters.{name}.scale"
                    )
                    continue
                paths.append(dotted)
                typed_list.append(typed)
                base_list.append(base_value)
            if len(paths) != len(p.scale):
                continue
            if p.values is not None and not all(_is_number(v) for v in p.values):
                errors.add(
                    (*where, "values"), "a scale parameter's values are multipliers (numbers)"
                )
                continue
            paths, typed_paths, base_values = tuple(paths), tuple(typed_list), tuple(base_list)
        duration = False
        value_range = None
        values = None
        if p.range is not None:
            low, high = p.range
            duration = isinstance(low, str)
            value_range = (
                (parse_duration(low), parse_duration(high))
                if duration
                else (float(low), float(high))
            )
        else:
            assert p.values is not None
            duration = p.scale is None and all(_is_duration_text(v) for v in p.values)
            values = tuple(parse_duration(v) for v in p.values) if duration else tuple(p.values)
        out.append(
            SweepParameter(
                name=name,
                kind="value" if p.scale is None else "scale",
                paths=paths,
                range=value_range,
                values=values,
                dist=(p.dist or "uniform") if p.range is not None else None,
                duration=duration,
                base_values=base_values,
                typed_paths=typed_paths,
            )
        )
    return out


def _below(path: str, key: str) -> bool:
    """Whether the dotted ``path`` is ``key`` or inside it (or ``key`` inside ``path``)."""
    a = [p.strip() for p in path.split(".")]
    b = [p.strip() for p in key.split(".")]
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _reserved_columns(kpis: Sequence[str]) -> set[str]:
    """Column names of the runs and points tables that a parameter may not take."""
    names = {
        *RUN_COLUMNS,
        *COUNT_COLUMNS,
        "point",
        *KPI_BY_NAME,
        *(k.name for k in RISK_STATS),
        N_RUNS,
    }
    for kpi in kpis:
        names |= {f"{kpi}_mean", f"{kpi}_std", *(f"{kpi}_{s}" for s, _ in ENSEMBLE_QUANTILES)}
        names.add(f"{kpi}_{N_RUNS}")
    return names


def _validate_point(
    resolved: dict[str, Any],
    base: Scenario,
    settings: Sequence[tuple[SweepParameter, Any]],
) -> tuple[Scenario | None, list[ErrorItem], list[str]]:
    """The scenario with ``settings`` applied, or the problems (blamed on each parameter)."""
    data = copy.deepcopy(resolved)
    overridden: dict[DataPath, str] = {}
    texts = []
    for parameter, value in settings:
        for typed, path, field_value in parameter.assignments(value):
            apply_override(data, [str(p) for p in typed], field_value)
            overridden[typed] = parameter.name
            texts.append(override_text(path, field_value))
    try:
        scenario = validate_data(
            data,
            filename=_POINT,
            base_dir=base.base_dir,
            overridden=overridden,
            data_dirs=base.data_dirs,
        )
    except ScenarioError as exc:
        return None, list(exc.errors), texts
    return scenario, [], texts


def _check_ends(
    spec: SweepFile,
    parameters: Sequence[SweepParameter],
    base: Scenario,
    resolved: dict[str, Any],
    errors: Problems,
    kind: str | None,
) -> None:
    """Each parameter alone at each of its values or levels, or at both ends of its range.

    ``kind`` is the design's kind (``None`` when the design as written has none that exists:
    then each parameter is probed as written).
    """
    levels = spec.design.levels if isinstance(spec.design, GridDesign) else None
    for parameter in parameters:
        if parameter.values is not None:
            if kind not in (None, "grid"):
                continue  # refused already: sampling designs need ranges
            probes = list(parameter.values)
        elif kind == "grid" and levels is not None:
            probes = parameter.grid_values(levels)
        else:
            assert parameter.range is not None
            probes = list(parameter.range)
        for value in probes:
            _, items, _ = _validate_point(resolved, base, [(parameter, value)])
            shown = format_duration(value) if parameter.duration else quoted(value)
            for item in items[:MAX_ERRORS]:
                field = f"{item.path}: " if item.path and item.path != parameter.name else ""
                errors.add(
                    ("parameters", parameter.name),
                    f"value {shown}: {field}{item.message}",
                    f"parameters.{parameter.name}",
                )


def _seeds(spec: SweepFile, base: Scenario) -> list[int]:
    """The seeds every point runs with."""
    if spec.seeds is None:
        return [base.seed]
    if isinstance(spec.seeds, int):
        return derive_seeds(spec.seeds, spec.master_seed)
    return list(spec.seeds)


def _check_size(
    spec: SweepFile, parameters: Sequence[SweepParameter], n_seeds: int, errors: Problems
) -> bool:
    """Whether the design's runs (points × seeds) are within :data:`MAX_RUNS` (else an error)."""
    design = spec.design
    if isinstance(design, GridDesign):
        sizes = [
            len(p.values) if p.values is not None else (design.levels or 1) for p in parameters
        ]
        count = math.prod(sizes)
    else:
        second = isinstance(design, SobolDesign) and design.second_order
        count = designs.point_count(design.kind, design.n, len(parameters), second_order=second)
    if count * n_seeds <= MAX_RUNS:
        return True
    errors.add(
        _DESIGN,
        f"{count:,} points × {n_seeds} seeds = {count * n_seeds:,} runs, above the limit of "
        f"{MAX_RUNS:,} runs per sweep",
    )
    return False


def _design_points(spec: SweepFile, parameters: Sequence[SweepParameter]) -> pd.DataFrame:
    """The design: ``point`` and each parameter's value (durations in seconds)."""
    design = spec.design
    names = [p.name for p in parameters]
    d = len(parameters)
    if isinstance(design, GridDesign):
        rows = designs.grid([p.grid_values(design.levels) for p in parameters])
        table = pd.DataFrame(rows, columns=names)
    else:
        unit = designs.unit_design(
            design.kind,
            design.n,
            d,
            design.seed,
            second_order=isinstance(design, SobolDesign) and design.second_order,
            num_levels=design.levels if isinstance(design, MorrisDesign) else 4,
        )
        table = pd.DataFrame(
            {
                p.name: designs.from_unit(unit[:, j], *p.range, p.dist or "uniform")  # type: ignore[misc]
                for j, p in enumerate(parameters)
            }
        )
    table.insert(0, "point", np.arange(len(table), dtype=np.int64))
    return table


def _point_settings(
    parameters: Sequence[SweepParameter], row: Sequence[Any]
) -> list[tuple[SweepParameter, Any]]:
    """A design row as (parameter, value) pairs."""
    return list(zip(parameters, row, strict=True))


def _check_points(
    parameters: Sequence[SweepParameter],
    points: pd.DataFrame,
    base: Scenario,
    resolved: dict[str, Any],
    errors: Problems,
) -> None:
    """Validate every design point, one at a time, keeping none of their scenarios.

    Memory does not grow with the number of points: each point's scenario is built, checked
    and dropped (it is built again when its run is handed to a worker, see
    :class:`PointScenarios`). The first :data:`~sim.scenario.MAX_ERRORS` failing points are
    listed; the others are counted.
    """
    names = [p.name for p in parameters]
    listed = 0
    for k, row in enumerate(points[names].itertuples(index=False, name=None)):
        _, items, _ = _validate_point(resolved, base, _point_settings(parameters, row))
        if not items:  # valid: its scenario is dropped here
            continue
        if listed >= MAX_ERRORS:
            errors.extend([], omitted=len(items))
            continue
        listed += 1
        where = ", ".join(
            f"{p.name}={format_duration(v) if p.duration else quoted(v)}"
            for p, v in zip(parameters, row, strict=True)
        )
        for item in items:
            field = f"{item.path}: " if item.path else ""
            errors.add(_DESIGN, f"point {k} ({where}): {field}{item.message}", "design")


class PointScenarios(Sequence[Scenario]):
    """Each design point's scenario, built when asked for (and the last one kept).

    A sweep validates every point once (:func:`_check_points`) and keeps none of their
    scenarios: ``scenarios[k]`` builds point ``k``'s again from the base and the design row, the
    same way, so that a sweep of a million points holds its design table, not a million
    scenarios. The scenario of the point asked for last is kept, so that a point's seeds share
    one.
    """

    def __init__(
        self,
        parameters: Sequence[SweepParameter],
        points: pd.DataFrame,
        base: Scenario,
        resolved: dict[str, Any],
    ) -> None:
        self._parameters = tuple(parameters)
        self._rows = points[[p.name for p in parameters]]
        self._base = base
        self._resolved = resolved
        self._last: tuple[int, Scenario] | None = None
        self._tuples: list[tuple[Any, ...]] | None = None

    def __len__(self) -> int:
        return len(self._rows)

    def row(self, k: int) -> tuple[Any, ...]:
        """Point ``k``'s design row (one value per parameter, durations in seconds).

        Taken column by column (each value of its column's type, as the whole table's rows
        give them), never as a row Series, which would turn a grid's integers into floats.
        """
        if self._tuples is None:  # once: a row taken from a pandas frame costs a millisecond
            self._tuples = list(self._rows.itertuples(index=False, name=None))
        return self._tuples[k]

    def settings(self, k: int) -> tuple[str, ...]:
        """Point ``k``'s settings as ``path=value`` texts (as recorded in the runs table)."""
        texts = []
        for parameter, value in _point_settings(self._parameters, self.row(k)):
            for _typed, path, field_value in parameter.assignments(value):
                texts.append(override_text(path, field_value))
        return tuple(texts)

    def __getitem__(self, k: int) -> Scenario:  # type: ignore[override]
        if not isinstance(k, int | np.integer):
            raise TypeError("a point is selected by its number")
        k = int(k)
        if k < 0:
            k += len(self)
        if not 0 <= k < len(self):
            raise IndexError(f"point {k} of {len(self)}")
        if self._last is not None and self._last[0] == k:
            return self._last[1]
        settings = _point_settings(self._parameters, self.row(k))
        scenario, items, _ = _validate_point(self._resolved, self._base, settings)
        if scenario is None:  # validated when the sweep was loaded: not expected
            raise ScenarioError(items)
        self._last = (k, scenario)
        return scenario


class PointOverrides(Sequence[tuple[str, ...]]):
    """Each design point's settings as ``path=value`` texts, made when asked for."""

    def __init__(self, scenarios: PointScenarios) -> None:
        self._scenarios = scenarios

    def __len__(self) -> int:
        return len(self._scenarios)

    def __getitem__(self, k: int) -> tuple[str, ...]:  # type: ignore[override]
        if not 0 <= int(k) < len(self):
            raise IndexError(f"point {k} of {len(self)}")
        return self._scenarios.settings(int(k))
