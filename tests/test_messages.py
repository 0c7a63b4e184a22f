"""Messages for people (sim/scenario/messages.py): pydantic's errors as ``file:line: field:
message`` for any root model, values quoted short, blame on the line or on the override.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel, ValidationError

from sim.experiments.sweep_schema import SweepFile
from sim.scenario.errors import MAX_ERRORS
from sim.scenario.fields import Strict
from sim.scenario.messages import (
    SHOWN_VALUE_CHARS,
    locator,
    message,
    schema_errors,
    shown,
    suggestion,
)
from sim.scenario.schema import Scenario
from tests.scenario_helpers import error_of


def errors(root: type[BaseModel], data: Any, lines: dict | None = None) -> tuple[list[str], int]:
    with pytest.raises(ValidationError) as caught:
        root.model_validate(data)
    items, omitted = schema_errors(caught.value, data, locator("f.yaml", lines), root)
    return [str(item) for item in items], omitted


def test_scenario_errors_in_the_users_words_at_their_lines():
    data = {
        "name": "x",
        "clock": {"duration": "1d", "tik": "10m"},
        "collateral": {"ETH": {"price": {"process": "gbm", "start": 0, "vol": "high"}}},
        "ilks": {"ETH-A": {"collateral": "ETH", "line": 1e6, "liquidation": {"engine": "clop"}}},
        "borrowers": [],
    }
    lines = {("clock",): 2, ("clock", "tik"): 3, ("collateral", "ETH", "price"): 5}
    found, omitted = errors(Scenario, data, lines)
    assert omitted == 0
    assert found == [
        "f.yaml:3: clock.tik: unknown field; did you mean 'tick'? (allowed: tick, duration, start)",
        "f.yaml:5: collateral.ETH.price.start: Input should be greater than or equal to "
        "0.000000001 (got 0)",
        "f.yaml:5: collateral.ETH.price.vol: Input should be a valid number (got 'high')",
        "f.yaml: ilks.ETH-A.mat: required field is missing",
        "f.yaml: ilks.ETH-A.liquidation: unknown 'engine' 'clop'; expected one of 'clip', 'flip'",
        "f.yaml: borrowers: List should have at least 1 item after validation, not 0 "
        "(got a list of 0 items)",
    ]


def test_a_sweep_files_errors_get_the_same_words():
    data = {"name": "s", "base": "b.yaml", "design": {"kind": "sobol", "n": 64, "sed": 1}}
    found, _ = errors(SweepFile, {**data, "parameters": {"x": {"rnage": [1, 2]}}, "seeds": 2.5})
    assert found == [
        "f.yaml: design.sed: unknown field; did you mean 'seed'? (allowed: kind, n, second_order, "
        "seed, resamples, conf_level)",
        "f.yaml: parameters.x.rnage: unknown field; did you mean 'range'? (allowed: range, "
        "values, dist, scale)",
        "f.yaml: seeds: give a number of seeds or a list of seeds such as [1, 5, 9] (got 2.5)",
    ]
    assert errors(SweepFile, {**data, "design": {"n": 4}, "parameters": {"x": {}}})[0][0] == (
        "f.yaml: design: missing 'kind'; one of 'grid', 'random', 'lhs', 'sobol', 'morris'"
    )
    assert errors(SweepFile, {**data, "design": 5, "parameters": {"x": {}}})[0][0] == (
        "f.yaml: design: expected a mapping of fields here (got 5)"
    )


class _Wide(Strict):
    a: list[int]


def test_at_most_max_errors_are_worded_and_the_rest_counted():
    data = {"a": ["x"] * (MAX_ERRORS + 7)}
    found, omitted = errors(_Wide, data)
    assert len(found) == MAX_ERRORS and omitted == 7
    assert found[0] == "f.yaml: a.0: Input should be a valid integer (got 'x')"
    # the same error at the same place is listed once
    twice = {"a": "no list"}
    assert errors(_Wide, twice) == (["f.yaml: a: Input should be a valid list (got 'no list')"], 0)


def test_message_of_a_bare_error():
    err = {"type": "value_error", "msg": "Value error, n must be a power of two", "loc": ("n",)}
    assert message(err) == "n must be a power of two"
    assert message({"type": "extra_forbidden", "loc": ("nowhere", "x")}) == "unknown field"


def test_values_are_quoted_short_and_containers_by_their_size():
    assert shown("abc") == "'abc'"
    assert shown(1.0000000001) == "1.0000000001"
    long = shown("x" * 500)
    assert len(long) == SHOWN_VALUE_CHARS and long.endswith("…")
    assert shown({"a": 1}) == "a mapping of 1 keys"
    assert shown([1, 2, 3]) == "a list of 3 items"
    assert shown(0.1 + 0.2, digits=6) == "0.3"
    assert shown(np.float32(0.1), digits=6) == "0.1"
    assert shown(7, digits=6) == "7" and shown(True, digits=6) == "True"
    assert shown("abcdef", limit=4) == "'ab…"


def test_suggestion_names_the_closest_choice_or_nothing():
    assert suggestion("matt", ["mat", "line"]) == "; did you mean 'mat'?"
    assert suggestion("colour", ["mat", "line"]) == ""


def test_a_problem_is_blamed_on_its_override_else_on_its_line():
    lines = {("ilks",): 4, ("ilks", "ETH-A"): 5, ("ilks", "ETH-A", "mat"): 7}
    overridden = {("clock", "duration"): "clock.duration=1d"}
    locate = locator("s.yaml", lines, overridden)
    assert locate(("ilks", "ETH-A", "mat")) == ("s.yaml", 7)
    assert locate(("ilks", "ETH-A", "line")) == ("s.yaml", 5)  # the nearest line above
    assert locate(("nowhere",)) == ("s.yaml", None)
    assert locate(("clock", "duration")) == ("s.yaml (--set clock.duration=1d)", None)
    assert locate(("clock",)) == ("s.yaml", None)
    assert locate(("clock",), below=True) == ("s.yaml (--set clock.duration=1d)", None)


def test_lists_and_mappings_are_described_not_printed(small_scenario_file):
    err = error_of(small_scenario_file, ["name=[" + ", ".join(["x"] * 500) + "]"])
    assert str(err).endswith("name: Input should be a valid string (got a list of 500 items)")
