"""``--set`` overrides (sim/scenario/overrides.py): parsed as YAML values, applied along the
schema, and every one that cannot be applied reported at the override."""

from __future__ import annotations

import copy
import pickle

import pytest

from sim.scenario import OverrideError, load_scenario, parse_override
from sim.scenario.overrides import apply_override, apply_overrides, override_path
from tests.scenario_helpers import error_of, messages_of


@pytest.mark.parametrize(
    ("text", "path", "value"),
    [
        ("ilks.ETH-A.mat=1.45", ("ilks", "ETH-A", "mat"), 1.45),
        ("borrowers.0.vaults=10", ("borrowers", "0", "vaults"), 10),
        (" clock . duration = 6h", ("clock", "duration"), "6h"),
        ("keepers.0.name=a=b", ("keepers", "0", "name"), "a=b"),
        ("dai={depth_usd_2pct: 1e7}", ("dai",), {"depth_usd_2pct": "1e7"}),
        ("name=[unclosed", ("name",), "[unclosed"),  # not YAML: the text itself
        ("description=", ("description",), ""),
        ("system.psm=null", ("system", "psm"), None),
    ],
)
def test_an_override_is_a_path_and_a_yaml_value(text, path, value):
    assert parse_override(text) == (path, value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no-equals-sign", "override 'no-equals-sign' must look like path.to.field=value"),
        ("=3", "override '=3' has an empty field name"),
        ("ilks..mat=3", "override 'ilks..mat=3' has an empty field name"),
        ("name=!!python/object:os.system {a: 1}", "override name: tags are not allowed"),
    ],
)
def test_a_malformed_override_is_a_value_error(text, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        parse_override(text)


def test_apply_override_sets_in_place_and_lists_the_sections_it_creates(small_scenario_file):
    data = load_scenario(small_scenario_file).to_dict()
    data.pop("dai")
    created: list = []
    path = apply_override(data, ["dai", "depth_usd_2pct"], 1e7, created)
    assert path == ("dai", "depth_usd_2pct") and data["dai"] == {"depth_usd_2pct": 1e7}
    assert created == [("dai",)]
    assert apply_override(data, ["borrowers", "careful", "debt"], 5.0) == ("borrowers", 1, "debt")
    assert data["borrowers"][1]["debt"] == 5.0


def test_apply_overrides_reports_each_bad_one_and_maps_the_rest(small_scenario_file):
    data = load_scenario(small_scenario_file).to_dict()
    before = copy.deepcopy(data)
    done = apply_overrides(data, ["clock.duration=6h", "system.psm.line=1e8"], "f.yaml")
    assert done == {
        ("clock", "duration"): "clock.duration=6h",
        ("system", "psm", "line"): "system.psm.line=1e8",
        ("system", "psm"): "system.psm.line=1e8",  # the section it made is its own
    }
    assert data["clock"]["duration"] == "6h" and data != before
    with pytest.raises(Exception) as caught:
        apply_overrides([1, 2], ["a=1"], "f.yaml")
    assert str(caught.value) == "f.yaml (--set a=1): the file is not a mapping of sections"


def test_an_override_error_pickles_with_its_path():
    error = OverrideError("ilks.X", "unknown ilk")
    again = pickle.loads(pickle.dumps(error))
    assert (again.path, again.message, str(again)) == (
        "ilks.X",
        "unknown ilk",
        "ilks.X: unknown ilk",
    )
    assert str(OverrideError("", "bare")) == "bare"


# ---------------------------------------------------------------------------------------- through the loader


def test_overrides_apply_and_validate(small_scenario_file):
    s = load_scenario(
        small_scenario_file, overrides=["ilks.ETH-A.mat=1.45", "borrowers.0.vaults=10"]
    )
    assert s.ilks["ETH-A"].mat == 1.45
    assert s.borrowers[0].vaults == 10
    errs = messages_of(small_scenario_file, overrides=["ilks.ETH-A.mat=0.9"])
    assert "--set ilks.ETH-A.mat=0.9" in errs[0] and "ilks.ETH-A.mat" in errs[0]
    errs = messages_of(small_scenario_file, overrides=["borrowers.9.vaults=1"])
    assert errs == [
        f"{small_scenario_file} (--set borrowers.9.vaults=1): borrowers.9: "
        "no cohort '9' in borrowers (items 0 to 1 or by name: tail, careful)"
    ]
    with pytest.raises(ValueError):
        parse_override("no-equals-sign")


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
    errs = messages_of(small_scenario_file, overrides=[override])
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
    errs = messages_of(small_scenario_file, overrides=["network.eth=ETH"])
    assert errs == [
        f"{small_scenario_file} (--set network.eth=ETH): network.gas: required field is missing",
        f"{small_scenario_file} (--set network.eth=ETH): network.gas_limit: required field is "
        "missing",
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
    errs = messages_of(small_scenario_file, overrides=["nope.x=1", "ilks.ETH-B.mat=2", "x"])
    assert len(errs) == 3
    assert "must look like path.to.field=value" in errs[2]


def test_an_error_of_a_section_blames_the_override_of_its_field(small_scenario_file):
    errs = messages_of(small_scenario_file, overrides=["clock.tick=1e-6s"])
    assert errs[0].startswith(f"{small_scenario_file} (--set clock.tick=1e-6s): clock: the run has")


def test_a_cohort_or_keeper_group_can_be_named_in_an_override(small_scenario_file):
    s = load_scenario(
        small_scenario_file, overrides=["borrowers.careful.debt=2e6", "keepers.kp.dai=5"]
    )
    assert s.borrowers[1].debt == 2e6 and s.keepers[0].dai == 5
    counted = load_scenario(small_scenario_file, overrides=["borrowers.tail.vaults=3e2"])
    assert counted.borrowers[0].vaults == 300  # a whole number written with an exponent


def test_an_alias_bomb_in_an_override_value_is_refused(small_scenario_file):
    levels = ", ".join(
        ["&l0 [" + ", ".join(["lol"] * 9) + "]"]
        + [f"&l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
    )
    err = error_of(small_scenario_file, [f"description=[{levels}]"])
    assert len(err.errors) == 1
    assert "override description: aliases expand the document" in err.errors[0].message
