"""`cdpsim sweep` and `cdpsim discover` through the real entry point."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import SMALL
from tests.test_cli_batch import cdpsim, finished_runs, signal_after

SWEEP = """\
name: cli
base: base.yaml
overrides: {clock.duration: 12h}
design: {kind: grid}
parameters:
  ilks.ETH-A.mat: {values: [1.3, 1.5]}
  collateral.ETH.price.crash.depth: {values: [0.2, 0.4, 0.6]}
seeds: 4
kpis: [bad_debt_max, liquidated_debt]
"""
#: Longer runs (1 440 one-minute ticks), so that a sweep can be stopped part way.
SLOW = SWEEP.replace("{clock.duration: 12h}", "{clock.tick: 1m, clock.duration: 1d}")


@pytest.fixture
def sweep_file(tmp_path) -> Path:
    (tmp_path / "base.yaml").write_text(SMALL)
    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP)
    return path


def test_a_sweep_writes_its_folder_and_reports_on_stdout(cdpsim_cmd, sweep_file, tmp_path):
    out = tmp_path / "out"
    res = cdpsim(cdpsim_cmd, "sweep", str(sweep_file), "--workers", "2", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [
        f"cli: 6 points × 4 seeds (grid) → {out / 'points.parquet'} (statistics over n = 4 "
        "runs per point)",
        f"24 runs: 24 ok, 0 failed → {out / 'runs.parquet'}",
    ]
    # 4 runs a point: one warning, on stderr, and the exit code stays 0
    warnings = [line for line in res.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: VaR/ES/LaR at 95 % and the 5 %/95 % quantiles of each point rest on 4 runs "
        "(fewer than 50): read them as rough; with so few runs the 95 % quantile lies between "
        "the two largest runs and the expected shortfall is the largest run alone"
    ]
    manifest = json.loads((out / "batch.json").read_text())
    assert manifest["kind"] == "cdpsim-batch" and manifest["keep"] == "summary"
    assert manifest["command"].startswith("cdpsim sweep ")
    assert manifest["sweep"]["file"] == "../sweep.yaml"  # relative to the sweep folder
    points = pd.read_parquet(out / "points.parquet")
    assert len(points) == 6 and (points["n"] == 4).all() and (points["n_runs"] == 4).all()
    assert len(pd.read_parquet(out / "runs.parquet")) == 24


def test_the_default_folder_is_found_again_by_resume(cdpsim_cmd, sweep_file, tmp_path):
    small = sweep_file.read_text().replace("seeds: 4", "seeds: 1")
    sweep_file.write_text(small.replace("[0.2, 0.4, 0.6]", "[0.4]"))
    res = cdpsim(cdpsim_cmd, "sweep", str(sweep_file), "--workers", "0", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "runs" / "sweep-cli" / "points.parquet").is_file()
    again = cdpsim(cdpsim_cmd, "sweep", str(sweep_file), "--workers", "0", cwd=tmp_path)
    assert again.returncode == 2 and "pass --resume" in again.stderr
    resumed = cdpsim(cdpsim_cmd, "sweep", str(sweep_file), "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            "ilks.ETH-A.mat:",
            "ilks.ETH-A.matt:",
            ":6: parameters.ilks.ETH-A.matt: unknown field 'matt' in ilks.ETH-A",
        ),
        (
            "[1.3, 1.5]",
            "[1.3, 0.5]",
            ":6: parameters.ilks.ETH-A.mat: value 0.5: Input should be greater than 1 (got 0.5)",
        ),
        ("{kind: grid}", "{kind: sobol, n: 6}", ":4: design.n: n must be a power of two"),
        (
            "seeds: 4",
            "seeds: 0",
            ":8: seeds: the number of seeds every point runs with is 1 to 1,000,000 (got 0)",
        ),
    ],
)
def test_bad_input_is_refused_before_any_run(cdpsim_cmd, sweep_file, tmp_path, old, new, expected):
    sweep_file.write_text(SWEEP.replace(old, new))
    out = tmp_path / "out"
    res = cdpsim(cdpsim_cmd, "sweep", str(sweep_file), "--out", str(out))
    assert res.returncode == 2
    first = res.stderr.splitlines()[0]
    assert first.startswith(f"{sweep_file}{expected}"), res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""
    assert not out.exists()


def test_every_mistake_of_a_file_is_reported_in_one_go(cdpsim_cmd, sweep_file, tmp_path):
    sweep_file.write_text(
        SWEEP.replace("{clock.duration: 12h}", "{clock.durration: 12h}")
        .replace("ilks.ETH-A.mat:", "ilks.ETH-B.mat:")
        .replace("seeds: 4", "seeds: 0")
        .replace("liquidated_debt]", "liquidations]")
    )
    res = cdpsim(cdpsim_cmd, "sweep", str(sweep_file), "--out", str(tmp_path / "out"))
    assert res.returncode == 2 and res.stdout == ""
    fields = [line.split(": ")[1] for line in res.stderr.splitlines()]
    assert fields == [
        "overrides.clock.durration",
        "parameters.ilks.ETH-B.mat",
        "seeds",
        "kpis",
    ], res.stderr


def test_a_scenario_file_is_told_to_use_cdpsim_run(cdpsim_cmd, tmp_path):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SMALL)
    res = cdpsim(cdpsim_cmd, "sweep", str(scenario), "--out", str(tmp_path / "out"))
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.splitlines() == [
        f"{scenario}:1: this is a scenario file; cdpsim sweep takes a sweep file (base, design, "
        "parameters) — run it with cdpsim run, or see scenarios/sweeps/"
    ]
    assert not (tmp_path / "out").exists()


def test_bad_arguments_exit_2(cdpsim_cmd, sweep_file, tmp_path):
    res = cdpsim(cdpsim_cmd, "sweep", str(sweep_file), "--scheduler", "tcp://127.0.0.1:1")
    assert res.returncode == 2 and "--scheduler needs --backend dask" in res.stderr
    missing = cdpsim(cdpsim_cmd, "sweep", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "file not found" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_a_killed_sweep_resumes_to_the_same_tables(cdpsim_cmd, sweep_file, tmp_path):
    sweep_file.write_text(SLOW)
    full = tmp_path / "full"
    args = [str(sweep_file), "--workers", "1"]
    assert cdpsim(cdpsim_cmd, "sweep", *args, "--out", str(full)).returncode == 0
    out = tmp_path / "killed"
    signal_after([*cdpsim_cmd, "sweep", *args, "--out", str(out)], out, 3, signal.SIGKILL)
    before = {r: (out / "runs" / r / "manifest.json").read_bytes() for r in finished_runs(out)}
    assert 3 <= len(before) < 24, "the sweep was killed part way"
    res = cdpsim(
        cdpsim_cmd, "sweep", str(sweep_file), "--workers", "2", "--out", str(out), "--resume"
    )
    assert res.returncode == 0, res.stderr
    assert finished_runs(out) == finished_runs(full)
    assert sorted(p.name for p in (out / "runs").iterdir()) == finished_runs(full)  # no leftovers
    for run_id, manifest in before.items():  # every run exactly once: the kept ones stay
        assert (out / "runs" / run_id / "manifest.json").read_bytes() == manifest
    for table in ("runs.parquet", "points.parquet"):
        ours = pd.read_parquet(out / table).drop(columns="wall_time_s", errors="ignore")
        theirs = pd.read_parquet(full / table).drop(columns="wall_time_s", errors="ignore")
        pd.testing.assert_frame_equal(ours, theirs)


def test_sigterm_keeps_the_finished_runs_and_says_how_to_resume(cdpsim_cmd, sweep_file, tmp_path):
    sweep_file.write_text(SLOW)
    out = tmp_path / "out"
    command = [*cdpsim_cmd, "sweep", str(sweep_file), "--workers", "1", "--out", str(out)]
    res = signal_after(command, out, 2, signal.SIGTERM)
    stderr = res.stderr
    assert res.returncode == 130, stderr
    assert "runs are done and kept in" in stderr and "n_missing per point" in stderr
    assert stderr.rstrip().endswith(f"--out {out} --resume")
    points = pd.read_parquet(out / "points.parquet")  # written for what is done, marked so
    assert len(points) == 6 and 2 <= points["n"].sum() < 24
    assert (points["n"] + points["n_failed"] + points["n_missing"] == 4).all()
    assert json.loads((out / "batch.json").read_text())["complete"] is False


def test_keep_full_keeps_every_run_file(cdpsim_cmd, sweep_file, tmp_path):
    sweep_file.write_text(SWEEP.replace("seeds: 4", "seeds: 1").replace("[0.2, 0.4, 0.6]", "[0.4]"))
    out = tmp_path / "out"
    res = cdpsim(
        cdpsim_cmd, "sweep", str(sweep_file), "--workers", "0", "--keep", "full", "--out", str(out)
    )
    assert res.returncode == 0, res.stderr
    run = out / "runs" / finished_runs(out)[0]
    assert (run / "timeseries.parquet").is_file() and (run / "auctions.parquet").is_file()


def test_sobol_sweep_prints_its_indices(cdpsim_cmd, tmp_path):
    (tmp_path / "base.yaml").write_text(SMALL)
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\nbase: base.yaml\noverrides: {clock.duration: 8h}\ndesign: {kind: sobol, n: 4}\n"
        "parameters:\n  collateral.ETH.price.crash.depth: {range: [0.2, 0.6]}\n"
        "  keepers.0.dai: {range: [1.0e+4, 1.0e+6], dist: loguniform}\nseeds: 1\n"
        "kpis: [liquidated_debt]\n"
    )
    out = tmp_path / "out"
    res = cdpsim(cdpsim_cmd, "sweep", str(path), "--workers", "0", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert f"sensitivity → {out / 'sensitivity.parquet'}" in res.stdout
    assert "liquidated_debt (sobol, by ST):" in res.stdout
    table = pd.read_parquet(out / "sensitivity.parquet")
    assert set(table["parameter"]) == {"collateral.ETH.price.crash.depth", "keepers.0.dai"}


@pytest.fixture(scope="module")
def finished(cdpsim_cmd, tmp_path_factory) -> Path:
    """A finished sweep folder, shared by the discovery tests (they write only discovery/)."""
    folder = tmp_path_factory.mktemp("finished")
    (folder / "base.yaml").write_text(SMALL)
    (folder / "sweep.yaml").write_text(SWEEP)
    out = folder / "out"
    res = cdpsim(
        cdpsim_cmd, "sweep", str(folder / "sweep.yaml"), "--workers", "0", "--out", str(out)
    )
    assert res.returncode == 0, res.stderr
    return out


def test_discover_prints_and_writes_the_boxes(cdpsim_cmd, finished, tmp_path):
    out = finished
    res = cdpsim(cdpsim_cmd, "discover", str(out), "--kpi", "liquidated_debt", "--above", "1e6")
    assert res.returncode == 0, res.stderr
    path = out / "discovery" / "liquidated_debt-above-1000000-cart.parquet"
    assert res.stdout.splitlines()[0].endswith(f"cart boxes → {path}")
    assert "box 0: coverage" in res.stdout
    boxes = pd.read_parquet(path)
    assert list(boxes.columns)[:8] == [
        "box",
        "method",
        "coverage",
        "density",
        "mass",
        "parameter",
        "lower",
        "upper",
    ]
    bad = cdpsim(cdpsim_cmd, "discover", str(out), "--kpi", "nope", "--above", "1")
    assert bad.returncode == 2 and "unknown KPI 'nope'" in bad.stderr
    assert "Traceback" not in bad.stderr
    elsewhere = cdpsim(
        cdpsim_cmd, "discover", str(tmp_path), "--kpi", "bad_debt_max", "--above", "0"
    )
    assert elsewhere.returncode == 2 and "not a cdpsim sweep folder" in elsewhere.stderr


def test_discover_with_prim(cdpsim_cmd, finished):
    pytest.importorskip("ema_workbench")
    out = finished
    res = cdpsim(
        cdpsim_cmd,
        "discover",
        str(out),
        "--kpi",
        "liquidated_debt",
        "--above",
        "1e6",
        "--method",
        "prim",
    )
    assert res.returncode == 0, res.stderr
    assert (out / "discovery" / "liquidated_debt-above-1000000-prim-trajectory.parquet").is_file()
    assert "prim boxes" in res.stdout.splitlines()[0]
    # CART's result, from another test or run now, is not replaced by PRIM's
    cdpsim(cdpsim_cmd, "discover", str(out), "--kpi", "liquidated_debt", "--above", "1e6")
    names = sorted(p.name for p in (out / "discovery").glob("liquidated_debt-above-1000000-*"))
    assert names == [
        "liquidated_debt-above-1000000-cart.parquet",
        "liquidated_debt-above-1000000-prim-trajectory.parquet",
        "liquidated_debt-above-1000000-prim.parquet",
    ]


def test_discover_below_and_its_threshold_arguments(cdpsim_cmd, finished):
    out = finished
    res = cdpsim(cdpsim_cmd, "discover", str(out), "--kpi", "min_cr_p05", "--below", "1.3")
    assert res.returncode == 0, res.stderr
    first = res.stdout.splitlines()[0]
    assert first.startswith("min_cr_p05 < 1.3: ") and " -:" not in first
    assert first.endswith(f"→ {out / 'discovery' / 'min_cr_p05-below-1.3-cart.parquet'}")
    for args in ([], ["--above", "1", "--below", "2"]):
        bad = cdpsim(cdpsim_cmd, "discover", str(out), "--kpi", "min_cr_p05", *args)
        assert bad.returncode == 2 and "give --above X or --below X" in bad.stderr


# ------------------------------------------------------------------ --n, --seeds, --set; rankings

CRASH_MORRIS = Path(__file__).resolve().parents[1] / "scenarios" / "sweeps" / "crash_morris.yaml"


def _invoke(*args: str):
    from click.testing import CliRunner

    from sim.cli import main

    return CliRunner().invoke(main, list(args))


def test_crash_morris_at_trial_size_runs_as_written(cdpsim_cmd, tmp_path, monkeypatch):
    from sim.files import overrides_digest

    # the command of the brief, made small: a one-hour clock (the crash starts at 6 h), 40 vaults
    sets = ["clock.duration=1h", *(f"borrowers.{k}.vaults=10" for k in range(4))]
    words = [w for o in sets for w in ("--set", o)]
    res = cdpsim(
        cdpsim_cmd, "sweep", str(CRASH_MORRIS), "--n", "4", "--seeds", "1", *words,
        "--workers", "0", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    folder = Path("runs") / f"sweep-crash_morris-n4-seeds1-set-{overrides_digest(sets)}"
    assert res.stdout.startswith(
        f"crash_morris: 36 points × 1 seed (morris) → {folder / 'points.parquet'}"
    )
    section = json.loads((tmp_path / folder / "batch.json").read_text())["sweep"]
    assert section["command_line"] == {
        "n": 4, "seeds": 1, "set": sets, "set_digest": overrides_digest(sets)
    }  # fmt: skip
    assert section["as_written"] == {
        "design": {"kind": "morris", "n": 20, "levels": 4, "seed": 0},
        "seeds": 2,
    }
    assert section["design"]["n"] == 4 and section["points"] == 36 and len(section["seeds"]) == 1
    assert section["set"] == sets and not set(sets) & set(section["overrides"])  # kept apart
    assert not (tmp_path / "runs" / "sweep-crash_morris").exists()  # the file's own folder
    # --resume with other options is refused, saying what they were
    monkeypatch.chdir(tmp_path)
    given = " ".join(f"--set {o}" for o in sets)
    other = _invoke("sweep", str(CRASH_MORRIS), "--n", "2", "--seeds", "1", *words, "--out",
                    str(folder), "--resume")  # fmt: skip
    assert other.exit_code == 2
    assert (
        f"{folder} holds crash_morris started with --n 4 --seeds 1 {given}; this command gives "
        f"--n 2 --seeds 1 {given} (another --n)"
    ) in other.stderr
    # without --out the other options name another folder: the message points at this one
    lost = _invoke("sweep", str(CRASH_MORRIS), "--n", "2", "--seeds", "1", *words, "--resume")
    assert lost.exit_code == 2 and "there is no sweep to resume here" in lost.stderr
    assert f"{folder} (--n 4 --seeds 1 {given})" in lost.stderr


def test_n_and_set_are_checked_against_the_sweep(sweep_file, tmp_path):
    from tests.sweep_stand_ins import sweep_file as stand_in_file

    out = str(tmp_path / "out")
    (tmp_path / "sobol").mkdir()
    sobol = stand_in_file(tmp_path / "sobol", "{kind: sobol, n: 8}")
    cases = [
        (
            [str(sobol), "--n", "12"],
            f"{sobol} (--n 12): design.n: a Sobol design needs n a power of two",
        ),
        (
            [str(sweep_file), "--n", "5"],
            f"{sweep_file} (--n 5): design.levels: a grid runs every combination",
        ),
        (
            [str(sweep_file), "--set", "ilks.ETH-A.mat=1.4"],
            f"{tmp_path / 'base.yaml'} (--set ilks.ETH-A.mat=1.4): ilks.ETH-A.mat: the sweep varies "
            "ilks.ETH-A.mat (parameters.ilks.ETH-A.mat)",
        ),
        (
            [str(sweep_file), "--set", "clock.tik=1m"],
            f"{tmp_path / 'base.yaml'} (--set clock.tik=1m): clock.tik: unknown field 'tik'",
        ),
    ]
    for args, expected in cases:
        res = _invoke("sweep", *args, "--out", out)
        assert res.exit_code == 2 and expected in res.stderr, res.stderr
        assert "Traceback" not in res.stderr and not Path(out).exists()


def _tied_runner(spec):
    """``y = a + 0.9·b`` plus noise drawn per point: a and b matter alike."""
    import numpy as np

    from tests.sweep_stand_ins import unit_inputs, write_stand_in

    u = unit_inputs(spec)
    noise = np.random.default_rng(spec.parameters["point"]).normal(0, 0.3)
    return write_stand_in(spec, {"bad_debt_max": u[0] + 0.9 * u[1] + noise, "liquidated_debt": 0})


def test_a_design_too_small_to_rank_warns_and_a_larger_one_does_not(tmp_path, monkeypatch):
    from tests.sweep_stand_ins import linear_runner
    from tests.sweep_stand_ins import sweep_file as stand_in_file

    path = stand_in_file(tmp_path, "{kind: morris, n: 20, levels: 4, seed: 0}")
    monkeypatch.setattr("sim.experiments.batch.execute", _tied_runner)
    small = _invoke("sweep", str(path), "--n", "4", "--workers", "0", "--out", str(tmp_path / "a"))
    assert small.exit_code == 0, small.output
    (warning,) = [x for x in small.stderr.splitlines() if "not resolved" in x]
    tied = warning.split(" (by mu_star) is not resolved")[0]
    assert tied.startswith("warning: bad_debt_max: the order of ")
    assert "collateral.ETH.price.crash.depth" in tied and "ilks.ETH-A.liquidation.buf" in tied
    assert warning.endswith("--n 8 (now 4 trajectories)")
    table = pd.read_parquet(tmp_path / "a" / "sensitivity.parquet")
    assert warning == f"warning: {table['ranking'].iloc[0]}"  # stored with the indices
    monkeypatch.setattr("sim.experiments.batch.execute", linear_runner)
    clear = _invoke("sweep", str(path), "--n", "4", "--workers", "0", "--out", str(tmp_path / "b"))
    assert clear.exit_code == 0 and "not resolved" not in clear.stderr
