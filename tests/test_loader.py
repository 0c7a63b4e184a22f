"""Loading (sim/scenario/loader.py): a file and its ``--set`` overrides → a validated, frozen
scenario, every problem reported at once as ``file:line: field: message``."""

from __future__ import annotations

import pytest

from sim.scenario import ScenarioError, load_scenario, validate_data, with_overrides
from sim.scenario.loader import SWEEP_FILE_MESSAGE
from tests.conftest import SMALL
from tests.scenario_helpers import (
    CSV,
    line_of,
    messages_of,
    only_error,
    scenario_with,
    write,
)


def test_small_scenario_loads_with_units(small_scenario_file):
    s = load_scenario(small_scenario_file)
    assert s.clock.tick == 600.0
    assert s.clock.duration == 12 * 3600.0
    assert s.n_ticks == 72
    assert s.ilks["ETH-A"].liquidation.tail == 7200.0
    assert s.ilks["ETH-A"].liquidation.chop == pytest.approx(0.13)


def test_unknown_key_names_file_line_field_and_suggests(tmp_path):
    text = SMALL.replace("mat: 1.5", "mat: 1.5\n    matt: 1.6")
    path = write(tmp_path, text)
    errs = messages_of(path)
    assert len(errs) == 1
    assert errs[0].startswith(f"{path}:{line_of(text, 'matt:')}: ilks.ETH-A.matt: unknown field")
    assert "did you mean 'mat'" in errs[0]


def test_wrong_type_and_out_of_range_reported_together(tmp_path):
    text = SMALL.replace("mat: 1.5", "mat: 0.9").replace("vaults: 200", "vaults: many")
    path = write(tmp_path, text)
    errs = messages_of(path)
    assert any(
        e.startswith(f"{path}:{line_of(text, 'mat: 0.9')}: ilks.ETH-A.mat:")
        and "greater than 1" in e
        for e in errs
    ), errs
    assert any(
        e.startswith(f"{path}:{line_of(text, 'vaults: many')}: borrowers.0.vaults:") for e in errs
    ), errs


def test_with_overrides_roundtrips(small_scenario_file):
    s = load_scenario(small_scenario_file)
    t = with_overrides(s, ["clock.duration=6h"])
    assert t.n_ticks == 36 and s.n_ticks == 72


def test_resolved_dict_revalidates(small_scenario_file):
    s = load_scenario(small_scenario_file)
    again = with_overrides(s, [])
    assert again == s


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


# ---------------------------------------------------------------------------------------- refused


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n"], ids=["empty", "list", "text"])
def test_a_file_that_is_not_a_mapping_is_refused(tmp_path, text):
    path = write(tmp_path, text)
    assert messages_of(path) == [f"{path}:1: a scenario file must be a mapping of sections"]


def test_a_missing_file_is_not_found(tmp_path):
    assert messages_of(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: file not found"]


def test_a_sweep_file_is_sent_to_cdpsim_sweep(tmp_path):
    text = "name: s\n# a sweep\nbase: base.yaml\ndesign: {kind: grid}\n"
    path = write(tmp_path, text)
    assert messages_of(path) == [f"{path}:3: {SWEEP_FILE_MESSAGE}"]


@pytest.mark.parametrize("name", ["base_dir", "data_dirs"])
def test_the_loaders_own_fields_may_not_be_written(tmp_path, name):
    text = SMALL + f"{name}: /etc\n"
    path = write(tmp_path, text)
    assert messages_of(path) == [f"{path}:{line_of(text, name)}: {name}: unknown field"]


def test_cross_checks_run_once_every_section_is_valid(tmp_path):
    """A scenario with schema errors is not cross-checked (the checks would read bad values)."""
    both = SMALL.replace("ilk: ETH-A, vaults: 200", "ilk: ETH-B, vaults: 200")
    messages = messages_of(write(tmp_path, both.replace("mat: 1.5", "mat: 0.5")))
    assert len(messages) == 1 and "ilks.ETH-A.mat" in messages[0]
    messages = messages_of(write(tmp_path, both))
    assert len(messages) == 1 and "borrowers.0.ilk: unknown ilk 'ETH-B'" in messages[0]
    assert messages[0].startswith(f"{tmp_path / 's.yaml'}:{line_of(both, 'ETH-B')}:")


def test_validate_data_takes_parsed_data_and_blames_overrides(tmp_path):
    data = load_scenario(write(tmp_path, SMALL)).to_dict()
    data["ilks"]["ETH-A"]["mat"] = 0.5
    with pytest.raises(ScenarioError) as caught:
        validate_data(
            data,
            filename="mine.yaml",
            base_dir=tmp_path,
            lines={("ilks", "ETH-A", "mat"): 9},
            overridden={("ilks", "ETH-A", "mat"): "ilks.ETH-A.mat=0.5"},
        )
    (item,) = caught.value.errors
    assert (item.file, item.line, item.path) == (
        "mine.yaml (--set ilks.ETH-A.mat=0.5)",
        None,
        "ilks.ETH-A.mat",
    )
    data["ilks"]["ETH-A"]["mat"] = 1.5
    s = validate_data(data, filename="mine.yaml", base_dir=tmp_path, data_dirs=[tmp_path / "d"])
    assert s.base_dir == str(tmp_path) and s.data_dirs == (str(tmp_path / "d"),)


def test_with_overrides_names_the_scenario_in_its_errors(small_scenario_file):
    s = load_scenario(small_scenario_file)
    with pytest.raises(ScenarioError) as caught:
        with_overrides(s, ["ilks.ETH-A.mat=0.5"])
    assert str(caught.value).startswith("<small> (--set ilks.ETH-A.mat=0.5): ilks.ETH-A.mat: ")
