"""Writing figures and pages (sim/plots/output.py): the format by extension, the marker
cdpsim's files carry, which existing files may be replaced, and no temporary file left.
"""

from __future__ import annotations

import pytest

from sim.plots import run_overview
from sim.plots.output import MARKER, OutputFileError, made_by_cdpsim, save_figure
from tests import test_plots
from tests.test_plots import read_run

#: The session's output folders (a fixture of tests/test_plots.py).
outputs = test_plots.outputs


def test_save_figure_formats_and_ownership(outputs, tmp_path):
    run = read_run(outputs.liq2)
    fig = run_overview(run.timeseries, run.auctions, run.scenario)
    magic = {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}
    for ext, head in magic.items():
        path = save_figure(fig, tmp_path / f"d{ext}")
        assert path.read_bytes().startswith(head)
        assert made_by_cdpsim(path)
        assert MARKER.encode() in path.read_bytes()
    with pytest.raises(OutputFileError, match=r"unknown image extension '\.gif'"):
        save_figure(fig, tmp_path / "d.gif")
    mine = tmp_path / "mine.png"
    mine.write_bytes(b"\x89PNG my holiday picture")
    with pytest.raises(OutputFileError, match="not made by cdpsim"):
        save_figure(fig, mine, explicit=False)
    assert mine.read_bytes() == b"\x89PNG my holiday picture"
    save_figure(fig, mine, explicit=True)  # the user named it
    assert made_by_cdpsim(mine)
    save_figure(fig, tmp_path / "d.png", explicit=False)  # cdpsim's own: replaced
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(OutputFileError, match="is a folder"):
        save_figure(fig, tmp_path / "folder.png")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files
