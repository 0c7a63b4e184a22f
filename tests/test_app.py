"""The dashboard as ``cdpsim dashboard`` starts it, without a browser: the package (light to
import, and the extra's check), the page module (sim/app/app.py: what it shows, from the
environment the server sets), and the command's refusals (exit 2, no traceback).

Each module of sim/app/ has its own test file (tests/test_guard.py, test_live.py, ...); the
page in a real browser, and the guard in front of a real server, are tested in
tests/test_app_browser.py.
"""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from sim.app import DATA_DIRS_ENV, INSTALL_HINT, TARGET_ENV, missing_extra
from tests.conftest import SMALL

# ---------------------------------------------------------------------------------------- page


def _page(monkeypatch, target: Path | None = None, data_dirs: str = "") -> ModuleType:
    """sim/app/app.py run again (as Solara does on start) with the server's variables set."""
    pytest.importorskip("solara")
    if target is None:
        monkeypatch.delenv(TARGET_ENV, raising=False)
    else:
        monkeypatch.setenv(TARGET_ENV, str(target))
    monkeypatch.setenv(DATA_DIRS_ENV, data_dirs)
    import sim.app.app

    return importlib.reload(sim.app.app)


def test_the_page_shows_the_target_the_server_names(monkeypatch, small_scenario_file, tmp_path):
    dirs = [tmp_path / "prices", tmp_path / "more"]
    page = _page(monkeypatch, small_scenario_file, os.pathsep.join(["", *map(str, dirs), ""]))
    assert page.problem == ""
    assert (page.target.kind, page.target.path) == ("scenario", small_scenario_file)
    assert page.target.data_dirs == tuple(map(str, dirs))  # empty entries left out


def test_the_page_says_why_it_has_nothing_to_show(monkeypatch, tmp_path):
    unset = _page(monkeypatch)
    assert unset.target is None and unset.problem == f"{TARGET_ENV} is not set"
    missing = _page(monkeypatch, tmp_path / "gone")
    assert missing.target is None
    assert missing.problem == f"{tmp_path / 'gone'}: no such file or folder"


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


def test_a_host_beyond_loopback_needs_allow_remote(cdpsim_cmd, small_scenario_file):
    for host in ("0.0.0.0", "10.0.0.5", "example.org"):
        res = _cdpsim(cdpsim_cmd, "dashboard", str(small_scenario_file), "--host", host)
        assert res.returncode == 2, (host, res.stderr)
        assert f"--host {host} is not a loopback address" in res.stderr
        assert "--allow-remote" in res.stderr and "ssh -L 8765:127.0.0.1:8765" in res.stderr
        assert "Traceback" not in res.stderr and res.stdout == ""
