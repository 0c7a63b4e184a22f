"""Executors: the same results anywhere; a dead worker loses no task; errors come back as data."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from sim.experiments import executors
from sim.experiments.batch import BatchInputError, BatchInterrupted, BatchStopped
from sim.experiments.executors import LocalPool, WorkersLost
from sim.locks import LockError
from sim.rundir import OutputError, WriteError
from sim.runner import BuildError
from sim.scenario import ErrorItem, OverrideError, ScenarioError


def _square(task: int) -> int:
    return task * task


def _die_on_three(task: int) -> tuple[str, int]:
    if task == 3:
        os._exit(1)  # what the kernel's OOM killer does to a worker, as far as the pool sees
    return ("ok", task)


def _die_once(task: tuple[int, str]) -> tuple[str, int]:
    """Kill the worker the first time task 2 runs (a marker file remembers), then succeed."""
    number, marker = task
    if number == 2 and not Path(marker).exists():
        Path(marker).write_text("died once")
        os._exit(1)
    return ("ok", number)


def _raise_output_error(task: int) -> int:
    raise OutputError(f"/tmp/run-{task}", "the folder changed while the run was written")


def test_the_pool_gives_every_result_once():
    with LocalPool(2) as pool:
        got = sorted(pool.imap_unordered(_square, range(20), lambda t, e: ("lost", t)))
    assert got == [k * k for k in range(20)]


def test_only_the_task_that_kills_its_worker_is_lost():
    """The tasks in flight with it are run again, alone, and finish: they are not lost."""
    lost = []
    with LocalPool(2) as pool:
        got = list(
            pool.imap_unordered(_die_on_three, range(8), lambda t, e: lost.append(t) or ("lost", t))
        )
    assert lost == [3]
    assert sorted(got) == sorted([("ok", k) for k in range(8) if k != 3] + [("lost", 3)])


def test_a_worker_killed_from_outside_loses_nothing(tmp_path):
    marker = str(tmp_path / "died")
    with LocalPool(2) as pool:
        got = list(
            pool.imap_unordered(
                _die_once, [(k, marker) for k in range(8)], lambda t, e: ("lost", t[0])
            )
        )
    assert Path(marker).exists()  # a worker did die
    assert sorted(got) == [("ok", k) for k in range(8)]


def test_a_pool_that_cannot_start_again_stops_the_batch(monkeypatch):
    """A worker that dies while the pool restarts: a few attempts, then WorkersLost."""
    from concurrent.futures.process import BrokenProcessPool

    with LocalPool(2) as pool:
        monkeypatch.setattr(executors, "RESTART_ATTEMPTS", 2)
        monkeypatch.setattr(
            pool, "_start", lambda: (_ for _ in ()).throw(BrokenProcessPool("died at start"))
        )
        with pytest.raises(WorkersLost, match="kept dying"):
            list(pool.imap_unordered(_die_on_three, range(6), lambda t, e: ("lost", t)))


def test_an_error_raised_in_a_worker_comes_back_as_that_error():
    """Exceptions pickle with their arguments, so one raised in a worker does not break the pool."""
    with LocalPool(2) as pool:
        with pytest.raises(OutputError, match="the folder changed") as caught:
            list(pool.imap_unordered(_raise_output_error, [1], lambda t, e: ("lost", t)))
        assert caught.value.reason == "the folder changed while the run was written"
        assert sorted(pool.imap_unordered(_square, range(4), lambda t, e: None)) == [0, 1, 4, 9]


@pytest.mark.parametrize(
    "error",
    [
        OutputError("/tmp/x", "in use"),
        WriteError("/tmp/x", "disk full", ticks=3, fallback=Path("/tmp/y")),
        WriteError("/tmp/x", "disk full", ticks=3, fallback=None, fallback_reason="also full"),
        BuildError(ValueError("bad")),
        ScenarioError([ErrorItem("a.yaml", 3, "ilks.ETH-A.mat", "too low")], omitted=2),
        OverrideError("ilks.X", "unknown ilk"),
        BatchInputError(["a.yaml:1: bad", "b.yaml:2: worse"]),
        BatchInterrupted(Path("/tmp/b"), 3, 9),
        BatchStopped(Path("/tmp/b"), 3, 9, "workers kept dying"),
        LockError("/tmp/b", "PID 12: cdpsim batch"),
        WorkersLost("kept dying"),
    ],
)
def test_errors_cross_process_boundaries_as_themselves(error):
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error) and str(again) == str(error)
