"""The cdpsim command, through the installed entry point."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd

from sim.record import RUN_FILES
from tests.conftest import SMALL


def cdpsim(cmd: list[str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_validate_ok_and_bad(cdpsim_cmd, small_scenario_file, tmp_path):
    ok = cdpsim(cdpsim_cmd, "validate", str(small_scenario_file))
    assert ok.returncode == 0, ok.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL.replace("mat: 1.5", "mat: 0.9"))
    res = cdpsim(cdpsim_cmd, "validate", str(small_scenario_file), str(bad))
    assert res.returncode == 2
    assert f"{bad}:" in res.stderr and "ilks.ETH-A.mat" in res.stderr
    assert "Traceback" not in res.stderr


def test_broken_files_exit_2_without_traceback(cdpsim_cmd, tmp_path):
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
        res = cdpsim(cdpsim_cmd, "run", str(path), "--out", str(tmp_path / label))
        assert res.returncode == 2, (label, res.stderr)
        assert "Traceback" not in res.stderr, label
        first = res.stderr.strip().splitlines()[0]
        assert first.startswith(f"{path}:"), (label, first)
        line = first[len(str(path)) + 1 :].split(":", 1)[0]
        assert line.isdigit(), (label, first)
        assert needle in res.stderr, (label, res.stderr)
        assert not (tmp_path / label).exists()


def test_bad_override_and_bad_option(cdpsim_cmd, small_scenario_file, tmp_path):
    res = cdpsim(cdpsim_cmd, "run", str(small_scenario_file), "--set", "ilks.ETH-A.mat=0.5")
    assert res.returncode == 2 and "--set ilks.ETH-A.mat=0.5" in res.stderr
    res = cdpsim(cdpsim_cmd, "run", str(small_scenario_file), "--seed", "minus")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    res = cdpsim(cdpsim_cmd, "run", str(tmp_path / "nope.yaml"))
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
    assert "bad_debt_final" in res.stdout and "liquidations" in res.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["status"] == "ok"
    assert manifest["scenario"]["clock"]["duration"] == "6h"
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert len(ts) == 37


def test_default_out_folder_is_runs_name(cdpsim_cmd, small_scenario_file, tmp_path):
    res = cdpsim(
        cdpsim_cmd, "run", str(small_scenario_file), "--set", "clock.duration=1h", cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "runs" / "small" / "summary.json").exists()


def test_failed_run_keeps_what_was_computed(cdpsim_cmd, small_scenario_file, tmp_path):
    # A vault book that cannot open (dust above every vault's debt) fails at build: exit 1.
    out = tmp_path / "run"
    res = cdpsim(
        cdpsim_cmd,
        "run",
        str(small_scenario_file),
        "--out",
        str(out),
        "--set",
        "borrowers.0.size.dist=lognormal",
        "--set",
        "borrowers.0.size.sigma=3",
        "--set",
        "ilks.ETH-A.dust=5000",
    )
    assert res.returncode == 1, res.stderr
    assert "Traceback" in res.stderr or "could not be built" in res.stderr
