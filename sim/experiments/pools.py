"""One warm local pool per process, lent to every batch, sweep and calibration in turn.

Starting a local pool costs about a second (a fork server importing mesa, pandas and pyarrow,
then a fork per worker), which is most of a sweep of tiny runs. So the pool is not stopped at
the end of a batch: :func:`sim.experiments.executors.make_executor` returns a
:class:`WarmPool`, a lease on the process's one :class:`~sim.experiments.executors.LocalPool`,
and the next batch, sweep, calibration round or :func:`sim.run_batch` call of this process
with the same number of workers gets the same worker processes, already started.

When the lease ends the pool is kept only if the batch left it clean: every task finished
(none in flight, as after Ctrl-C or an error in the parent, which stop the workers exactly as
before), no worker died for good. Otherwise it is stopped, and the next batch starts a new one.
A lease takes a new pool, and stops the kept one, when:

- the number of workers differs;
- the kept pool is broken (a worker died between batches, e.g. killed by the OOM killer) or
  was stopped;
- the parent's working directory, ``sys.path`` or environment changed since the kept pool
  started (a worker has the ones of its start: relative output folders, imports and
  environment variables must mean in the worker what they mean in the parent).

Nothing of a batch stays in a worker for the next: a task carries its scenario, seed and
folder; a run opens and closes its own files; the only per-process caches are keyed by what
they cache (a vault book by its path, size and modification time; the cdpsim version; the git
revision of the source). Two leases at once (two threads running batches) do not share: the
second gets a pool of its own, stopped at its end. The kept pool is stopped at the process's
exit, or by :func:`shutdown` (e.g. to give a notebook's memory back).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from sim.atomic import umask
from sim.experiments.executors import (
    Executor,
    ExecutorError,
    LocalPool,
    LostHandler,
    Result,
    Task,
    TaskFunction,
    default_workers,
    start_context,
)

_lock = threading.Lock()
#: The kept pool, the context it started in (:func:`_context`), and whether it is lent out.
_kept: LocalPool | None = None
_kept_context: tuple[Any, ...] | None = None
_lent = False


def _context(workers: int) -> tuple[Any, ...]:
    """What a pool's workers took from the parent at their start, with their number."""
    return (workers, os.getcwd(), tuple(sys.path), tuple(sorted(os.environ.items())), umask())


def _acquire(workers: int) -> tuple[LocalPool, bool]:
    """A started pool of ``workers`` workers, and whether it is the kept (shared) one.

    Raises:
        ExecutorError: the workers cannot start (see :meth:`LocalPool.start`).
    """
    global _kept, _kept_context, _lent
    with _lock:
        if _lent:  # another lease holds the kept pool: a pool of its own, not kept
            shared = False
            stale = None
        else:
            shared, _lent = True, True
            context = _context(workers)
            if _kept is not None and _kept_context == context and _kept.reusable():
                return _kept, True
            stale, _kept, _kept_context = _kept, None, None
    if stale is not None:
        stale.close()
    pool = LocalPool(workers)
    try:
        pool.start()
    except BaseException:
        if shared:
            with _lock:
                _lent = False
        raise
    if shared:
        with _lock:
            _kept, _kept_context = pool, _context(workers)
    return pool, shared


def _release(pool: LocalPool, shared: bool, keep: bool) -> None:
    """End a lease: keep the shared pool warm if ``keep`` and it is clean, else stop it."""
    global _kept, _kept_context, _lent
    if shared:
        with _lock:
            _lent = False
            if keep and _kept is pool and pool.reusable():
                return
            if _kept is pool:
                _kept, _kept_context = None, None
    pool.close()


def shutdown() -> None:
    """Stop the kept pool's workers now (a lease in use keeps its pool until it ends).

    Called at the process's exit; call it to give the workers' memory back sooner.
    """
    global _kept, _kept_context
    with _lock:
        if _lent:
            return
        pool, _kept, _kept_context = _kept, None, None
    if pool is not None:
        pool.close()


def prewarm(backend: str = "local", workers: int | None = None) -> None:
    """Start the fork server now, if a local pool is coming, and return at once.

    The server imports cdpsim's engine (about a second) while this process goes on with its own
    work (reading and validating the inputs); the pool's start then only forks it. Nothing
    happens for another backend, for a batch in this process (``workers`` 0 or 1, or one
    core), when a pool is kept already or where there is no fork server.
    """
    if backend != "local" or (workers is not None and workers <= 1) or _kept is not None:
        return
    if default_workers() < 2 and workers is None:
        return
    if start_context().get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    with contextlib.suppress(OSError):  # the pool's start tries again, or falls back to spawn
        forkserver.ensure_running()


def kept_pool() -> LocalPool | None:
    """The pool kept warm for the next batch, if any (for tests and benchmarks)."""
    return _kept


def _forget_in_child() -> None:
    """In a child forked from this process: the kept pool is the parent's, not to be used."""
    global _lock, _kept, _kept_context, _lent
    _lock = threading.Lock()
    _kept, _kept_context, _lent = None, None, False


atexit.register(shutdown)
os.register_at_fork(after_in_child=_forget_in_child)


class WarmPool(Executor):
    """A lease on the process's warm local pool for one batch (a context manager).

    On entry it takes the kept pool (or starts one, :func:`_acquire`); on a clean exit it
    leaves it warm for the next batch; on an exception (Ctrl-C, an error) or :meth:`close` it
    stops the workers, as a pool of its own would.
    """

    name = "local"

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self._pool: LocalPool | None = None
        self._shared = False

    def start(self) -> None:
        """Take the warm pool, or start one.

        Raises:
            ExecutorError: the workers cannot start.
        """
        self._pool, self._shared = _acquire(self.workers)

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self._end(keep=exc_type is None)

    def close(self) -> None:
        """Stop the workers (also those of the kept pool, if this lease holds it)."""
        self._end(keep=False)

    def _end(self, keep: bool) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            _release(pool, self._shared, keep)

    def pids(self) -> list[int]:
        """The process ids of the workers of this lease's pool (none when it is not started)."""
        return self._pool.pids() if self._pool is not None else []

    def imap_unordered(
        self, fn: TaskFunction, tasks: Iterable[Task], on_lost: LostHandler
    ) -> Iterator[Result]:
        """Yield ``fn(task)`` for every task, in completion order (:meth:`LocalPool.imap_unordered`).

        Raises:
            WorkersLost: the pool could not be started again after a worker died.
        """
        if self._pool is None:
            raise ExecutorError("the local pool is not started (use it as a context manager)")
        return self._pool.imap_unordered(fn, tasks, on_lost)


__all__ = ["WarmPool", "kept_pool", "prewarm", "shutdown"]
