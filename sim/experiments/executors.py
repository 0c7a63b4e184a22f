"""Where runs execute: in this process, in a local process pool, or on a Dask cluster.

Every executor takes the same tasks and gives the same results: a task carries everything its run
needs (scenario, seed, output folder), so nothing depends on which worker runs it or in which
order. Results arrive in completion order; whoever stores them sorts them.

Executors are context managers: the pool (or cluster) is ready on entry and serves every task
of a batch. A local pool is not stopped on a clean exit: :func:`make_executor` lends the
process's one warm pool (:mod:`sim.experiments.pools`) to each batch, sweep and calibration in
turn, so a process pays the workers' start once, not once per batch. At most a few tasks per
worker are submitted at a time, so the parent holds O(workers) tasks and results however long
the batch.

- :class:`InProcess` — runs tasks one after the other in this process (debugging; ``--workers 0``
  or ``1``).
- :class:`LocalPool` — a :class:`concurrent.futures.ProcessPoolExecutor` whose workers are forked
  from a fork server that has imported cdpsim, mesa, pandas and pyarrow once
  (:func:`start_context`: ``forkserver`` with :data:`PRELOAD`; ``spawn`` where there is no fork
  server). The server is a fresh single-threaded process, so starting it is safe from a program
  running threads (the dashboard, Dask, a notebook's kernel); a worker then starts in
  milliseconds, not the second a ``spawn``-ed one takes to import them. Workers ignore SIGINT:
  Ctrl-C is the parent's to handle. They take the parent's environment, working folder and
  ``sys.path`` at their start, and are named ``cdpsim-worker`` (``ps``, ``top``).
- :class:`DaskCluster` — ``dask.distributed``: a client of an existing scheduler
  (``tcp://host:port``) or of a :class:`~distributed.LocalCluster` started on 127.0.0.1 with one
  single-threaded worker process per requested worker.

**A dead worker loses no run.** A local worker that dies (killed, out of memory, a crash in a
library) breaks its whole pool, and every task in flight — the healthy workers' too — dies with
it. The pool is started again and those tasks (the *suspects*) are run again **one at a time**:
a suspect that finishes is an ordinary result (a worker killed from outside loses nothing), and
a suspect whose worker dies while it runs alone is the task that kills its worker; it alone is
handed to the ``on_lost`` callback (a run with status ``lost``, which ``--resume`` runs again).
A pool that cannot be started again (its workers keep dying) raises :class:`WorkersLost`; the
batch keeps what finished and says how to resume. On Dask, the scheduler reschedules the tasks
of a lost worker itself; a task that kills workers repeatedly comes back as an error and goes to
``on_lost``.

Workers exit with their parent: each local worker waits on the process that started the pool
(a pidfd, or a look every :data:`PARENT_WATCH_S` seconds) and exits the moment it is gone; on
Linux it also asks the kernel for SIGKILL when its own parent dies (the fork server, which exits
with the batch's process). A batch killed with SIGKILL leaves no worker behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import re
import select
import shutil
import signal
import sys
import tempfile
import threading
import time
import warnings
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Self

from sim.atomic import umask

#: Tasks submitted per worker before waiting for one to finish: enough to keep every worker busy
#: while results travel back, few enough that the parent's memory does not grow with the batch.
TASKS_PER_WORKER = 2
#: Attempts at starting the local pool again after a worker died, before the batch stops.
RESTART_ATTEMPTS = 3
#: Seconds between a worker's looks at whether its parent is still alive.
PARENT_WATCH_S = 0.5
#: ``prctl`` option that sends a signal to a process when its parent dies (Linux).
_PR_SET_PDEATHSIG = 1

Task = Any
Result = Any
TaskFunction = Callable[[Task], Result]
LostHandler = Callable[[Task, BaseException], Result]


class ExecutorError(RuntimeError):
    """The executor could not start (e.g. no Dask scheduler at the address given)."""


class WorkersLost(ExecutorError):
    """The local pool's workers died and it could not be started again; the batch stopped.

    Results yielded before it are valid; the tasks not run are for ``--resume``.
    """


def default_workers() -> int:
    """The number of CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def local_workers(
    requested: int | None, tasks: int | None = None, *, oversubscribe: bool = False
) -> int:
    """How many worker processes to start on this machine.

    The rule, the same for ``cdpsim batch``/``sweep`` and for :func:`sim.run_batch`: the
    number requested (``None``: every core), but never more than the cores this process may
    use (:func:`default_workers`; each worker holds a few hundred MB and more workers than
    cores only share them) unless ``oversubscribe``, and never more than ``tasks``, the runs
    to do. At least one. Cutting a request to the cores warns (:class:`RuntimeWarning`).
    """
    cores = default_workers()
    n = cores if requested is None else int(requested)
    if n > cores and not oversubscribe:
        warnings.warn(
            f"{n} workers asked for, but this process may use {cores} cores: starting {cores} "
            "(oversubscribe=True starts them all)",
            RuntimeWarning,
            stacklevel=2,
        )
        n = cores
    if tasks is not None:
        n = min(n, tasks)
    return max(1, n)


