"""Checks of what a reader got from an output folder (sim/validate.py): JSON shapes, format
versions, names, and the columns of a table, each problem as a phrase."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.validate import (
    MAX_COUNT,
    MAX_MAGNITUDE,
    describe,
    format_problem,
    plain_name,
    shape_problem,
    table_problem,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        ({"a": 1}, "an object"),
        ([1], "a list"),
        ("12h", "text ('12h')"),
        ("x" * 50, "text"),
        (3, "a whole number (3)"),
        (1.5, "a number (1.5)"),
        (True, "true or false"),
        (np.float32(1.0), "float32"),
    ],
)
def test_describe_names_the_json_kind_and_a_short_value(value, text):
    assert describe(value) == text


def test_shape_problem_names_the_first_field_of_the_wrong_kind():
    data = {
        "scenario": {"name": "x", "clock": "12h"},
        "files": ["a", 3],
        "seed": True,
        "ticks": 3,
        "runs": {"a": {"status": "ok"}, "b": {"status": 1}},
    }
    assert shape_problem(data, {"scenario.name": (str,)}) is None
    assert shape_problem(data, {"ticks": (float,)}) is None  # a whole number is a number
    assert shape_problem(data, {"missing.field": (str,), "scenario.clock.tick": (float,)}) is None
    assert shape_problem(data, {"scenario.clock": (dict,)}) == (
        "'scenario.clock' is text ('12h'), not an object"
    )
    assert shape_problem(data, {"files.*": (str,)}) == "'files.1' is a whole number (3), not text"
    assert shape_problem(data, {"seed": (int, float)}) == (
        "'seed' is true or false, not a whole number or a number"
    )
    assert shape_problem(data, {"runs.*.status": (str,)}) == (
        "'runs.b.status' is a whole number (1), not text"
    )
    assert shape_problem({"x": None}, {"x": (dict,)}) is None  # null: the reader's default


def test_format_problem_takes_only_its_own_version():
    assert format_problem({"format": 2}, 2) is None
    assert format_problem({}, 2) == (
        "written by an earlier cdpsim (no format version); run it again with this version"
    )
    assert format_problem({"format": 1}, 2) == (
        "written by an earlier cdpsim (format version 1, this one reads 2); run it again with "
        "this version"
    )
    assert format_problem({"format": 3}, 2) == (
        "written by a later cdpsim (format version 3, this one reads 2); read it with that "
        "version, or run it again with this one"
    )
    for odd, shown in (("2", "text ('2')"), (2.0, "a number (2.0)"), (True, "true or false")):
        assert format_problem({"format": odd}, 2) == (
            f"its format version is {shown}, not one cdpsim writes (this one reads 2); run it "
            "again with this version"
        )


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        ("run-1", True),
        ("small-seed11", True),
        ("", False),
        (".", False),
        ("..", False),
        ("../x", False),
        ("a\\b", False),
        ("a\0b", False),
        (3, False),
        (None, False),
    ],
)
def test_plain_name(value, plain):
    assert plain_name(value) is plain


# ---------------------------------------------------------------------------------------- tables


def table(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns)


def test_a_good_table_has_no_problem():
    good = table(tick=[0, 1, 2], price=[1.0, np.nan, 2.0], name=["a", "b", "c"])
    assert (
        table_problem(
            good,
            required=["tick", "price"],
            numbers=["price", "absent"],
            finite=["price"],
            whole=["tick"],
            nonnegative=["tick", "price"],
            keys=["tick", "name"],
        )
        is None
    )


@pytest.mark.parametrize(
    ("frame", "check", "problem"),
    [
        (table(a=[1]), {"required": ["a", "b", "c"]}, "no column 'b', 'c'"),
        (
            pd.DataFrame([[1, 2]], columns=["a", "a"]),
            {"numbers": ["a"]},
            "column 'a' appears twice",
        ),
        (
            table(tick=["0", "1"]),
            {"whole": ["tick"]},
            "column 'tick' holds text ('0'), not numbers",
        ),
        (table(x=[1.0, None, "y"]), {"numbers": ["x"]}, "column 'x' holds text ('y'), not numbers"),
        (
            table(t=pd.to_datetime(["2020-01-01"]).astype("datetime64[ns]")),
            {"numbers": ["t"]},
            "column 't' holds datetime64[ns] values, not numbers",
        ),
        (
            table(x=[1.0, -2 * MAX_MAGNITUDE]),
            {"numbers": ["x"]},
            "column 'x' holds -2e+100, beyond any value cdpsim records (|x| ≤ 1e+100)",
        ),
        (table(x=[1.0, math.inf]), {"finite": ["x"]}, "column 'x' holds an infinite value"),
        (table(n=[1.0, 2.5]), {"whole": ["n"]}, "column 'n' holds 2.5, not a whole number"),
        (table(n=[1.0, math.inf]), {"whole": ["n"]}, "column 'n' holds inf, not a whole number"),
        (
            table(n=[float(MAX_COUNT) * 2]),
            {"whole": ["n"]},
            "column 'n' holds 1.80144e+16, more than any tick or count cdpsim records",
        ),
        (table(n=[0.0, -1.0]), {"nonnegative": ["n"]}, "column 'n' holds -1, below 0"),
        (table(k=[1.0, np.nan]), {"keys": ["k"]}, "column 'k' has an empty value"),
        (table(k=[1.0, 2.0, 1.0]), {"keys": ["k"]}, "column 'k' repeats 1"),
        (table(k=["a", "b", "a"]), {"keys": ["k"]}, "column 'k' repeats 'a'"),
        (table(k=[[1], [2], [1]]), {"keys": ["k"]}, "column 'k' repeats [1]"),
    ],
    ids=[
        "required",
        "twice",
        "text",
        "mixed",
        "dates",
        "huge",
        "infinite",
        "fraction",
        "inf-count",
        "too-many",
        "negative",
        "empty-key",
        "repeated-number",
        "repeated-text",
        "repeated-list",
    ],
)
def test_table_problem_gives_the_first_problem(frame, check, problem):
    assert table_problem(frame, **check) == problem


def test_numbers_mixed_with_missing_values_are_numbers():
    assert table_problem(table(x=[1, None, 2.5]), numbers=["x"]) is None
    assert table_problem(table(x=[True, False]), numbers=["x"]) is None  # a bool column
    assert table_problem(table(x=pd.Series([1, None], dtype=object)), whole=["x"]) is None
