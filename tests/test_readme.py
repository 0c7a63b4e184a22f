"""The README's Python examples run as written (in a temporary folder)."""

from __future__ import annotations

import re

import sim
from tests.conftest import ROOT, SCENARIOS


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    (tmp_path / "scenarios").symlink_to(SCENARIOS)
    monkeypatch.chdir(tmp_path)
    for name in ("eth_crash_liq1", "eth_crash_liq2"):
        small = sim.load_scenario(
            f"scenarios/{name}.yaml",
            overrides=[
                "clock.duration=12h",
                "borrowers.0.vaults=50",
                "borrowers.1.vaults=50",
                "borrowers.3.vaults=20",
            ],
        )
        sim.run(small, out=f"runs/{name}")
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 3
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "__main__"})  # as a script
    assert (tmp_path / "runs" / "my-run" / "summary.json").exists()
    assert len(sim.load_runs(tmp_path / "runs" / "b")) == 8  # the guarded batch ran
