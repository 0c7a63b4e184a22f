from __future__ import annotations

import copy
from pathlib import Path

import pytest
from pydantic import ValidationError

from sim.scenario import (
    OverrideError,
    ScenarioError,
    load_scenario,
    parse_override,
    with_overrides,
)
from sim.scenario.overrides import override_path
from tests.conftest import SCENARIOS, SMALL


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def errors_of(path: Path, overrides=()) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides=overrides)
    return [str(e) for e in info.value.errors]


def line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_small_scenario_loads_with_units(small_scenario_file):
    s = load_scenario(small_scenario_file)
    assert s.clock.tick == 600.0
    assert s.clock.duration == 12 * 3600.0
    assert s.n_ticks == 72
    assert s.ilks["ETH-A"].liquidation.tail == 7200.0
    assert s.ilks["ETH-A"].liquidation.chop == pytest.approx(0.13)


def test_scenario_is_frozen(small_scenario_file):
    s = load_scenario(small_scenario_file)
    with pytest.raises(ValidationError):
        s.ilks["ETH-A"].mat = 1.2  # type: ignore[misc]


def test_unknown_key_names_file_line_field_and_suggests(tmp_path):
    text = SMALL.replace("mat: 1.5", "mat: 1.5\n    matt: 1.6")
    path = write(tmp_path, text)
    errs = errors_of(path)
    assert len(errs) == 1
    assert errs[0].startswith(f"{path}:{line_of(text, 'matt:')}: ilks.ETH-A.matt: unknown field")
    assert "did you mean 'mat'" in errs[0]


def test_wrong_type_and_out_of_range_reported_together(tmp_path):
    text = SMALL.replace("mat: 1.5", "mat: 0.9").replace("vaults: 200", "vaults: many")
    path = write(tmp_path, text)
    errs = errors_of(path)
    assert any(
        e.startswith(f"{path}:{line_of(text, 'mat: 0.9')}: ilks.ETH-A.mat:")
        and "greater than 1" in e
        for e in errs
    ), errs
    assert any(
        e.startswith(f"{path}:{line_of(text, 'vaults: many')}: borrowers.0.vaults:") for e in errs
    ), errs


def test_duration_without_unit_is_an_error(tmp_path):
    text = SMALL.replace("tick: 10m", "tick: 600")
    errs = errors_of(write(tmp_path, text))
    assert "clock.tick" in errs[0] and "unit" in errs[0]


def test_missing_csv_named_with_line(tmp_path):
    text = SMALL.replace(
        "price: {process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}}",
        "price: {process: replay, file: data/nope.csv, column: eth_close}",
    )
    path = write(tmp_path, text)
    errs = errors_of(path)
    assert errs[0].startswith(f"{path}:{line_of(text, 'nope.csv')}: collateral.ETH.price.file:")
    assert "not found" in errs[0]


def test_missing_csv_column_named(tmp_path):
    data = tmp_path / "p.csv"
    data.write_text("timestamp,eth\n2020-01-01T00:00:00Z,100\n2020-01-01T01:00:00Z,90\n")
    text = SMALL.replace(
        "price: {process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}}",
        "price: {process: replay, file: p.csv, column: eth_close}",
    )
    errs = errors_of(write(tmp_path, text))
    assert "collateral.ETH.price.file" in errs[0] and "eth_close" in errs[0]


def test_malformed_yaml_names_line(tmp_path):
    text = SMALL.replace("mat: 1.5", "mat: [1.5")
    path = write(tmp_path, text)
    errs = errors_of(path)
    assert len(errs) == 1
    assert errs[0].startswith(f"{path}:") and "malformed YAML" in errs[0]


def test_duplicate_key_is_an_error(tmp_path):
    text = SMALL.replace("mat: 1.5", "mat: 1.5\n    mat: 1.6")
    errs = errors_of(write(tmp_path, text))
    assert "ilks.ETH-A.mat: duplicate key" in errs[0]


def test_cross_checks(tmp_path):
    text = SMALL.replace("ilk: ETH-A, vaults: 200", "ilk: ETH-B, vaults: 200").replace(
        "median: 2.0", "median: 1.4"
    )
    errs = errors_of(write(tmp_path, text))
    assert any("borrowers.0.ilk: unknown ilk 'ETH-B'" in e for e in errs), errs
    assert any("borrowers.1.cr.median" in e and "mat" in e for e in errs), errs


def test_overrides_apply_and_validate(small_scenario_file):
    s = load_scenario(
        small_scenario_file, overrides=["ilks.ETH-A.mat=1.45", "borrowers.0.vaults=10"]
    )
    assert s.ilks["ETH-A"].mat == 1.45
    assert s.borrowers[0].vaults == 10
    errs = errors_of(small_scenario_file, overrides=["ilks.ETH-A.mat=0.9"])
    assert "--set ilks.ETH-A.mat=0.9" in errs[0] and "ilks.ETH-A.mat" in errs[0]
    errs = errors_of(small_scenario_file, overrides=["borrowers.9.vaults=1"])
    assert errs == [
        f"{small_scenario_file} (--set borrowers.9.vaults=1): borrowers.9: "
        "no cohort '9' in borrowers (items 0 to 1 or by name: tail, careful)"
    ]
    with pytest.raises(ValueError):
        parse_override("no-equals-sign")


