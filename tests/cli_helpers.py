"""The ``cdpsim`` command without an interpreter start per call, answering as the script does.

A test that runs the command many times pays a fresh interpreter and cdpsim's imports (0.5–2 s)
per call in a subprocess of the console script. Two cheaper ways, each returning what
:func:`subprocess.run` would (exit code, stdout, stderr):

- :func:`cdpsim_forked`: a fresh process forked from a server that imported cdpsim once
  (multiprocessing's forkserver, a few tens of milliseconds per call) — its own process, the
  test's folder, environment and umask, an escaping exception printed as a traceback (exit 1).
  Commands that start worker processes still run the console script as a subprocess.
- :func:`cdpsim_here`: the click group (``sim.cli:main``, what the console script calls) in this
  process, an escaping exception printed to stderr as the interpreter would print it.

The console script itself still runs as a subprocess in the tests that say so (at least one per
CLI test file) and in every test of signals, pipes, worker processes and environment variables.
"""

from __future__ import annotations

import itertools
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


# --------------------------------------------------------------------------- a pre-imported fork

#: What the fork server imports once, before it forks a process per command.
PRELOAD = ["sim.cli", "sim.runner", "sim.experiments.batch", "sim.plots", "sim.report"]
#: Commands that never start worker processes (``batch``, ``sweep`` and ``calibrate`` do unless
#: told ``--workers 0``; the dashboard serves until stopped).
NO_WORKERS = {"validate", "run", "plot", "report", "discover", "export", "examples"}

_context = None


def _forkserver():
    """The fork server's context, started on first use with cdpsim's modules imported."""
    global _context
    if _context is None:
        import multiprocessing

        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        _context = context
    return _context


def _child(argv: list[str], cwd: str, env: dict[str, str], umask: int, out: str, err: str) -> None:
    """The command in a process forked from the server, as the console script would run it."""
    import sys

    os.umask(umask)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    for fd, path in ((1, out), (2, err)):
        target = os.open(path, os.O_WRONLY | os.O_TRUNC)
        os.dup2(target, fd)
        os.close(target)
    sys.argv = list(argv)
    from sim.cli import main

    main()  # click exits with the command's code; an escaping exception is printed (exit 1)


def forks(args: tuple[str, ...]) -> bool:
    """Whether ``cdpsim ARGS`` can run in a forked process: it starts no worker processes."""
    if not args or args[0] not in NO_WORKERS | {"batch", "sweep", "calibrate"}:
        return False
    if args[0] in NO_WORKERS:
        return True
    return any(a == "--workers" and b == "0" for a, b in itertools.pairwise(args))


def cdpsim_forked(
    cmd: list[str], *args: str, cwd: Path | None = None, timeout: float = 300.0
) -> subprocess.CompletedProcess:
    """Run ``cdpsim ARGS`` in a fresh process forked from a server that imported cdpsim once.

    What a test sees is what :func:`subprocess.run` of the console script gives — a process of
    its own, its exit code, its stdout and stderr as text (an escaping exception prints its
    traceback there, exit 1), the test's current folder, environment and umask — without an
    interpreter start and cdpsim's imports per call. Commands that start worker processes
    (:func:`forks` is False) run as a subprocess of the script ``cmd`` itself.

    Args:
        cmd: the console script (``cdpsim_cmd``).
        args: the command line after ``cdpsim``.
        cwd: the working folder of the command (default: the current one).
        timeout: seconds before the command counts as hung (a safety limit, not a timing) [s].

    Raises:
        subprocess.TimeoutExpired: the command ran longer than ``timeout`` (it is killed).
    """
    import tempfile

    if not forks(args):
        return subprocess.run(
            [*cmd, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, check=False
        )
    mask = os.umask(0)
    os.umask(mask)
    with tempfile.TemporaryDirectory(prefix="cdpsim-forked-") as tmp:
        out, err = os.path.join(tmp, "stdout"), os.path.join(tmp, "stderr")
        for path in (out, err):
            Path(path).touch()
        where = str(cwd) if cwd is not None else os.getcwd()
        process = _forkserver().Process(
            target=_child, args=([cmd[0], *args], where, dict(os.environ), mask, out, err)
        )
        process.start()
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired([*cmd, *args], timeout)
        stdout = Path(out).read_text(encoding="utf-8")
        stderr = Path(err).read_text(encoding="utf-8")
    return subprocess.CompletedProcess([*cmd, *args], process.exitcode, stdout, stderr)
