"""The scenario schema (sim/scenario/schema.py): frozen sections, durations with units, times in
UTC, numbers within their bounds, data files inside the scenario's folder, and what a scenario
says about itself (ticks, data files, plain data, correlations)."""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pytest
from pydantic import ValidationError

from sim.scenario import Clock, ReplayPrice, load_scenario, validate_data
from sim.scenario.schema import correlation_matrix
from tests.conftest import SMALL
from tests.scenario_helpers import (
    CSV,
    error_of,
    line_of,
    messages_of,
    only_error,
    scenario_with,
    write,
)

# ---------------------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("start", "utc"),
    [
        ("2020-03-12T00:00:00Z", dt.datetime(2020, 3, 12, tzinfo=dt.UTC)),
        ("2020-03-12T02:00:00+02:00", dt.datetime(2020, 3, 12, tzinfo=dt.UTC)),
        ("2020-03-12T00:00:00", dt.datetime(2020, 3, 12, tzinfo=dt.UTC)),  # naive: UTC
        (dt.date(2020, 3, 12), dt.datetime(2020, 3, 12, tzinfo=dt.UTC)),
    ],
)
def test_times_are_read_in_utc(start, utc):
    clock = Clock.model_validate({"duration": "1d", "start": start})
    assert clock.start == utc and clock.tick == 600.0


@pytest.mark.parametrize(
    ("start", "message"),
    [
        ("12 March 2020", "'12 March 2020' is not an ISO-8601 time, e.g. '2020-03-12T00:00:00Z'"),
        (20200312, "expected an ISO-8601 time string, got 20200312"),
    ],
)
def test_a_time_that_is_not_iso_8601_is_refused(start, message):
    with pytest.raises(ValidationError, match=message):
        Clock.model_validate({"duration": "1d", "start": start})


def test_durations_take_a_unit_or_zero():
    assert Clock.model_validate({"duration": "1.5h", "tick": "90s"}).duration == 5400.0
    with pytest.raises(ValidationError, match="durations are strings with a unit"):
        Clock.model_validate({"duration": 3600})
    with pytest.raises(ValidationError, match="durations are strings with a unit"):
        Clock.model_validate({"duration": True})
    with pytest.raises(ValidationError, match="greater than 0"):
        Clock.model_validate({"duration": 0})  # zero is a duration, but not a positive one


def test_numbers_may_be_written_as_text_and_counts_with_an_exponent(small_scenario_file):
    s = load_scenario(small_scenario_file, ["borrowers.0.debt='2e6'", "borrowers.0.vaults=2.0e2"])
    assert s.borrowers[0].debt == 2e6 and s.borrowers[0].vaults == 200
    assert isinstance(s.borrowers[0].vaults, int)
    err = error_of(small_scenario_file, ["borrowers.0.vaults=2.5"])
    assert err.errors[0].path == "borrowers.0.vaults"


def test_section_validators(small_scenario_file):
    err = error_of(
        small_scenario_file,
        ["collateral.ETH.price={process: scripted, points: [[2h, 1000], [1h, 900]]}"],
    )
    assert [(e.path, e.message) for e in err.errors] == [
        ("collateral.ETH.price.points", "point times must increase")
    ]
    err = error_of(
        small_scenario_file,
        ["mkr={price: {process: gbm, start: 1000, vol: 1}, margin: 0.05, margin_spread: 0.1}"],
    )
    assert [(e.path, e.message) for e in err.errors] == [
        (
            "mkr.margin_spread",
            "margin_spread 0.1 is above margin 0.05: a bidder would ask a negative margin",
        )
    ]


# ---------------------------------------------------------------------------------------- a scenario


def test_a_scenario_says_its_ticks_data_files_and_plain_data(tmp_path):
    path = scenario_with(tmp_path, "data/p.csv")
    (path.parent / "data").mkdir()
    (path.parent / "data" / "p.csv").write_text(CSV)
    gas = "network: {gas: {process: replay, file: data/p.csv, column: gas, beyond: hold}, gas_limit: 30.0e6}\n"
    path.write_text(path.read_text() + gas)
    s = load_scenario(path)
    assert s.n_ticks == 72 and s.base_dir == str(path.parent)
    assert s.resolve("data/p.csv") == path.parent / "data" / "p.csv"
    assert s.data_files() == [path.parent / "data" / "p.csv"]  # each file once
    data = s.to_dict()
    assert data["clock"] == {"tick": "10m", "duration": "12h", "start": "2020-01-01T00:00:00Z"}
    assert "base_dir" not in data and "data_dirs" not in data
    again = validate_data(data, filename="<again>", base_dir=path.parent)
    assert again == s


def test_the_correlation_matrix_covers_every_asset_and_mkr_last(small_scenario_file):
    s = load_scenario(
        small_scenario_file,
        [
            "collateral.ETH.price={process: gbm, start: 2000, vol: 0.8}",
            "mkr={price: {process: gbm, start: 1000, vol: 1}}",
            "correlation={ETH: {MKR: 0.6}}",
        ],
    )
    np.testing.assert_array_equal(correlation_matrix(s), [[1.0, 0.6], [0.6, 1.0]])
    plain = load_scenario(small_scenario_file)
    np.testing.assert_array_equal(correlation_matrix(plain), [[1.0]])


# ---------------------------------------------------------------------------------------- data files


