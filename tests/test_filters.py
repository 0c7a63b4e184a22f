"""The row filter typed in the dashboard: it filters, and it never runs code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.filters import MAX_FILTER_CHARS, FilterError, RowFilter, filter_rows

RUNS = pd.DataFrame(
    {
        "run_id": ["a", "b", "c", "d"],
        "scenario": ["crash", "crash", "spiral", "spiral"],
        "seed": [1, 2, 3, 4],
        "status": ["ok", "failed", "ok", "ok"],
        "bad_debt_max": [0.0, np.nan, 1.5e6, 3.0e6],
        "liquidated_debt": [1.0e6, 0.0, 2.0e6, 1.0e7],
        "ilks.ETH-A.liquidation.buf": [1.1, 1.2, 1.3, 1.4],
    }
)


@pytest.fixture()
def runs() -> pd.DataFrame:
    return RUNS.copy()


def ids(table: pd.DataFrame) -> list[str]:
    return list(table["run_id"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["a", "b", "c", "d"]),
        ("seed > 2 and bad_debt_max > 1e6", ["c", "d"]),
        ("seed > 2 & bad_debt_max > 2e6", ["d"]),
        ("seed == 1 or seed == 4", ["a", "d"]),
        ("(seed == 1) | (seed == 4)", ["a", "d"]),
        ("not seed > 1", ["a"]),
        ("~(seed > 1)", ["a"]),
        ("status == 'ok'", ["a", "c", "d"]),
        ('status != "ok"', ["b"]),
        ("scenario in ['spiral']", ["c", "d"]),
        ("seed not in [1, 2, -5]", ["c", "d"]),
        ("1 < seed <= 3", ["b", "c"]),
        ("`ilks.ETH-A.liquidation.buf` >= 1.3", ["c", "d"]),
        ("bad_debt_max > 0.5 * liquidated_debt", ["c"]),
        ("bad_debt_max / liquidated_debt > 0.2", ["c", "d"]),
        ("bad_debt_max - -1 > 1 + 1", ["c", "d"]),
        ("bad_debt_max > 0", ["c", "d"]),  # NaN is not above anything
        ("True", ["a", "b", "c", "d"]),
        ("status == 'it''s'", []),
        ("status == 'a`b'", []),  # a backtick inside text is text
    ],
)
def test_filters_what_it_should(runs: pd.DataFrame, text: str, expected: list[str]) -> None:
    assert ids(filter_rows(runs, text)) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("@pd.io.common.os.system('x') == 0 or seed > 0", "not a condition"),
        ("pd.io.common.os.system('x') == 0", "function calls"),
        ("pd.io.common.os == 0", "attributes"),
        ("seed.__class__ == 1", "attributes"),
        ("status.__class__.__mro__", "attributes"),
        ("().__class__.__bases__[0].__subclasses__()", "function calls"),
        ("run_id[0] == 'a'", "subscripts"),
        ("len(run_id) > 1", "function calls"),
        ("__import__('os').system('x')", "function calls"),
        ("(lambda: 1)() == 1", "function calls"),
        ("lambda: 1", "Lambda"),
        ("[x for x in run_id]", "ListComp"),
        ("seed ** 99999999 > 1", r"\*\* is not allowed"),
        ("9 ** 9 ** 9 > 1", r"\*\* is not allowed"),
        ("seed // 2 == 1", "FloorDiv"),
        ("seed is 1", "Is is not allowed"),
        ("seed in run_id", "list of constants"),
        ("seed in [len(run_id)]", "constants only"),
        ("seed == b'1'", "constant"),
        ("seed == None", "constant"),
        ("(x := 1)", "NamedExpr"),
        ("f'{seed}' == '1'", "JoinedStr"),
        ("seed if seed else 1", "IfExp"),
        ("{1: 2}", "list may only follow"),
        ("nope > 1", "no column 'nope'"),
        ("`no such` > 1", "no column 'no such'"),
        ("seed >", "not a condition"),
        ("`seed", "backtick is not closed"),
        ("status == 'ok", "quote is not closed"),
        ("``", "empty backticks"),
        ("seed > 1; import os", "not a condition"),
    ],
)
def test_refuses_anything_but_a_condition(runs: pd.DataFrame, text: str, why: str) -> None:
    with pytest.raises(FilterError, match=why) as caught:
        filter_rows(runs, text)
    message = str(caught.value)
    assert "\n" not in message
    if "no column" in why or "calls" in why:  # a refusal teaches: what is allowed, the columns
        assert "comparisons" in message and "liquidated_debt" in message
        assert "`ilks.ETH-A.liquidation.buf`" in message


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("seed", "not a condition"),
        ("seed + 1", "not a condition"),
        ("seed and status == 'ok'", "join conditions"),
        ("status * 3 == 'x'", "arithmetic"),
        ("'a' * 99999999999 == 'x'", "arithmetic"),
        ("status > 1", "TypeError"),
        ("(seed > 1) + 1 > 0", "not conditions"),
    ],
)
def test_a_condition_that_cannot_be_evaluated_is_a_message(
    runs: pd.DataFrame, text: str, why: str
) -> None:
    with pytest.raises(FilterError, match=why):
        filter_rows(runs, text)


def test_nothing_runs_even_when_the_filter_names_a_real_attack(
    runs: pd.DataFrame, tmp_path: Path
) -> None:
    """The attacks of the security report: each refused, and the file it would write is absent."""
    target = tmp_path / "pwned"
    attacks = [
        f"@pd.io.common.os.system('id > {target}') == 0 or seed > 0",
        f"@pd.Timestamp(@pd.io.common.os.popen('cat {target}').read()) > 0",
        f"__import__('os').system('id > {target}') == 0",
        "().__class__.__base__.__subclasses__()",
        f"open('{target}', 'w').write('x') > 0",
    ]
    for text in attacks:
        with pytest.raises(FilterError):
            filter_rows(runs, text)
    assert not target.exists()


def test_long_and_deep_filters_are_refused_quickly(runs: pd.DataFrame) -> None:
    with pytest.raises(FilterError, match="longer than"):
        filter_rows(runs, "seed > 1 and " * (MAX_FILTER_CHARS // 10))
    with pytest.raises(FilterError, match="not a condition"):  # Python's parser stops at 200
        filter_rows(runs, "(" * 250 + "seed > 1" + ")" * 250)
    with pytest.raises(FilterError, match="nested too deeply"):
        filter_rows(runs, "not " * 60 + "seed > 1")
    with pytest.raises(FilterError, match="nested too deeply"):
        filter_rows(runs, "-" * 60 + "seed > 1")
    assert ids(filter_rows(runs, "(" * 100 + "seed > 3" + ")" * 100)) == ["d"]


def test_a_filter_is_checked_once_and_applied_to_any_table(runs: pd.DataFrame) -> None:
    checked = RowFilter("bad_debt_max > 1e6", runs.columns)
    assert ids(checked.apply(runs)) == ["c", "d"]
    assert ids(checked.apply(runs.iloc[:3])) == ["c"]
    assert list(checked.mask(runs)) == [False, False, True, True]


_NAMES = st.sampled_from(["seed", "bad_debt_max", "status", "os", "__class__", "pd", "x"])
_TOKENS = st.sampled_from(
    [
        "(",
        ")",
        "[",
        "]",
        ".",
        ",",
        "@",
        "==",
        ">",
        "and",
        "or",
        "not",
        "in",
        "'ok'",
        "1",
        "2.5",
        "`a b`",
        "*",
        "**",
        "lambda",
        ":",
        "__import__",
        "system",
        "getattr",
        "(",
        ")",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_NAMES, _TOKENS), min_size=1, max_size=12))
def test_any_text_filters_or_is_refused_with_a_message(words: list[str]) -> None:
    """Whatever is typed: rows, or a FilterError — never another exception, never a call."""
    text = " ".join(words)
    try:
        out = filter_rows(RUNS, text)
    except FilterError as exc:
        assert str(exc).startswith("filter ")
    else:
        assert set(out["run_id"]) <= set(RUNS["run_id"])