#: A Dask scheduler address: ``tcp://host:port``, ``tls://host:port`` or ``host:port``; the
#: host a name, an IPv4 address or an IPv6 address in brackets.
_SCHEDULER_RE = re.compile(
    r"^(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252}))"
    r":(?P<port>[0-9]{1,5})$"
)
#: Schemes of a scheduler address cdpsim connects to.
SCHEDULER_SCHEMES = ("tcp", "tls")


def scheduler_problem(address: str) -> str | None:
    """What is wrong with a Dask scheduler address, or ``None`` when it has a usable form.

    Only the form is checked (nothing is connected to): ``tcp://host:port``,
    ``tls://host:port`` or ``host:port`` (tcp), the port 1 to 65535.
    """
    form = "tcp://HOST:PORT, tls://HOST:PORT or HOST:PORT, e.g. tcp://10.0.0.5:8786"
    match = _SCHEDULER_RE.match(address.strip())
    if match is None:
        return f"{address!r} is not a scheduler address; give {form}"
    scheme = (match["scheme"] or "tcp").lower()
    if scheme not in SCHEDULER_SCHEMES:
        return f"{address!r}: the scheme {scheme}:// is not supported; give {form}"
    if not 1 <= int(match["port"]) <= 65535:
        return f"{address!r}: the port must be 1 to 65535 (got {int(match['port'])})"
    return None


def _ping() -> int:
    """A task that only proves a worker is up (its initializer has run)."""
    return os.getpid()


