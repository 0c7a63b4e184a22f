"""The documentation site builds without a warning (mkdocs build --strict), API pages included.

mkdocs is the ``docs`` extra, which the ``test`` extra includes (the build takes about 4 s); the
build is skipped, saying so, in an environment without it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

#: Safety limit of the build (not a timing assertion) [s].
TIMEOUT_S = 300


def mkdocs() -> Path | None:
    exe = Path(sys.executable).parent / "mkdocs"
    found = str(exe) if exe.exists() else shutil.which("mkdocs")
    return Path(found) if found else None


def test_api_pages_name_modules_that_exist():
    """Every ``::: module`` of docs/api names an importable module (without building)."""
    import importlib

    pages = sorted((ROOT / "docs" / "api").glob("*.md"))
    assert pages
    for page in pages:
        for line in page.read_text().splitlines():
            if line.startswith("::: "):
                importlib.import_module(line[4:].strip())


@pytest.mark.skipif(
    mkdocs() is None,
    reason="mkdocs is not installed: install the docs extra (pip install -e '.[docs]' -c "
    "constraints.txt; the test extra includes it)",
)
def test_the_site_builds_without_warnings(tmp_path):
    done = subprocess.run(
        [str(mkdocs()), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "WARNING" not in done.stderr
    page = (tmp_path / "site" / "api" / "results" / "index.html").read_text()
    assert "load_folder" in page and "FolderError" in page
