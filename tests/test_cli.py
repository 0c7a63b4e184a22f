"""The cdpsim command: through the installed console script (test_validate_ok_and_bad,
test_bad_override_and_bad_option), else forked from a pre-imported server or in this process
(tests/cli_helpers.py), which answer as the script does."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd

from sim.rundir import RUN_FILES
from tests.cli_helpers import cdpsim_forked, cdpsim_here
from tests.conftest import SMALL


def cdpsim(cmd: list[str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``cdpsim ARGS`` in a process forked from a pre-imported server (tests/cli_helpers.py)."""
    return cdpsim_forked(cmd, *args, cwd=cwd, timeout=300)


def cdpsim_script(
    cmd: list[str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """``cdpsim ARGS`` through the installed console script, in a subprocess."""
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_validate_ok_and_bad(cdpsim_cmd, small_scenario_file, tmp_path):
    ok = cdpsim_script(cdpsim_cmd, "validate", str(small_scenario_file))
    assert ok.returncode == 0, ok.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL.replace("mat: 1.5", "mat: 0.9"))
    res = cdpsim_script(cdpsim_cmd, "validate", str(small_scenario_file), str(bad))
    assert res.returncode == 2
    assert f"{bad}:" in res.stderr and "ilks.ETH-A.mat" in res.stderr
    assert "Traceback" not in res.stderr


def test_broken_files_exit_2_without_traceback(tmp_path):
    """Every kind of broken file, in this process (the console script's exit 2 on bad input is
    checked by test_bad_override_and_bad_option and test_validate_ok_and_bad)."""
    cases = {
        "unknown_key": (SMALL.replace("seed: 3", "seed: 3\nsede: 4"), "sede"),
        "wrong_type": (SMALL.replace("vaults: 200", "vaults: lots"), "borrowers.0.vaults"),
        "mat": (SMALL.replace("mat: 1.5", "mat: 0.9"), "ilks.ETH-A.mat"),
        "missing_csv": (
            SMALL.replace(
                "{process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}}",
                "{process: replay, file: missing.csv, column: eth_close}",
            ),
            "collateral.ETH.price.file",
        ),
        "malformed": (SMALL.replace("name: small", "name: [small"), "malformed YAML"),
    }
    for label, (text, needle) in cases.items():
        path = tmp_path / f"{label}.yaml"
        path.write_text(text)
        res = cdpsim_here("run", str(path), "--out", str(tmp_path / label))
        assert res.returncode == 2, (label, res.stderr)
        assert "Traceback" not in res.stderr, label
        first = res.stderr.strip().splitlines()[0]
        assert first.startswith(f"{path}:"), (label, first)
        line = first[len(str(path)) + 1 :].split(":", 1)[0]
        assert line.isdigit(), (label, first)
        assert needle in res.stderr, (label, res.stderr)
        assert not (tmp_path / label).exists()


def test_bad_override_and_bad_option(cdpsim_cmd, small_scenario_file, tmp_path):
    res = cdpsim_script(cdpsim_cmd, "run", str(small_scenario_file), "--set", "ilks.ETH-A.mat=0.5")
    assert res.returncode == 2 and "--set ilks.ETH-A.mat=0.5" in res.stderr
    res = cdpsim_script(cdpsim_cmd, "run", str(small_scenario_file), "--seed", "minus")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    res = cdpsim_script(cdpsim_cmd, "run", str(tmp_path / "nope.yaml"))
    assert res.returncode == 2 and "file not found" in res.stderr


def test_run_writes_six_files_and_prints_kpis(cdpsim_cmd, small_scenario_file, tmp_path):
    out = tmp_path / "run"
    res = cdpsim(
        cdpsim_cmd,
        "run",
        str(small_scenario_file),
        "--seed",
        "5",
        "--out",
        str(out),
        "--set",
        "clock.duration=6h",
    )
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(RUN_FILES)
    kpis = {line.split()[0]: line.split()[1:] for line in res.stdout.splitlines()[1:]}
    assert kpis["bad_debt_final"][-1] == "Dai" and kpis["vaults_liquidated"][-1] == "count"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["status"] == "ok"
    assert manifest["scenario"]["clock"]["duration"] == "6h"
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert len(ts) == 37


def test_default_out_folder_is_runs_name_and_a_set_run_gets_its_own(
    cdpsim_cmd, small_scenario_file, tmp_path
):
    from sim.files import overrides_digest

    small_scenario_file.write_text(small_scenario_file.read_text().replace("12h", "1h"))
    res = cdpsim(cdpsim_cmd, "run", str(small_scenario_file), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    baseline = tmp_path / "runs" / "small" / "manifest.json"
    kept = baseline.read_bytes()
    assert "set" not in json.loads(kept)
    sets = ["clock.duration=30m", "ilks.ETH-A.mat = 1.4"]
    words = [w for o in sets for w in ("--set", o)]
    res = cdpsim(cdpsim_cmd, "run", str(small_scenario_file), *words, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    digest = overrides_digest(sets)
    folder = Path("runs") / f"small-set-{digest}"
    assert res.stdout.splitlines()[0].endswith(f"→ {folder}")  # says where it went
    manifest = json.loads((tmp_path / folder / "manifest.json").read_text())
    assert manifest["set"] == {"overrides": sets, "digest": digest}
    assert manifest["scenario"]["ilks"]["ETH-A"]["mat"] == 1.4
    assert baseline.read_bytes() == kept  # the run without --set is left as it was


def test_vaults_over_the_ceiling_are_bad_input(cdpsim_cmd, small_scenario_file, tmp_path):
    res = cdpsim(
        cdpsim_cmd,
        "run",
        str(small_scenario_file),
        "--out",
        str(tmp_path / "run"),
        "--set",
        "ilks.ETH-A.line=1.0e6",
    )
    assert res.returncode == 2, res.stderr
    assert "ilks.ETH-A.line" in res.stderr and "Traceback" not in res.stderr


def test_failed_run_exits_1_and_keeps_what_was_computed(small_scenario_file, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from sim.agents.keeper import Keeper
    from sim.cli import main

    original = Keeper.step

    def broken(self):
        if self.model.tick == 4:
            raise RuntimeError("keeper crashed")
        original(self)

    monkeypatch.setattr(Keeper, "step", broken)
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(small_scenario_file), "--out", str(out)])
    assert res.exit_code == 1
    assert "keeper crashed" in res.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["ticks"] == 3
    assert len(pd.read_parquet(out / "timeseries.parquet")) == 4


def test_validate_takes_folders_sweep_files_and_overrides(cdpsim_cmd, tmp_path):
    from tests.conftest import SCENARIOS

    res = cdpsim(cdpsim_cmd, "validate", str(SCENARIOS), str(SCENARIOS / "sweeps"))
    assert res.returncode == 0, res.stderr
    assert "crash_sobol.yaml: ok" in res.stdout and "baseline.yaml: ok" in res.stdout
    bad = cdpsim(
        cdpsim_cmd, "validate", str(SCENARIOS / "baseline.yaml"), "--set", "ilks.ETH-A.mat=0.9"
    )
    assert bad.returncode == 2 and "(--set ilks.ETH-A.mat=0.9): ilks.ETH-A.mat" in bad.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    none = cdpsim(cdpsim_cmd, "validate", str(empty))
    assert none.returncode == 2 and "no scenario files" in none.stderr


SPELL = """\
governance:
  delay: 1h
  spells:
    - {name: lower-chop, at: 2h, set: {ilks.ETH-A.liquidation.chop: 0.05}}
"""


def test_validate_and_run_a_scenario_with_spells(cdpsim_cmd, tmp_path):
    path = tmp_path / "spells.yaml"
    path.write_text(SMALL + SPELL)
    ok = cdpsim(cdpsim_cmd, "validate", str(path))
    assert ok.returncode == 0, ok.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL + SPELL.replace("ilks.ETH-A.liquidation.chop: 0.05", "clock.tick: 5m"))
    res = cdpsim(cdpsim_cmd, "validate", str(bad))
    line = (
        bad.read_text()
        .splitlines()
        .index(next(x for x in bad.read_text().splitlines() if "5m" in x))
        + 1
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert (
        f"{bad}:{line}: governance.spells.0.set.clock.tick: clock.tick cannot change during a run"
    ) in res.stderr
    out = tmp_path / "run"
    run = cdpsim(
        cdpsim_cmd, "run", str(path), "--out", str(out), "--set", "governance.spells.0.delay=2h"
    )
    assert run.returncode == 0, run.stderr
    events = pd.read_parquet(out / "events.parquet")
    spells = events[events["event"] == "spell"]
    assert list(spells["tick"]) == [24]  # cast at 2 h, effective 2 h later: 4 h of 10 minutes
    assert list(spells["actor"]) == ["lower-chop: ilks.ETH-A.liquidation.chop 0.13 → 0.05"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario"]["governance"]["spells"][0]["delay"] == "2h"
