"""Scenario errors (sim/scenario/errors.py): one ``file:line: field: message`` per problem, at
most MAX_ERRORS of them listed and the rest counted, pickled whole."""

from __future__ import annotations

import pickle

from sim.scenario import MAX_ERRORS, MAX_FILE_BYTES, ErrorItem, ScenarioError
from tests.conftest import SMALL
from tests.scenario_helpers import error_of, write


def test_an_item_reads_file_line_field_message():
    assert (
        str(ErrorItem("s.yaml", 3, "ilks.ETH-A.mat", "too low"))
        == "s.yaml:3: ilks.ETH-A.mat: too low"
    )
    assert (
        str(ErrorItem("s.yaml (--set x=1)", None, "x", "unknown"))
        == "s.yaml (--set x=1): x: unknown"
    )
    assert str(ErrorItem("s.yaml", 1, "", "malformed YAML")) == "s.yaml:1: malformed YAML"
    assert str(ErrorItem("s.yaml", None, "", "file not found")) == "s.yaml: file not found"


def test_the_message_lists_each_item_on_a_line():
    items = [ErrorItem("a.yaml", 1, "x", "one"), ErrorItem("a.yaml", 2, "y", "two")]
    err = ScenarioError(items)
    assert str(err) == "a.yaml:1: x: one\na.yaml:2: y: two"
    assert err.errors == items and err.omitted == 0


def test_more_items_than_the_cap_are_counted_with_those_omitted_before():
    items = [ErrorItem("a.yaml", k, "x", f"problem {k}") for k in range(MAX_ERRORS + 1)]
    err = ScenarioError(items, omitted=2)
    assert err.errors == items[:MAX_ERRORS] and err.omitted == 3
    assert str(err).splitlines()[-1] == "… and 3 more errors"
    one = ScenarioError(items[:1], omitted=1)
    assert str(one).splitlines() == ["a.yaml:0: x: problem 0", "… and 1 more error"]


def test_an_error_pickles_as_itself():
    err = ScenarioError([ErrorItem("a.yaml", 3, "ilks.ETH-A.mat", "too low")], omitted=2)
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is ScenarioError and str(again) == str(err)
    assert again.errors == err.errors and again.omitted == 2


# ---------------------------------------------------------------------------------------- from a file


def test_four_megabytes_of_unknown_keys_are_refused(tmp_path):
    text = "".join(f"unknown_key_{i:08d}: {i}\n" for i in range(160_000))
    assert 4e6 < len(text) < MAX_FILE_BYTES
    err = error_of(write(tmp_path, text))
    assert len(str(err).splitlines()) <= MAX_ERRORS + 1


def test_errors_are_capped_with_a_count(tmp_path):
    text = SMALL + "".join(f"extra_{i}: 1\n" for i in range(MAX_ERRORS + 20))
    err = error_of(write(tmp_path, text))
    assert len(err.errors) == MAX_ERRORS
    assert err.omitted == 20
    lines = str(err).splitlines()
    assert len(lines) == MAX_ERRORS + 1 and lines[-1] == "… and 20 more errors"


def test_a_capped_error_pickles_with_its_count(tmp_path):
    import pickle

    text = SMALL + "".join(f"extra_{i}: 1\n" for i in range(MAX_ERRORS + 5))
    err = error_of(write(tmp_path, text))
    clone = pickle.loads(pickle.dumps(err))
    assert str(clone) == str(err) and clone.omitted == err.omitted == 5
