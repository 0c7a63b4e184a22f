"""Hostile and absurd input through the ``cdpsim`` command: exit 2, a clear message.

Every case must be refused as bad input (exit code 2) with a ``file:line: field: message`` (or
``file (--set …): field: message``) line and no traceback. The subprocess timeout only turns a
hang into a failure; it is not a speed assertion. The command runs forked from a pre-imported
server (tests/cli_helpers.py: a process of its own, answering as the console script does);
test_binary_garbage_is_refused runs the console script itself.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sim.scenario import MAX_FILE_BYTES
from tests.cli_helpers import cdpsim_forked
from tests.conftest import SCENARIOS, SMALL
from tests.scenario_helpers import alias_bomb

#: Seconds before a case counts as hung (start-up of the interpreter included).
HANG_S = 30
SCRIPTED = "{process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}}"
CSV = "timestamp,eth\n" + "".join(f"2020-01-01T{h:02d}:00:00Z,{2000 - h}\n" for h in range(13))


def cdpsim(cmd: list[str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``cdpsim ARGS`` forked from a pre-imported server (killed after ``HANG_S``)."""
    return cdpsim_forked(cmd, *args, cwd=cwd, timeout=HANG_S)


def cdpsim_script(
    cmd: list[str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """``cdpsim ARGS`` through the installed console script, in a subprocess."""
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, cwd=cwd, timeout=HANG_S, check=False
    )


def refused(res: subprocess.CompletedProcess, *needles: str) -> str:
    """Check a bad-input refusal and return its stderr."""
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr, res.stderr
    for needle in needles:
        assert needle in res.stderr, (needle, res.stderr)
    return res.stderr


def write(folder: Path, text: str, name: str = "s.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_alias_bomb_is_refused(cdpsim_cmd, tmp_path):
    path = write(tmp_path, alias_bomb())
    err = refused(cdpsim(cdpsim_cmd, "validate", str(path)), "alias bomb")
    assert err.startswith(f"{path}:2: ")


def test_megabytes_of_unknown_keys_are_refused(cdpsim_cmd, tmp_path):
    path = write(tmp_path, "".join(f"unknown_key_{i:08d}: {i}\n" for i in range(160_000)))
    err = refused(cdpsim(cdpsim_cmd, "validate", str(path)))
    assert err.startswith(f"{path}:") and len(err.splitlines()) <= 51


def test_a_file_over_the_size_cap_is_refused(cdpsim_cmd, tmp_path):
    path = write(tmp_path, "#" * (MAX_FILE_BYTES + 1))
    refused(cdpsim(cdpsim_cmd, "run", str(path)), f"{path}: the file has", "above the limit")


def test_binary_garbage_is_refused(cdpsim_cmd, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"name: a\n\x00\xff\xfe\x80")
    # through the console script itself
    refused(cdpsim_script(cdpsim_cmd, "validate", str(path)), f"{path}:2: not UTF-8 text")


def test_a_billion_day_clock_is_refused(cdpsim_cmd, tmp_path):
    path = write(tmp_path, SMALL.replace("duration: 12h", "duration: 1e9d"))
    refused(
        cdpsim(cdpsim_cmd, "validate", str(path)),
        f"{path}:3: clock.duration: '1e9d' is longer than the longest duration allowed",
    )


def test_a_microsecond_tick_is_refused(cdpsim_cmd, small_scenario_file, tmp_path):
    res = cdpsim(
        cdpsim_cmd,
        "run",
        str(small_scenario_file),
        "--out",
        str(tmp_path / "run"),
        "--set",
        "clock.tick=0.000001s",
    )
    refused(res, "(--set clock.tick=0.000001s): clock: the run has 4.32e+10 ticks", "50,000,000")
    assert not (tmp_path / "run").exists()


def test_a_run_that_cannot_fit_in_memory_is_refused(cdpsim_cmd, small_scenario_file, tmp_path):
    res = cdpsim(
        cdpsim_cmd,
        "run",
        str(small_scenario_file),
        "--out",
        str(tmp_path / "run"),
        "--set",
        "borrowers.0.vaults=100000000",
        "--set",
        "record.vault_snapshot_every=10m",
        "--set",
        "clock.duration=70d",
    )
    refused(res, "record.vault_snapshot_every: the run needs about", "more than this machine's")
    assert not (tmp_path / "run").exists()


def test_absurd_values_are_refused_naming_the_fields(cdpsim_cmd, small_scenario_file):
    res = cdpsim(
        cdpsim_cmd,
        "run",
        str(small_scenario_file),
        "--set",
        "collateral.ETH.price.start=1e-320",
        "--set",
        "borrowers.0.cr.sigma=1e308",
    )
    refused(
        res,
        "(--set collateral.ETH.price.start=1e-320): collateral.ETH.price.start: Input should be "
        "greater than or equal to",
        "(--set borrowers.0.cr.sigma=1e308): borrowers.0.cr.sigma: Input should be less than or "
        "equal to 5",
    )


@pytest.mark.parametrize("file", ["../secret/.env", "/etc/passwd"])
def test_data_outside_the_scenario_folder_is_refused(cdpsim_cmd, tmp_path, file):
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / ".env").write_text("TOKEN=hunter2\n")
    text = SMALL.replace(SCRIPTED, f"{{process: replay, file: '{file}', column: eth}}")
    path = write(tmp_path / "scenario", text)
    err = refused(
        cdpsim(cdpsim_cmd, "validate", str(path)),
        f"{path}:6: collateral.ETH.price.file: file {file!r} is outside the scenario's folder",
        "copy it there or pass --data-dir",
    )
    assert "hunter2" not in err and "root:" not in err


def test_a_symlink_pointing_outside_is_refused(cdpsim_cmd, tmp_path):
    (tmp_path / "outside.csv").write_text(CSV)
    text = SMALL.replace(SCRIPTED, "{process: replay, file: link.csv, column: eth}")
    path = write(tmp_path / "scenario", text)
    (path.parent / "link.csv").symlink_to(tmp_path / "outside.csv")
    refused(cdpsim(cdpsim_cmd, "validate", str(path)), "is outside the scenario's folder")


def test_data_dir_allows_a_data_folder(cdpsim_cmd, tmp_path):
    write(tmp_path / "data", CSV, "p.csv")
    text = SMALL.replace(SCRIPTED, "{process: replay, file: ../data/p.csv, column: eth}")
    path = write(tmp_path / "scenario", text)
    refused(cdpsim(cdpsim_cmd, "validate", str(path)), "is outside the scenario's folder")
    ok = cdpsim(cdpsim_cmd, "validate", "--data-dir", str(tmp_path / "data"), str(path))
    assert ok.returncode == 0, ok.stderr
    res = cdpsim(
        cdpsim_cmd,
        "run",
        str(path),
        "--data-dir",
        str(tmp_path / "data"),
        "--out",
        str(tmp_path / "run"),
        "--set",
        "clock.duration=1h",
    )
    assert res.returncode == 0, res.stderr
    refused(
        cdpsim(cdpsim_cmd, "validate", "--data-dir", str(tmp_path / "nope"), str(path)),
        "does not exist",
    )


def test_data_that_do_not_cover_the_run_are_refused(cdpsim_cmd, tmp_path):
    text = SMALL.replace(SCRIPTED, "{process: replay, file: p.csv, column: eth}")
    path = write(tmp_path, text)
    write(tmp_path, CSV, "p.csv")
    assert cdpsim(cdpsim_cmd, "validate", str(path)).returncode == 0  # 12 h of data, 12 h run
    res = cdpsim(cdpsim_cmd, "run", str(path), "--set", "clock.duration=2d")
    refused(
        res,
        "collateral.ETH.price.file: p.csv: column 'eth' covers 2020-01-01T00:00:00Z to "
        "2020-01-01T12:00:00Z, but the run needs 2020-01-01T00:00:00Z to 2020-01-03T00:00:00Z",
    )


def test_a_typo_in_an_ilk_name_is_one_error_on_the_override(cdpsim_cmd, small_scenario_file):
    res = cdpsim(cdpsim_cmd, "run", str(small_scenario_file), "--set", "ilks.ETH-B.mat=1.5")
    err = refused(res)
    assert err.strip() == (
        f"{small_scenario_file} (--set ilks.ETH-B.mat=1.5): ilks.ETH-B: unknown ilk 'ETH-B' "
        "(defined: ETH-A); did you mean 'ETH-A'?"
    )


def test_an_unknown_section_is_blamed_on_the_override(cdpsim_cmd, small_scenario_file):
    res = cdpsim(cdpsim_cmd, "run", str(small_scenario_file), "--set", "clok.tick=1m")
    err = refused(
        res, "(--set clok.tick=1m): clok: unknown section 'clok'", "did you mean 'clock'?"
    )
    assert f"{small_scenario_file}:1" not in err and len(err.strip().splitlines()) == 1


def test_every_shipped_scenario_validates(cdpsim_cmd):
    files = sorted(str(p) for p in SCENARIOS.glob("*.yaml"))
    res = cdpsim(cdpsim_cmd, "validate", *files)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count(": ok") == len(files)


@pytest.mark.parametrize("command", [["run"], ["batch", "--workers", "0"]])
def test_a_sweep_file_where_a_scenario_belongs_says_to_use_sweep(cdpsim_cmd, command):
    sweep = SCENARIOS / "sweeps" / "crash_grid.yaml"
    stderr = refused(cdpsim(cdpsim_cmd, *command, str(sweep)), "run it with cdpsim sweep")
    assert f"{sweep}:" in stderr and "this is a sweep file" in stderr
    assert "required field" not in stderr


def test_warnings_are_blamed_like_errors(cdpsim_cmd, tmp_path):
    text = SMALL.replace("clock: {tick: 10m, duration: 12h}", "clock: {tick: 3h, duration: 12h}")
    path = write(tmp_path, text)
    res = cdpsim(cdpsim_cmd, "validate", str(path))
    assert res.returncode == 0, res.stderr
    line = 1 + text.splitlines().index("clock: {tick: 3h, duration: 12h}")
    assert f"{path}:{line}: warning: clock.tick: a tick of 3h is longer than" in res.stderr
    res = cdpsim(cdpsim_cmd, "validate", str(path), "--set", "keepers.0.gas_bid_gwei=50")
    assert f"{path} (--set keepers.0.gas_bid_gwei=50): warning: keepers.0.gas_bid_gwei" in (
        res.stderr
    )
