"""Safe YAML with line numbers and limits (sim/scenario/yamlfile.py): hostile or malformed
files are refused with the file and the line, anchors and merge keys work, and a ``--set`` value
is read under the same limits."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sim.scenario import MAX_FILE_BYTES, MAX_NODES, ScenarioError, load_scenario
from sim.scenario.yamlfile import compose, load_value, read_yaml
from tests.conftest import SMALL
from tests.scenario_helpers import alias_bomb, error_of, line_of, messages_of, write

# ---------------------------------------------------------------------------------------- refused


def test_malformed_yaml_names_line(tmp_path):
    text = SMALL.replace("mat: 1.5", "mat: [1.5")
    path = write(tmp_path, text)
    errs = messages_of(path)
    assert len(errs) == 1
    assert errs[0].startswith(f"{path}:") and "malformed YAML" in errs[0]


def test_duplicate_key_is_an_error(tmp_path):
    text = SMALL.replace("mat: 1.5", "mat: 1.5\n    mat: 1.6")
    errs = messages_of(write(tmp_path, text))
    assert "ilks.ETH-A.mat: duplicate key" in errs[0]


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
    errs = messages_of(write(tmp_path, text))
    assert len(errs) == 1 and needle in errs[0], errs
    assert errs[0].startswith(f"{tmp_path / 's.yaml'}:")


def test_alias_bomb_is_refused_with_a_line(tmp_path):
    path = write(tmp_path, alias_bomb())
    err = error_of(path)
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
    err = error_of(write(tmp_path, bad))
    assert [(e.path, e.line) for e in err.errors] == [
        ("ilks.ETH-A.liquidation.buf", line_of(bad, "buf: 0.5"))
    ]


def test_too_many_values_are_refused_before_building(tmp_path):
    text = "name: big\npoints: [" + ", ".join(["1"] * (MAX_NODES + 10)) + "]\n"
    err = error_of(write(tmp_path, text))
    assert len(err.errors) == 1 and "over 100,000 values" in str(err)
    assert err.errors[0].line == 2


def test_a_file_over_the_size_cap_is_refused_from_its_size(tmp_path):
    path = write(tmp_path, "# " + "x" * MAX_FILE_BYTES + "\nname: a\n")
    err = error_of(path)
    assert str(err) == (
        f"{path}: the file has {path.stat().st_size:,} bytes, above the limit of "
        f"{MAX_FILE_BYTES:,} bytes (5 MB) for a scenario file (put data in CSV files)"
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_device_is_refused_without_reading_it():
    err = error_of(Path("/dev/zero"))
    assert str(err) == "/dev/zero: is not a regular file (a character device)"


def test_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"name: a\nseed: 1\ndescription: \xff\xfe\n")
    err = error_of(path)
    assert str(err) == f"{path}:3: not UTF-8 text"


def test_deep_nesting_is_refused(tmp_path):
    text = "name: a\nx: " + "[" * 60 + "]" * 60 + "\n"
    err = error_of(write(tmp_path, text))
    assert len(err.errors) == 1 and "deep" in str(err)


# ---------------------------------------------------------------------------------------- compose


def test_compose_gives_the_data_and_the_line_of_each_path():
    text = "name: a\nclock:\n  tick: 10m\nborrowers:\n  - {name: x}\n  - name: y\n    vaults: 3\n"
    data, lines = compose(text, "f.yaml")
    assert data == {
        "name": "a",
        "clock": {"tick": "10m"},
        "borrowers": [{"name": "x"}, {"name": "y", "vaults": 3}],
    }
    assert lines == {
        (): 1,
        ("name",): 1,
        ("clock",): 2,
        ("clock", "tick"): 3,
        ("borrowers",): 4,
        ("borrowers", 0): 5,
        ("borrowers", 0, "name"): 5,
        ("borrowers", 1): 6,
        ("borrowers", 1, "name"): 6,
        ("borrowers", 1, "vaults"): 7,
    }
    assert compose("", "f.yaml") == (None, {})


def test_several_merges_take_the_first_mapping_with_a_key():
    text = "a: &a {x: 1, y: 2}\nb: &b {y: 3, z: 4}\nc:\n  <<: [*a, *b]\n  x: 9\n"
    data, _ = compose(text, "f.yaml")
    assert data["c"] == {"x": 9, "y": 2, "z": 4}
    with pytest.raises(ScenarioError) as caught:
        compose("a: 1\nb:\n  <<: [1]\n", "f.yaml")
    assert str(caught.value) == "f.yaml:3: b: << merges mappings only"


def test_one_value_is_read_under_the_same_limits():
    assert load_value("[1, 2]") == [1, 2] and load_value("x: 1") == {"x": 1}
    assert load_value("3") == 3 and load_value("1e6") == "1e6"  # YAML 1.1: a string
    with pytest.raises(ValueError, match="tags are not allowed"):
        load_value("!!python/object:os.system {a: 1}")
    with pytest.raises(yaml.YAMLError):  # a tagged value is never constructed
        load_value("!!python/name:os.system")
    with pytest.raises(ValueError, match="aliases expand the document"):
        load_value(alias_bomb())
    with pytest.raises(yaml.YAMLError):
        load_value("[1, 2")


def test_a_missing_file_or_a_folder_is_refused_by_name(tmp_path):
    for path, message in (
        (tmp_path / "nope.yaml", "file not found"),
        (tmp_path, "is not a regular file (a folder)"),
    ):
        with pytest.raises(ScenarioError) as caught:
            read_yaml(path)
        assert str(caught.value) == f"{path}: {message}"
