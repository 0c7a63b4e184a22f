"""KPIs of one run: each with a name, a unit and a definition, defined once here.

:data:`KPIS` is the registry; :func:`summarize` computes them from a run's tables,
:func:`keeper_profits` from the keepers at the end of a run, :func:`format_kpis` prints them as an
aligned table with their units (the ``cdpsim run`` output) and :func:`kpi_reference_markdown`
renders the reference table of the README. Regenerate the README's table with::

    python -c "from sim.metrics import write_readme; write_readme()"

Units: ``Dai`` (protocol accounting, Vat units), ``USD`` (market values), ``MKR``, ``count`` and
``-`` (a ratio). Every KPI is a plain float or int.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from sim.formatting import kpi_amount, percent_text, value_text
from sim.record import quantile_name

if TYPE_CHECKING:
    from sim.model import ProtocolModel

#: An auction "sold for nothing": it raised less than this fraction of the market value of the
#: collateral it sold [-].
ZERO_BID_FRACTION = 0.01
#: The CR quantile behind ``min_cr_p05`` [-].
MIN_CR_QUANTILE = 0.05


@dataclass(frozen=True)
class Kpi:
    """One KPI of a run.

    Attributes:
        name: its key in ``summary.json``.
        unit: ``Dai``, ``USD``, ``MKR``, ``count`` or ``-`` (a ratio).
        definition: what it measures, precisely (one sentence, Markdown).
    """

    name: str
    unit: str
    definition: str


#: Every KPI of ``summary.json``, in output order.
KPIS: tuple[Kpi, ...] = (
    Kpi(
        "bad_debt_final",
        "Dai",
        "realised deficit at the last tick (timeseries `bad_debt`): Vow debt (sin) covered "
        "neither by the Vow's Dai nor by the debt running collateral auctions must still raise "
        "(`auction_debt`; their penalty is not counted)",
    ),
    Kpi("bad_debt_max", "Dai", "largest `bad_debt` (realised deficit) over the ticks"),
    Kpi(
        "auction_debt_max",
        "Dai",
        "largest `auction_debt` over the ticks: debt awaiting collateral-auction proceeds, "
        "Σ over running auctions of max(`due` − Dai raised so far, 0)",
    ),
    Kpi(
        "insolvent_debt_max",
        "Dai",
        "largest `insolvent_debt` over the ticks: Σ over open vaults of max(debt − collateral "
        "at the market price in Dai, 0), underwater debt not yet liquidated (tick ends)",
    ),
    Kpi(
        "liquidated_debt",
        "Dai",
        "debt confiscated by liquidations, penalty excluded: Σ `due` over the auctions started",
    ),
    Kpi(
        "vaults_liquidated",
        "count",
        "distinct vaults (ilk, vault) that had at least one collateral auction",
    ),
    Kpi(
        "auctions",
        "count",
        "collateral auctions started (Liquidations 1.x starts one per `lump` of a vault, 2.0 "
        "one per `bark`, several when the `hole`/`Hole` room cuts a vault)",
    ),
    Kpi(
        "auctions_zero_bid",
        "count",
        f"finished auctions that sold collateral for less than {ZERO_BID_FRACTION:.0%} of its "
        "market value (Dai raised at the Dai price vs tokens sold at the collateral price, both "
        "at the auction's end)",
    ),
    Kpi(
        "penalty_collected",
        "Dai",
        "liquidation penalty paid: Σ over finished auctions of max(min(`dai_raised`, `tab`) − "
        "`due`, 0), before keeper incentives",
    ),
    Kpi(
        "keeper_incentives",
        "Dai",
        "incentives the Vow paid keepers for `bark` and `redo` (`tip + chip·tab`, Σ `coin`; "
        "0 under Liquidations 1.x)",
    ),
    Kpi(
        "collateral_sold_usd",
        "USD",
        "collateral sold by the auctions (`collateral_sold`, tokens) valued at the market price "
        "at each auction's end (the last tick if still running)",
    ),
    Kpi(
        "unsafe_debt_max",
        "Dai",
        "largest debt of unsafe vaults (at `spot`, before the keepers act), summed over ilks, "
        "over the ticks",
    ),
    Kpi("dai_supply_start", "Dai", "Dai supply (Vat `debt`, unbacked Dai included) at tick 0"),
    Kpi("dai_supply_end", "Dai", "Dai supply at the last tick"),
    Kpi("dai_supply_min", "Dai", "lowest Dai supply over the ticks"),
    Kpi("mkr_minted", "MKR", "MKR minted by debt auctions (`flop`) over the run"),
    Kpi(
        "keeper_profit",
        "Dai",
        "Σ over keepers of Dai held − Dai capital at the start + (collateral held or being won "
        "in running English auctions they lead, at the market price, − gas spent, both USD) / "
        "the Dai price, at the end",
    ),
    Kpi(
        "min_cr_p05",
        "-",
        f"lowest {MIN_CR_QUANTILE:.0%} quantile of open vaults' CR at the market price, over "
        "ilks and ticks, at tick ends (NaN without that quantile in `record.cr_quantiles` or "
        "open vaults)",
    ),
)
#: The registry by name.
KPI_BY_NAME: dict[str, Kpi] = {k.name: k for k in KPIS}

_README_BEGIN = "<!-- kpis:begin (generated by sim.metrics.write_readme(); do not edit) -->"
_README_END = "<!-- kpis:end -->"
_README_BLOCK = re.compile(r"<!-- kpis:begin.*?-->\n.*?<!-- kpis:end -->", re.S)
#: The README the reference table lives in.
README = Path(__file__).resolve().parents[1] / "README.md"


# ---------------------------------------------------------------------------------------- compute


def _at_end(auctions: pd.DataFrame, timeseries: pd.DataFrame, column: str) -> np.ndarray:
    """A timeseries column at each auction's end tick (the last tick if running; NaN if absent).

    ``column`` is a system column (``dai_price``) or a per-ilk field (``price``, read from
    ``price[ILK]`` of the auction's ilk).
    """
    values = np.full(len(auctions), np.nan)
    last = len(timeseries) - 1
    ticks = auctions["end_tick"].to_numpy()
    ticks = np.where(ticks < 0, last, np.minimum(ticks, last))
    if column in timeseries:
        return timeseries[column].to_numpy(dtype=np.float64)[ticks]
    ilks = auctions["ilk"].to_numpy(dtype=object)
    for ilk in pd.unique(ilks):
        name = f"{column}[{ilk}]"
        if name in timeseries:
            mask = ilks == ilk
            values[mask] = timeseries[name].to_numpy(dtype=np.float64)[ticks[mask]]
    return values


def sold_value_usd(timeseries: pd.DataFrame, auctions: pd.DataFrame) -> np.ndarray:
    """Market value of the collateral each auction sold, at its end tick [USD].

    ``collateral_sold`` × the ilk's ``price`` at the auction's end tick (the last tick while it
    runs; NaN without that price column). The ``collateral_sold_usd`` KPI is its sum.
    """
    sold = auctions["collateral_sold"].to_numpy(dtype=np.float64)
    return sold * _at_end(auctions, timeseries, "price")


def zero_bid_mask(timeseries: pd.DataFrame, auctions: pd.DataFrame) -> np.ndarray:
    """Which auctions were won for ~0 Dai (the ``auctions_zero_bid`` KPI counts them).

    A finished auction that sold collateral and raised, at the Dai price, less than
    :data:`ZERO_BID_FRACTION` of the market value of the collateral it sold, both at its end
    tick (:func:`sold_value_usd`).

    Returns:
        One bool per row of ``auctions``.
    """
    if len(auctions) == 0:
        return np.zeros(0, dtype=bool)
    finished = (auctions["end_tick"] >= 0).to_numpy()
    sold = auctions["collateral_sold"].to_numpy(dtype=np.float64)
    raised = auctions["dai_raised"].to_numpy(dtype=np.float64)
    raised_usd = raised * _at_end(auctions, timeseries, "dai_price")
    return (
        finished
        & (sold > 0)
        & (raised_usd < ZERO_BID_FRACTION * sold_value_usd(timeseries, auctions))
    )


def _auction_kpis(timeseries: pd.DataFrame, auctions: pd.DataFrame) -> dict[str, Any]:
    """The KPIs read from the auction table."""
    if len(auctions) == 0:
        return {
            "liquidated_debt": 0.0,
            "vaults_liquidated": 0,
            "auctions": 0,
            "auctions_zero_bid": 0,
            "penalty_collected": 0.0,
            "keeper_incentives": 0.0,
            "collateral_sold_usd": 0.0,
        }
    finished = (auctions["end_tick"] >= 0).to_numpy()
    raised = auctions["dai_raised"].to_numpy(dtype=np.float64)
    due = auctions["due"].to_numpy(dtype=np.float64)
    value_usd = sold_value_usd(timeseries, auctions)
    zero = zero_bid_mask(timeseries, auctions)
    penalty = np.minimum(raised, auctions["tab"].to_numpy(dtype=np.float64)) - due
    coin = auctions["coin"].fillna(0.0).to_numpy() if "coin" in auctions else np.zeros(1)
    return {
        "liquidated_debt": float(due.sum()),
        "vaults_liquidated": _distinct_vaults(auctions),
        "auctions": len(auctions),
        "auctions_zero_bid": int(np.count_nonzero(zero)),
        "penalty_collected": float(np.sum(np.maximum(penalty[finished], 0.0))),
        "keeper_incentives": float(np.sum(coin)),
        "collateral_sold_usd": float(np.nansum(value_usd)),
    }


def _distinct_vaults(auctions: pd.DataFrame) -> int:
    """How many distinct (ilk, vault) pairs the auction table holds.

    The count of ``auctions[["ilk", "vault"]].drop_duplicates()``, without building the frame
    (a millisecond per run, most of a tiny run's KPIs): each pair as one integer.
    """
    vault = auctions["vault"].to_numpy()
    if len(vault) == 0 or vault.dtype.kind not in "iu":
        return len(auctions[["ilk", "vault"]].drop_duplicates())
    codes, _ = pd.factorize(auctions["ilk"], use_na_sentinel=True)  # a missing ilk: -1
    low = int(vault.min())
    span = int(vault.max()) - low + 1
    keys = (codes.astype(np.int64) + 1) * span + (vault.astype(np.int64) - low)
    return int(np.unique(keys).size)


def _ilk_columns(timeseries: pd.DataFrame, field: str) -> np.ndarray:
    """All ilks' ``field[ILK]`` columns as a (ticks, ilks) array (no column: one NaN column).

    Laid out as ``timeseries[names].to_numpy(dtype=np.float64)`` lays it out (the transpose of
    one row per column), so that sums over a tick add in the same order, without the frame.
    """
    names = [c for c in timeseries.columns if c.startswith(f"{field}[")]
    if not names:
        return np.full((len(timeseries), 1), np.nan)
    return np.array([timeseries[name].to_numpy(dtype=np.float64) for name in names]).T


def _nanmax(values: np.ndarray) -> float:
    """The largest finite value (NaN when there is none)."""
    finite = np.isfinite(values)
    return float(values[finite].max()) if finite.any() else float("nan")


#: The timeseries columns :func:`summarize` reads: system columns, and per-ilk fields
#: (``field[ILK]`` of every ilk).
SUMMARY_SYSTEM_COLUMNS = (
    "bad_debt",
    "auction_debt",
    "insolvent_debt",
    "dai_supply",
    "mkr_minted",
    "dai_price",
)
SUMMARY_ILK_FIELDS = ("unsafe_debt", quantile_name(MIN_CR_QUANTILE), "price")


def summary_columns(columns: list[str]) -> list[str]:
    """Of a timeseries' columns, those :func:`summarize` reads (a streamed run reads only these).

    Args:
        columns: the timeseries' column names.
    """
    prefixes = tuple(f"{field}[" for field in SUMMARY_ILK_FIELDS)
    return [c for c in columns if c in SUMMARY_SYSTEM_COLUMNS or c.startswith(prefixes)]


def summarize(
    timeseries: pd.DataFrame,
    auctions: pd.DataFrame,
    *,
    keeper_profit: float,
) -> dict[str, Any]:
    """The run's KPIs, in the order of :data:`KPIS`.

    Args:
        timeseries: the per-tick table (``sim.record.timeseries_frame``).
        auctions: the collateral-auction table (``sim.record.auctions_frame``).
        keeper_profit: Σ keeper profit [Dai] (:func:`keeper_profits`).

    Returns:
        KPI name → value (units in :data:`KPI_BY_NAME`).
    """
    bad = timeseries["bad_debt"].to_numpy()
    exposure = {
        f"{name}_max": float(timeseries[name].to_numpy(dtype=np.float64).max())
        for name in ("auction_debt", "insolvent_debt")
    }
    supply = timeseries["dai_supply"].to_numpy()
    minted = timeseries["mkr_minted"].to_numpy()
    unsafe_debt = _ilk_columns(timeseries, "unsafe_debt").sum(axis=1)
    p05 = _ilk_columns(timeseries, quantile_name(MIN_CR_QUANTILE))
    values = {
        "bad_debt_final": float(bad[-1]),
        "bad_debt_max": float(bad.max()),
        **exposure,
        **_auction_kpis(timeseries, auctions),
        "unsafe_debt_max": _nanmax(unsafe_debt),
        "dai_supply_start": float(supply[0]),
        "dai_supply_end": float(supply[-1]),
        "dai_supply_min": float(supply.min()),
        "mkr_minted": float(minted[-1] - minted[0]),
        "keeper_profit": float(keeper_profit),
        "min_cr_p05": -_nanmax(-p05),
    }
    return {k.name: values[k.name] for k in KPIS}


def keeper_profits(model: ProtocolModel) -> dict[str, float]:
    """Each keeper's profit at the model's current tick [Dai] (the ``keeper_profit`` KPI).

    The definition is the keeper's own (:meth:`sim.agents.keeper.Keeper.profit`):
    ``dai − capital + (collateral − gas spent) / Dai price``, with the collateral in its gem
    accounts and in the running English auctions it leads valued at the market price.

    Args:
        model: the model (finished or stopped).

    Returns:
        Keeper name → profit [Dai].
    """
    return {k.name: k.profit() for k in model.keepers}


# ---------------------------------------------------------------------------------------- text


def unit_of(name: str) -> str:
    """A KPI's unit (``Dai``, ``count``, ``-``); empty for a name that is not a KPI."""
    return KPI_BY_NAME[name].unit if name in KPI_BY_NAME else ""


def format_kpis(summary: Mapping[str, Any]) -> str:
    """The KPIs of a summary as an aligned table: name, value, unit (nested entries skipped).

    Args:
        summary: a run's summary (``RunResult.summary``).

    Returns:
        The table, one line per KPI, without a trailing newline.
    """
    rows = [
        (name, value_text(value), unit_of(name))
        for name, value in summary.items()
        if not isinstance(value, Mapping)
    ]
    if not rows:
        return ""
    width = max(len(name) for name, _, _ in rows)
    lines = [f"  {name.ljust(width)}  {value.rjust(16)}  {unit}" for name, value, unit in rows]
    return "\n".join(line.rstrip() for line in lines)


def kpi_reference_markdown() -> str:
    """The README's KPI reference: a Markdown table of every KPI's name, unit and definition."""
    lines = ["| KPI | unit | definition |", "|---|---|---|"]
    lines += [f"| `{k.name}` | {k.unit} | {k.definition} |" for k in KPIS]
    return "\n".join(lines)


def readme_kpi_block() -> str:
    """The README block: the reference table between its marker comments."""
    return f"{_README_BEGIN}\n{kpi_reference_markdown()}\n{_README_END}"


def update_readme(text: str) -> str:
    """``text`` (a README) with its KPI block replaced by :func:`readme_kpi_block`.

    Raises:
        ValueError: the text has no ``<!-- kpis:begin -->`` … ``<!-- kpis:end -->`` block.
    """
    if _README_BLOCK.search(text) is None:
        raise ValueError("no <!-- kpis:begin --> … <!-- kpis:end --> block")
    return _README_BLOCK.sub(lambda _m: readme_kpi_block(), text, count=1)


def write_readme(path: str | Path = README) -> Path:
    """Rewrite the KPI block of a README (the repository's by default) from :data:`KPIS`.

    Run as ``python -c "from sim.metrics import write_readme; write_readme()"``.

    Returns:
        The file written.
    """
    path = Path(path)
    path.write_text(update_readme(path.read_text()))
    return path


# ---------------------------------------------------------------------------------------- ensembles
#
# Statistics over an ensemble of runs — one design point of a sweep (one parameter set) run with
# several seeds — as published by risk teams. The horizon is the scenario's run
# (``clock.duration``): each run gives one value of a KPI (for ``bad_debt_max``, the largest
# realised deficit over the run: timeseries ``bad_debt``, not the underwater debt of open vaults,
# ``insolvent_debt``) and these summarise the values of the runs. NaN values (a KPI undefined in
# a run) are left out; no values give NaN. Quantiles interpolate linearly between the order
# statistics (numpy's default), so with few seeds the 95th percentile lies near the largest.
# Every statistic comes with the runs it rests on (``n_runs``); a tail statistic over fewer than
# MIN_TAIL_RUNS runs is shown with a warning (:func:`tail_warning`, :func:`runs_mark`).

#: The runs a statistic rests on (its finite values): the key of :func:`risk_stats`, the suffix
#: of :func:`ensemble_kpi_stats` (``bad_debt_max_n_runs``) [runs].
N_RUNS = "n_runs"
#: Quantiles of every analysed KPI over a point's runs, and their column suffixes.
ENSEMBLE_QUANTILES: tuple[tuple[str, float], ...] = (("p05", 0.05), ("p50", 0.5), ("p95", 0.95))
#: Level of Value at Risk, Liquidations at Risk and the expected shortfall [-].
RISK_LEVEL = 0.95
#: Level of the second Value at Risk (``bad_debt_var99``) [-].
RISK_LEVEL_TAIL = 0.99
#: A tail statistic (VaR, ES, Liquidations at Risk, a quantile beyond 10–90 %) over fewer runs
#: than this is printed with a warning: read it as rough [runs].
MIN_TAIL_RUNS = 50
#: Quantiles at or inside these levels are not tail statistics (no warning below
#: :data:`MIN_TAIL_RUNS`) [-].
TAIL_QUANTILES_FROM = (0.10, 0.90)

#: The risk statistics of a sweep point (columns of ``points.parquet``), defined once here.
RISK_STATS: tuple[Kpi, ...] = (
    Kpi(
        "bad_debt_var95",
        "Dai",
        f"Value at Risk: the {RISK_LEVEL:.0%} quantile over the runs (of a sweep point, or of a "
        "scenario in a batch) of `bad_debt_max` (the largest realised deficit over the run)",
    ),
    Kpi(
        "bad_debt_var99",
        "Dai",
        f"Value at Risk at {RISK_LEVEL_TAIL:.0%}: the {RISK_LEVEL_TAIL:.0%} quantile over the runs of "
        "`bad_debt_max` (realised deficit)",
    ),
    Kpi(
        "bad_debt_es95",
        "Dai",
        f"expected shortfall: mean `bad_debt_max` (realised deficit) of the runs at or above "
        f"its {RISK_LEVEL:.0%} quantile",
    ),
    Kpi(
        "p_bad_debt",
        "-",
        "share of the runs with `bad_debt_max` > 0 (any realised deficit)",
    ),
    Kpi(
        "liquidated_debt_lar95",
        "Dai",
        f"Liquidations at Risk: the {RISK_LEVEL:.0%} quantile over the runs of `liquidated_debt`",
    ),
)


def _finite(values: ArrayLike) -> np.ndarray:
    """The finite values of a sample, as float64."""
    array = np.asarray(values, dtype=np.float64).ravel()
    return array[np.isfinite(array)]


def finite_count(values: ArrayLike) -> int:
    """How many runs a statistic of ``values`` rests on: the finite values [runs]."""
    return int(_finite(values).size)


def is_tail_quantile(q: float) -> bool:
    """Whether a quantile level (0–1) is a tail statistic: beyond 10–90 %."""
    low, high = TAIL_QUANTILES_FROM
    return q < low or q > high


def only_largest_at_or_above(n: int, level: float = RISK_LEVEL) -> bool:
    """Whether, over ``n`` runs, only the largest run lies at or above the ``level`` quantile.

    With linear interpolation the quantile sits at position ``level·(n − 1)`` of the sorted
    values; past ``n − 2`` it lies between the two largest runs, and the expected shortfall is
    the largest run alone (at 95 %: 20 runs or fewer).
    """
    return n > 0 and level * (n - 1) > n - 2 + 1e-9


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def _percent(level: float) -> str:
    """A level as the page writes it: 0.95 → ``95 %``."""
    return f"{level * 100:g} %"


#: The risk statistics a warning names (:func:`tail_warning`).
RISK_WHAT = "VaR/ES/LaR at 95 %"
#: The tail quantiles of :func:`ensemble_kpi_stats` a warning names.
QUANTILES_WHAT = "the 5 % and 95 % quantiles"


def tail_warning(
    n: int, what: str = RISK_WHAT, level: float = RISK_LEVEL, *, fewest: bool = False
) -> str | None:
    """The warning for a tail statistic over ``n`` runs, or ``None`` (enough runs, or none).

    Args:
        n: the runs the statistic rests on (its finite values; the fewest over groups).
        what: the statistics, as the sentence names them (``VaR/ES/LaR at 95 %``).
        level: their quantile level (0–1), for the note on very few runs.
        fewest: ``n`` is the fewest of several groups (``rest on as few as 4 runs``).

    Returns:
        ``"VaR/ES at 95 % rest on 20 runs (fewer than 50): read them as rough"``, and, when
        only the largest run lies at or above the ``level`` quantile
        (:func:`only_largest_at_or_above`), what the statistic then is; ``None`` for
        ``n`` ≥ :data:`MIN_TAIL_RUNS` or ``n`` = 0 (no statistic).
    """
    if n <= 0 or n >= MIN_TAIL_RUNS:
        return None
    some = "as few as " if fewest else ""
    text = f"{what} rest on {some}{_runs(n)} (fewer than {MIN_TAIL_RUNS}): read them as rough"
    if only_largest_at_or_above(n, level):
        text += (
            f"; with so few runs the {_percent(level)} quantile lies between the two largest "
            "runs and the expected shortfall is the largest run alone"
        )
    return text


def runs_mark(n: int, level: float = RISK_LEVEL) -> str:
    """The short mark of a figure's tail statistic: ``(n = 20, < 50: rough)``.

    ``(n = 80)`` from :data:`MIN_TAIL_RUNS` runs on; with only the largest run at or above the
    ``level`` quantile, ``(n = 4, < 50: rough; 95 % tail = largest run)``.
    """
    if n >= MIN_TAIL_RUNS:
        return f"(n = {n})"
    if only_largest_at_or_above(n, level):
        return f"(n = {n}, < {MIN_TAIL_RUNS}: rough; {_percent(level)} tail = largest run)"
    return f"(n = {n}, < {MIN_TAIL_RUNS}: rough)"


def ensemble_mean(values: ArrayLike) -> float:
    """Mean of a KPI over runs (same unit as the KPI; NaN without values)."""
    finite = _finite(values)
    return float(finite.mean()) if finite.size else float("nan")


def ensemble_std(values: ArrayLike) -> float:
    """Sample standard deviation (ddof 1) of a KPI over runs (KPI unit; NaN below two values)."""
    finite = _finite(values)
    return float(finite.std(ddof=1)) if finite.size > 1 else float("nan")


def ensemble_quantile(values: ArrayLike, q: float) -> float:
    """Quantile ``q`` (0–1) of a KPI over runs, linearly interpolated (KPI unit; NaN if none)."""
    finite = _finite(values)
    return float(np.quantile(finite, q)) if finite.size else float("nan")


def value_at_risk(bad_debt: ArrayLike, level: float = RISK_LEVEL) -> float:
    """Value at Risk: the ``level`` quantile of the realised deficit over runs [Dai].

    The deficit is ``bad_debt_max`` (Vow debt covered neither by its Dai nor by running
    auctions), not ``insolvent_debt_max`` (underwater debt of open vaults not yet liquidated).

    Args:
        bad_debt: each run's ``bad_debt_max`` [Dai] (its largest realised deficit).
        level: the confidence level, 0.95 for the 95th percentile.

    Returns:
        The realised deficit that ``level`` of the runs do not exceed [Dai].
    """
    return ensemble_quantile(bad_debt, level)


def liquidations_at_risk(liquidated_debt: ArrayLike, level: float = RISK_LEVEL) -> float:
    """Liquidations at Risk: the ``level`` quantile of liquidated debt over runs [Dai].

    Args:
        liquidated_debt: each run's ``liquidated_debt`` [Dai] (over its horizon).
        level: the confidence level, 0.95 for the 95th percentile.

    Returns:
        The liquidated debt that ``level`` of the runs do not exceed [Dai].
    """
    return ensemble_quantile(liquidated_debt, level)


def expected_shortfall(values: ArrayLike, level: float = RISK_LEVEL) -> float:
    """Expected shortfall: the mean of the values at or above their ``level`` quantile.

    Args:
        values: each run's KPI (e.g. ``bad_debt_max`` [Dai]).
        level: the confidence level, 0.95 for the worst 5 %.

    Returns:
        The mean of the tail, in the KPI's unit (NaN without values).
    """
    finite = _finite(values)
    if not finite.size:
        return float("nan")
    return float(finite[finite >= np.quantile(finite, level)].mean())


def probability_of_bad_debt(bad_debt: ArrayLike) -> float:
    """Share of runs with any realised deficit (``bad_debt_max`` > 0) [-] (NaN without values)."""
    finite = _finite(bad_debt)
    return float(np.mean(finite > 0)) if finite.size else float("nan")


def ensemble_kpi_stats(name: str, values: ArrayLike) -> dict[str, float]:
    """A KPI's mean, standard deviation and quantiles over runs, named ``<name>_<stat>``.

    Args:
        name: the KPI's name (``bad_debt_max``).
        values: its value in each run (the KPI's unit).

    Returns:
        ``{name_mean, name_std, name_p05, name_p50, name_p95}``, in the KPI's unit, and
        ``name_n_runs``: the runs they rest on (the finite values) [runs].
    """
    stats: dict[str, float] = {
        f"{name}_mean": ensemble_mean(values),
        f"{name}_std": ensemble_std(values),
    }
    for suffix, q in ENSEMBLE_QUANTILES:
        stats[f"{name}_{suffix}"] = ensemble_quantile(values, q)
    stats[f"{name}_{N_RUNS}"] = finite_count(values)
    return stats


def risk_stats(bad_debt: ArrayLike, liquidated_debt: ArrayLike) -> dict[str, float]:
    """The :data:`RISK_STATS` of an ensemble of runs.

    Args:
        bad_debt: each run's ``bad_debt_max`` [Dai] (its largest realised deficit).
        liquidated_debt: each run's ``liquidated_debt`` [Dai].

    Returns:
        Statistic name → value (units in :data:`RISK_STATS`), and ``n_runs``: the runs they
        rest on, the finite values of ``bad_debt`` and of ``liquidated_debt`` (the fewer of the
        two, should they differ) [runs].
    """
    return {
        "bad_debt_var95": value_at_risk(bad_debt, RISK_LEVEL),
        "bad_debt_var99": value_at_risk(bad_debt, RISK_LEVEL_TAIL),
        "bad_debt_es95": expected_shortfall(bad_debt, RISK_LEVEL),
        "p_bad_debt": probability_of_bad_debt(bad_debt),
        "liquidated_debt_lar95": liquidations_at_risk(liquidated_debt, RISK_LEVEL),
        N_RUNS: min(finite_count(bad_debt), finite_count(liquidated_debt)),
    }


def risk_text(stats: Mapping[str, float]) -> str:
    """:func:`risk_stats` as one line, with the runs behind them.

    Returns:
        ``VaR 95 % = 3,200,000 Dai, ES 95 % = 3,400,000 Dai, LaR 95 % = 9,000,000 Dai,
        P(bad debt) = 25 % (n = 20 runs)``.
    """
    return (
        f"VaR 95 % = {kpi_amount(stats['bad_debt_var95'], 'Dai')}, "
        f"ES 95 % = {kpi_amount(stats['bad_debt_es95'], 'Dai')}, "
        f"LaR 95 % = {kpi_amount(stats['liquidated_debt_lar95'], 'Dai')}, "
        f"P(bad debt) = {percent_text(stats['p_bad_debt'])} (n = {_runs(int(stats[N_RUNS]))})"
    )


def risk_by_scenario(runs: pd.DataFrame) -> dict[str, dict[str, float]]:
    """:func:`risk_stats` of each scenario's runs (never pooled), in the table's order.

    Args:
        runs: rows of a runs table (``scenario``, ``bad_debt_max``, ``liquidated_debt``), the
            runs to summarise (the ok ones); without a ``scenario`` column one group ``runs``.

    Returns:
        Scenario → statistics with their ``n_runs``; empty without runs or those KPIs.
    """
    if not len(runs) or not {"bad_debt_max", "liquidated_debt"} <= set(runs.columns):
        return {}
    names = runs["scenario"].fillna("runs").astype(str) if "scenario" in runs else "runs"
    return {
        str(name): risk_stats(
            pd.to_numeric(rows["bad_debt_max"], errors="coerce").to_numpy(dtype=np.float64),
            pd.to_numeric(rows["liquidated_debt"], errors="coerce").to_numpy(dtype=np.float64),
        )
        for name, rows in runs.groupby(names, sort=False)
    }


def risk_warning(stats: Mapping[str, Mapping[str, float]]) -> str | None:
    """The warning of :func:`risk_by_scenario`'s statistics: the fewest runs behind them."""
    counts = [int(s[N_RUNS]) for s in stats.values() if s[N_RUNS] > 0]
    if not counts:
        return None
    return tail_warning(min(counts), fewest=len(set(counts)) > 1)
