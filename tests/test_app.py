"""The dashboard's logic without a browser: controls ↔ overrides, the live session's commands,
the runs table, the targets, and ``cdpsim dashboard``'s refusals (exit 2, no traceback).

The page itself, in a real browser, is tested in tests/test_app_browser.py.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.app import INSTALL_HINT, missing_extra
from sim.app.controls import Control, apply, controls_for, overrides, values_of
from sim.app.live import Frame, LiveSession, default_every
from sim.app.tables import (
    filter_runs,
    headers,
    kpi_cells,
    shown_columns,
    table_items,
)
from sim.app.targets import TargetError, resolve, scenario_of_run
from sim.filters import FilterError
from sim.scenario import ScenarioError, load_scenario
from tests.conftest import SCENARIOS, SMALL


def _small(tmp_path: Path, text: str = SMALL) -> sim.Scenario:
    path = tmp_path / "small.yaml"
    path.write_text(text)
    return load_scenario(path)


def _by_key(controls: list[Control]) -> dict[str, Control]:
    return {c.key: c for c in controls}


# ---------------------------------------------------------------------------------------- controls


def test_controls_hold_the_scenarios_values_in_display_units():
    scenario = load_scenario(SCENARIOS / "eth_crash_liq2.yaml")
    controls = _by_key(controls_for(scenario))
    assert list(controls) == [
        "crash_depth",
        "crash_over",
        "mat",
        "chop",
        "buf",
        "tail",
        "cusp",
        "market_depth",
        "keeper_dai_0",
        "seed",
    ]
    assert controls["crash_depth"].value == 0.5
    assert controls["crash_over"].value == 24.0  # hours
    assert controls["tail"].value == 140.0  # minutes
    assert controls["mat"].value == 1.45
    assert controls["market_depth"].value is None and controls["market_depth"].optional
    assert controls["keeper_dai_0"].value == 5.0e6
    assert controls["seed"].value == 7
    for c in controls.values():
        if c.widget == "slider":
            assert c.lo <= c.value <= c.hi, c.key


def test_every_ilk_and_collateral_has_its_controls(tmp_path):
    base = load_scenario(SCENARIOS / "multi_collateral.yaml")
    controls = _by_key(controls_for(base))
    assert controls["mat"].path == "ilks.ETH-A.mat"
    assert controls["mat_1"].path == "ilks.WBTC-A.mat"
    assert controls["tail_1"].path == "ilks.WBTC-A.liquidation.tail"
    assert controls["market_depth_1"].path == "collateral.WBTC.market.depth_usd_2pct"
    assert controls["market_depth_1"].value == 2.0e7
    assert [k for k in controls if k.startswith("keeper_dai")] == ["keeper_dai_0", "keeper_dai_1"]
    changed = apply(list(controls.values()), {"mat_1": 1.48, "market_depth_1": 1.0e6}, base)
    assert changed.ilks["WBTC-A"].mat == 1.48 and changed.ilks["ETH-A"].mat == 1.45
    assert changed.collateral["WBTC"].market.depth_usd_2pct == 1.0e6
    assert values_of(list(controls.values()), changed)["mat_1"] == 1.48


def test_gas_controls_only_with_a_network_and_per_bidding_strategy():
    crash = controls_for(load_scenario(SCENARIOS / "eth_crash_liq2.yaml"))
    assert not [c for c in crash if c.key.startswith("keeper_gas")]
    thursday = load_scenario(SCENARIOS / "black_thursday_2020.yaml")
    gas = [c for c in controls_for(thursday) if c.key.startswith("keeper_gas")]
    assert gas, "black_thursday_2020 has a network section and keepers"
    for c in gas:
        i = int(c.key.rsplit("_", 1)[1])
        assert c.path.startswith(f"keepers.{i}.gas")
        # a Flip scenario: no buf/tail/cusp
    assert "buf" not in _by_key(controls_for(thursday))


def test_override_texts_round_trip_through_the_scenario_api(tmp_path):
    base = _small(tmp_path)
    controls = controls_for(base)
    values = values_of(controls, base)
    assert overrides(controls, values, base) == []  # unchanged values give no override
    assert apply(controls, values, base) is base
    changed = {
        **values,
        "crash_over": 2.5,
        "tail": 45.0,
        "mat": 1.52,
        "market_depth": 3.0e6,
        "keeper_dai_0": 2.5e14,
        "seed": 11,
    }
    texts = overrides(controls, changed, base)
    assert "collateral.ETH.price.crash.over=2.5h" in texts
    assert "ilks.ETH-A.liquidation.tail=45m" in texts
    assert "seed=11" in texts
    new = apply(controls, changed, base)
    assert new.collateral["ETH"].price.crash.over == 2.5 * 3600
    assert new.ilks["ETH-A"].liquidation.tail == 45 * 60
    assert new.ilks["ETH-A"].mat == 1.52
    assert new.collateral["ETH"].market.depth_usd_2pct == 3.0e6
    assert new.keepers[0].dai == 2.5e14
    assert new.seed == 11
    assert values_of(controls, new) == changed
    # clearing an optional field unsets it again
    cleared = apply(controls, {**changed, "market_depth": None}, new)
    assert cleared.collateral["ETH"].market is None


def test_a_value_the_scenario_refuses_names_its_override(tmp_path):
    base = _small(tmp_path)
    controls = controls_for(base)
    values = {**values_of(controls, base), "keeper_dai_0": -5.0}
    with pytest.raises(ScenarioError, match=r"--set keepers\.0\.dai=-5\.0"):
        apply(controls, values, base)


# ---------------------------------------------------------------------------------------- session


class Frames(list):
    """The frames a session published, in order."""

    @property
    def last(self) -> Frame:
        return self[-1]


def _session(scenario: sim.Scenario, **kwargs) -> tuple[LiveSession, Frames]:
    frames = Frames()
    return LiveSession(scenario, frames.append, **kwargs), frames


def test_session_builds_steps_and_resets_with_the_controls_values(tmp_path):
    base = _small(tmp_path)
    session, frames = _session(base)
    session.drain()
    first = frames.last
    assert (first.tick, first.n_ticks, first.generation) == (0, base.n_ticks, 1)
    assert first.png.startswith(b"\x89PNG") and first.kpis["dai_supply_start"] == 3.0e6
    session.render_every(4)
    session.step()
    session.drain()
    assert frames.last.tick == 4 and frames.last.every == 4
    assert frames.last.png != first.png
    values = {**session.initial_values, "mat": 1.52, "seed": 5}
    session.reset(values)
    session.drain()
    rebuilt = frames.last
    assert (rebuilt.tick, rebuilt.generation) == (0, 2)
    assert session.model.spec.ilks["ETH-A"].mat == 1.52 and session.model.seed == 5
    assert rebuilt.values["mat"] == 1.52 and rebuilt.values["seed"] == 5
    # a second reset with the same values keeps them (the trap of mesa's reset, #2505)
    session.reset(values)
    session.drain()
    assert frames.last.values["mat"] == 1.52 and frames.last.generation == 3


def test_a_refused_reset_keeps_the_model_and_reports(tmp_path):
    base = _small(tmp_path)
    session, frames = _session(base)
    session.step()
    session.drain()
    model = session.model
    session.reset({**session.initial_values, "mat": 0.9})
    session.drain()
    assert session.model is model
    assert frames.last.tick == 1 and frames.last.generation == 1
    assert any(
        "ilks.ETH-A.mat" in e and "--set ilks.ETH-A.mat=0.9" in e for e in frames.last.errors
    )
    session.reset(session.initial_values)
    session.drain()
    assert frames.last.errors == () and frames.last.generation == 2


def _wait_for(condition, what: str, timeout_s: float = 120.0) -> None:
    """Wait until ``condition()`` holds; fail (a hang, not a slow machine) after ``timeout_s``."""
    pause = threading.Event()
    for _ in range(int(timeout_s / 0.05)):
        if condition():
            return
        pause.wait(0.05)
    pytest.fail(f"timed out waiting for {what}")


def test_the_worker_plays_in_frames_of_k_ticks_until_paused_or_done(tmp_path):
    base = _small(tmp_path)
    session, frames = _session(base)
    cancel = threading.Event()
    worker = threading.Thread(target=session.run, args=(cancel,), daemon=True)
    worker.start()
    try:
        session.render_every(8)
        session.play()
        _wait_for(lambda: frames and frames.last.tick >= 16, "two frames of play")
        session.pause()
        _wait_for(lambda: not frames.last.playing, "the pause")
        paused = frames.last.tick
        assert all(f.tick % 8 == 0 for f in frames), [f.tick for f in frames]
        session.step()  # a step after the pause advances exactly one render interval
        _wait_for(lambda: frames.last.tick != paused, "the step")
        assert frames.last.tick == paused + 8 and not frames.last.playing
        session.play()  # then it plays to the end and stops by itself
        _wait_for(lambda: frames.last.finished and not frames.last.playing, "the end")
        assert frames.last.tick == base.n_ticks
    finally:
        cancel.set()
        worker.join(timeout=30)
    assert not worker.is_alive()


def test_default_render_interval():
    assert default_every(72) == 1
    assert default_every(2880) == 29
    assert default_every(10**7) == 500


def test_a_run_at_100k_vaults_steps_and_draws(tmp_path):
    text = (
        SMALL.replace("vaults: 200, debt: 2.0e6", "vaults: 80000, debt: 2.0e9")
        .replace("vaults: 50, debt: 1.0e6", "vaults: 20000, debt: 1.0e9")
        .replace("line: 1.0e9", "line: 1.0e11")
    )
    base = _small(tmp_path, text)
    session, frames = _session(base)
    session.render_every(12)
    session.step()
    session.drain()
    assert frames.last.vaults == 100_000 and frames.last.tick == 12
    assert frames.last.png.startswith(b"\x89PNG")


# ---------------------------------------------------------------------------------------- tables


def test_runs_filter_and_items():
    runs = pd.DataFrame(
        {
            "run_id": ["a", "b", "c"],
            "scenario": ["s", "s", "s"],
            "seed": [1, 2, 2**60],
            "status": ["ok", "failed", "ok"],
            "bad_debt_max": [0.0, float("nan"), 1.5e6],
            "auctions": [3, 0, 7],
        }
    )
    assert list(filter_runs(runs, "", "ok")["run_id"]) == ["a", "c"]
    assert list(filter_runs(runs, "bad_debt_max > 1e6")["run_id"]) == ["c"]
    with pytest.raises(FilterError, match="nope"):
        filter_runs(runs, "nope > 1")
    with pytest.raises(FilterError):
        filter_runs(runs, "auctions")  # not a condition
    columns = shown_columns(runs)
    assert columns == ["run_id", "scenario", "seed", "status", "bad_debt_max", "auctions"]
    items = table_items(runs, columns)
    assert items[0]["bad_debt_max"] == 0.0 and items[1]["bad_debt_max"] is None
    assert items[2]["bad_debt_max"] == 1_500_000 and items[2]["seed"] == str(2**60)
    heads, divisors = headers(runs, columns)
    assert [h["text"] for h in heads][4:] == ["bad_debt_max [M Dai]", "auctions"]
    assert divisors == {"bad_debt_max": 1e6}
    assert table_items(runs, columns, divisors)[2]["bad_debt_max"] == 1.5


def test_fan_pages_are_labelled_by_their_scenarios():
    from sim.app.views import fan_page_labels

    pages = [[f"s{k}" for k in range(8)], ["s8", "s9"]]
    assert fan_page_labels(pages) == ["1–8 of 10: s0, s1, s2, …", "9–10 of 10: s8, s9"]
    assert fan_page_labels([["only"]]) == ["1 of 1: only"]
    assert fan_page_labels([["a", "b"], ["c"]])[1] == "3 of 3: c"


def test_kpi_cells_print_as_the_cli_does():
    cells = {name: (value, unit) for name, value, unit, _ in kpi_cells({"bad_debt_max": 1234567.8})}
    assert cells == {"bad_debt_max": ("1,234,568", "Dai")}


# ---------------------------------------------------------------------------------------- targets


def test_targets(tmp_path):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    assert resolve(scenario).kind == "scenario"
    run = tmp_path / "run"
    sim.run(load_scenario(scenario), seed=9, out=run)
    assert resolve(run).kind == "run"
    again, seed = scenario_of_run(run)
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


# ---------------------------------------------------------------------------------------- CLI


def _cdpsim(cmd: list[str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_importing_the_app_package_is_light():
    code = (
        "import sys, sim.app; "
        "heavy = [m for m in ('solara', 'pandas', 'matplotlib', 'mesa') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""


def test_without_the_extra_the_command_says_how_to_install_it(small_scenario_file):
    # The extra's packages made unimportable in a fresh interpreter, as in a core-only install.
    code = (
        "import sys; sys.modules['solara'] = None; sys.modules['uvicorn'] = None; "
        "from sim.cli import main; sys.argv = ['cdpsim', 'dashboard', sys.argv[1]]; main()"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(small_scenario_file)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2, res.stderr
    assert 'pip install -e ".[dashboard]"' in res.stderr
    assert "Traceback" not in res.stderr
    assert missing_extra() is None  # here, the extra is installed
    assert "[dashboard]" in INSTALL_HINT


def test_bad_targets_and_a_busy_port_exit_2(cdpsim_cmd, small_scenario_file, tmp_path):
    pytest.importorskip("solara")
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL.replace("mat: 1.5", "mat: 0.9"))
    for args, needle in (
        ([str(bad)], "ilks.ETH-A.mat"),
        ([str(tmp_path / "nothing")], "no such file or folder"),
        ([str(tmp_path)], "not a cdpsim run, batch or sweep folder"),
        ([], "give a scenario file"),
    ):
        res = _cdpsim(cdpsim_cmd, "dashboard", *args, cwd=tmp_path)
        assert res.returncode == 2, (args, res.stderr)
        assert needle in res.stderr and "Traceback" not in res.stderr, (args, res.stderr)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        res = _cdpsim(cdpsim_cmd, "dashboard", str(small_scenario_file), "--port", str(port))
    assert res.returncode == 2 and f"127.0.0.1:{port}" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