def _exit_with_parent(parent: int) -> None:
    """Make this process end when ``parent`` (the batch's process) does.

    ``parent`` is the process that started the pool, not necessarily this worker's own parent:
    a worker forked by the fork server is the server's child. On Linux the kernel sends SIGKILL
    when the worker's own parent dies (``PR_SET_PDEATHSIG``: the batch's process, or the fork
    server, which exits with it); and a daemon thread waits on the batch's process (a pidfd,
    or a look every :data:`PARENT_WATCH_S` seconds where there is none) and exits the moment it
    is gone.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    try:
        handle = os.pidfd_open(parent)
    except ProcessLookupError:  # the parent died before the line above ran
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd here: look now and then
        handle = None
    if handle is None and not _alive(parent):
        os._exit(1)

    def watch() -> None:
        if handle is not None:
            select.select([handle], [], [])  # readable once the process has exited
            os._exit(1)
        while True:
            time.sleep(PARENT_WATCH_S)
            if not _alive(parent):
                os._exit(1)

    threading.Thread(target=watch, name="cdpsim-parent-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still exists (a signal 0 reaches it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user (a reused pid: rare, harmless)
        return True
    return True


#: The worker processes' name (``ps -o comm``, ``top``, :func:`psutil.Process.name`), Linux.
WORKER_NAME = b"cdpsim-worker"
#: ``prctl`` option that names the calling thread (the main thread: the process's name).
_PR_SET_NAME = 15


def _worker_init(
    parent: int, environ: dict[str, str] | None = None, mask: int | None = None
) -> None:
    """Start-up of a local worker: exit with the parent, leave Ctrl-C to it, import once.

    Args:
        parent: the process id of the process that started the pool.
        environ: the parent's environment when it started the pool; a worker forked by the
            fork server would otherwise have the server's, from when the server started.
        mask: the parent's umask when it started the pool (the run folders follow it; a
            forked worker would otherwise have the fork server's).
    """
    _exit_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if environ is not None and dict(os.environ) != environ:
        os.environ.clear()
        os.environ.update(environ)
    if mask is not None:
        os.umask(mask)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_NAME, WORKER_NAME, 0, 0, 0)
    import sim.runner  # noqa: F401  (mesa, pandas, pyarrow: once per worker; preloaded)


#: Modules the fork server imports once, so that every worker forked from it starts with them
#: (the engine: mesa, pandas, pyarrow, numpy; and the batch's run function).
PRELOAD = ("sim.runner", "sim.experiments.batch")


def start_context() -> multiprocessing.context.BaseContext:
    """The multiprocessing context of local pools: ``forkserver`` with cdpsim preloaded.

    A fork server is a fresh single-threaded process (safe to start from a program running
    threads: the dashboard, Dask, a notebook's kernel) that imports :data:`PRELOAD` once; each
    worker is then a fork of it, ready in milliseconds instead of the second a fresh ``spawn``
    process takes to import mesa, pandas and pyarrow. Where there is no fork server (Windows),
    ``spawn``. The preload is added to any other modules already asked for in this process
    (``__main__`` left out: a worker imports the main module itself, as a spawned one does),
    and takes effect when the server starts (once per process).

    The server's imports start two kinds of threads, and both are made for fork: OpenBLAS's
    pool (numpy; stopped before a fork and started again after, by its ``pthread_atfork``
    handlers) and jemalloc's background thread (pyarrow; jemalloc takes its locks around a
    fork). Python 3.12 warns of any thread at a fork (a ``DeprecationWarning``, hidden unless
    warnings are shown, e.g. ``python -W default``).
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    from multiprocessing import forkserver

    asked = list(getattr(forkserver._forkserver, "_preload_modules", []))
    wanted = [m for m in asked if m != "__main__"] + [m for m in PRELOAD if m not in asked]
    if wanted != asked:
        context.set_forkserver_preload(wanted)
    return context


