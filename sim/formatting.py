"""Numbers, amounts and durations as cdpsim prints them (standard library only: a base helper).

One rule for reading a number, used by ``cdpsim run``'s KPI table, the dashboard's KPI cells,
the report's cells and the discovery labels: thousands separated from 1 000 (``1,234,568``),
4 significant digits below (``0.5``, ``1.3``, ``123.5``) — :func:`readable`. Beside it:

- :func:`value_text`: any KPI value (NaN is ``n/a``; what is not a float as ``str``);
- :func:`significant`: 4 significant digits, as box bounds and indices are printed;
- :func:`kpi_amount`: a KPI value with its unit (``1,000,000 Dai``; ``1.3`` for a ratio);
- :func:`compact`: a number in its own scale, for figures (``37.2 M``, ``1.32 k``, ``388``);
- :func:`compact_amount`: the same with its unit (``37.2 M Dai``, ``388 Dai``);
- :func:`duration_text`: seconds for reading (``59m46s``, ``4h``);
- :func:`percent_text`: a fraction as a percentage (``74 %``, ``0.3 %``, ``99.7 %``);
- :func:`parameter_value`: a swept parameter's value (a duration when its unit is ``s``);
- :func:`number_text`: a number as written in a file name (``1000000``, ``0.5``).

Nothing here knows the KPIs: a caller that prints a KPI passes its unit
(``sim.metrics.KPI_BY_NAME[name].unit``).
"""

from __future__ import annotations

import math

#: Units printed without a unit after the number: none, a ratio, a count.
UNITLESS = ("", "-", "count")
#: From this magnitude on a number is printed whole with thousands separators.
THOUSANDS = 1000
#: Scale suffixes of :func:`compact`: (from, divisor, suffix), largest first.
SCALES = ((1e9, 1e9, "bn"), (1e6, 1e6, "M"), (1e3, 1e3, "k"))
#: Significant digits of :func:`compact`.
COMPACT_DIGITS = 3


def significant(value: float) -> str:
    """A number with 4 significant digits: ``1.062``, ``2e+07``, ``nan``."""
    return f"{value:.4g}"


def readable(value: float) -> str:
    """A number for reading: ``1,234,568`` from 1 000 on (whole), else 4 significant digits."""
    if abs(value) >= THOUSANDS:
        return f"{value:,.0f}"
    return significant(value)


def value_text(value: object) -> str:
    """A KPI value as printed: a float by :func:`readable` (NaN: ``n/a``), anything else as is."""
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        return readable(value)
    return str(value)


def duration_text(seconds: float) -> str:
    """A duration for reading: ``59m46s``, ``4h``, ``3h59m``, ``2d3h`` (rounded to its units).

    Args:
        seconds: the duration [s]; not finite: printed as the number.
    """
    if not math.isfinite(seconds):
        return str(seconds)
    sign, s = ("-" if seconds < 0 else ""), abs(float(seconds))
    if s < 60:
        return f"{sign}{s:.3g}s"
    if s < 3600:
        m, r = divmod(round(s), 60)
        return f"{sign}{m}m{r:02d}s" if r else f"{sign}{m}m"
    if s < 86400:
        h, r = divmod(round(s / 60), 60)
        return f"{sign}{h}h{r:02d}m" if r else f"{sign}{h}h"
    d, r = divmod(round(s / 3600), 24)
    return f"{sign}{d}d{r}h" if r else f"{sign}{d}d"


def percent_text(fraction: float) -> str:
    """A fraction as a percentage for reading: ``74 %``, ``99.7 %``, ``0.3 %``, ``0 %``.

    Whole percents, except that a value that would print as 0 % or 100 % without being
    exactly that keeps 2 significant digits (``0.31 %``, ``99.97 %``); NaN is ``n/a``.

    Args:
        fraction: the fraction (0.74 for 74 %).
    """
    if fraction != fraction:  # NaN
        return "n/a"
    pct = 100.0 * float(fraction)
    text = f"{pct:.0f}"
    if text in ("0", "-0", "100") and pct not in (0.0, 100.0):
        text = f"{pct:.2g}" if abs(pct) < 1 else f"{pct:.4g}"
    return f"{text} %"


def kpi_amount(value: float, unit: str) -> str:
    """A KPI value with its unit: ``1,000,000 Dai``, ``1.3`` (a ratio), ``12`` (a count).

    Args:
        value: the value, in ``unit``.
        unit: the KPI's unit (``sim.metrics.KPI_BY_NAME[name].unit``): ``s`` prints a duration
            (``4h``); none, ``-`` and ``count`` print the number alone.
    """
    if unit == "s":
        return duration_text(value)
    if unit in UNITLESS:
        return readable(value)
    return f"{readable(value)} {unit}"


def compact(value: float, digits: int = COMPACT_DIGITS) -> str:
    """A number in its own scale, for a figure: ``37.2 M``, ``1.32 k``, ``388``, ``0.05``.

    Every value gets the suffix of its own magnitude (never ``0.000388`` for 388 on an axis
    in millions). Rounding may carry a value to the next scale: 999 999 is ``1 M``.

    Args:
        value: the number (NaN and infinities print as ``n/a`` and ``inf``).
        digits: significant digits.
    """
    if value != value:  # NaN
        return "n/a"
    if not math.isfinite(value):
        return "inf" if value > 0 else "-inf"
    for threshold, divisor, suffix in SCALES:
        if abs(float(f"{value:.{digits}g}")) >= threshold:
            return f"{float(f'{value / divisor:.{digits}g}'):g} {suffix}"
    return f"{float(f'{value:.{digits}g}'):g}"


def compact_amount(value: float, unit: str, digits: int = COMPACT_DIGITS) -> str:
    """An amount in its own scale with its unit: ``37.2 M Dai``, ``388 Dai``, ``0.5`` (a ratio).

    Args:
        value: the amount, in ``unit``.
        unit: its unit; none, ``-`` and ``count`` print the number alone, ``s`` a duration.
        digits: significant digits.
    """
    if unit == "s":
        return duration_text(value)
    text = compact(value, digits)
    return text if unit in UNITLESS else f"{text} {unit}"


def parameter_value(value: float, unit: str | None) -> str:
    """A parameter's value as printed: a duration when ``unit`` is ``s``, else 4 digits."""
    return duration_text(value) if unit == "s" else significant(value)


def number_text(x: float) -> str:
    """A number as written in file names: ``1000000``, ``0.5``, ``-3`` (``repr`` when not whole)."""
    if math.isfinite(x) and float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


__all__ = [
    "SCALES",
    "THOUSANDS",
    "UNITLESS",
    "compact",
    "compact_amount",
    "duration_text",
    "kpi_amount",
    "number_text",
    "parameter_value",
    "percent_text",
    "readable",
    "significant",
    "value_text",
]
