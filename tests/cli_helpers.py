"""The ``cdpsim`` command run in this process, answering as the console script does.

A test that runs the command many times on bad input pays a fresh interpreter and cdpsim's
imports (0.5–2 s) per call in a subprocess. :func:`cdpsim_here` runs the same click group
(``sim.cli:main``, what the console script calls) in this process and returns what
:func:`subprocess.run` would: the exit code, stdout and stderr. An exception that escapes the
command is printed to stderr as the interpreter would print it (``Traceback (most recent call
last): …``) with exit code 1, so "no traceback" checks keep their meaning. The console script
itself is run as a subprocess by the other CLI tests (tests/test_cli.py and the test_cli_*.py
files), which keep one such call per command.
"""

from __future__ import annotations

import os
import subprocess
import traceback
from pathlib import Path

from click.testing import CliRunner


def cdpsim_here(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``cdpsim ARGS`` in this process (in ``cwd`` if given); its exit code and output.

    Args:
        args: the command line after ``cdpsim``.
        cwd: the working folder during the call (the caller's is restored).

    Returns:
        A :class:`subprocess.CompletedProcess` with ``returncode``, ``stdout`` and ``stderr``.
    """
    from sim.cli import main

    before = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args), prog_name="cdpsim")
    finally:
        os.chdir(before)
    stderr = result.stderr
    code = result.exit_code
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        stderr += "".join(traceback.format_exception(exc))
        code = 1
    return subprocess.CompletedProcess(["cdpsim", *args], code, result.stdout, stderr)