class Executor(ABC):
    """Runs tasks and yields their results as they finish."""

    #: Short name, as given to ``--backend``.
    name = ""

    def __init__(self, workers: int = 1) -> None:
        self.workers = max(1, int(workers))

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:  # noqa: B027  (optional hook)
        """Start the workers (called on entering the context)."""

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Stop the workers (called on leaving the context, also after Ctrl-C)."""

    @abstractmethod
    def imap_unordered(
        self, fn: TaskFunction, tasks: Iterable[Task], on_lost: LostHandler
    ) -> Iterator[Result]:
        """Yield ``fn(task)`` for every task, in completion order.

        Args:
            fn: a module-level function (it is pickled by name for worker processes).
            tasks: the tasks; consumed lazily.
            on_lost: turns a task whose worker died, with the error, into a result.
        """

    def describe(self) -> str:
        """One line for messages and manifests, e.g. ``local pool of 2 workers``."""
        return f"{self.name} ({self.workers} worker{'s' if self.workers != 1 else ''})"


class InProcess(Executor):
    """Runs every task in this process, one after the other."""

    name = "in-process"

    def __init__(self, workers: int = 1) -> None:
        super().__init__(1)

    def imap_unordered(
        self, fn: TaskFunction, tasks: Iterable[Task], on_lost: LostHandler
    ) -> Iterator[Result]:
        """Yield ``fn(task)`` for each task in order (``on_lost`` is not needed here)."""
        for task in tasks:
            yield fn(task)


class LocalPool(Executor):
    """A pool of ``workers`` processes on this machine, started on entry and stopped on exit.

    Batches do not use it directly: :func:`make_executor` lends them the process's warm pool
    (:mod:`sim.experiments.pools`), which is a :class:`LocalPool` kept between batches.
    """

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        super().__init__(workers if workers is not None else default_workers())
        self._pool: ProcessPoolExecutor | None = None
        self._abandoned = False  # a batch left tasks in flight (stopped part way)

    def start(self) -> None:
        """Start the worker processes and wait until each has imported cdpsim.

        Workers are forked from a fork server that has cdpsim imported (:func:`start_context`);
        where a fork server cannot start, they are ``spawn``-ed.

        Raises:
            ExecutorError: the workers cannot start — typically a script that starts a batch
                without ``if __name__ == "__main__":`` (a worker imports the main module, as
                multiprocessing's spawn does), or a main module that is not a file (``python -``).
        """
        try:
            try:
                self._start()
            except (OSError, EOFError):  # no fork server here (e.g. no socket): spawn
                self._start(multiprocessing.get_context("spawn"))
        except BrokenProcessPool as exc:
            raise ExecutorError(
                "the local worker processes could not start (they import the main module, "
                "as multiprocessing's spawn does): call the batch from a file, inside "
                '`if __name__ == "__main__":`, or run it in this process (workers=0)'
            ) from exc

    def _start(self, context: multiprocessing.context.BaseContext | None = None) -> None:
        """Start the pool and wait for every worker (BrokenProcessPool if one dies meanwhile)."""
        self._abandoned = False
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context or start_context(),
            initializer=_worker_init,
            initargs=(os.getpid(), dict(os.environ), umask()),
        )
        # Starting every worker now overlaps their start; a pool that cannot start is an
        # error of the set-up, not a failure of the first runs.
        try:
            pings = [self._pool.submit(_ping) for _ in range(self.workers)]
            for ping in pings:
                ping.result()
        except BaseException:
            self.close()
            raise

    def _restart(self, cause: BaseException) -> None:
        """Replace a broken pool; after :data:`RESTART_ATTEMPTS` failures, stop the batch.

        Raises:
            WorkersLost: the pool could not be started again.
        """
        self.close()
        for attempt in range(RESTART_ATTEMPTS):
            try:
                self._start()
                return
            except BrokenProcessPool as exc:
                cause = exc
                time.sleep(0.5 * (attempt + 1))
        raise WorkersLost(
            f"the local worker processes kept dying ({RESTART_ATTEMPTS} attempts at starting "
            f"them again failed: {cause}); is the machine out of memory?"
        ) from cause

    def close(self) -> None:
        """Stop the workers; tasks still running are abandoned (their folders stay temporary)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            _terminate(pool)

    def pids(self) -> list[int]:
        """The process ids of the workers (none when stopped)."""
        return sorted((getattr(self._pool, "_processes", None) or {}).keys())

    def reusable(self) -> bool:
        """Whether another batch may use this pool as it is.

        It is started, no worker has died (a pool that lost one is broken), every worker
        process is alive, and no batch left tasks in it (one stopped part way).
        """
        pool = self._pool
        if pool is None or self._abandoned or getattr(pool, "_broken", False):
            return False
        processes = list((getattr(pool, "_processes", None) or {}).values())
        return len(processes) == self.workers and all(p.is_alive() for p in processes)

    def imap_unordered(
        self, fn: TaskFunction, tasks: Iterable[Task], on_lost: LostHandler
    ) -> Iterator[Result]:
        """Yield results as tasks finish, keeping ``TASKS_PER_WORKER × workers`` in flight.

        When a worker dies, the tasks in flight are run again one at a time (module docstring):
        only a task that kills its worker while running alone goes to ``on_lost``.

        Raises:
            WorkersLost: the pool could not be started again after a worker died.
        """
        if self._pool is None:
            raise ExecutorError("the local pool is not started (use it as a context manager)")
        pending: dict[Future, Task] = {}
        suspects: deque[Task] = deque()  # in flight when a worker died: run again, alone
        try:
            yield from self._results(fn, iter(tasks), on_lost, pending, suspects)
        finally:
            if pending or suspects:  # stopped part way (Ctrl-C, an error, a consumer gone)
                self._abandoned = True

    def _results(
        self,
        fn: TaskFunction,
        todo: Iterator[Task],
        on_lost: LostHandler,
        pending: dict[Future, Task],
        suspects: deque[Task],
    ) -> Iterator[Result]:
        """The loop of :meth:`imap_unordered` (``pending`` and ``suspects`` are its state)."""
        assert self._pool is not None
        exhausted = False
        while True:
            alone = bool(suspects)
            while not pending and suspects:
                task = suspects.popleft()
                pending[self._pool.submit(fn, task)] = task
            limit = 1 if alone else TASKS_PER_WORKER * self.workers
            while not alone and not exhausted and len(pending) < limit:
                task = next(todo, _END)
                if task is _END:
                    exhausted = True
                    break
                pending[self._pool.submit(fn, task)] = task
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            broken: BaseException | None = None
            for future in done:
                task = pending.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool as exc:
                    broken = exc
                    if alone:  # it ran by itself: this task is what kills its worker
                        yield on_lost(task, exc)
                    else:
                        suspects.append(task)
                    continue
                yield result
            if broken is not None:
                # A dead worker breaks the whole pool: every task in flight died with it.
                suspects.extend(pending.values())
                pending.clear()
                self._restart(broken)
                assert self._pool is not None


_END = object()


#: Seconds a terminated worker has to exit before it is killed (it may be renaming a finished
#: run's folder into place, which holds SIGTERM until done).
TERMINATE_WAIT_S = 5.0


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Shut a pool down now: cancel what has not started and stop the worker processes.

    Returns only once every worker process has exited (SIGTERM, then SIGKILL after
    :data:`TERMINATE_WAIT_S`), so that no run folder appears after it: what a batch counts as
    kept after stopping its pool is what stays.
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=TERMINATE_WAIT_S)
        if process.is_alive():
            process.kill()
            process.join()


