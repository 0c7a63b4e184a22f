"""The notebooks: stored without outputs, thin (they import sim), and they run at a small size."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
NAMES = ("01_quickstart.ipynb", "02_liquidations_1_vs_2.ipynb", "03_sweep_and_sensitivity.ipynb")
#: Safety limit of one cell (not a timing assertion) [s].
CELL_TIMEOUT_S = 600
#: Figures each notebook shows (its image outputs), at the small size.
FIGURES = {NAMES[0]: 1, NAMES[1]: 5, NAMES[2]: 4}
#: What each notebook writes into its own folder, CDPSIM_NOTEBOOK_OUT/<notebook stem>/.
WRITES = {
    NAMES[0]: {"eth_crash_liq2", "eth_crash_liq2-report.html"},
    NAMES[1]: {
        "eth_crash_liq1",
        "eth_crash_liq2",
        "eth_crash_liq2-hole_lifted",
        "eth_crash_liq1-deep_market",
        "eth_crash_liq2-deep_market",
        "seeds-small",
    },
    NAMES[2]: {"sweep-grid", "sweep-morris"},
}


def code(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


def test_every_notebook_is_there():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_stored_without_outputs_and_thin(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
    sources = code(nb)
    assert "import sim" in sources[0]
    assert "CDPSIM_NOTEBOOK_SMALL" in sources[0]  # the size parameter, read in the first cell
    for source in sources:
        lines = [ln for ln in source.splitlines() if not ln.startswith("%")]
        tree = ast.parse("\n".join(lines))
        defined = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)]
        assert defined == [], "no model logic in notebooks: they call sim"
        imported = {
            (n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
        } | {
            a.name.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.Import)
            for a in n.names
        }
        assert imported <= {"sim", "os", "pathlib", "pandas"}, imported


def _execute(nb, tmp_path: Path) -> None:
    NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()


def _plain(cell) -> str:
    """A cell's text outputs: printed lines and the text form of what it displays."""
    return "".join(
        o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_small(name, tmp_path, monkeypatch):
    monkeypatch.setenv("CDPSIM_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("CDPSIM_NOTEBOOK_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    _execute(nb, tmp_path)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert "small size" in "".join(o.get("text", "") for o in nb.cells[1].outputs)
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == FIGURES[name]
    # Each notebook writes into its own folder only (never over runs/eth_crash_liq2).
    stem = name.removesuffix(".ipynb")
    assert {p.name for p in (tmp_path / "out").iterdir()} == {stem}
    assert {p.name for p in (tmp_path / "out" / stem).iterdir()} == WRITES[name]
    if name == NAMES[2]:
        # The Morris table shows the Morris columns, none of them empty.
        (table,) = [c for c in nb.cells if "MORRIS_COLUMNS]" in c.source]
        text = _plain(table)
        assert "mu_star" in text and "S1" not in text and "NaN" not in text, text
    # Run again over its own folder, a batch or sweep cell continues it (resume) instead of
    # refusing a folder that holds one: the first cell and those cells, in a fresh kernel.
    again = [c for c in nb.cells[2:] if c.cell_type == "code" and "resume=" in c.source]
    if again:
        rerun = nbformat.v4.new_notebook(cells=[nb.cells[1], *again])
        for cell in rerun.cells:
            cell.outputs, cell.execution_count = [], None
        _execute(rerun, tmp_path)
        assert not [o for c in rerun.cells for o in c.outputs if o.output_type == "error"]
