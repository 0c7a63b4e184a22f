"""Durations (sim/units.py): text with a unit → seconds, and seconds → the shortest exact text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.units import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("10m", 600.0),
        ("6h", 21_600.0),
        ("3d", 259_200.0),
        ("2w", 1_209_600.0),
        ("1.5h", 5_400.0),
        (".5m", 30.0),
        ("2.m", 120.0),
        ("1e3s", 1_000.0),
        ("1E-6S", 1e-6),
        (" 5 M ", 300.0),
        ("0s", 0.0),
    ],
)
def test_a_duration_is_a_number_and_one_unit(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["600", "h", "-1h", "1x", "1 h m", "1hh", "1,5h", "", "inf s"])
def test_anything_else_is_refused_with_an_example(text):
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert str(caught.value) == (
        f"{text!r} is not a duration; write a number and a unit, e.g. '90s', '10m', '6h', '3d'"
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1_209_600.0, "2w"),
        (86_400.0, "1d"),
        (90_000.0, "25h"),
        (5_400.0, "90m"),
        (90.0, "90s"),
        (0.0, "0s"),
        (1.5, "1.5s"),
        (1e-6, "1e-06s"),
    ],
)
def test_the_largest_unit_that_divides_exactly_is_used(seconds, text):
    assert format_duration(seconds) == text


@settings(max_examples=300)
@given(
    st.one_of(
        st.integers(0, 10**7).map(float),
        st.integers(0, 10**5).map(lambda n: n * 60.0),
        st.floats(0.0, 1e9, allow_nan=False, allow_infinity=False),
    )
)
def test_a_formatted_duration_reads_back_exactly(seconds):
    assert parse_duration(format_duration(seconds)) == seconds