def test_with_overrides_roundtrips(small_scenario_file):
    s = load_scenario(small_scenario_file)
    t = with_overrides(s, ["clock.duration=6h"])
    assert t.n_ticks == 36 and s.n_ticks == 72


def test_resolved_dict_revalidates(small_scenario_file):
    s = load_scenario(small_scenario_file)
    again = with_overrides(s, [])
    assert again == s


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_scenario_file_validates(path):
    load_scenario(path)


def test_readme_scenario_example_is_valid(tmp_path):
    from tests.conftest import ROOT

    text = (ROOT / "README.md").read_text()
    start = text.index("## The scenario file")
    block = text[
        text.index("```yaml", start) + len("```yaml") : text.index(
            "```", text.index("```yaml", start) + 7
        )
    ]
    path = tmp_path / "readme.yaml"
    path.write_text(block)
    scenario = load_scenario(path)
    assert scenario.name == "eth_crash_liq2"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("name: a\n? [a, b]\n: 3\n", "keys must be plain names"),
        (
            "name: a\nclock: {tick: 1m, duration: 1h, start: 2020-13-45}\n",
            "clock.start: cannot read",
        ),
        ("name: a\nx: &x {b: *x}\n", "recursive anchor"),
        ("name: !!python/object:os.system {a: 1}\n", "tags are not allowed"),
        ("name: a\nclock: !!python/name:os.system\n", "malformed YAML"),
        ("name: a\nnull: 1\n", "2: keys are names: quote 'null' to use it as one"),
        ("name: a\nilks: {2020: {}}\n", "2: ilks: keys are names: quote '2020'"),
    ],
    ids=["complex-key", "bad-date", "recursive", "object-tag", "name-tag", "null-key", "int-key"],
)
def test_hostile_yaml_is_reported_not_raised(tmp_path, text, needle):
    errs = errors_of(write(tmp_path, text))
    assert len(errs) == 1 and needle in errs[0], errs
    assert errs[0].startswith(f"{tmp_path / 's.yaml'}:")


def test_zero_durations_and_non_finite_numbers_are_rejected(tmp_path):
    text = SMALL.replace("tick: 10m", "tick: 0s").replace(
        "system: {Hole: 1.0e8}", "system: {Hole: .inf, oracle: {hop: 0s}}"
    )
    errs = errors_of(write(tmp_path, text))
    assert any("clock.tick" in e and "greater than 0" in e for e in errs), errs
    assert any("system.oracle.hop" in e for e in errs), errs
    assert any("system.Hole" in e and "finite" in e for e in errs), errs


def test_cross_section_conflicts(tmp_path):
    text = SMALL.replace("line: 1.0e9", "line: 1.0e6") + (
        "mkr: {price: {process: scripted, crash: {depth: 0.5, at: 1h, over: 1h}}}\n"
    )
    errs = errors_of(write(tmp_path, text))
    assert any("ilks.ETH-A.line" in e and "above its line" in e for e in errs), errs
    assert any("mkr.price" in e and "start" in e for e in errs), errs


def test_mixed_cat_versions_are_valid_and_the_mkr_name_is_reserved(tmp_path):
    text = (
        SMALL.replace(
            "liquidation: {engine: clip, chop: 0.13, hole: 1.0e8, buf: 1.2, tail: 2h, cusp: 0.4, chip: 0.001, tip: 100}",
            "liquidation: {engine: flip, version: '1.0'}",
        )
        .replace(
            "system: {Hole: 1.0e8}",
            "  ETH-B: {collateral: ETH, mat: 1.5, line: 1.0e9, liquidation: {engine: flip, version: '1.2'}}\n"
            "system: {Hole: 1.0e8}",
        )
        .replace(
            "collateral:\n", "collateral:\n  MKR: {price: {process: gbm, start: 1000, vol: 1}}\n"
        )
    )
    text += "mkr: {price: {process: gbm, start: 1000, vol: 1}}\n"
    errs = errors_of(write(tmp_path, text))
    # Each flip ilk has its own Cat version, as on mainnet while ilks moved to 1.2 one by one.
    assert not any("liquidation.version" in e for e in errs), errs
    assert any("collateral.MKR" in e and "taken" in e for e in errs), errs


# ---------------------------------------------------------------------------------------- --set paths


