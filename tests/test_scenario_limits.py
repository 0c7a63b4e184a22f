"""Scenario input limits: hostile YAML, the error cap, value bounds and the run's size."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sim.record import ILK_FIELDS, SYSTEM_FIELDS
from sim.scenario import MAX_ERRORS, MAX_FILE_BYTES, MAX_NODES, ScenarioError, load_scenario
from sim.scenario import resources as res
from sim.scenario.checks import LOG_MOVE_MAX
from sim.scenario.schema import VAULTS_MAX
from tests.conftest import SMALL


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(path: Path, overrides=()) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides=overrides)
    return info.value


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The "billion laughs": each level lists the previous one ``width`` times."""
    lines = ["name: bomb", f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------- YAML


def test_alias_bomb_is_refused_with_a_line(tmp_path):
    path = write(tmp_path, alias_bomb())
    err = errors_of(path)
    assert len(err.errors) == 1
    item = err.errors[0]
    assert item.file == str(path) and item.line is not None
    assert "alias bomb" in item.message and f"{MAX_NODES:,}" in item.message


def test_ordinary_aliases_still_work(tmp_path):
    text = SMALL.replace(
        "cr: {dist: uniform, min: 1.55, max: 2.4}}", "cr: &cr {dist: uniform, min: 1.55, max: 2.4}}"
    ).replace("cr: {dist: fixed, median: 2.0}", "cr: *cr")
    s = load_scenario(write(tmp_path, text))
    assert s.borrowers[1].cr == s.borrowers[0].cr
    assert s.borrowers[1].cr.dist == "uniform"


def test_merge_keys_merge_and_explicit_keys_win(tmp_path):
    text = SMALL.replace(
        "    liquidation: {engine: clip, chop: 0.13, hole: 1.0e8, buf: 1.2, tail: 2h, cusp: 0.4, "
        "chip: 0.001, tip: 100}",
        "    liquidation:\n      <<: {engine: clip, chop: 0.13, hole: 1.0e8, buf: 1.2, tail: 2h}\n"
        "      chop: 0.1",
    )
    s = load_scenario(write(tmp_path, text))
    liq = s.ilks["ETH-A"].liquidation
    assert liq.chop == pytest.approx(0.1) and liq.hole == 1.0e8 and liq.tail == 7200.0
    bad = text.replace("buf: 1.2, tail: 2h}", "buf: 0.5, tail: 2h}")
    err = errors_of(write(tmp_path, bad))
    assert [(e.path, e.line) for e in err.errors] == [
        ("ilks.ETH-A.liquidation.buf", line_of(bad, "buf: 0.5"))
    ]


def test_too_many_values_are_refused_before_building(tmp_path):
    text = "name: big\npoints: [" + ", ".join(["1"] * (MAX_NODES + 10)) + "]\n"
    err = errors_of(write(tmp_path, text))
    assert len(err.errors) == 1 and "over 100,000 values" in str(err)
    assert err.errors[0].line == 2


def test_four_megabytes_of_unknown_keys_are_refused(tmp_path):
    text = "".join(f"unknown_key_{i:08d}: {i}\n" for i in range(160_000))
    assert 4e6 < len(text) < MAX_FILE_BYTES
    err = errors_of(write(tmp_path, text))
    assert len(str(err).splitlines()) <= MAX_ERRORS + 1


def test_a_file_over_the_size_cap_is_refused_from_its_size(tmp_path):
    path = write(tmp_path, "# " + "x" * MAX_FILE_BYTES + "\nname: a\n")
    err = errors_of(path)
    assert str(err) == (
        f"{path}: the file has {path.stat().st_size:,} bytes, above the limit of "
        f"{MAX_FILE_BYTES:,} bytes (5 MB) for a scenario file (put data in CSV files)"
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_device_is_refused_without_reading_it():
    err = errors_of(Path("/dev/zero"))
    assert str(err) == "/dev/zero: is not a regular file (a character device)"


def test_errors_are_capped_with_a_count(tmp_path):
    text = SMALL + "".join(f"extra_{i}: 1\n" for i in range(MAX_ERRORS + 20))
    err = errors_of(write(tmp_path, text))
    assert len(err.errors) == MAX_ERRORS
    assert err.omitted == 20
    lines = str(err).splitlines()
    assert len(lines) == MAX_ERRORS + 1 and lines[-1] == "… and 20 more errors"


def test_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"name: a\nseed: 1\ndescription: \xff\xfe\n")
    err = errors_of(path)
    assert str(err) == f"{path}:3: not UTF-8 text"


def test_deep_nesting_is_refused(tmp_path):
    text = "name: a\nx: " + "[" * 60 + "]" * 60 + "\n"
    err = errors_of(write(tmp_path, text))
    assert len(err.errors) == 1 and "deep" in str(err)


# ---------------------------------------------------------------------------------------- bounds


@pytest.mark.parametrize(
    ("override", "field", "fragment"),
    [
        (
            "collateral.ETH.price.start=1e-320",
            "collateral.ETH.price.start",
            "greater than or equal",
        ),
        ("collateral.ETH.price.start=1e13", "collateral.ETH.price.start", "less than or equal"),
        ("borrowers.0.cr.sigma=1e308", "borrowers.0.cr.sigma", "less than or equal to 5"),
        ("borrowers.0.cr.min=1e300", "borrowers.0.cr.min", "less than or equal"),
        ("borrowers.0.debt=1e16", "borrowers.0.debt", "less than or equal"),
        ("borrowers.0.vaults=1000000000", "borrowers.0.vaults", "less than or equal"),
        ("ilks.ETH-A.line=1e300", "ilks.ETH-A.line", "less than or equal"),
        ("ilks.ETH-A.stability_fee=1e3", "ilks.ETH-A.stability_fee", "less than or equal"),
        ("ilks.ETH-A.liquidation.chop=5", "ilks.ETH-A.liquidation.chop", "less than or equal"),
        ("system.vow.dump=1e-320", "system.vow.dump", "subnormal"),
        ("keepers.0.dai=1e20", "keepers.0.dai", "less than or equal"),
        ("keepers.0.count=1000000", "keepers.0.count", "less than or equal"),
        ("keepers.0.gas_bid_gwei=1e9", "keepers.0.gas_bid_gwei", "less than or equal"),
        ("dai={depth_usd_2pct: 10}", "dai.depth_usd_2pct", "greater than or equal"),
        ("clock.tick=1e-320s", "clock.tick", "subnormal"),
        ("clock.duration=1e400d", "clock.duration", "longest duration"),
        ("seed=100000000000000000000", "seed", "less than or equal"),
    ],
)
def test_absurd_values_are_refused_naming_the_field(small_scenario_file, override, field, fragment):
    err = errors_of(small_scenario_file, [override])
    assert err.errors, override
    item = err.errors[0]
    assert item.path == field and fragment in item.message, str(err)
    assert item.file == f"{small_scenario_file} (--set {override})"


@pytest.mark.parametrize(
    "price",
    [
        "{process: gbm, start: 2000, vol: 21}",
        "{process: gbm, start: 2000, vol: 0.5, drift: 1e3}",
        "{process: jump_diffusion, start: 2000, vol: 0.5, jump_rate: 1e6, jump_mean: 0, jump_std: 0}",
        "{process: jump_diffusion, start: 2000, vol: 0.5, jump_rate: 1, jump_mean: -6, jump_std: 0}",
        "{process: jump_diffusion, start: 2000, vol: 0.5, jump_rate: 1, jump_mean: 0, jump_std: 6}",
    ],
    ids=["vol", "drift", "jump_rate", "jump_mean", "jump_std"],
)
def test_process_parameters_that_overflow_are_refused(tmp_path, price):
    text = SMALL.replace(
        "{process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}}", price
    )
    err = errors_of(write(tmp_path, text))
    assert err.errors[0].path.startswith("collateral.ETH.price."), str(err)
    assert "less than or equal" in err.errors[0].message or "greater than" in err.errors[0].message


def test_a_long_volatile_run_is_refused_before_its_path_overflows(tmp_path):
    text = SMALL.replace("tick: 10m, duration: 12h", "tick: 1d, duration: 36500d").replace(
        "{process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}}",
        "{process: gbm, start: 2000, vol: 5}",
    )
    err = errors_of(write(tmp_path, text))
    assert [e.path for e in err.errors] == ["collateral.ETH.price"]
    assert f"(limit {LOG_MOVE_MAX:g})" in err.errors[0].message
    # the same process over a month is fine
    load_scenario(write(tmp_path, text.replace("duration: 36500d", "duration: 30d"), "ok.yaml"))


# ---------------------------------------------------------------------------------------- size of the run


def test_a_century_of_daily_ticks_passes(tmp_path):
    text = SMALL.replace("tick: 10m, duration: 12h", "tick: 1d, duration: 36500d").replace(
        "{process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}}",
        "{process: gbm, start: 2000, vol: 0.8}",
    )
    s = load_scenario(write(tmp_path, text))
    assert s.n_ticks == 36_500


def test_a_billion_days_is_refused(tmp_path):
    text = SMALL.replace("duration: 12h", "duration: 1e9d")
    path = write(tmp_path, text)
    err = errors_of(path)
    assert str(err) == (
        f"{path}:{line_of(text, 'clock:')}: clock.duration: '1e9d' is longer than the longest "
        "duration allowed, 1000 years (365000d)"
    )


def test_a_microsecond_tick_is_refused_naming_the_ticks(small_scenario_file):
    err = errors_of(small_scenario_file, ["clock.tick=0.000001s"])
    assert str(err) == (
        f"{small_scenario_file} (--set clock.tick=0.000001s): clock: the run has 4.32e+10 ticks "
        f"(duration 12h / tick 1e-06s), above the limit of {res.MAX_TICKS:,}; use a longer tick "
        "or a shorter duration"
    )


def test_a_tick_too_short_to_count_is_refused(small_scenario_file):
    err = errors_of(small_scenario_file, ["clock.tick=1e-300s", "clock.duration=365000d"])
    assert [e.path for e in err.errors] == ["clock"]
    assert "the run has inf ticks" in err.errors[0].message


def test_a_run_ending_after_the_year_9999_is_refused(small_scenario_file):
    err = errors_of(
        small_scenario_file,
        ["clock.start=9999-06-01T00:00:00Z", "clock.duration=365d", "clock.tick=1d"],
    )
    assert [(e.path, e.message) for e in err.errors] == [
        ("clock.duration", "the run would end after the year 9999")
    ]


def test_resource_estimate_adds_up(small_scenario_file):
    s = load_scenario(small_scenario_file, ["record.vault_snapshot_every=1h"])
    est = res.estimate_resources(s)
    rows = 73  # 72 ticks of 10 minutes, plus the initial state
    assert (est.ticks, est.vaults, est.snapshots) == (72, 250, 2 + 12)
    per_row = len(ILK_FIELDS) + 3 + len(SYSTEM_FIELDS) + 2  # three CR quantiles
    assert est.series_bytes == rows * per_row * 8 * res.SERIES_COPIES
    assert est.path_bytes == rows * (1 * res.PATH_ARRAYS_PER_ASSET + 1) * 8
    assert est.vault_bytes == 250 * res.VAULT_BYTES
    assert est.snapshot_bytes == 14 * 250 * res.SNAPSHOT_BYTES_PER_VAULT
    parts = est.series_bytes + est.path_bytes + est.vault_bytes + est.snapshot_bytes
    assert est.total_bytes == parts + res.PROCESS_BYTES


def test_recorder_column_counts_match_the_recorder():
    assert res.ILK_COLUMNS == len(ILK_FIELDS)
    assert res.SYSTEM_COLUMNS == len(SYSTEM_FIELDS) + 2  # with tick and time


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
    err = errors_of(small_scenario_file, overrides)
    assert len(err.errors) == 1
    item = err.errors[0]
    assert item.path == "record.vault_snapshot_every"
    assert item.file == f"{small_scenario_file} (--set record.vault_snapshot_every=10m)"
    assert "vault snapshots" in item.message and "TB" in item.message
    assert "more than this machine's" in item.message


def test_physical_memory_is_known():
    assert res.physical_memory() > 0


def test_an_alias_bomb_in_an_override_value_is_refused(small_scenario_file):
    levels = ", ".join(
        ["&l0 [" + ", ".join(["lol"] * 9) + "]"]
        + [f"&l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
    )
    err = errors_of(small_scenario_file, [f"description=[{levels}]"])
    assert len(err.errors) == 1
    assert "override description: aliases expand the document" in err.errors[0].message


def test_lists_and_mappings_are_described_not_printed(small_scenario_file):
    err = errors_of(small_scenario_file, ["name=[" + ", ".join(["x"] * 500) + "]"])
    assert str(err).endswith("name: Input should be a valid string (got a list of 500 items)")


def test_a_capped_error_pickles_with_its_count(tmp_path):
    import pickle

    text = SMALL + "".join(f"extra_{i}: 1\n" for i in range(MAX_ERRORS + 5))
    err = errors_of(write(tmp_path, text))
    clone = pickle.loads(pickle.dumps(err))
    assert str(clone) == str(err) and clone.omitted == err.omitted == 5
