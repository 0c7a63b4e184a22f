"""cdpsim calibrate through the real entry point (a refusal of a folder in use in this process)."""

from __future__ import annotations

import subprocess

import pytest

from tests.calibrate_helpers import crash_folder
from tests.cli_helpers import cdpsim_here


@pytest.fixture
def folder(tmp_path):
    return crash_folder(tmp_path)


def test_the_cli_refuses_a_bad_file_with_exit_2_and_no_traceback(folder, cdpsim_cmd):
    path = folder / "bad.yaml"
    path.write_text("name: bad\nbase: crash.yaml\nparameters: {}\ntargets: {}\n")
    done = subprocess.run(
        [*cdpsim_cmd, "calibrate", str(path), "--out", str(folder / "o")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "bad.yaml:3: parameters" in done.stderr
    assert not (folder / "o").exists()


@pytest.mark.slow
def test_a_small_calibration_through_the_cli_then_a_folder_in_use(folder, cdpsim_cmd):
    from tests.calibrate_helpers import METHOD_SMALL, calibration_text

    (folder / "cal.yaml").write_text(calibration_text({"auctions": 10.0}, METHOD_SMALL))
    args = [*cdpsim_cmd, "calibrate", str(folder / "cal.yaml"), "--out", str(folder / "o")]
    done = subprocess.run([*args, "--workers", "0"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "2 generations" in done.stdout and "of 6 runs" in done.stdout
    assert "rest on 6 runs (fewer than 50)" in done.stderr
    assert "INFO" not in done.stderr  # pyabc's logging is quiet
    # the folder in use: refused in this process (the script's exit 2 is checked above)
    here = ["calibrate", str(folder / "cal.yaml"), "--out", str(folder / "o"), "--workers", "0"]
    again = cdpsim_here(*here)
    assert again.returncode == 2 and "--resume continues it" in again.stderr
    other = cdpsim_here(*here, "--resume", "--population", "9")
    assert other.returncode == 2 and "population" in other.stderr
    assert "Traceback" not in again.stderr + other.stderr