@pytest.mark.parametrize(
    ("override", "path", "message"),
    [
        (
            "ilks.ETH-B.mat=1.5",
            "ilks.ETH-B",
            "unknown ilk 'ETH-B' (defined: ETH-A); did you mean 'ETH-A'?",
        ),
        (
            "collateral.BTC.price.start=3",
            "collateral.BTC",
            "unknown collateral 'BTC' (defined: ETH); --set changes existing collateral only",
        ),
        (
            "collateral.ETH2.market={depth_usd_2pct: 1e7}",
            "collateral.ETH2",
            "unknown collateral 'ETH2' (defined: ETH); did you mean 'ETH'?",
        ),
        (
            "borrowers.2.debt=1",
            "borrowers.2",
            "no cohort '2' in borrowers (items 0 to 1 or by name: tail, careful)",
        ),
        ("borrowers.tial.debt=1", "borrowers.tial", "did you mean 'tail'?"),
        (
            "keepers.first.dai=1",
            "keepers.first",
            "no keeper group 'first' in keepers (only item 0 or by name: kp)",
        ),
        ("clok.tick=1m", "clok", "did you mean 'clock'?"),
        ("nope.x=1", "nope", "unknown section 'nope' (allowed: name, description, seed, clock,"),
        ("ilks.ETH-A.matt=2", "ilks.ETH-A.matt", "unknown field 'matt' in ilks.ETH-A"),
        ("collateral.ETH.price.vol=0.5", "collateral.ETH.price.vol", None),
        ("collateral.ETH.price.volume=0.5", "collateral.ETH.price.volume", "did you mean 'vol'?"),
        ("clock.tick.x=1", "clock.tick", "is a value, not a section: cannot set 'x'"),
        ("base_dir=/", "base_dir", "unknown section 'base_dir'"),
    ],
)
def test_override_paths_follow_the_schema(small_scenario_file, override, path, message):
    if message is None:
        load_scenario(small_scenario_file, overrides=[override])
        return
    errs = errors_of(small_scenario_file, overrides=[override])
    assert len(errs) == 1, errs
    prefix = f"{small_scenario_file} (--set {override}): {path}: "
    assert errs[0].startswith(prefix), errs
    assert message in errs[0][len(prefix) :]


def test_overrides_may_create_optional_sections_and_entries(small_scenario_file):
    s = load_scenario(
        small_scenario_file,
        overrides=["dai.depth_usd_2pct=1e7", "system.psm.line=1e8", "system.oracle.hop=2h"],
    )
    assert s.dai.depth_usd_2pct == 1e7 and s.system.psm.line == 1e8 and s.system.oracle.hop == 7200
    errs = errors_of(small_scenario_file, overrides=["network.eth=ETH"])
    assert errs == [
        f"{small_scenario_file} (--set network.eth=ETH): network.gas: required field is missing"
    ]


def test_an_overrides_path_is_found_without_setting_it(small_scenario_file):
    """``override_path`` walks as ``apply_override`` does (sweeps resolve their parameters so)."""
    data = load_scenario(small_scenario_file).to_dict()
    before = copy.deepcopy(data)
    assert override_path(data, ["keepers", "kp", "dai"]) == ("keepers", 0, "dai")
    assert override_path(data, ["dai", "depth_usd_2pct"]) == ("dai", "depth_usd_2pct")
    assert data == before  # nothing set, no section created
    with pytest.raises(OverrideError, match="did you mean 'mat'"):
        override_path(data, ["ilks", "ETH-A", "matt"])


def test_several_bad_overrides_are_all_reported(small_scenario_file):
    errs = errors_of(small_scenario_file, overrides=["nope.x=1", "ilks.ETH-B.mat=2", "x"])
    assert len(errs) == 3
    assert "must look like path.to.field=value" in errs[2]


def test_an_error_of_a_section_blames_the_override_of_its_field(small_scenario_file):
    errs = errors_of(small_scenario_file, overrides=["clock.tick=1e-6s"])
    assert errs[0].startswith(f"{small_scenario_file} (--set clock.tick=1e-6s): clock: the run has")


# ---------------------------------------------------------------------------------------- layering


def test_the_scenario_package_does_not_reach_up_into_the_model():
    import ast

    from tests.conftest import ROOT

    above = ("sim.model", "sim.agents", "sim.runner", "sim.record", "sim.cli", "sim.protocol")
    for source in sorted((ROOT / "sim" / "scenario").glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                assert not name.startswith(above), (source.name, name)


def test_a_cohort_or_keeper_group_can_be_named_in_an_override(small_scenario_file):
    s = load_scenario(
        small_scenario_file, overrides=["borrowers.careful.debt=2e6", "keepers.kp.dai=5"]
    )
    assert s.borrowers[1].debt == 2e6 and s.keepers[0].dai == 5
    counted = load_scenario(small_scenario_file, overrides=["borrowers.tail.vaults=3e2"])
    assert counted.borrowers[0].vaults == 300  # a whole number written with an exponent
