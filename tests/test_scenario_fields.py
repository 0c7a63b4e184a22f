"""The schema's value types: durations, times, bounds, strict sections (sim/scenario/fields.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from sim.scenario import fields


def test_durations_are_held_in_seconds_and_need_a_unit():
    assert fields._duration("90s") == 90.0
    assert fields._duration("2h") == 7200.0
    assert fields._duration(0) == 0.0
    for bad in (5, "5", True):
        with pytest.raises(ValueError, match="unit"):
            fields._duration(bad)
    with pytest.raises(ValueError, match="longest duration allowed"):
        fields._duration("500000d")


def test_times_are_utc_and_iso_8601():
    stamp = fields._timestamp("2020-03-12T10:00:00Z")
    assert stamp == dt.datetime(2020, 3, 12, 10, tzinfo=dt.UTC)
    assert fields._timestamp(dt.date(2020, 3, 12)).tzinfo is not None
    with pytest.raises(ValueError, match="not an ISO-8601 time"):
        fields._timestamp("12 March 2020")


def test_a_strict_section_refuses_unknown_keys_and_is_frozen():
    class Section(fields.Strict):
        x: float = 1.0

    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Section(x=1.0, y=2.0)
    section = Section(x=2.0)
    with pytest.raises(ValidationError):
        section.x = 3.0  # type: ignore[misc]


def test_bounds_keep_float64_arithmetic_meaningful():
    assert fields.PRICE_MIN > 0 and fields.PRICE_MAX * fields.AMOUNT_MAX < 1e300
    assert fields.SEED_MAX == 2**64 - 1