class DaskCluster(Executor):
    """A Dask cluster: an existing scheduler, or a local cluster on 127.0.0.1.

    On start, every worker reports its versions and whether it sees the batch folder
    (:mod:`sim.experiments.cluster`): a worker that cannot import cdpsim or has other versions
    stops the batch before it begins; a worker that does not see the batch folder ships its
    runs back to be written here. The number of tasks in flight follows the workers the
    scheduler has (workers may join late or leave). A scheduler that goes away stops the batch
    (:class:`WorkersLost`) with the finished runs kept for ``--resume``.
    """

    name = "dask"

    def __init__(
        self,
        workers: int | None = None,
        scheduler: str | None = None,
        scratch: str | Path | None = None,
        results: str = "auto",
    ) -> None:
        super().__init__(workers if workers is not None else default_workers())
        problem = scheduler_problem(scheduler) if scheduler is not None else None
        if problem is not None:
            raise ExecutorError(f"--scheduler: {problem}")
        from sim.experiments.cluster import RESULTS, RESULTS_ENV

        if results not in RESULTS:
            raise ExecutorError(
                f"{RESULTS_ENV}: {results!r} is not one of {', '.join(RESULTS)} (auto: workers "
                "that see the batch folder write there, the others ship their runs back; "
                "ship: every run is shipped back and written here)"
            )
        self.scheduler = scheduler.strip() if scheduler is not None else None
        self.scratch = scratch
        self.results = results
        #: Runs shipped back and written here by this executor (workers without the store).
        self.shipped = 0
        self._client: Any = None
        self._cluster: Any = None
        self._scratch_dir: str | None = None
        self._token: Any = None
        self._versions: dict[str, str] = {}
        self._threads_at = 0.0

    def start(self) -> None:
        """Connect to the scheduler (or start a local cluster) and check every worker.

        Raises:
            ExecutorError: dask.distributed is not installed, the scheduler cannot be reached,
                no worker joins it within :data:`DASK_WORKER_WAIT_S`, or a worker cannot
                import cdpsim or has other versions than this process.
        """
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # the dask extra is not installed
            raise ExecutorError(
                "the dask backend needs dask.distributed, the dask extra: pip install -e "
                "'.[dask]' -c constraints.txt (from a checkout), or pip install 'cdpsim[dask]'"
            ) from exc
        where = self.scheduler or "a local cluster on 127.0.0.1"
        try:
            if self.scheduler is not None:
                self._client = Client(self.scheduler, timeout="10s")
            else:
                # The workers' spill and lock files go to a temporary folder of ours (in the
                # output's temporary area when given), removed on close, not to a
                # dask-scratch-space left in the current folder.
                if self.scratch is not None:
                    Path(self.scratch).mkdir(parents=True, exist_ok=True)
                self._scratch_dir = tempfile.mkdtemp(prefix="dask-", dir=self.scratch)
                self._cluster = LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                    local_directory=self._scratch_dir,
                )
                self._client = Client(self._cluster)
            self._check_workers(where)
        except ExecutorError:
            self.close()
            raise
        except (OSError, TimeoutError, ValueError) as exc:
            self.close()
            raise ExecutorError(f"cannot start the dask backend at {where}: {exc}") from None

    def _check_workers(self, where: str) -> None:
        """Wait for a worker, write the store's token, and check every worker's report.

        Raises:
            ExecutorError: no worker, or workers that cannot run the batch.
        """
        from sim.experiments.cluster import check_reports, make_token, worker_report
        from sim.experiments.store import versions

        try:
            self._client.wait_for_workers(1, timeout=DASK_WORKER_WAIT_S)
        except TimeoutError:
            raise ExecutorError(
                f"the scheduler at {where} has no worker ({DASK_WORKER_WAIT_S:g} s waited): "
                f"start some with `dask worker {where} --nthreads 1`"
            ) from None
        if self.scratch is not None:
            self._token = make_token(self.scratch)
        self._versions = versions()
        reports = self._client.run(worker_report, self._token, on_error="return")
        problems = check_reports(reports, self._versions)
        if problems:
            raise ExecutorError("\n".join(problems))
        self.workers = self._threads()

    def _threads(self) -> int:
        """The threads of the cluster's workers now (at least 1), asked at most once a second."""
        now = time.monotonic()
        if now - self._threads_at >= 1.0 or self._threads_at == 0.0:
            self._threads_at = now
            with contextlib.suppress(OSError, TimeoutError):
                self.workers = max(1, sum(self._client.nthreads().values()))
        return self.workers

    def close(self) -> None:
        """Disconnect, and stop the local cluster if this executor started it."""
        from sim.experiments.cluster import remove_token

        client, self._client = self._client, None
        cluster, self._cluster = self._cluster, None
        if client is not None:
            with contextlib.suppress(OSError, TimeoutError, RuntimeError):
                client.close()
        if cluster is not None:
            cluster.close()
        token, self._token = self._token, None
        remove_token(token)
        scratch, self._scratch_dir = self._scratch_dir, None
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        # the temporary area, if this made it and it is empty
        if self.scratch is not None:
            with contextlib.suppress(OSError):
                Path(self.scratch).rmdir()

    def describe(self) -> str:
        """One line naming the scheduler, e.g. ``dask at tcp://10.0.0.1:8786 (8 workers)``."""
        where = self.scheduler or "a local cluster"
        return f"dask at {where} ({self.workers} worker{'s' if self.workers != 1 else ''})"

    def _lost_scheduler(self) -> str | None:
        """Why the scheduler is gone, or ``None`` while the client is connected."""
        status = getattr(self._client, "status", "closed")
        if status in ("running", "connecting"):
            return None
        where = self.scheduler or "the local cluster"
        return (
            f"the connection to the dask scheduler at {where} was lost (client {status}); "
            "the runs that finished are kept"
        )

    def imap_unordered(
        self, fn: TaskFunction, tasks: Iterable[Task], on_lost: LostHandler
    ) -> Iterator[Result]:
        """Yield results as tasks finish, keeping ``TASKS_PER_WORKER ×`` the workers in flight.

        A run a worker ships back (:class:`sim.experiments.cluster.Shipped`) is written here
        before its row is yielded. A task whose worker dies is rescheduled by Dask; one that
        kills workers repeatedly (``distributed.scheduler.allowed-failures``) goes to
        ``on_lost``.

        Raises:
            WorkersLost: the scheduler went away, or a worker that joined late cannot run
                cdpsim's tasks (other versions).
        """
        from distributed import KilledWorker, as_completed

        from sim.experiments.cluster import (
            ClusterError,
            Shipped,
            land,
            run_on_worker,
            unlanded_row,
        )

        if self._client is None:
            raise ExecutorError("the dask backend is not started (use it as a context manager)")
        todo = iter(tasks)
        owner: dict[str, Task] = {}
        running = as_completed()
        ship = self.results == "ship"

        def top_up() -> None:
            limit = TASKS_PER_WORKER * self._threads()
            while len(owner) < limit:
                task = next(todo, _END)
                if task is _END:
                    return
                task = _absolute_folder(task)
                future = self._client.submit(
                    run_on_worker, fn, task, self._token, ship, self._versions, pure=False
                )
                owner[future.key] = task
                running.add(future)

        top_up()
        for future in running:
            task = owner.pop(future.key)
            if future.status == "finished":
                result = future.result()
                if isinstance(result, Shipped):
                    try:
                        result = land(result, task.folder)
                    except OSError as exc:  # this run is not written; the batch goes on
                        result = unlanded_row(task, exc)
                    self.shipped += 1
                future.release()
                yield result
            else:
                lost = self._lost_scheduler()
                if lost is not None:
                    raise WorkersLost(lost)
                exc = future.exception() if future.status == "error" else None
                if isinstance(exc, ClusterError):
                    raise WorkersLost(str(exc))
                if exc is not None and not isinstance(exc, KilledWorker):
                    # cdpsim's task functions return failures as data: an exception here is
                    # the cluster's (a worker that cannot unpickle or import the task), and
                    # every other task would meet it too
                    raise WorkersLost(
                        f"a task failed on a dask worker: {type(exc).__name__}: {exc}"
                    )
                future.release()
                yield on_lost(task, exc or RuntimeError(f"its task was {future.status}"))
            top_up()


