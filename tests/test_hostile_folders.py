"""Hostile output folders: ``cdpsim plot``, ``report``, ``discover`` and the dashboard's loader.

Real folders are made once per module by the command (run in this process,
:func:`tests.cli_helpers.cdpsim_here`): a run of the small scenario, a batch of two seeds, a 2×2
grid sweep of two seeds with two ``discover`` results, and a small Morris sweep (for
``sensitivity.parquet``). Each case of :data:`CASES` copies one of them, breaks the copy by a
row of the mutation table, and hands it to every reader. The rule: a folder is input, so a
broken one gets a message naming the folder or the file and exit code 2, never a traceback (and
never exit 1, which means a run failed); a figure or report that can still be made without the
broken part may be made (exit 0). The report never shows text from the folder unescaped.

The commands run in this process through click's runner, which returns the exit code the command
exits with; an exception escaping a command is what the user would see as a traceback. A few cases
also run in a process of their own, two of them through the installed entry point
(:func:`test_the_installed_command_agrees`).

``cdpsim export`` does not exist yet; it is not covered.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner
from markupsafe import escape

from sim.app.tables import (
    filter_runs,
    headers,
    kpi_columns,
    kpi_table_html,
    shown_columns,
    table_items,
)
from sim.app.targets import TargetError, resolve, scenario_of_run
from sim.cli import main
from sim.experiments.store import BatchFolder
from sim.plots import fan_pages, figures_for
from sim.plots.figures import available_kinds
from sim.plots.sweep import SweepPlotError, stat_column
from sim.results import BatchData, FolderError, RunData, SweepData, load_folder
from sim.scenario import ScenarioError
from tests.cli_helpers import cdpsim_forked, cdpsim_here
from tests.conftest import SMALL

pytestmark = pytest.mark.slow

#: Safety limit of a subprocess (not a timing assertion) [s].
TIMEOUT_S = 300
#: Markup that must never reach the report unescaped.
SCRIPT = "<script>alert(1)</script>"
#: Quotes and an ampersand, which the report escapes too.
QUOTES = "q\"uo'te & <b>bold</b>"
#: Text that matplotlib would read as mathtext, and fail on, if drawn as given.
MATHTEXT = r"cost $\frac{1}{$ and $\notacommand$"
#: The discovery of the grid sweep: ``cdpsim discover SWEEP --kpi bad_debt_max --above 0``.
DISCOVER = ("--kpi", "bad_debt_max", "--above", "0")
#: The sweep files (``base`` is filled in): a 2×2 grid of two seeds, a Morris design of one.
SWEEPS = {
    "sweep": {
        "design": {"kind": "grid"},
        "seeds": 2,
        "parameters": {
            "ilks.ETH-A.liquidation.buf": {"values": [1.05, 1.3]},
            "keepers.0.dai": {"values": [100000.0, 5000000.0]},
        },
    },
    "morris": {
        "design": {"kind": "morris", "n": 2},
        "seeds": 1,
        "parameters": {
            "ilks.ETH-A.liquidation.buf": {"range": [1.05, 1.5]},
            "keepers.0.dai": {"range": [100000.0, 5000000.0]},
        },
    },
}
#: A swept parameter, renamed by the markup cases.
PARAMETER = "keepers.0.dai"


def _cli(cmd: list[str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=cwd, timeout=TIMEOUT_S)


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The intact folders (``run``, ``batch``, ``sweep``, ``morris``), made by the command."""
    root = tmp_path_factory.mktemp("hostile-bases")
    (root / "small.yaml").write_text(SMALL)
    commands = [
        ["run", "small.yaml", "--out", "run"],
        ["batch", "small.yaml", "--seeds", "2", "--workers", "0", "--out", "batch"],
    ]
    for name, design in SWEEPS.items():
        spec = {"name": f"small_{name}", "base": "small.yaml", **design}
        spec["kpis"] = ["bad_debt_max", "liquidated_debt"]
        (root / f"{name}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
        commands.append(["sweep", f"{name}.yaml", "--workers", "0", "--out", name])
    commands.append(["discover", "sweep", *DISCOVER])
    for args in commands:
        done = cdpsim_here(*args, cwd=root)
        assert done.returncode == 0, (args, done.stderr)
    # A second discovery with boxes to find: the median of the runs' largest bad debt.
    runs = pd.read_parquet(root / "sweep" / "runs.parquet")
    median = f"{runs['bad_debt_max'].median():.0f}"
    done = cdpsim_here("discover", "sweep", "--kpi", "bad_debt_max", "--above", median, cwd=root)
    assert done.returncode == 0, done.stderr
    found = sorted((root / "sweep" / "discovery").glob("*.parquet"))
    assert [len(pd.read_parquet(f)) > 0 for f in found] == [False, True]  # no box, a box
    return root


# ------------------------------------------------------------------------------------ mutations


@dataclass(frozen=True)
class Where:
    """What a mutation is applied to.

    Attributes:
        path: the file or folder to break.
        folder: the case's output folder (a copy of a base folder).
        outside: a folder next to it, outside it (for symlinks and run ids that leave it).
        bases: the intact folders.
    """

    path: Path
    folder: Path
    outside: Path
    bases: Path


Mutate = Callable[[Where], None]


def raw(data: bytes) -> Mutate:
    """The file's bytes replaced by ``data``."""

    def mutate(w: Where) -> None:
        w.path.write_bytes(data)

    return mutate


def truncated(w: Where) -> None:
    data = w.path.read_bytes()
    w.path.write_bytes(data[: len(data) // 2])


GARBAGE = raw(b"this is not a table\x00\xff\xfe" * 64)
EMPTY = raw(b"")

# Parquet tables, as pandas frames; other metadata (a discovery's) is kept.


def _read_table(path: Path) -> tuple[pd.DataFrame, dict[bytes, bytes]]:
    table = pq.read_table(path)
    meta = {k: v for k, v in (table.schema.metadata or {}).items() if k != b"pandas"}
    return table.to_pandas(), meta


def _write_table(path: Path, frame: pd.DataFrame, meta: dict[bytes, bytes]) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table.replace_schema_metadata({**(table.schema.metadata or {}), **meta}), path)


def frame(edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Mutate:
    """The Parquet table rewritten by ``edit``."""

    def mutate(w: Where) -> None:
        table, meta = _read_table(w.path)
        _write_table(w.path, edit(table.copy()), meta)

    return mutate


def _numbers(table: pd.DataFrame) -> list[str]:
    return [
        c
        for c in table.columns
        if pd.api.types.is_numeric_dtype(table[c]) and not pd.api.types.is_bool_dtype(table[c])
    ]


def each_number(values: Callable[[int], Any]) -> Mutate:
    """Every numeric column replaced by ``values(rows)``."""

    def edit(table: pd.DataFrame) -> pd.DataFrame:
        for c in _numbers(table):
            table[c] = values(len(table))
        return table

    return frame(edit)


def _negative_counts(table: pd.DataFrame) -> pd.DataFrame:
    for c in _numbers(table):
        if pd.api.types.is_integer_dtype(table[c]):
            table[c] = -7
    return table


def _extra_columns(table: pd.DataFrame) -> pd.DataFrame:
    table["extra"] = "text"
    table[SCRIPT] = 1.0
    table["zzz_mean"] = "not a number"  # looks like a KPI statistic of a sweep
    return table


def dropped(*patterns: str) -> Mutate:
    """The columns matching any of ``patterns`` (fnmatch) left out."""

    def edit(table: pd.DataFrame) -> pd.DataFrame:
        return table.drop(columns=[c for c in table if any(fnmatch(c, p) for p in patterns)])

    return frame(edit)


def column(name: str, value: Any) -> Mutate:
    """Column ``name`` set to ``value`` in every row."""

    def edit(table: pd.DataFrame) -> pd.DataFrame:
        table[name] = value
        return table

    return frame(edit)


def renamed_column(old: str, new: str) -> Mutate:
    return frame(lambda t: t.rename(columns={old: new}))


STRINGS = each_number(lambda n: [f"x{i}" for i in range(n)])
ALL_NAN = each_number(lambda n: np.full(n, np.nan))
INFINITE = each_number(lambda n: np.where(np.arange(n) % 2 == 0, np.inf, -np.inf))
HUGE = each_number(lambda n: np.full(n, 1e308))
NEGATIVE = frame(_negative_counts)
ONE_COLUMN = frame(lambda t: t.iloc[:, :1])
EXTRA = frame(_extra_columns)
ZERO_ROWS = frame(lambda t: t.iloc[0:0])


def discovery_meta(value: bytes) -> Mutate:
    """A discovery file's ``cdpsim-discovery`` metadata replaced by ``value``."""

    def mutate(w: Where) -> None:
        table, meta = _read_table(w.path)
        _write_table(w.path, table, {**meta, b"cdpsim-discovery": value})

    return mutate


# JSON files.


def json_edit(edit: Callable[[Any], Any]) -> Mutate:
    """The JSON file rewritten by ``edit`` (which may return a different object)."""

    def mutate(w: Where) -> None:
        w.path.write_text(json.dumps(edit(json.loads(w.path.read_text()))))

    return mutate


def _walk(data: dict[str, Any], dotted: str) -> tuple[dict[str, Any], str]:
    *parents, last = dotted.split(".")
    for key in parents:
        data = data[int(key)] if isinstance(data, list) else data[key]
    return data, last


def setting(dotted: str, value: Any) -> Mutate:
    """``dotted`` (``sweep.parameters.0.range``) set to ``value``."""

    def edit(data: Any) -> Any:
        parent, last = _walk(data, dotted)
        if isinstance(parent, list):
            parent[int(last)] = value
        else:
            parent[last] = value
        return data

    return json_edit(edit)


def removing(dotted: str) -> Mutate:
    def edit(data: Any) -> Any:
        parent, last = _walk(data, dotted)
        del parent[last]
        return data

    return json_edit(edit)


def _renamed_parameter(data: dict[str, Any]) -> dict[str, Any]:
    for section in (data["sweep"], data["parameters"]):
        for p in section["parameters"]:
            if p["name"] == PARAMETER:
                p["name"] = SCRIPT
    return data


NOT_JSON = raw(b"{this is: not json")
AS_LIST = json_edit(lambda d: [d])
AS_STRING = json_edit(lambda d: "cdpsim-run")
NESTED = json_edit(lambda d: {k: {"value": v} if k != "kind" else v for k, v in d.items()})

# Files and folders.


def removed(w: Where) -> None:
    if w.path.is_dir() and not w.path.is_symlink():
        shutil.rmtree(w.path)
    else:
        w.path.unlink()


def folder_instead(w: Where) -> None:
    removed(w)
    w.path.mkdir()


def file_instead(w: Where) -> None:
    removed(w)
    w.path.write_text("a file where a folder was\n")


def symlink(to: Callable[[Where], Path]) -> Mutate:
    """The file or folder replaced by a symbolic link to ``to(where)``."""

    def mutate(w: Where) -> None:
        removed(w)
        w.path.symlink_to(to(w))

    return mutate


def _outside_garbage(w: Where) -> Path:
    w.outside.mkdir(exist_ok=True)
    target = w.outside / "garbage.bin"
    target.write_bytes(b"\x00\x01 not a table " * 100)
    return target


def _outside_run(w: Where) -> Path:
    target = w.outside / "run"
    if not target.exists():
        shutil.copytree(w.bases / "run", target)
    return target


def _another_table(relative: str) -> Callable[[Where], Path]:
    """A copy of another base folder's file, next to the broken one (the wrong table)."""

    def to(w: Where) -> Path:
        w.outside.mkdir(exist_ok=True)
        target = w.outside / relative.replace("/", "-")
        shutil.copyfile(w.bases / relative, target)
        return target

    return to


#: A run id that leaves the batch's ``runs/`` folder for a run outside the batch.
ESCAPING_ID = "../../outside/run"
#: A run id with markup that is still a folder's name (no slash).
RUN_ID = "<img src=x onerror=alert(1)> \"q\" 'q' &amp;"


def renamed_run(new: str) -> Mutate:
    """A batch's run renamed: its folder, its manifest's run id and its row in ``runs.parquet``."""

    def mutate(w: Where) -> None:
        old, target = w.path.name, w.path.with_name(new)
        w.path.rename(target)
        setting("batch.run_id", new)(replace(w, path=target / "manifest.json"))
        edit = frame(lambda t: t.replace({"run_id": {old: new}}))
        edit(replace(w, path=w.folder / "runs.parquet"))

    return mutate


def failed_with(error: str) -> Mutate:
    """``runs.parquet``'s first run failed with ``error`` (the report lists it with its error)."""

    def edit(table: pd.DataFrame) -> pd.DataFrame:
        table.loc[0, "status"] = "failed"
        table.loc[0, "error"] = error
        return table

    return frame(edit)


def escaping_run_ids(w: Where) -> None:
    """``runs.parquet``'s first run id leads out of the batch (to a real run folder there)."""
    _outside_run(w)

    def edit(table: pd.DataFrame) -> pd.DataFrame:
        table.loc[0, "run_id"] = ESCAPING_ID
        return table

    frame(edit)(w)


# -------------------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One hostile folder: a base folder and the mutations applied to a copy of it.

    Attributes:
        base: ``run``, ``batch``, ``sweep`` or ``morris``.
        name: what was done, for the test id.
        steps: ``(path in the folder, mutation)``; ``{run}`` in a path is the first run's id.
        markup: text put in the folder that the report must escape.
    """

    base: str
    name: str
    steps: tuple[tuple[str, Mutate], ...]
    markup: str | None = None

    @property
    def id(self) -> str:
        return f"{self.base}-{self.name}"


def one(base: str, path: str, name: str, mutate: Mutate, markup: str | None = None) -> Case:
    short = {NO_BOX: "discovery-nobox", BOXES: "discovery-boxes"}.get(path, path)
    short = short.replace("runs/{run}/", "run-").replace("runs/{run}", "run")
    return Case(base, f"{short}-{name}", ((path, mutate),), markup)


#: Discovery file of the grid sweep with no box (``--above 0``) and with boxes (the median).
NO_BOX = "discovery/bad_debt_max-above-0-cart.parquet"
BOXES = "discovery/bad_debt_max-above-*-cart.parquet"

#: Every Parquet table of each folder.
TABLES = {
    "run": ["timeseries.parquet", "auctions.parquet", "events.parquet", "vaults.parquet"],
    "batch": ["runs.parquet", "runs/{run}/timeseries.parquet", "runs/{run}/auctions.parquet"],
    "sweep": ["runs.parquet", "points.parquet", NO_BOX, BOXES],
    "morris": ["sensitivity.parquet", "points.parquet"],
}
#: Tables that no reader here reads: broken as files only, to show that they stay unread.
UNREAD = ("events.parquet", "vaults.parquet")
#: The tables the readers read, with the columns they need most.
READ_TABLES = {
    ("run", "timeseries.parquet"): ("tick", "time", "price*"),
    ("run", "auctions.parquet"): ("end_tick", "collateral_sold"),
    ("batch", "runs.parquet"): ("run_id", "status", "scenario"),
    ("batch", "runs/{run}/timeseries.parquet"): ("tick", "time", "bad_debt"),
    ("batch", "runs/{run}/auctions.parquet"): ("start_tick", "due"),
    ("sweep", "runs.parquet"): ("status", PARAMETER, "bad_debt_max"),
    ("sweep", "points.parquet"): ("point", "*_mean"),
    ("sweep", BOXES): ("box", "parameter", "lower"),
    ("morris", "sensitivity.parquet"): ("method", "kpi", "mu_star"),
}
BROKEN_FILE = {"truncated": truncated, "garbage": GARBAGE, "empty": EMPTY}
BROKEN_COLUMNS = {
    "strings": STRINGS,
    "all-nan": ALL_NAN,
    "inf": INFINITE,
    "huge": HUGE,
    "negative": NEGATIVE,
    "one-column": ONE_COLUMN,
    "extra-columns": EXTRA,
    "zero-rows": ZERO_ROWS,
}
BROKEN_JSON = {
    "truncated": truncated,
    "not-json": NOT_JSON,
    "empty": EMPTY,
    "list": AS_LIST,
    "string": AS_STRING,
    "nested": NESTED,
}
#: The JSON files of each folder.
JSON_FILES = {
    "run": ["manifest.json", "summary.json"],
    "batch": ["batch.json", "runs/{run}/manifest.json"],
    "sweep": ["batch.json", "runs/{run}/manifest.json"],
}
#: A run's files in a batch that only the runs table read from the run folders reads (when
#: ``runs.parquet`` is absent): broken with ``runs.parquet`` removed.
REBUILT_FILES = {"sweep": ["runs/{run}/manifest.json", "runs/{run}/summary.json"]}
#: A run's manifest, broken field by field (in a run folder and in a batch's run folder).
MANIFEST_FIELDS = {
    "status-number": setting("status", 5),
    "status-nested": setting("status", {"x": 1}),
    "status-missing": removing("status"),
    "ticks-text": setting("ticks", "many"),
    "ticks-huge": setting("ticks", 10**400),
    "seed-text": setting("seed", "abc"),
    "seed-huge": setting("seed", 1e308),
    "seed-list": setting("seed", [3]),
    "scenario-text": setting("scenario", "small"),
    "scenario-list": setting("scenario", [1, 2]),
    "scenario-missing": removing("scenario"),
    "error-number": setting("error", 5),
    "wall-time-text": setting("wall_time_s", "slow"),
    "clock-text": setting("scenario.clock", "12h"),
    "collateral-list": setting("scenario.collateral", ["ETH"]),
    "ilks-nested": setting("scenario.ilks", {"ETH-A": 5}),
    "data-held-list": setting("data_held", [1]),
    "data-held-text": setting("data_held", {"ETH": "soon"}),
    "batch-text": setting("batch", "x"),
}
#: A run's summary, broken.
SUMMARY_FIELDS = {
    "kpi-markup": setting("bad_debt_max", SCRIPT),
    "kpis-text": json_edit(lambda d: {k: str(v) for k, v in d.items()}),
    "kpi-nan": setting("bad_debt_max", float("nan")),
    "kpi-inf": setting("liquidated_debt", float("inf")),
    "kpi-huge": setting("bad_debt_max", 1e308),
    "kpi-nested": setting("bad_debt_max", {"value": 1}),
    "keepers-list": setting("keepers", [1, 2]),
    "keepers-markup": setting("keepers", {SCRIPT: 1.0, QUOTES: "x"}),
}
#: Markup in what the report shows: (file, name, mutation, the text the page must show
#: escaped; ``None`` where the folder is refused or the text is not shown).
MARKUP = {
    "run": [
        ("manifest.json", "name-script", setting("scenario.name", SCRIPT), SCRIPT),
        ("manifest.json", "name-quotes", setting("scenario.name", QUOTES), QUOTES),
        ("manifest.json", "name-mathtext", setting("scenario.name", MATHTEXT), None),
        ("manifest.json", "description-script", setting("scenario.description", SCRIPT), SCRIPT),
        ("manifest.json", "error-script", setting("error", SCRIPT), SCRIPT),
        ("manifest.json", "version-script", setting("cdpsim_version", SCRIPT), SCRIPT),
        ("summary.json", "keeper-markup", setting("keepers", {SCRIPT: 1.0}), SCRIPT),
    ],
    "batch": [
        ("batch.json", "command-script", setting("command", SCRIPT), SCRIPT),
        ("batch.json", "overrides-script", setting("overrides", [SCRIPT]), SCRIPT),
        ("batch.json", "keep-quotes", setting("keep", QUOTES), QUOTES),
        ("runs.parquet", "run-id-script", column("run_id", SCRIPT), None),  # refused: a path
        ("runs/{run}", "run-id-markup", renamed_run(RUN_ID), RUN_ID),
        ("runs.parquet", "scenario-script", column("scenario", SCRIPT), SCRIPT),
        ("runs.parquet", "scenario-mathtext", column("scenario", MATHTEXT), None),
        ("runs.parquet", "status-script", column("status", SCRIPT), SCRIPT),
        ("runs.parquet", "error-script", failed_with(SCRIPT), SCRIPT),
        ("runs.parquet", "kpi-script", column("bad_debt_max", SCRIPT), None),  # refused: text
        ("runs/{run}/manifest.json", "name-script", setting("scenario.name", SCRIPT), SCRIPT),
    ],
    "sweep": [
        ("batch.json", "name-script", setting("sweep.name", SCRIPT), SCRIPT),
        ("batch.json", "name-mathtext", setting("sweep.name", MATHTEXT), None),
        ("batch.json", "description-quotes", setting("sweep.description", QUOTES), QUOTES),
        ("batch.json", "base-script", setting("sweep.base", SCRIPT), SCRIPT),
        ("batch.json", "unit-script", setting("sweep.parameters.0.unit", SCRIPT), SCRIPT),
        ("batch.json", "dist-script", setting("sweep.parameters.0.dist", SCRIPT), SCRIPT),
        ("batch.json", "values-script", setting("sweep.parameters.0.values", [SCRIPT]), SCRIPT),
        ("batch.json", "design-script", setting("sweep.design.kind", SCRIPT), SCRIPT),
        ("batch.json", "kpis-script", setting("sweep.kpis", [SCRIPT]), None),  # not shown
        (BOXES, "parameter-script", column("parameter", SCRIPT), SCRIPT),
        (BOXES, "method-script", column("method", SCRIPT), SCRIPT),
        ("points.parquet", "point-script", column("point", SCRIPT), None),  # refused: text
    ],
}
#: ``batch.json`` of a batch and of a sweep, broken field by field.
BATCH_FIELDS = {
    "run-ids-escape": setting("run_ids", [ESCAPING_ID]),
    "run-ids-nested": setting("run_ids", {"a": 1}),
    "overrides-text": setting("overrides", "x"),
    "seeds-huge": setting("seeds", [10**30]),
    "master-seed-text": setting("master_seed", "x"),
    "kind-missing": removing("kind"),
}
SWEEP_FIELDS = {
    "sweep-number": setting("sweep", 5),
    "sweep-list": setting("sweep", [1]),
    "sweep-text": setting("sweep", "grid"),
    "parameters-number": setting("sweep.parameters", 5),
    "parameters-nested": setting("sweep.parameters", {"a": 1}),
    "parameter-number": setting("sweep.parameters.0", 5),
    "parameter-name-number": setting("sweep.parameters.0.name", 5),
    "parameter-name-missing": removing("sweep.parameters.0.name"),
    "parameter-range-text": setting("sweep.parameters.0.range", "1-2"),
    "parameter-range-short": setting("sweep.parameters.0.range", [1]),
    "parameter-values-number": setting("sweep.parameters.0.values", 3),
    "parameter-paths-number": setting("sweep.parameters.0.paths", 3),
    "parameters-missing": removing("sweep.parameters"),
    "kpis-text": setting("sweep.kpis", "bad_debt_max"),
    "kpis-nested": setting("sweep.kpis", {"bad_debt_max": 1}),
    "design-text": setting("sweep.design", "grid"),
    "seeds-number": setting("sweep.seeds", 5),
    "complete-text": setting("sweep.complete", "no"),
    "name-huge": setting("sweep.name", 1e308),
    "name-nested": setting("sweep.name", {"a": 1}),
}
#: Discovery files, broken inside their metadata.
DISCOVERY_META = {
    "meta-not-json": discovery_meta(b"{not json"),
    "meta-list": discovery_meta(b"[1, 2]"),
    "meta-types": discovery_meta(json.dumps({"n_runs": "x", "note": 5, "complete": "no"}).encode()),
}


def _cases() -> Iterator[Case]:
    for base, tables in TABLES.items():
        for path in tables:
            for name, mutate in BROKEN_FILE.items():
                if path not in UNREAD or name == "truncated":
                    yield one(base, path, name, mutate)
            if path not in UNREAD:
                yield one(base, path, "folder", folder_instead)
    for (base, path), needed in READ_TABLES.items():
        for name, mutate in BROKEN_COLUMNS.items():
            yield one(base, path, name, mutate)
        yield one(base, path, "missing-columns", dropped(*needed))
    for base, files in JSON_FILES.items():
        for path in files:
            for name, mutate in BROKEN_JSON.items():
                yield one(base, path, name, mutate)
            yield one(base, path, "folder", folder_instead)
    for name, mutate in MANIFEST_FIELDS.items():
        yield one("run", "manifest.json", name, mutate)
        if "missing" not in name and "huge" not in name:  # a run's own case draws the same
            yield one("batch", "runs/{run}/manifest.json", name, mutate)
    for name, mutate in SUMMARY_FIELDS.items():
        yield one("run", "summary.json", name, mutate, SCRIPT if "markup" in name else None)
    rebuilt = ("runs.parquet", removed)
    for base, files in REBUILT_FILES.items():
        for path in files:
            short = path.replace("runs/{run}/", "run-")
            for name, mutate in BROKEN_JSON.items():
                yield Case(base, f"rebuilt-{short}-{name}", (rebuilt, (path, mutate)))
        for name, mutate in SUMMARY_FIELDS.items():  # a sweep's page shows no run's KPIs
            steps = (rebuilt, ("runs/{run}/summary.json", mutate))
            yield Case(base, f"rebuilt-summary-{name}", steps)
    # Markup as a KPI of a batch's runs table read from its run folders (left out: not a number).
    steps = (rebuilt, ("runs/{run}/summary.json", setting("bad_debt_max", SCRIPT)))
    yield Case("batch", "rebuilt-summary-kpi-markup", steps)
    for base, rows in MARKUP.items():
        for path, name, mutate, markup in rows:
            yield one(base, path, name, mutate, markup)
    for base in ("batch", "sweep"):
        for name, mutate in BATCH_FIELDS.items():
            yield one(base, "batch.json", name, mutate)
    for name, mutate in SWEEP_FIELDS.items():
        yield one("sweep", "batch.json", name, mutate)
    for name, mutate in DISCOVERY_META.items():
        yield one("sweep", BOXES, name, mutate)
    # The same parameter renamed to markup everywhere it is named: a consistent hostile sweep.
    yield Case(
        "sweep",
        "parameter-named-script",
        (
            ("batch.json", json_edit(_renamed_parameter)),
            ("points.parquet", renamed_column(PARAMETER, SCRIPT)),
            ("runs.parquet", renamed_column(PARAMETER, SCRIPT)),
        ),
        SCRIPT,
    )
    # Run ids that leave the folder, and the runs table rebuilt from run folders that lie.
    yield one("batch", "runs.parquet", "run-ids-escape", escaping_run_ids)
    yield one("sweep", "runs.parquet", "run-ids-escape", escaping_run_ids)
    for name, field, value in [
        ("error-number", "error", 5),
        ("seed-text", "seed", "abc"),
        ("batch-text", "batch", "x"),
        ("parameters-list", "batch.parameters", [1]),
        ("run-id-escape", "batch.run_id", ESCAPING_ID),
    ]:
        for base in ("batch", "sweep"):
            steps = (rebuilt, ("runs/{run}/manifest.json", setting(field, value)))
            yield Case(base, f"rebuilt-{name}", steps)
    yield Case("batch", "rebuilt-summary-list", (rebuilt, ("runs/{run}/summary.json", AS_LIST)))
    # Symbolic links out of the folder, files where folders are and the other way round.
    outside = symlink(_outside_garbage)
    dangling = symlink(lambda w: w.outside / "no-such-file")
    loop = symlink(lambda w: Path(w.path.name))
    for base, path in [
        ("run", "timeseries.parquet"),
        ("run", "manifest.json"),
        ("batch", "batch.json"),
        ("batch", "runs/{run}/timeseries.parquet"),
        ("sweep", "points.parquet"),
    ]:
        yield one(base, path, "symlink-outside", outside)
        yield one(base, path, "symlink-dangling", dangling)
        yield one(base, path, "symlink-loop", loop)
    yield one("batch", "runs/{run}", "symlink-to-outside-run", symlink(_outside_run))
    yield one("batch", "runs", "symlink-to-outside", symlink(lambda w: w.bases))
    yield one(
        "run", "timeseries.parquet", "points-table", symlink(_another_table("sweep/points.parquet"))
    )
    yield one(
        "sweep",
        "points.parquet",
        "timeseries-table",
        symlink(_another_table("run/timeseries.parquet")),
    )
    yield one(
        "morris",
        "sensitivity.parquet",
        "points-table",
        symlink(_another_table("sweep/points.parquet")),
    )
    yield one(
        "batch", "runs.parquet", "points-table", symlink(_another_table("sweep/points.parquet"))
    )
    for base, path in [
        ("batch", "runs"),
        ("batch", "runs/{run}"),
        ("sweep", "discovery"),
        ("sweep", "runs"),
    ]:
        yield one(base, path, "file", file_instead)
    for base, path in [
        ("run", "timeseries.parquet"),
        ("run", "summary.json"),
        ("run", "auctions.parquet"),
        ("batch", "runs.parquet"),
        ("sweep", "points.parquet"),
        ("morris", "sensitivity.parquet"),
    ]:
        yield one(base, path, "removed", removed)
    yield Case("batch", "no-runs-at-all", (("runs.parquet", removed), ("runs", removed)))


CASES = list(_cases())


def test_the_table_covers_every_table_and_file():
    """The count the note quotes, and no table or JSON file left unbroken."""
    assert len(CASES) >= 300, len(CASES)
    assert len({c.id for c in CASES}) == len(CASES), "two cases share an id"
    broken = {(c.base, path) for c in CASES for path, _ in c.steps}
    for base, tables in TABLES.items():
        for path in tables:
            assert (base, path) in broken
    for files in (JSON_FILES, REBUILT_FILES):
        for base, paths in files.items():
            for path in paths:
                assert (base, path) in broken
    assert sum(c.markup is not None for c in CASES) >= 25


# ---------------------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class Broken:
    """A case's folder, broken, and the names of the files or folders broken in it."""

    folder: Path
    names: tuple[str, ...]

    def named_in(self, message: str) -> bool:
        """Whether a message names the folder (or a path in it) or one of the broken files."""
        return str(self.folder) in message or any(name in message for name in self.names)


def _materialise(case: Case, bases: Path, root: Path) -> Broken:
    """A copy of the case's base folder in ``root``, broken by its steps."""
    folder = root / case.base
    shutil.copytree(bases / case.base, folder, symlinks=True)
    runs = sorted(p.name for p in (folder / "runs").iterdir()) if (folder / "runs").is_dir() else []
    names = []
    for path, mutate in case.steps:
        relative = path.replace("{run}", runs[0] if runs else "none")
        matches = sorted(folder.glob(relative)) if "*" in relative else [folder / relative]
        matches = [m for m in matches if not m.name.endswith("-0-cart.parquet")] or matches
        mutate(Where(matches[0], folder, root / "outside", bases))
        names.append(matches[0].name)
    return Broken(folder, tuple(names))


def _invoke(*args: str) -> tuple[int, str, str, str]:
    """A command in this process: exit code, stdout, stderr and the traceback, if one escaped."""
    result = CliRunner().invoke(main, list(args))
    escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
    trace = "".join(traceback.format_exception(*result.exc_info)) if escaped else ""
    return result.exit_code, result.stdout, result.stderr, trace


def _command_problems(case: Case, broken: Broken) -> list[str]:
    """``cdpsim plot``, ``report`` and (sweeps) ``discover`` on the folder, in this process."""
    folder = str(broken.folder)
    commands = [("plot", folder), ("report", folder)]
    if case.base in ("sweep", "morris"):
        commands.append(("discover", folder, *DISCOVER))
    problems = []
    for args in commands:
        code, out, err, trace = _invoke(*args)
        what = f"cdpsim {args[0]}"
        if trace:
            problems.append(f"{what}: traceback\n{trace}")
            continue
        if code not in (0, 2):
            problems.append(f"{what}: exit {code}: {err}")
        if "Traceback" in err:
            problems.append(f"{what}: a traceback on stderr: {err}")
        if code == 2 and not broken.named_in(err):
            problems.append(f"{what}: exit 2 without naming the folder or file: {err!r}")
        page = Path(out.strip()).read_text() if args[0] == "report" and code == 0 else ""
        if "<script" in page.lower():
            problems.append(f"{what}: raw <script in the page")
        if args[0] == "report" and case.markup is not None:
            if code != 0:
                problems.append(f"{what}: refused the folder, so its escaping is not tested")
            elif case.markup in page:
                problems.append(f"{what}: {case.markup!r} unescaped in the page")
            elif str(escape(case.markup)) not in page:
                problems.append(f"{what}: {case.markup!r} is not in the page, escaped or not")
    return problems


def _run_view(path: Path, broken: Broken, roots: tuple[Path, ...]) -> list[str]:
    """The dashboard's run panel: the run loaded, its KPI table, and running it again live."""
    try:
        run = load_folder(path)
    except FolderError as exc:
        return [] if broken.named_in(str(exc)) else [f"dashboard: unnamed: {exc}"]
    if not isinstance(run, RunData):
        return [f"dashboard: {path} gave a run panel a {type(run).__name__}"]
    kpi_table_html(run.summary)
    try:
        scenario_of_run(path, roots)
    except (TargetError, ScenarioError) as exc:  # the page shows it
        if not broken.named_in(str(exc)):
            return [f"dashboard: unnamed: {exc}"]
    return []


def _drawn(draw: Callable[[], Any]) -> None:
    """A figure as the dashboard's ``Figure`` makes it: its errors are shown in the page."""
    try:
        draw()
    except (FolderError, SweepPlotError):
        pass


def _runs_view(data: BatchData) -> None:
    """The runs table as the dashboard shows it (both status filters)."""
    runs = data.runs
    kpi_columns(runs)
    for status in ("all", "ok"):
        rows = filter_runs(runs, "", status)
        columns = shown_columns(runs)
        _heads, divisors = headers(runs, columns)
        table_items(rows, columns, divisors)


def _sweep_view(data: SweepData) -> None:
    """A sweep's overview as the dashboard draws it: its KPI, statistics, parameters, indices."""
    kinds = available_kinds(data)
    names = data.parameter_names
    kpi = data.kpis[0] if data.kpis else ""
    for stat in ("mean", "p95", "var95"):
        try:
            stat_column(data.points, kpi, stat)
        except SweepPlotError:
            pass
    view = "heatmap" if "heatmap" in kinds else "line"
    params = names[:2] if view == "heatmap" else names[:1]
    _drawn(lambda: figures_for(data, view, kpi=kpi, stat="mean", params=params))
    for kind in ("sobol", "morris"):
        if kind in kinds:
            _drawn(lambda kind=kind: figures_for(data, kind))


def _dashboard_problems(broken: Broken) -> list[str]:
    """The dashboard's loader (sim/app/views.py) on the folder: a message, or a traceback.

    A run's overview and a batch's fan chart are the figures ``cdpsim plot`` has just drawn from
    the same ``load_folder``, so they are not drawn again; a sweep's view asks for its own.
    """
    try:
        target = resolve(broken.folder)
    except TargetError as exc:
        return [] if broken.named_in(str(exc)) else [f"dashboard: unnamed: {exc}"]
    try:
        if target.kind == "run":
            return _run_view(target.path, broken, target.roots)
        try:
            data = load_folder(target.path)
        except FolderError as exc:
            return [] if broken.named_in(str(exc)) else [f"dashboard: unnamed: {exc}"]
        assert isinstance(data, BatchData)
        _runs_view(data)
        if isinstance(data, SweepData):
            _sweep_view(data)
        else:
            fan_pages(data)
        if len(data.runs):  # the panel of a run picked in the table
            first = str(data.runs["run_id"].iloc[0])
            return _run_view(BatchFolder(target.path).run_folder(first), broken, target.roots)
    except Exception:  # what the page would show as a traceback
        return [f"dashboard: traceback\n{traceback.format_exc()}"]
    return []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_hostile_folder_gets_a_message_not_a_traceback(case: Case, bases: Path, tmp_path: Path):
    broken = _materialise(case, bases, tmp_path)
    problems = _command_problems(case, broken) + _dashboard_problems(broken)
    assert not problems, "\n".join(problems)


#: Cases also run in a process of their own: forked from a server that imported cdpsim once
#: (tests/cli_helpers.py), and for :data:`THROUGH_THE_SCRIPT` through the installed console
#: script itself (a fresh interpreter: a second or two per command).
THROUGH_THE_COMMAND = (
    "run-timeseries.parquet-garbage",
    "run-manifest.json-ticks-text",
    "run-manifest.json-name-script",
    "batch-batch.json-truncated",
    "batch-runs.parquet-run-ids-escape",
    "sweep-points.parquet-strings",
    "sweep-batch.json-sweep-number",
    "sweep-discovery-file",
)
#: The cases of :data:`THROUGH_THE_COMMAND` run by the console script (plot, report, discover).
THROUGH_THE_SCRIPT = ("run-manifest.json-name-script", "sweep-discovery-file")


@pytest.mark.parametrize("case_id", THROUGH_THE_COMMAND)
def test_the_installed_command_agrees(case_id: str, bases: Path, tmp_path: Path, cdpsim_cmd):
    (case,) = [c for c in CASES if c.id == case_id]
    broken = _materialise(case, bases, tmp_path)
    folder = str(broken.folder)
    commands = [("plot", folder), ("report", folder, "--out", str(tmp_path / "r.html"))]
    if case.base == "sweep":
        commands.append(("discover", folder, *DISCOVER))
    for args in commands:
        if case_id in THROUGH_THE_SCRIPT:
            done = _cli(cdpsim_cmd, *args)
        else:
            done = cdpsim_forked(cdpsim_cmd, *args, timeout=TIMEOUT_S)
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode in (0, 2), (args, done.returncode, done.stderr)
        code, _, err, trace = _invoke(*args)
        assert not trace, trace
        assert code == done.returncode, (args, err, done.stderr)
        if done.returncode == 2:
            assert broken.named_in(done.stderr), done.stderr
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr
