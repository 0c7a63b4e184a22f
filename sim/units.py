"""Named units and duration parsing.

cdpsim works in float64 natural units. These aliases document intent in signatures:
"""

from __future__ import annotations

import re

Dai = float  #: an amount of Dai
Tokens = float  #: an amount of collateral tokens
Seconds = float  #: a duration or time since the simulation start
PerYear = float  #: an annual rate (0.08 = 8 %/yr)

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?\s*(s|m|h|d|w)\s*$", re.IGNORECASE)


def parse_duration(text: str) -> float:
    """Parse a duration such as ``"90s"``, ``"10m"``, ``"6h"``, ``"3d"`` or ``"1.5h"`` into seconds.

    Args:
        text: a number followed by one unit: s, m, h, d or w.

    Returns:
        The duration [s].

    Raises:
        ValueError: when the text is not a duration with a unit.
    """
    match = _DURATION.match(text)
    if not match:
        raise ValueError(
            f"{text!r} is not a duration; write a number and a unit, e.g. '90s', '10m', '6h', '3d'"
        )
    number = float(text.strip()[:-1])
    return number * _UNITS[match.group(2).lower()]


def format_duration(seconds: float) -> str:
    """Format seconds with the largest unit that divides it exactly (``3600 -> "1h"``)."""
    for unit in ("w", "d", "h", "m"):
        size = _UNITS[unit]
        if seconds >= size and float(seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{seconds!r}s"