#: Seconds a Dask client waits for the scheduler's first worker before giving up.
DASK_WORKER_WAIT_S = 60.0


def _absolute_folder(task: Task) -> Task:
    """A task whose relative paths are made absolute (workers have their own current folder).

    A batch run's ``folder`` (where it writes) and ``scenario_file`` (recorded relative to the
    batch folder) are read on the worker: given relative, they would name the worker's files.
    """
    changes = {}
    for name in ("folder", "scenario_file"):
        value = getattr(task, name, None)
        if isinstance(value, str) and not value.startswith("<") and not Path(value).is_absolute():
            changes[name] = str(Path(value).absolute())
    if changes:
        import dataclasses

        return dataclasses.replace(task, **changes)
    return task


BACKENDS = ("local", "dask")


def make_executor(
    backend: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    scratch: str | Path | None = None,
    *,
    tasks: int | None = None,
    oversubscribe: bool = False,
) -> Executor:
    """The executor for ``--backend``/``--workers``/``--scheduler``.

    ``workers`` of 0 or 1 with the local backend runs in this process; ``None`` uses every core.
    ``scratch`` is a temporary folder for a local Dask cluster's files and the batch folder's
    token that shows which workers see it (removed on close). On the dask backend the
    environment variable ``CDPSIM_DASK_RESULTS`` (``auto`` or ``ship``) says where runs are
    written (:mod:`sim.experiments.cluster`).
    Local workers (a pool, or a local Dask cluster) are counted by :func:`local_workers`: at
    most the cores (unless ``oversubscribe``) and at most ``tasks``. A remote scheduler's
    cluster has the workers it has.

    Raises:
        ValueError: an unknown backend, or a scheduler address without the dask backend.
        ExecutorError: a scheduler address that is not of the form ``tcp://host:port``.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if scheduler is not None and backend != "dask":
        raise ValueError("--scheduler needs --backend dask")
    if backend == "dask":
        from sim.experiments.cluster import RESULTS_ENV

        results = os.environ.get(RESULTS_ENV, "auto").strip() or "auto"
        if scheduler is not None:
            return DaskCluster(workers, scheduler, scratch, results)
        return DaskCluster(
            local_workers(workers, tasks, oversubscribe=oversubscribe), None, scratch, results
        )
    if workers is not None and workers <= 1:
        return InProcess()
    from sim.experiments.pools import WarmPool  # the process's warm pool, lent to this batch

    return WarmPool(local_workers(workers, tasks, oversubscribe=oversubscribe))
