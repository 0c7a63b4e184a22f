"""What the dashboard was asked to show (sim/app/targets.py): a scenario file or a run, batch
or sweep folder, the folders it may read (its roots), and a run folder turned back into the
scenario and seed it ran with, reading data files only under those roots.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

import sim
from sim.app.targets import TargetError, check_inside, inside, resolve, scenario_of_run
from sim.experiments.store import BatchFolder
from sim.scenario import ScenarioError, load_scenario
from tests.conftest import SMALL


def test_targets(tmp_path):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    assert resolve(scenario).kind == "scenario"
    run = tmp_path / "run"
    sim.run(load_scenario(scenario), seed=9, out=run)
    assert resolve(run).kind == "run"
    again, seed = scenario_of_run(run, resolve(run).roots)
    assert seed == 9 and again.name == "small"
    for bad, message in (
        (tmp_path / "missing", "no such file or folder"),
        (tmp_path / "missing.yaml", "missing.yaml: no such file"),
        (tmp_path, "not a cdpsim run, batch or sweep folder"),
    ):
        with pytest.raises(TargetError, match=message):
            resolve(bad)
    text = tmp_path / "notes.txt"
    text.write_text("x")
    with pytest.raises(TargetError, match="not a scenario file"):
        resolve(text)


#: 13 hourly ETH prices from SMALL's start (2020-01-01T00:00:00Z), for a replayed scenario.
PRICES_CSV = "timestamp,eth\n" + "".join(
    f"2020-01-01T{h:02d}:00:00Z,{2000 - 50 * h}\n" for h in range(13)
)
SCRIPTED_ETH = "{process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}}"


def replayed_batch(tmp_path: Path, seeds: tuple[int, ...] = (4,)) -> tuple[Path, Path, Path]:
    """A batch over ``seeds`` of SMALL replaying ``prices.csv`` kept next to its scenario file.

    Returns:
        The batch folder, its first run's folder, and the scenario's folder (outside the batch).
    """
    source = tmp_path / "scenarios"
    source.mkdir()
    (source / "prices.csv").write_text(PRICES_CSV)
    scenario = source / "replayed.yaml"
    replay = "{process: replay, file: prices.csv, column: eth, beyond: hold}"
    scenario.write_text(SMALL.replace(SCRIPTED_ETH, replay).replace("12h", "2h"))
    batch = tmp_path / "batch"
    runs = sim.run_batch(scenario, seeds=list(seeds), workers=0, out=batch)
    return batch, BatchFolder(batch).run_folder(str(runs["run_id"].iloc[0])), source


def test_run_it_live_reads_data_files_only_under_the_dashboards_folders(tmp_path):
    batch, run, source = replayed_batch(tmp_path)
    target = resolve(batch)
    assert target.roots == (batch.resolve(),)
    # The manifest names the scenario file in scenarios/, outside the batch: its data file is
    # not read; the message says how to allow that folder.
    with pytest.raises(TargetError) as refused:
        scenario_of_run(run, target.roots)
    message = str(refused.value)
    assert f"restart cdpsim dashboard with --data-dir {source}" in message
    assert "Traceback" not in message
    # ... which works: with scenarios/ as a data folder the run is rebuilt from its data.
    allowed = resolve(batch, [source]).roots
    scenario, seed = scenario_of_run(run, allowed)
    assert seed == 4 and scenario.collateral["ETH"].price.file == "prices.csv"
    assert Path(scenario.base_dir) == source

    # A manifest edited to name a file elsewhere by its absolute path: refused, by where it is.
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "prices.csv").write_text(PRICES_CSV)
    manifest_path = run / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["scenario"]["collateral"]["ETH"]["price"]["file"] = str(secret / "prices.csv")
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ScenarioError, match="is outside the scenario's folder"):
        scenario_of_run(run, allowed)
    # ... also when it names a scenario file next to that file: the folder is not used.
    manifest["batch"]["scenario_file"] = str(secret / "replayed.yaml")
    (secret / "replayed.yaml").write_text("name: decoy\n")
    manifest["scenario"]["collateral"]["ETH"]["price"]["file"] = "prices.csv"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(TargetError, match=re.escape(f"--data-dir {secret}")):
        scenario_of_run(run, allowed)


def test_a_run_folder_outside_the_roots_is_refused(tmp_path):
    batch, run, _source = replayed_batch(tmp_path)
    copied = tmp_path / "elsewhere"
    shutil.copytree(run, copied)
    roots = resolve(batch).roots
    check_inside(run, roots)
    # a run id of a runs table or a click, walking out of the batch
    escaped = BatchFolder(batch).run_folder("../../elsewhere")
    for folder in (escaped, copied):
        with pytest.raises(TargetError, match="outside the folders this dashboard reads"):
            check_inside(folder, roots)
        with pytest.raises(TargetError, match="add it with --data-dir"):
            scenario_of_run(folder, roots)
    link = batch / "runs" / "link"
    link.symlink_to(copied, target_is_directory=True)
    with pytest.raises(TargetError, match="outside the folders"):
        check_inside(link, roots)  # symlinks are followed
    scenario = tmp_path / "scenarios" / "replayed.yaml"
    assert resolve(scenario).roots == (scenario.parent.resolve(),)


def test_the_roots_are_the_folder_shown_and_the_data_folders(tmp_path):
    scenario = tmp_path / "scenarios" / "small.yaml"
    scenario.parent.mkdir()
    scenario.write_text(SMALL)
    target = resolve(scenario, [tmp_path / "prices", "relative"])
    assert target.kind == "scenario" and target.data_dirs == (str(tmp_path / "prices"), "relative")
    assert target.roots == (
        scenario.parent.resolve(),
        (tmp_path / "prices").resolve(),
        Path("relative").resolve(),
    )
    assert target.scenario().name == "small"
    upper = scenario.with_name("SMALL.YML")
    upper.write_text(SMALL)
    assert resolve(upper).kind == "scenario"  # the extension in any case


def test_a_symlink_loop_is_not_inside_and_a_damaged_run_folder_is_refused(tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    assert not inside(loop, (tmp_path.resolve(),))
    assert inside(tmp_path / "a" / "b", (tmp_path.resolve(),))  # need not exist
    damaged = tmp_path / "run"
    damaged.mkdir()
    (damaged / "manifest.json").write_text("{not json")
    with pytest.raises(TargetError, match=r"manifest\.json"):
        scenario_of_run(damaged, (tmp_path.resolve(),))
