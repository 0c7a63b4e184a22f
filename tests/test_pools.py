"""The warm local pool: reused by the next batch, replaced when it cannot serve it as it is.

Pool starts are what these tests cost (a fork of the fork server each, plus the worker's
imports), so the tests share the kept pool where they can, in file order.
"""

from __future__ import annotations

import os
import signal
import time

import pandas as pd
import pytest

from sim.atomic import umask
from sim.experiments import pools
from sim.experiments.batch import batch_manifest, execute_all, load_inputs, plan, run_batch
from sim.experiments.executors import LocalPool, make_executor
from sim.experiments.pools import WarmPool
from sim.experiments.store import BatchFolder
from tests.conftest import SMALL
from tests.pool_tasks import environment, execute_with_pid, pid_of

#: Columns that differ between two executions of the same runs.
VOLATILE = ["wall_time_s"]


@pytest.fixture(autouse=True, scope="module")
def no_kept_pool():
    """The tests start and end without a kept pool (none is left to other test files)."""
    pools.shutdown()
    yield
    pools.shutdown()


def _batch_pids(workers: int = 2, tasks: int = 8, **kwargs) -> tuple[list[int], set[int]]:
    """The lease's worker pids, and the pids that ran the tasks of one batch."""
    with make_executor("local", workers, tasks=tasks, **kwargs) as executor:
        assert isinstance(executor, WarmPool)
        ran = {pid for _, pid in executor.imap_unordered(pid_of, range(tasks), lambda t, e: None)}
        return executor.pids(), ran


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (not gone, not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_next_batch_runs_on_the_same_workers():
    first, ran_first = _batch_pids()
    second, ran_second = _batch_pids()
    assert len(first) == 2 and first == second
    assert ran_first | ran_second <= set(first)
    assert pools.kept_pool() is not None and pools.kept_pool().pids() == first


def test_batches_reuse_the_pool_and_give_the_runs_of_one_in_process(tmp_path):
    """Through the batch layer: the second batch's runs come from the first's workers, and
    each batch's runs table and files are those of the same batch run in this process."""
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL.replace("duration: 12h", "duration: 2h"))
    inputs = load_inputs([scenario])
    reference = run_batch(scenario, seeds=[1, 2, 3], workers=0, out=tmp_path / "ref")
    seen: list[int] = []
    for k in range(2):
        out = tmp_path / f"b{k}"
        specs = plan(inputs, [1, 2, 3], out)
        manifest = batch_manifest(
            inputs,
            specs,
            out=out,
            seeds_record=[1, 2, 3],
            master_seed=0,
            overrides=(),
            keep="full",
            command=None,
        )
        lock = BatchFolder(out).open(manifest, resume=False)
        try:
            table = execute_all(
                specs,
                out,
                workers=2,
                runner=execute_with_pid,
                progress=lambda p: seen.append(p.last["pid"]),
            )
        finally:
            lock.release()
        if k == 0:
            first = pools.kept_pool().pids()
        pd.testing.assert_frame_equal(
            table.drop(columns=VOLATILE), reference.drop(columns=VOLATILE)
        )
        for run in (tmp_path / "ref" / "runs").iterdir():
            for name in ["timeseries.parquet", "events.parquet", "summary.json"]:
                assert (out / "runs" / run.name / name).read_bytes() == (run / name).read_bytes()
    assert len(seen) == 6 and set(seen) <= set(first) == set(pools.kept_pool().pids())


def test_two_batches_at_once_do_not_share_a_pool():
    with make_executor("local", 2, tasks=2) as outer:
        with make_executor("local", 2, tasks=2) as inner:
            assert not set(outer.pids()) & set(inner.pids())
            assert sorted(inner.imap_unordered(pid_of, [1], lambda t, e: None))[0][0] == 1
            inner_pids = inner.pids()
        outer_pids = outer.pids()
    assert pools.kept_pool().pids() == outer_pids
    assert all(not _running(pid) for pid in inner_pids)


def test_a_pool_whose_worker_died_between_batches_is_replaced():
    first, _ = _batch_pids()
    os.kill(first[0], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pools.kept_pool().reusable() and time.monotonic() < deadline:
        time.sleep(0.02)
    second, ran = _batch_pids()
    assert len(second) == 2 and first[0] not in second and ran <= set(second)


def test_another_worker_count_gets_a_new_pool_and_stops_the_old():
    two, _ = _batch_pids(2)
    old = pools.kept_pool()
    three, ran = _batch_pids(3, oversubscribe=True)
    assert len(three) == 3 and not set(three) & set(two) and ran <= set(three)
    assert old.pids() == [] and all(not _running(pid) for pid in two)


def test_a_changed_environment_folder_or_umask_reaches_the_workers(monkeypatch, tmp_path):
    """Workers take them at their start: a change since gets a pool that has it."""
    first, _ = _batch_pids(3, oversubscribe=True)
    monkeypatch.setenv("CDPSIM_TEST_POOL", "changed")
    monkeypatch.chdir(tmp_path)
    with make_executor("local", 3, tasks=3, oversubscribe=True) as executor:
        seen = list(
            executor.imap_unordered(environment, ["CDPSIM_TEST_POOL"] * 3, lambda t, e: None)
        )
        assert seen == [("changed", str(tmp_path), umask())] * 3
        assert not set(executor.pids()) & set(first)
        second = executor.pids()
    before = os.umask(0o077)  # the run folders follow the umask of the batch's process
    try:
        with make_executor("local", 3, tasks=3, oversubscribe=True) as executor:
            seen = list(executor.imap_unordered(environment, ["X"] * 3, lambda t, e: None))
            assert {mask for _, _, mask in seen} == {0o077}
            assert not set(executor.pids()) & set(second)
    finally:
        os.umask(before)


def test_a_batch_stopped_part_way_or_by_an_exception_leaves_no_pool():
    """Tasks in flight must not reach the next batch; Ctrl-C stops the workers, as before."""
    with make_executor("local", 2, tasks=8) as executor:
        results = executor.imap_unordered(pid_of, range(8), lambda t, e: None)
        next(results)
        results.close()  # the batch stops taking results with tasks in flight
        stopped = executor.pids()
    assert pools.kept_pool() is None and all(not _running(pid) for pid in stopped)
    with pytest.raises(KeyboardInterrupt):
        with make_executor("local", 2, tasks=8) as executor:
            interrupted = executor.pids()
            raise KeyboardInterrupt
    assert pools.kept_pool() is None and all(not _running(pid) for pid in interrupted)


def test_a_local_pool_of_its_own_stops_on_exit():
    """:class:`LocalPool` used directly is not the kept pool: its workers end with it."""
    with LocalPool(2) as pool:
        pids = pool.pids()
        assert sorted(pool.imap_unordered(pid_of, [0, 1], lambda t, e: None))[0][0] == 0
    assert pools.kept_pool() is None and all(not _running(pid) for pid in pids)


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_child_forked_from_the_parent_does_not_use_the_parent_s_pool():
    _batch_pids()
    assert pools.kept_pool() is not None
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the kept pool's threads and pipes are the parent's
        os.write(write, b"none" if pools.kept_pool() is None else b"kept")
        os._exit(0)
    os.waitpid(child, 0)
    assert os.read(read, 4) == b"none" and pools.kept_pool() is not None