def test_a_data_file_must_be_a_regular_file(tmp_path):
    path = scenario_with(tmp_path, "folder")
    (path.parent / "folder").mkdir()
    assert only_error(path).endswith(f"{path.parent / 'folder'} is a folder, not a data file")
    os.mkfifo(path.parent / "fifo.csv")
    path = scenario_with(tmp_path, "fifo.csv")
    assert only_error(path).endswith(f"{path.parent / 'fifo.csv'}: is not a regular file (a FIFO)")


def test_without_a_folder_a_data_file_is_only_checked_to_exist(tmp_path):
    spec = {"process": "replay", "file": str(tmp_path / "p.csv"), "column": "eth"}
    with pytest.raises(ValidationError, match="file not found"):
        ReplayPrice.model_validate(spec)
    (tmp_path / "p.csv").write_text(CSV)
    assert ReplayPrice.model_validate(spec).file == str(tmp_path / "p.csv")


def test_scenario_is_frozen(small_scenario_file):
    s = load_scenario(small_scenario_file)
    with pytest.raises(ValidationError):
        s.ilks["ETH-A"].mat = 1.2  # type: ignore[misc]


def test_duration_without_unit_is_an_error(tmp_path):
    text = SMALL.replace("tick: 10m", "tick: 600")
    errs = messages_of(write(tmp_path, text))
    assert "clock.tick" in errs[0] and "unit" in errs[0]


def test_missing_csv_named_with_line(tmp_path):
    text = SMALL.replace(
        "price: {process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}}",
        "price: {process: replay, file: data/nope.csv, column: eth_close}",
    )
    path = write(tmp_path, text)
    errs = messages_of(path)
    assert errs[0].startswith(f"{path}:{line_of(text, 'nope.csv')}: collateral.ETH.price.file:")
    assert "not found" in errs[0]


def test_zero_durations_and_non_finite_numbers_are_rejected(tmp_path):
    text = SMALL.replace("tick: 10m", "tick: 0s").replace(
        "system: {Hole: 1.0e8}", "system: {Hole: .inf, oracle: {hop: 0s}}"
    )
    errs = messages_of(write(tmp_path, text))
    assert any("clock.tick" in e and "greater than 0" in e for e in errs), errs
    assert any("system.oracle.hop" in e for e in errs), errs
    assert any("system.Hole" in e and "finite" in e for e in errs), errs


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
    err = error_of(small_scenario_file, [override])
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
    err = error_of(write(tmp_path, text))
    assert err.errors[0].path.startswith("collateral.ETH.price."), str(err)
    assert "less than or equal" in err.errors[0].message or "greater than" in err.errors[0].message


def test_a_billion_days_is_refused(tmp_path):
    text = SMALL.replace("duration: 12h", "duration: 1e9d")
    path = write(tmp_path, text)
    err = error_of(path)
    assert str(err) == (
        f"{path}:{line_of(text, 'clock:')}: clock.duration: '1e9d' is longer than the longest "
        "duration allowed, 1000 years (365000d)"
    )


def test_a_file_in_the_scenario_folder_is_read(tmp_path):
    path = scenario_with(tmp_path, "data/p.csv")
    (path.parent / "data").mkdir()
    (path.parent / "data" / "p.csv").write_text(CSV)
    s = load_scenario(path)
    assert s.collateral["ETH"].price.file == "data/p.csv"


@pytest.mark.parametrize("file", ["../secret/.env", "/etc/passwd", "data/../../secret/.env"])
def test_files_outside_the_folder_are_refused_without_reading_them(tmp_path, file):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / ".env").write_text("timestamp,eth\nAPI_KEY=hunter2,1\n")
    path = scenario_with(tmp_path, file)
    message = only_error(path)
    folder = path.parent.resolve()
    assert message.endswith(
        f"collateral.ETH.price.file: file {file!r} is outside the scenario's folder {folder}; "
        "copy it there or pass --data-dir"
    )
    assert "hunter2" not in message and "root:" not in message


def test_a_symlink_pointing_outside_is_refused(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text(CSV)
    path = scenario_with(tmp_path, "prices.csv")
    (path.parent / "prices.csv").symlink_to(secret)
    assert "is outside the scenario's folder" in only_error(path)
    # a symlink inside the folder to a file inside it is fine
    (path.parent / "real.csv").write_text(CSV)
    (path.parent / "link.csv").symlink_to(path.parent / "real.csv")
    load_scenario(scenario_with(tmp_path, "link.csv"))


def test_a_missing_file_inside_the_folder_is_not_found(tmp_path):
    message = only_error(scenario_with(tmp_path, "nope.csv"))
    assert "collateral.ETH.price.file: file not found" in message


def test_autoline_and_breaker_sections(small_scenario_file):
    ok = load_scenario(
        small_scenario_file,
        [
            "ilks.ETH-A.autoline={line: 1.5e10, gap: 1.5e8, ttl: 6h}",
            "ilks.ETH-A.liquidation.breaker={tolerance: 0.5}",
        ],
    )
    ilk = ok.ilks["ETH-A"]
    assert (ilk.autoline.line, ilk.autoline.gap, ilk.autoline.ttl) == (1.5e10, 1.5e8, 21600.0)
    assert ilk.liquidation.breaker.tolerance == 0.5
    err = error_of(
        small_scenario_file,
        [
            "ilks.ETH-A.autoline={line: 0, gap: -1, ttl: 6h}",
            "ilks.ETH-A.liquidation.breaker={tolerance: 1.5}",
        ],
    )
    paths = {e.path for e in err.errors}
    assert {
        "ilks.ETH-A.autoline.line",
        "ilks.ETH-A.autoline.gap",
        "ilks.ETH-A.liquidation.breaker.tolerance",
    } <= paths, paths
