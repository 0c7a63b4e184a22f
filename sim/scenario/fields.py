"""The scenario schema's value types: bounds, units, durations, times, data files, ``Strict``.

Every section of the schema (:mod:`sim.scenario.schema`, :mod:`sim.scenario.agent_specs`) builds
its fields from these: each number has bounds that keep float64 arithmetic meaningful (the named
constants below, each with its reason), and a value outside them is an error naming the field,
never an overflow later.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
)
from pydantic_core import PydanticUndefined

from sim.files import file_problem
from sim.units import format_duration, parse_duration

# ---------------------------------------------------------------------------------------- bounds

#: Seconds per year (365 days), for the bounds below.
_YEAR_S = 31_536_000.0
#: Lowest price [USD/token]: a billionth of a dollar; below it prices are noise, not value.
PRICE_MIN = 1e-9
#: Highest price [USD/token]: a trillion dollars per token, far above any asset's record.
PRICE_MAX = 1e12
#: Largest amount of Dai, USD or tokens (debts, ceilings, capital): float64 still resolves 1 Dai.
AMOUNT_MAX = 1e15
#: Thinnest market [USD per 2 % move]: a market that 1 000 USD moves by 2 % is no market.
DEPTH_MIN = 1e3
#: Most vaults in one cohort: their book alone takes about 10 GB.
VAULTS_MAX = 100_000_000
#: Most agents in one group (keepers, MKR bidders): each is a Python object stepped every tick.
AGENTS_MAX = 10_000
#: Highest volatility [1/√yr]: 2 000 %/yr, above any traded asset; more overflows ``exp``.
VOL_MAX = 20.0
#: Largest absolute drift [1/yr]: steep trends over hours are fine; long runs are bounded by
#: the log-move check (``sim.scenario.checks.LOG_MOVE_MAX``).
DRIFT_MAX = 100.0
#: Largest log-normal sigma (vault CRs and sizes): ±3σ already spans 13 decades.
SIGMA_MAX = 5.0
#: Largest absolute mean and standard deviation of a log jump: one jump of e⁵ ≈ 150×.
JUMP_SIZE_MAX = 5.0
#: Most jumps per year: one every five minutes.
JUMP_RATE_MAX = 1e5
#: Highest annual rate (stability fee, base fee, DSR) [1/yr]: 1 000 %/yr.
RATE_MAX = 10.0
#: Highest liquidation penalty ``chop``: 100 % of the debt.
CHOP_MAX = 1.0
#: Highest liquidation ratio ``mat``: 10 000 %.
MAT_MAX = 100.0
#: Highest collateral ratio (CR distributions, strategy thresholds): 10 000× the debt.
CR_MAX = 1e4
#: Highest price multiplier (Clipper ``buf``, Flopper ``pad``): a hundredfold.
MULTIPLIER_MAX = 100.0
#: Largest borrower wallet, as a fraction of the vault's initial collateral or debt.
WALLET_MAX = 100.0
#: Highest gas price [gwei]: 10⁶ gwei = 0.001 ETH per gas, thousands of times any peak.
GWEI_MAX = 1e6
#: Most gas per call: 30 M gas, a whole mainnet block.
GAS_PER_CALL_MAX = 30_000_000
#: Largest block gas limit [gas]: 10¹² — mainnet's 30 M maximum scaled with a book of ten
#: thousand times mainnet's vaults (benchmarks scale blockspace with the book).
GAS_LIMIT_MAX = 1_000_000_000_000
#: Largest geometric gas bump per step: tenfold.
BUMP_MAX = 10.0
#: Longest duration [s]: 1 000 years (timestamps must stay below the year 9999).
DURATION_MAX = 1000 * _YEAR_S
#: Largest seed: 64 bits (a seed is written to manifests and read back exactly).
SEED_MAX = 2**64 - 1
#: Longest name (cohorts, keepers, ilks, collateral): names become column names.
NAME_MAX_CHARS = 64


# ---------------------------------------------------------------------------------------- types


def _normal(value: float) -> float:
    """Refuse subnormal floats (0 < |x| < 2.2e-308): they lose precision in any arithmetic."""
    if value != 0 and abs(value) < sys.float_info.min:
        raise ValueError(
            f"{value!r} is subnormal (below {sys.float_info.min:.3g}): too small to compute with"
        )
    return value


def _duration(value: Any) -> float:
    if not isinstance(value, bool) and isinstance(value, int | float) and value == 0:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f"durations are strings with a unit, e.g. '90s', '10m', '6h', '3d' (got {value!r})"
        )
    seconds = parse_duration(value)
    if not seconds <= DURATION_MAX:
        raise ValueError(
            f"{value!r} is longer than the longest duration allowed, "
            f"1000 years ({format_duration(DURATION_MAX)})"
        )
    return _normal(seconds)


def _timestamp(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, dt.date):
        stamp = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(
                f"{value!r} is not an ISO-8601 time, e.g. '2020-03-12T00:00:00Z'"
            ) from exc
    else:
        raise ValueError(f"expected an ISO-8601 time string, got {value!r}")
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    try:
        return stamp.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("the time is out of range once converted to UTC") from None


def _number(value: Any) -> Any:
    # YAML reads "1.0e6" as a float but "1e6" as a string; accept both spellings of a number.
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _whole(value: Any) -> Any:
    """A count written as a number with an exponent (``2e3``, ``1.0e4``) is that whole number."""
    value = _number(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


#: Marks a field that names a data file the run reads (``Scenario.data_files`` lists them).
DATA_FILE = {"data_file": True}


def _data_file(value: str, info: ValidationInfo) -> str:
    """Validator: a data file must lie in the scenario's folder (or a data folder) and exist.

    The path is resolved against the scenario's folder (``base_dir`` in the validation context)
    with symlinks followed; it must then be inside that folder or inside one of the extra data
    folders (``data_dirs`` in the context).
    """
    context = info.context or {}
    base = context.get("base_dir")
    if base is None:
        problem = file_problem(value)
        if problem == "file not found":
            raise ValueError(f"file not found: {value}")
        if problem is not None:
            raise ValueError(f"{value}: {problem}")
        return value
    try:
        folder = Path(base).resolve()
        extra = [Path(d).resolve() for d in context.get("data_dirs", ())]
        target = (Path(base) / value).resolve()
    except (OSError, RuntimeError):
        raise ValueError(f"cannot resolve file {value!r} (a symlink loop?)") from None
    if not any(target.is_relative_to(root) for root in (folder, *extra)):
        where = f"the scenario's folder {folder}"
        if extra:
            where += " and the data folders " + ", ".join(str(d) for d in extra)
        raise ValueError(f"file {value!r} is outside {where}; copy it there or pass --data-dir")
    shown = Path(base) / value
    if target.is_dir():
        raise ValueError(f"{shown} is a folder, not a data file")
    problem = file_problem(target)
    if problem == "file not found":
        raise ValueError(f"file not found: {shown}")
    if problem is not None:  # a FIFO or a device: reading it would hang or never end
        raise ValueError(f"{shown}: {problem}")
    return value


def _pair(value: Any) -> Any:
    # YAML has no tuples: a [time, price] list is a pair.
    return tuple(value) if isinstance(value, list) else value


#: Keys of a field's metadata (pydantic's ``json_schema_extra``, on the field or on its type):
#: its unit (``Dai``, ``s``, ``-`` for a plain number), and a short human label where the field's
#: name is not readable (``liquidation ratio`` for ``mat``). Axis labels and the dashboard's
#: controls read them with :func:`sim.scenario.paths.field_at`.
UNIT, LABEL = "unit", "label"


def field(
    default: Any = PydanticUndefined,
    *,
    unit: str | None = None,
    label: str | None = None,
    **kwargs: Any,
) -> Any:
    """Pydantic's ``Field`` with the field's unit and label as metadata.

    Args:
        default: the default value (none: the field is required).
        unit: the field's unit, where its type does not give one (an amount of Dai or tokens).
        label: a short human label (``liquidation penalty``), where the name is not readable.
        **kwargs: the rest of ``Field``'s arguments (``description``, ``default_factory``…).
    """
    extra = {k: v for k, v in ((UNIT, unit), (LABEL, label)) if v is not None}
    return Field(default, json_schema_extra=extra or None, **kwargs)


def _float(unit: str | None = None, **bounds: float) -> Any:
    """A float field type: numbers also written as strings, finite, within ``bounds``.

    A type that must be positive (``gt=0``) also refuses subnormal values, whose reciprocals
    overflow; where zero is allowed a subnormal value acts as zero and is accepted. ``unit`` is
    the unit of every field of the type (``None``: each field names its own).
    """
    checks: list[Any] = [AfterValidator(_normal)] if bounds.get("gt") == 0 else []
    extra = {UNIT: unit} if unit is not None else None
    return Annotated[
        float,
        BeforeValidator(_number),
        Field(allow_inf_nan=False, json_schema_extra=extra, **bounds),
        *checks,
    ]


Duration = Annotated[
    float,
    BeforeValidator(_duration),
    Field(json_schema_extra={UNIT: "s"}),
    PlainSerializer(format_duration, return_type=str),
]
PosDuration = Annotated[
    float,
    BeforeValidator(_duration),
    Field(gt=0, json_schema_extra={UNIT: "s"}),
    PlainSerializer(format_duration, return_type=str),
]
Timestamp = Annotated[
    dt.datetime,
    BeforeValidator(_timestamp),
    PlainSerializer(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"), return_type=str),
]
#: Price [USD/token].
Price = _float("USD/token", ge=PRICE_MIN, le=PRICE_MAX)
#: Amount of Dai, USD or tokens, > 0 / ≥ 0 (each field names its unit).
Amount = _float(gt=0, le=AMOUNT_MAX)
AmountOrZero = _float(ge=0, le=AMOUNT_MAX)
#: Market depth [USD].
Depth = _float("USD", ge=DEPTH_MIN, le=AMOUNT_MAX)
Vol = _float("1/sqrt(yr)", ge=0, le=VOL_MAX)
Drift = _float("1/yr", ge=-DRIFT_MAX, le=DRIFT_MAX)
Rate = _float("1/yr", ge=0, le=RATE_MAX)
Sigma = _float("-", ge=0, le=SIGMA_MAX)
#: Collateral ratio (1.5 = 150 %).
Cr = _float("-", gt=0, le=CR_MAX)
Gwei = _float("gwei", gt=0, le=GWEI_MAX)
Fraction = _float("-", ge=0, le=1)
OpenFraction = _float("-", gt=0, lt=1)
JumpRate = _float("1/yr", ge=0, le=JUMP_RATE_MAX)
JumpMean = _float("-", ge=-JUMP_SIZE_MAX, le=JUMP_SIZE_MAX)
JumpStd = _float("-", ge=0, le=JUMP_SIZE_MAX)
#: Clipper price decrease factor (per step or per second).
Cut = _float("-", gt=0, le=1)
Chop = _float("-", ge=0, le=CHOP_MAX)
Buf = _float("-", ge=1, le=MULTIPLIER_MAX)
Pad = _float("-", ge=0, le=MULTIPLIER_MAX)
#: Liquidation ratio: above 1.
Mat = _float("-", gt=1, le=MAT_MAX)
Wallet = _float("-", ge=0, le=WALLET_MAX)
Premium = _float("-", ge=0, le=MULTIPLIER_MAX)
Name = Annotated[
    str, Field(min_length=1, max_length=NAME_MAX_CHARS, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")
]


class Strict(BaseModel):
    """Base of every scenario section: unknown keys are errors; instances are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
