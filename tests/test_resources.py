"""The run's size (sim/scenario/resources.py): its ticks and memory, estimated before it starts
and refused when they cannot fit, blaming the field behind the largest part."""

from __future__ import annotations

import math

import pytest

import sim
from sim.record import BLOCK_FIELDS, ILK_FIELDS, SYSTEM_FIELDS
from sim.scenario import load_scenario
from sim.scenario import resources as res
from sim.scenario.fields import VAULTS_MAX
from tests.conftest import SCENARIOS, SMALL
from tests.scenario_helpers import error_of, write


@pytest.fixture
def small(small_scenario_file):
    return load_scenario(small_scenario_file)


def clocked(s, tick: float, duration: float):
    """``s`` with another clock (unchecked: a copy, not a validated scenario)."""
    return s.model_copy(
        update={"clock": s.clock.model_copy(update={"tick": tick, "duration": duration})}
    )


@pytest.mark.parametrize(
    ("tick", "duration", "ticks"),
    [
        (600.0, 43_200.0, 72),
        (420.0, 43_200.0, 103),  # 102.9 ticks: the last one is whole
        (0.1, 0.3, 3),  # 0.3 / 0.1 is 2.9999999999999996 in floats, not a fourth tick
        (43_200.0, 43_200.0, 1),
        (86_400.0, 43_200.0, 1),  # at least one
        (1e-300, 1e300, math.inf),
    ],
)
def test_the_tick_count_rounds_up(small, tick, duration, ticks):
    assert res.tick_count(clocked(small, tick, duration)) == ticks


def test_snapshots_and_the_mkr_market_count_in_the_estimate(small_scenario_file):
    s = load_scenario(small_scenario_file)
    est = res.estimate_resources(s)
    assert est.snapshots == 2  # without an interval: the start and the end
    with_mkr = load_scenario(
        small_scenario_file, ["mkr={price: {process: gbm, start: 1000, vol: 1}}"]
    )
    more = res.estimate_resources(with_mkr)
    assert more.path_bytes == 73 * (2 * res.PATH_ARRAYS_PER_ASSET + 1) * res.FLOAT_BYTES
    assert more.path_bytes > est.path_bytes and more.series_bytes == est.series_bytes


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (2048, "2 kB"),
        (5 * 1024**2, "5.0 MB"),
        (3 * 1024**3 + 1024**3 // 2, "3.5 GB"),
        (2 * 1024**4, "2.0 TB"),
        (1.5e20, "136,424,205.3 TB"),
    ],
)
def test_sizes_are_written_in_the_largest_unit(size, text):
    assert res._size(size) == text


def test_the_machines_memory_is_the_default_limit(small, monkeypatch):
    total = res.estimate_resources(small).total_bytes
    monkeypatch.setattr(res, "physical_memory", lambda: math.floor(total) - 1)
    assert res.check_resources(small) and res.check_resources(small, memory_bytes=2**62) == []
    monkeypatch.setattr(res, "physical_memory", lambda: math.ceil(total))
    assert res.check_resources(small) == []


def test_physical_memory_falls_back_when_the_system_does_not_say(monkeypatch):
    def unknown(name):
        raise ValueError(name)

    monkeypatch.setattr(res.os, "sysconf", unknown)
    assert res.physical_memory() == res.FALLBACK_MEMORY_BYTES
    monkeypatch.setattr(res.os, "sysconf", lambda name: 0)
    assert res.physical_memory() == res.FALLBACK_MEMORY_BYTES
    monkeypatch.setattr(res.os, "sysconf", lambda name: -1 if name == "SC_PHYS_PAGES" else 4096)
    assert res.physical_memory() == res.FALLBACK_MEMORY_BYTES


# ---------------------------------------------------------------------------------------- through the loader


def test_a_century_of_daily_ticks_passes(tmp_path):
    text = SMALL.replace("tick: 10m, duration: 12h", "tick: 1d, duration: 36500d").replace(
        "{process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}}",
        "{process: gbm, start: 2000, vol: 0.8}",
    )
    s = load_scenario(write(tmp_path, text))
    assert s.n_ticks == 36_500


def test_a_microsecond_tick_is_refused_naming_the_ticks(small_scenario_file):
    err = error_of(small_scenario_file, ["clock.tick=0.000001s"])
    assert str(err) == (
        f"{small_scenario_file} (--set clock.tick=0.000001s): clock: the run has 4.32e+10 ticks "
        f"(duration 12h / tick 1e-06s), above the limit of {res.MAX_TICKS:,}; use a longer tick "
        "or a shorter duration"
    )


