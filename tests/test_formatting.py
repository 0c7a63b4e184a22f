"""Numbers, amounts and durations as cdpsim prints them (one rule for every reader)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.formatting import (
    compact,
    compact_amount,
    duration_text,
    kpi_amount,
    number_text,
    parameter_value,
    percent_text,
    readable,
    significant,
    value_text,
)


def test_duration_bounds_and_thresholds_are_printed_with_units():
    assert [duration_text(s) for s in (45, 3586, 1800, 14400, 14350, 93600)] == [
        "45s",
        "59m46s",
        "30m",
        "4h",
        "3h59m",
        "1d2h",
    ]
    assert duration_text(-90) == "-1m30s" and duration_text(86400) == "1d"
    assert duration_text(0.25) == "0.25s" and duration_text(math.inf) == "inf"


def test_numbers_read_with_thousands_separators_from_one_thousand():
    assert [readable(x) for x in (1234567.8, 1000.0, 999.94, 0.5, -2500.0, 1.0625)] == [
        "1,234,568",
        "1,000",
        "999.9",
        "0.5",
        "-2,500",
        "1.062",
    ]
    assert readable(math.nan) == "nan" and significant(2.0e7) == "2e+07"
    assert readable(np.float64(12345.6)) == "12,346"


def test_value_text_is_the_kpi_tables_rule():
    assert value_text(1234567.8) == "1,234,568" and value_text(0.12345) == "0.1235"
    assert value_text(math.nan) == "n/a" and value_text(np.float64("nan")) == "n/a"
    assert value_text(1234) == "1234"  # counts are printed as they are
    assert value_text(None) == "None" and value_text("x y") == "x y"


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (1.0e6, "Dai", "1,000,000 Dai"),
        (1000, "Dai", "1,000 Dai"),
        (12.5, "USD", "12.5 USD"),
        (1.3, "-", "1.3"),
        (12, "count", "12"),
        (12000, "count", "12,000"),  # as the KPI table prints it, not 1.2e+04
        (0.75, "", "0.75"),
        (14400, "s", "4h"),
    ],
)
def test_kpi_amounts_carry_their_unit(value, unit, text):
    assert kpi_amount(value, unit) == text


def test_parameter_values_and_file_name_numbers():
    assert parameter_value(3586.0, "s") == "59m46s" and parameter_value(3586.0, None) == "3586"
    assert parameter_value(1.06251, "-") == "1.063"
    assert [number_text(x) for x in (1.0e6, 0.5, -3.0, 1.3, 1e20, math.inf)] == [
        "1000000",
        "0.5",
        "-3",
        "1.3",
        "1e+20",
        "inf",
    ]


def test_percentages_are_whole_unless_that_would_hide_a_small_difference():
    assert [percent_text(x) for x in (0.74, 0.5, 0.0, 1.0, 0.0031, 0.997, 0.9997)] == [
        "74 %",
        "50 %",
        "0 %",
        "100 %",
        "0.31 %",
        "99.7 %",
        "99.97 %",
    ]
    assert percent_text(math.nan) == "n/a"


def test_compact_numbers_carry_the_suffix_of_their_own_magnitude():
    values = (37.2e6, 1320.0, 388.0, 0.000388, 0.0, 999_999.0, 1.5e9, -2500.0, 12.345)
    assert [compact(v) for v in values] == [
        "37.2 M",
        "1.32 k",
        "388",
        "0.000388",
        "0",
        "1 M",  # rounding carries it to the next scale
        "1.5 bn",
        "-2.5 k",
        "12.3",
    ]
    assert compact(float("nan")) == "n/a" and compact(math.inf) == "inf"
    assert compact_amount(388.0, "Dai") == "388 Dai"
    assert compact_amount(2.06e6, "Dai") == "2.06 M Dai"
    assert compact_amount(0.5, "-") == "0.5" and compact_amount(12.0, "count") == "12"
    assert compact_amount(5400.0, "s") == "1h30m"
