"""Data files of a scenario: where they may come from, and whether they cover the run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.scenario import ScenarioError, load_scenario, with_overrides
from sim.scenario.build import build_gas_process, build_price_process
from tests.conftest import SCENARIOS, SMALL

SCRIPTED = "{process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}}"
#: 12 h of hourly prices from the SMALL clock's default start (2020-01-01T00:00:00Z).
CSV = "timestamp,eth,gas\n" + "".join(
    f"2020-01-01T{h:02d}:00:00Z,{2000 - 50 * h},{10 + h if h < 6 else ''}\n" for h in range(13)
)


def scenario_with(tmp_path: Path, file: str, extra: str = "", folder: str = "case") -> Path:
    """SMALL replaying ``file`` for ETH, written to ``tmp_path/folder/s.yaml``."""
    where = tmp_path / folder
    where.mkdir(exist_ok=True)
    price = f"{{process: replay, file: '{file}', column: eth{extra}}}"
    path = where / "s.yaml"
    path.write_text(SMALL.replace(SCRIPTED, price))
    return path


def only_error(path: Path, **kwargs) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, **kwargs)
    assert len(info.value.errors) == 1, str(info.value)
    return str(info.value.errors[0])


# ---------------------------------------------------------------------------------------- folders


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


def test_data_dirs_allow_another_folder(tmp_path):
    market = tmp_path / "market-data"
    market.mkdir()
    (market / "p.csv").write_text(CSV)
    path = scenario_with(tmp_path, "../market-data/p.csv")
    message = only_error(path, data_dirs=[tmp_path / "elsewhere"])
    assert f"and the data folders {(tmp_path / 'elsewhere').resolve()}" in message
    s = load_scenario(path, data_dirs=[market])
    assert s.data_dirs == (str(market),)
    # the folders stay with the scenario through overrides
    assert with_overrides(s, ["clock.duration=6h"]).n_ticks == 36
    with pytest.raises(ScenarioError, match="outside"):
        with_overrides(s, ["clock.duration=6h"], data_dirs=[])


def test_a_missing_file_inside_the_folder_is_not_found(tmp_path):
    message = only_error(scenario_with(tmp_path, "nope.csv"))
    assert "collateral.ETH.price.file: file not found" in message


# ---------------------------------------------------------------------------------------- coverage


def test_data_that_end_before_the_run_are_an_error_naming_both_spans(tmp_path):
    path = scenario_with(tmp_path, "p.csv")
    (path.parent / "p.csv").write_text(CSV)
    load_scenario(path)  # 12 h of data for a 12 h run
    message = only_error(path, overrides=["clock.duration=13h"])
    assert message == (
        f"{path}:6: collateral.ETH.price.file: p.csv: column 'eth' "
        "covers 2020-01-01T00:00:00Z to 2020-01-01T12:00:00Z, but the run needs "
        "2020-01-01T00:00:00Z to 2020-01-01T13:00:00Z; extend the data, change the clock, or "
        "set beyond: hold (the first value before the data, the last after)"
    )
    message = only_error(path, overrides=["clock.start=2019-12-31T23:00:00Z"])
    assert "needs 2019-12-31T23:00:00Z to 2020-01-01T11:00:00Z" in message


def test_beyond_hold_keeps_the_first_and_last_values(tmp_path):
    path = scenario_with(tmp_path, "p.csv", extra=", beyond: hold")
    (path.parent / "p.csv").write_text(CSV)
    s = load_scenario(path, overrides=["clock.start=2019-12-31T22:00:00Z", "clock.duration=1d"])
    process = build_price_process(s.collateral["ETH"].price, s)
    p = process.path(s.n_ticks, s.clock.tick, np.random.default_rng(0))
    assert np.all(p[:13] == 2000.0)  # two hours before the data: the first value
    assert p[12] == 2000.0 and p[18] == 1950.0
    assert np.all(p[-60:] == 1400.0)  # after the data: the last value


def test_gas_coverage_is_checked_too(tmp_path):
    path = scenario_with(tmp_path, "p.csv")
    (path.parent / "p.csv").write_text(CSV)
    gas = "network: {gas: {process: replay, file: p.csv, column: gas}}\n"
    path.write_text(path.read_text() + gas)
    message = only_error(path)
    assert "network.gas.file: p.csv: column 'gas' covers 2020-01-01T00:00:00Z to " in message
    path.write_text(path.read_text().replace("column: gas}", "column: gas, beyond: hold}"))
    s = load_scenario(path)
    g = build_gas_process(s.network.gas, s).path(s.n_ticks, s.clock.tick, np.random.default_rng())
    assert g[-1] == 15.0  # the gas column's last value, at 05:00


def test_replayed_values_out_of_bounds_are_refused(tmp_path):
    path = scenario_with(tmp_path, "p.csv")
    (path.parent / "p.csv").write_text(CSV.replace(",1950,", ",1e300,"))
    message = only_error(path)
    assert "p.csv:3: eth: the value is outside the allowed range [1e-09, 1e+12]" in message


def test_black_thursday_holds_its_data_and_would_not_cover_the_run_without(tmp_path):
    path = SCENARIOS / "black_thursday_2020.yaml"
    s = load_scenario(path)
    assert s.collateral["ETH"].price.beyond == "hold" and s.network.gas.beyond == "hold"
    header = path.read_text().split("\nname:")[0]
    assert "134.79" in header and "97 gwei" in header
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides=["collateral.ETH.price.beyond=error"])
    assert "covers 2020-03-12T00:00:00Z to 2020-03-13T23:00:00Z" in str(info.value)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides=["network.gas.beyond=error"])
    assert "column 'gas_mean_gwei' covers 2020-03-12T00:00:00Z to 2020-03-12T23:00:00Z" in str(
        info.value
    )