def test_a_tick_too_short_to_count_is_refused(small_scenario_file):
    err = error_of(small_scenario_file, ["clock.tick=1e-300s", "clock.duration=365000d"])
    assert [e.path for e in err.errors] == ["clock"]
    assert "the run has inf ticks" in err.errors[0].message


def test_resource_estimate_adds_up(small_scenario_file):
    s = load_scenario(small_scenario_file, ["record.vault_snapshot_every=1h"])
    est = res.estimate_resources(s)
    rows = 73  # 72 ticks of 10 minutes, plus the initial state
    assert (est.ticks, est.vaults, est.snapshots) == (72, 250, 2 + 12)
    per_row = len(ILK_FIELDS) + 3 + len(SYSTEM_FIELDS) - len(BLOCK_FIELDS) + 2  # 3 quantiles
    assert est.series_bytes == rows * per_row * 8 * res.SERIES_COPIES
    assert est.path_bytes == rows * (1 * res.PATH_ARRAYS_PER_ASSET + 1) * 8
    assert est.vault_bytes == 250 * res.VAULT_BYTES
    assert est.snapshot_bytes == 14 * 250 * res.SNAPSHOT_BYTES_PER_VAULT
    parts = est.series_bytes + est.path_bytes + est.vault_bytes + est.snapshot_bytes
    assert est.total_bytes == parts + res.PROCESS_BYTES


def test_lever_columns_count_in_the_estimate(small_scenario_file):
    plain = res.estimate_resources(load_scenario(small_scenario_file)).series_bytes
    levers = load_scenario(
        small_scenario_file,
        [
            "ilks.ETH-A.autoline={line: 1.0e9, gap: 1.0e6, ttl: 1h}",
            "ilks.ETH-A.liquidation.breaker={tolerance: 0.5}",
        ],
    )
    rows = 73
    assert res.estimate_resources(levers).series_bytes == plain + rows * 2 * 8 * res.SERIES_COPIES


def test_recorder_column_counts_match_the_recorder():
    assert res.ILK_COLUMNS == len(ILK_FIELDS)
    # with tick and time; the block columns only with a network
    assert res.SYSTEM_COLUMNS == len(SYSTEM_FIELDS) - len(BLOCK_FIELDS) + 2
    assert res.BLOCK_COLUMNS == len(BLOCK_FIELDS)


@pytest.mark.parametrize("name", ["black_thursday_2020", "multi_collateral", "eth_crash_liq2"])
def test_the_estimate_counts_the_columns_a_run_records(name):
    """Per row, the estimate's columns are the recorder's, per-group block columns included."""
    s = sim.load_scenario(SCENARIOS / f"{name}.yaml", overrides=["clock.duration=1h"])
    est = res.estimate_resources(s)
    columns = len(sim.run(s).timeseries.columns)
    assert est.series_bytes == (est.ticks + 1) * columns * 8 * res.SERIES_COPIES


def test_memory_over_the_limit_is_refused_with_the_estimate(small_scenario_file):
    s = load_scenario(small_scenario_file)
    assert res.check_resources(s) == []
    total = res.estimate_resources(s).total_bytes
    assert res.check_resources(s, memory_bytes=math.ceil(total)) == []
    assert res.check_resources(s, memory_bytes=math.floor(total) - 1)
    problems = res.check_resources(s, memory_bytes=1024**2)
    assert len(problems) == 1
    path, message = problems[0]
    est = res.estimate_resources(s)
    # The error is blamed on the field behind the largest part of the estimate.
    largest = max(
        (est.series_bytes + est.path_bytes, ("clock",)),
        (est.snapshot_bytes, ("record", "vault_snapshot_every")),
        (est.vault_bytes, ("borrowers",)),
    )[1]
    assert path == largest
    assert (
        message.startswith("the run needs about 300.")
        and "more than this machine's 1.0 MB" in message
    )


def test_snapshots_that_cannot_fit_are_refused_at_validation(small_scenario_file):
    overrides = [
        f"borrowers.0.vaults={VAULTS_MAX}",
        "borrowers.0.debt=1e14",
        "ilks.ETH-A.line=1e15",
        "record.vault_snapshot_every=10m",
        "clock.duration=70d",
    ]
    err = error_of(small_scenario_file, overrides)
    assert len(err.errors) == 1
    item = err.errors[0]
    assert item.path == "record.vault_snapshot_every"
    assert item.file == f"{small_scenario_file} (--set record.vault_snapshot_every=10m)"
    assert "vault snapshots" in item.message and "TB" in item.message
    assert "more than this machine's" in item.message


def test_physical_memory_is_known():
    assert res.physical_memory() > 0
