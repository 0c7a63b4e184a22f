"""The causal story of a run, read from its tables: what happened, when, and why.

:func:`story` turns a run's tables (time series, auctions, KPIs, the resolved scenario, and the
event log when it is at hand) into a :class:`Story`: a list of :class:`Finding` s, each one
short sentence with its numbers and the same numbers as fields (``kind``, ``start``/``end``,
``values``), rendered by :meth:`Story.text` and :meth:`Story.markdown`. Nothing here is written
by hand for a scenario: a finding appears when the tables show it. The run is anything with
``timeseries``, ``auctions`` and ``summary`` and either ``scenario`` or ``manifest["scenario"]``
(a :class:`sim.results.RunData` of a run folder, or the :class:`sim.record.RunResult` of
``sim.run``); an ``events`` table is used when present (a run folder's reader leaves it
unread). Pure pandas and numpy: no files, no matplotlib.

Times are UTC, ``clock.start + tick·tick`` (the ``time`` column: the end of the tick); a span
of ticks ``s..e`` lasts ``(e − s + 1)`` ticks and is named by the times of ``s`` and ``e``.

The findings, in this order, each when it applies:

- ``crash`` (per collateral): the largest peak-to-trough fall of the market price (``price[ILK]``
  of its first ilk) if at least :data:`CRASH_MIN_FALL`, the peak, the trough and when;
- ``liquidations``: when vaults first became unsafe (``unsafe_vaults``, summed over ilks, at
  ``spot`` before the keepers act) and when liquidations began (``liquidations``); vaults
  liquidated, auctions and debt (the KPIs) and the most vaults unsafe at once;
- ``priced_out`` (per sending group with a ``priced_out.<group>`` column above 0 in some tick):
  the time it had something waiting (ticks with ``priced_out`` > 0 × the tick), its spells (runs
  of such consecutive ticks), the longest spell with its start and end, the peak gas price
  (``gas_price_gwei``) and the most transactions or vaults waiting in it;
- ``blocks``: the largest share of a tick's block capacity the agents used
  (``agent_gas / block_gas``), the largest share of an hour's (:func:`gas_by_hour`), and the
  hours above :data:`BUSY_HOUR_SHARE`;
- ``zero_bid``: the auctions won for ~0 Dai (:func:`sim.metrics.zero_bid_mask`, the rule of the
  ``auctions_zero_bid`` KPI): how many, their share of the auctions, when the first started, and
  the collateral given away (its market value at the auction's end in Dai, less the Dai raised);
- ``zero_bid_causes``: how many zero-bid auctions each cause explains (below);
- ``outcome``: the realised deficit (``bad_debt``: its peak, when, and at the end), the debt
  auctions (``flop`` events, when the event log is at hand) and the Dai they raised
  (``debt_auction_dai``) for the MKR minted.

The block findings (``priced_out``, ``blocks``) need the network columns: a run without a
``network:`` section has none of them.

**Why an auction went for nothing** (:func:`zero_bid_causes`). *Market keepers* are the keeper
groups whose strategy is ``default`` (they bid near the market value, less their ``discount``;
``lowball`` keepers bid ~0 and ``kicker`` keepers never bid). An auction's *bidding window* is
the ticks in which a bid could still have won it: a Flipper's from its ``start_tick`` to the
tick before its ``end_tick`` (in its end tick it is only ``deal``-t), a Clipper's to its
``end_tick`` (the winning ``take`` is in it). In each tick ``t`` of the window, over the market
groups ``g``:

- *gas*: no market keeper transaction landed (``Σ txs.keepers.g = 0``) while one waited
  (``Σ priced_out.keepers.g > 0``);
- *Dai*: no market group held the Dai to bid: ``dai.keepers.g < min(tab, (1 − discount_g) ·
  lot · price/dai_price)`` for every ``g`` (what a market keeper bids, at most the tab; the
  group's Dai bounds any one keeper's from above, so this is certain, not a guess);
- *full*: the agents' transactions filled the tick's blocks
  (``agent_gas ≥`` :data:`FULL_BLOCKS` ``· block_gas``);
- *idle*: every market keeper could do nothing: priced out with work, or wanting to bid with
  Dai for none of its bids (``Σ idle.keepers.g = Σ count_g``; per keeper, so it tells what the
  group's Dai cannot);
- *most*: at least :data:`MOST_WAITING` of the market keepers waited
  (``Σ priced_out.keepers.g ≥ MOST_WAITING · Σ count_g``: a keeper whose first transaction did
  not land counts once).

The auction's cause is the first that holds:

1. ``no_market_keeper``: the scenario has no market keeper;
2. ``unknown``: the run has no network columns (``txs.*``, ``priced_out.*``, ``dai.*``), so
   neither gas nor Dai can be told;
3. ``priced_out``: *gas* in every tick of the window — no market keeper transaction landed;
4. ``out_of_dai``: *Dai* in every tick of the window — market keepers out of Dai;
5. ``stuck_or_dry``: in every tick of the window *gas*, *Dai* or *idle* held — every market
   keeper was priced out or out of Dai (those whose transactions landed had spent their Dai);
6. ``partly_priced_out``: in every tick of the window *gas*, *Dai*, *full* or *most* held,
   *most* in at least one — most market keepers priced out (their nonces stuck), the others
   did not bid;
7. ``blocks_full``: in every tick of the window *gas*, *Dai* or *full* held, *full* in at least
   one — keepers landed transactions but the blocks had no room left for their bids;
8. ``no_bid``: otherwise — in some tick a market keeper could have bid (its transactions landed
   or nothing of its waited, the Dai was there, the blocks had room) and did not: the lot was
   not worth its discount and gas, or its latency kept the auction from it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.derived import ilk_total
from sim.formatting import duration_text, percent_text, readable
from sim.metrics import ZERO_BID_FRACTION, sold_value_usd, zero_bid_mask
from sim.record import col
from sim.units import parse_duration

#: A collateral's fall from peak to trough that makes a ``crash`` finding [-].
CRASH_MIN_FALL = 0.05
#: Agents' gas at this share of a tick's block capacity counts as full blocks [-].
FULL_BLOCKS = 0.99
#: An hour in which the agents used more than this share of the capacity is named [-].
BUSY_HOUR_SHARE = 0.5
#: The keeper strategy that bids near the market value (a market keeper).
MARKET_STRATEGY = "default"
#: At least this share of the market keepers waiting counts as most of them priced out [-].
MOST_WAITING = 0.5
#: A market keeper's discount when the scenario does not state it (the schema's default) [-].
DEFAULT_DISCOUNT = 0.05
#: Most busy hours named in a sentence (the rest are counted).
MAX_HOURS_NAMED = 4

NO_MARKET_KEEPER = "no_market_keeper"
UNKNOWN = "unknown"
PRICED_OUT = "priced_out"
OUT_OF_DAI = "out_of_dai"
PARTLY_PRICED_OUT = "partly_priced_out"
STUCK_OR_DRY = "stuck_or_dry"
BLOCKS_FULL = "blocks_full"
NO_BID = "no_bid"
#: The causes of a zero-bid auction, in the order they are tested, and how they read.
CAUSES: dict[str, str] = {
    NO_MARKET_KEEPER: "no market keeper",
    UNKNOWN: "cause not known (no network columns)",
    PRICED_OUT: "no market keeper transaction landed",
    OUT_OF_DAI: "market keepers out of Dai",
    STUCK_OR_DRY: "every market keeper priced out or out of Dai",
    PARTLY_PRICED_OUT: "most market keepers priced out, the others did not bid",
    BLOCKS_FULL: "keepers landed transactions but blocks were full",
    NO_BID: "keepers could bid but did not",
}


@dataclass(frozen=True)
class Finding:
    """One thing that happened in a run.

    Attributes:
        kind: ``crash``, ``liquidations``, ``priced_out``, ``blocks``, ``zero_bid``,
            ``zero_bid_causes`` or ``outcome``.
        text: one sentence with the numbers.
        start: when it began (UTC), or ``None``.
        end: when it ended (UTC), or ``None``.
        values: the numbers of the sentence, by name (ticks, counts, Dai, shares, ...).
    """

    kind: str
    text: str
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Story:
    """What happened in a run: its findings in order.

    Attributes:
        title: the run's name.
        findings: the findings (:class:`Finding`).
    """

    title: str
    findings: list[Finding]

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def of_kind(self, kind: str) -> list[Finding]:
        """The findings of one kind."""
        return [f for f in self.findings if f.kind == kind]

    def text(self) -> str:
        """The story as plain text: the title, then one sentence a line."""
        return "\n".join([f"What happened: {self.title}", *(f.text for f in self.findings)])

    def markdown(self) -> str:
        """The story as Markdown: a heading and one bullet a finding."""
        lines = [f"## What happened: {self.title}", ""]
        lines += [f"- {f.text}" for f in self.findings] or ["- Nothing to tell."]
        return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------ the run


@dataclass(frozen=True)
class _Run:
    """A run's tables, as the story reads them."""

    name: str
    ts: pd.DataFrame  # one row per tick, sorted by tick
    auctions: pd.DataFrame
    summary: Mapping[str, Any]
    scenario: Mapping[str, Any]
    events: pd.DataFrame | None
    tick_s: float
    times: pd.DatetimeIndex | None

    def pos(self, ticks: Any) -> np.ndarray:
        """Row positions of ticks (clipped to the rows)."""
        index = self.ts["tick"].to_numpy(dtype=np.int64)
        at = np.searchsorted(index, np.asarray(ticks, dtype=np.int64))
        return np.clip(at, 0, len(index) - 1)

    def when(self, pos: int) -> str:
        """The time of a row, as printed: ``2020-03-12 12:00 UTC`` (``tick N`` without times)."""
        if self.times is None:
            return f"tick {int(self.ts['tick'].iloc[pos])}"
        return self.times[pos].strftime("%Y-%m-%d %H:%M UTC")

    def span(self, first: int, last: int) -> str:
        """``from T1 to T2`` (T2 without its date when on the same day)."""
        a, b = self.when(first), self.when(last)
        if self.times is not None and self.times[first].date() == self.times[last].date():
            b = self.times[last].strftime("%H:%M UTC")
        return f"from {a} to {b}"

    def at(self, pos: int) -> pd.Timestamp | None:
        return None if self.times is None else self.times[pos]

    def column(self, name: str) -> np.ndarray:
        return self.ts[name].to_numpy(dtype=np.float64)

    @property
    def network(self) -> bool:
        """Whether the run has the block columns (its scenario has a ``network:`` section)."""
        return "block_gas" in self.ts.columns and "agent_gas" in self.ts.columns


def _seconds(value: Any) -> float:
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError:
            return float("nan")
    if isinstance(value, int | float):
        return float(value)
    return float("nan")


def _usable_auctions(auctions: pd.DataFrame | None) -> pd.DataFrame:
    """The auctions with whole start and end ticks (a row without them tells nothing)."""
    if auctions is None or len(auctions) == 0:
        return pd.DataFrame()
    if not {"start_tick", "end_tick"} <= set(auctions.columns):
        return auctions
    ticks = auctions[["start_tick", "end_tick"]].apply(pd.to_numeric, errors="coerce")
    ok = ticks.notna().all(axis=1).to_numpy() & np.isfinite(ticks.to_numpy(dtype=float)).all(axis=1)
    out = auctions[ok].copy()
    out[["start_tick", "end_tick"]] = ticks[ok].astype(np.int64)
    return out


def _median_step(times: pd.DatetimeIndex) -> float:
    """The median step between consecutive times [s] (0 with fewer than two)."""
    if len(times) < 2:
        return 0.0
    return float(pd.Series(times).diff().median().total_seconds())


def _run_of(run: Any) -> _Run:
    """Read what the story needs from a RunData, a RunResult or a look-alike."""
    ts = getattr(run, "timeseries", None)
    if ts is None:
        ts = pd.DataFrame({"tick": pd.Series(dtype="int64")})
    if "tick" not in ts.columns:
        ts = ts.assign(tick=np.arange(len(ts)))
    if not ts["tick"].is_monotonic_increasing:
        ts = ts.sort_values("tick", kind="stable")
    ts = ts.reset_index(drop=True)
    auctions = _usable_auctions(getattr(run, "auctions", None))
    scenario = getattr(run, "scenario", None)
    if not isinstance(scenario, Mapping):
        scenario = (getattr(run, "manifest", None) or {}).get("scenario") or {}
    clock = scenario.get("clock") or {}
    tick_s = _seconds(clock.get("tick"))
    times = None
    if "time" in ts.columns and len(ts):
        times = pd.DatetimeIndex(pd.to_datetime(ts["time"], utc=True))
    elif clock.get("start") and np.isfinite(tick_s) and len(ts):
        start = pd.Timestamp(clock["start"])
        start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
        times = pd.DatetimeIndex(start + pd.to_timedelta(ts["tick"] * tick_s, unit="s"))
    if not np.isfinite(tick_s) and times is not None and len(times) > 1:
        tick_s = _median_step(times)
    summary = getattr(run, "summary", None) or {}
    events = getattr(run, "events", None)
    label = getattr(run, "label", None)
    name = str(label or scenario.get("name") or "run")
    return _Run(name, ts, auctions, summary, scenario, events, tick_s, times)


def _ilks_by_collateral(r: _Run) -> dict[str, str]:
    """Each collateral and the first ilk with a price column (a lone ilk its own collateral)."""
    ilks = r.scenario.get("ilks") or {}
    out: dict[str, str] = {}
    names = [c[len("price[") : -1] for c in r.ts.columns if c.startswith("price[")]
    for ilk in names:
        spec = ilks.get(ilk) if isinstance(ilks, Mapping) else None
        asset = str(spec.get("collateral", ilk)) if isinstance(spec, Mapping) else ilk
        out.setdefault(asset, ilk)
    return out


@dataclass(frozen=True)
class KeeperGroup:
    """A keeper group of the scenario: its name, strategy kind, keepers and discount [-]."""

    name: str
    kind: str
    count: int
    discount: float


def keeper_groups(scenario: Mapping[str, Any]) -> list[KeeperGroup]:
    """The scenario's keeper groups: name, strategy kind, count and discount."""
    out = []
    for spec in scenario.get("keepers") or []:
        if not isinstance(spec, Mapping):
            continue
        strategy = spec.get("strategy") or {}
        kind = str(strategy.get("kind", MARKET_STRATEGY)) if isinstance(strategy, Mapping) else "?"
        discount = strategy.get("discount", DEFAULT_DISCOUNT) if kind == MARKET_STRATEGY else 0.0
        out.append(
            KeeperGroup(str(spec.get("name")), kind, int(spec.get("count", 1)), float(discount))
        )
    return out


# ------------------------------------------------------------------------------------ per hour


def gas_by_hour(timeseries: pd.DataFrame, tick_seconds: float | None = None) -> pd.DataFrame:
    """The blocks hour by hour: gas price, agents' share of the capacity, landed and waiting.

    A tick counts in the hour its ``time`` (its end) falls in; tick 0 (the initial state) is left
    out.

    Args:
        timeseries: a run's time series (``time``, ``gas_price_gwei``; with a network also
            ``agent_gas``, ``block_gas``, ``txs.<group>``, ``priced_out.<group>``).
        tick_seconds: the tick [s] (default: read from the ``time`` column).

    Returns:
        One row per hour: ``hour`` (UTC), ``ticks``, ``gas_price_gwei`` (mean) [gwei],
        ``gas_price_gwei_max`` [gwei]; with a network ``agent_share`` (the hour's agents' gas /
        its block capacity) [-], ``agent_share_max`` (its fullest tick's) [-], per group
        ``txs.<group>`` (landed in the hour) [count] and ``priced_out_minutes.<group>`` (minutes
        with something of the group waiting) [min].

    Raises:
        ValueError: the table has no ``time`` column.
    """
    if "time" not in timeseries.columns:
        raise ValueError("gas_by_hour needs the time series' 'time' column")
    ts = timeseries[timeseries["tick"] > 0] if "tick" in timeseries.columns else timeseries
    times = pd.DatetimeIndex(pd.to_datetime(ts["time"], utc=True))
    if tick_seconds is None:
        full = pd.DatetimeIndex(pd.to_datetime(timeseries["time"], utc=True))
        tick_seconds = _median_step(full)
    hour = times.floor("h")
    data: dict[str, Any] = {"ticks": np.ones(len(ts), dtype=np.int64)}
    agg: dict[str, str] = {"ticks": "sum"}
    if "gas_price_gwei" in ts.columns:
        data["gas_price_gwei"] = ts["gas_price_gwei"].to_numpy(dtype=float)
        data["gas_price_gwei_max"] = data["gas_price_gwei"]
        agg |= {"gas_price_gwei": "mean", "gas_price_gwei_max": "max"}
    network = "agent_gas" in ts.columns and "block_gas" in ts.columns
    if network:
        agent = ts["agent_gas"].to_numpy(dtype=float)
        block = ts["block_gas"].to_numpy(dtype=float)
        data["agent_gas"], data["block_gas"] = agent, block
        data["agent_share_max"] = np.divide(
            agent, block, out=np.full(len(ts), np.nan), where=block > 0
        )
        agg |= {"agent_gas": "sum", "block_gas": "sum", "agent_share_max": "max"}
    for c in ts.columns:
        if c.startswith("txs."):
            data[c] = ts[c].to_numpy(dtype=float)
            agg[c] = "sum"
        elif c.startswith("priced_out."):
            name = "priced_out_minutes." + c[len("priced_out.") :]
            data[name] = (ts[c].to_numpy(dtype=float) > 0) * (tick_seconds / 60.0)
            agg[name] = "sum"
    frame = pd.DataFrame(data, index=hour)
    out = frame.groupby(level=0, sort=True).agg(agg)
    if network:
        share = np.divide(
            out["agent_gas"].to_numpy(),
            out["block_gas"].to_numpy(),
            out=np.full(len(out), np.nan),
            where=out["block_gas"].to_numpy() > 0,
        )
        out.insert(out.columns.get_loc("agent_gas"), "agent_share", share)
        out = out.drop(columns=["agent_gas", "block_gas"])
        out.insert(
            out.columns.get_loc("agent_share") + 1, "agent_share_max", out.pop("agent_share_max")
        )
    out.index.name = "hour"
    return out.reset_index()


# ------------------------------------------------------------------------------------ zero bids


def _window(r: _Run, auctions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each auction's bidding window as row positions ``lo..hi`` (both included)."""
    start = auctions["start_tick"].to_numpy(dtype=np.int64)
    end = auctions["end_tick"].to_numpy(dtype=np.int64)
    kind = (
        auctions["kind"].astype(str).to_numpy()
        if "kind" in auctions.columns
        else np.full(len(auctions), "flip")
    )
    last = np.where(kind == "clip", end, end - 1)
    last = np.maximum(last, start)
    return r.pos(start), r.pos(last)


def _window_all(flags: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Whether ``flags`` holds in every row of each window ``lo..hi``."""
    bad = np.concatenate([[0], np.cumsum(~flags)])
    return (bad[hi + 1] - bad[lo]) == 0


def _window_any(flags: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Whether ``flags`` holds in some row of each window ``lo..hi``."""
    good = np.concatenate([[0], np.cumsum(flags)])
    return (good[hi + 1] - good[lo]) > 0


def _causes(r: _Run, zero: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each zero-bid auction's cause (module docstring), and its window's rows."""
    n = len(zero)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=object), empty, empty
    lo, hi = _window(r, zero)
    market = [g for g in keeper_groups(r.scenario) if g.kind == MARKET_STRATEGY]
    cause = np.full(n, NO_BID, dtype=object)
    if not market:
        cause[:] = NO_MARKET_KEEPER
        return cause, lo, hi
    cols = r.ts.columns
    names = [f"keepers.{g.name}" for g in market]
    if not r.network or not all(
        f"{k}.{name}" in cols for name in names for k in ("txs", "priced_out", "dai")
    ):
        cause[:] = UNKNOWN
        return cause, lo, hi
    txs = sum(r.column(f"txs.{name}") for name in names)
    waiting = sum(r.column(f"priced_out.{name}") for name in names)
    gas = (txs == 0) & (waiting > 0)
    full = r.column("agent_gas") >= FULL_BLOCKS * r.column("block_gas")
    dai = np.stack([r.column(f"dai.{name}") for name in names], axis=1)  # ticks × groups
    keep = np.array([1.0 - g.discount for g in market])
    dai_price = r.column("dai_price") if "dai_price" in cols else np.ones(len(r.ts))
    tab = zero["tab"].to_numpy(dtype=np.float64)
    lot = zero["lot"].to_numpy(dtype=np.float64)
    ilks = zero["ilk"].astype(str).to_numpy()
    keepers = sum(g.count for g in market)
    most = (waiting > 0) & (waiting >= MOST_WAITING * keepers)
    idle_cols = [f"idle.{name}" for name in names]
    idle = (
        sum(r.column(c) for c in idle_cols) >= keepers
        if all(c in cols for c in idle_cols)
        else np.zeros(len(r.ts), dtype=bool)
    )
    dry = np.zeros(n, dtype=bool)  # gas, Dai or idle in every tick
    broke = np.zeros(n, dtype=bool)
    blocked = np.zeros(n, dtype=bool)  # gas, Dai or full blocks in every tick
    stuck = np.zeros(n, dtype=bool)  # gas, Dai, full blocks or most waiting in every tick
    for i in range(n):
        rows = slice(lo[i], hi[i] + 1)
        price_col = col("price", ilks[i])
        price = (
            r.column(price_col)[rows] if price_col in cols else np.full(hi[i] - lo[i] + 1, np.inf)
        )
        value = lot[i] * price / dai_price[rows]  # the lot's market value per tick [Dai]
        need = np.minimum(tab[i], value[:, None] * keep[None, :])  # per tick and group
        short = (dai[rows] < need).all(axis=1)
        broke[i] = short.all()
        blocked[i] = (gas[rows] | short | full[rows]).all()
        stuck[i] = (gas[rows] | short | full[rows] | most[rows]).all()
        dry[i] = (gas[rows] | short | idle[rows]).all()
    all_gas = _window_all(gas, lo, hi)
    any_full = _window_any(full, lo, hi)
    any_most = _window_any(most, lo, hi)
    cause[blocked & any_full] = BLOCKS_FULL
    cause[stuck & any_most] = PARTLY_PRICED_OUT
    cause[dry] = STUCK_OR_DRY
    cause[broke] = OUT_OF_DAI
    cause[all_gas] = PRICED_OUT
    return cause, lo, hi


def _zero_bids(r: _Run) -> pd.DataFrame:
    """The zero-bid auctions with their window, cause and the collateral given away [Dai]."""
    a = r.auctions
    needed = {"start_tick", "end_tick", "collateral_sold", "dai_raised", "ilk", "tab", "lot"}
    if len(a) == 0 or not needed <= set(a.columns) or len(r.ts) == 0:
        return pd.DataFrame(
            columns=[
                *("ilk", "auction", "start_tick", "end_tick", "window_start", "window_end"),
                *("given_away", "cause"),
            ]
        )
    mask = zero_bid_mask(r.ts, a)
    value_usd = sold_value_usd(r.ts, a)[mask]
    zero = a[mask].reset_index(drop=True)
    cause, lo, hi = _causes(r, zero)
    end = r.pos(zero["end_tick"].to_numpy(dtype=np.int64))
    dai_price = r.column("dai_price")[end] if "dai_price" in r.ts else np.ones(len(zero))
    given = np.nan_to_num(value_usd / dai_price) - zero["dai_raised"].to_numpy(dtype=float)
    ticks = r.ts["tick"].to_numpy(dtype=np.int64)
    keep = [c for c in ("ilk", "auction", "vault", "kind", "start_tick", "end_tick") if c in zero]
    out = zero[keep].copy()
    for c in ("tab", "lot", "dai_raised", "winner"):
        if c in zero.columns:
            out[c] = zero[c]
    out["window_start"] = ticks[lo]
    out["window_end"] = ticks[hi]
    out["given_away"] = given
    out["cause"] = pd.Series(cause, dtype="string")
    return out


def zero_bid_causes(run: Any) -> pd.DataFrame:
    """The zero-bid auctions of a run, each with the cause that explains it.

    Args:
        run: a :class:`sim.results.RunData` or a :class:`sim.record.RunResult`.

    Returns:
        One row per zero-bid auction (:func:`sim.metrics.zero_bid_mask`): its ``ilk``,
        ``auction``, ``vault``, ``kind``, ``start_tick``, ``end_tick``, ``tab``, ``lot``,
        ``dai_raised``, ``winner``, the bidding window (``window_start``, ``window_end``:
        ticks, both included), ``given_away`` (the collateral's market value at the end in Dai,
        less the Dai raised) [Dai] and ``cause`` (a key of :data:`CAUSES`; the rules are in the
        module's docstring).
    """
    return _zero_bids(_run_of(run))


# ------------------------------------------------------------------------------------ findings


def _crash(r: _Run) -> list[Finding]:
    out = []
    for asset, ilk in _ilks_by_collateral(r).items():
        price = r.column(col("price", ilk))
        finite = np.isfinite(price) & (price > 0)
        if finite.sum() < 2:
            continue
        p = np.where(finite, price, np.nan)
        running = np.fmax.accumulate(np.nan_to_num(p, nan=0.0))
        fall = np.where(finite & (running > 0), 1.0 - p / np.where(running > 0, running, 1), 0.0)
        trough = int(np.argmax(fall))
        if fall[trough] < CRASH_MIN_FALL:
            continue
        peak = int(np.nanargmax(p[: trough + 1]))
        span = (trough - peak) * r.tick_s
        out.append(
            Finding(
                "crash",
                f"{asset} fell {percent_text(fall[trough])} from {readable(p[peak])} USD "
                f"({r.when(peak)}) to {readable(p[trough])} USD ({r.when(trough)}), in "
                f"{duration_text(span)}.",
                r.at(peak),
                r.at(trough),
                {
                    "collateral": asset,
                    "ilk": ilk,
                    "peak_price": float(p[peak]),
                    "trough_price": float(p[trough]),
                    "fall": float(fall[trough]),
                    "peak_tick": int(r.ts["tick"].iloc[peak]),
                    "trough_tick": int(r.ts["tick"].iloc[trough]),
                },
            )
        )
    return out


def _kpi(r: _Run, name: str, fallback: float) -> float:
    value = r.summary.get(name)
    return float(value) if isinstance(value, int | float) else float(fallback)


def _liquidations(r: _Run) -> list[Finding]:
    unsafe = ilk_total(r.ts, "unsafe_vaults")
    started = ilk_total(r.ts, "liquidations")
    a = r.auctions
    n_auctions = _kpi(r, "auctions", len(a))
    vaults = _kpi(
        r,
        "vaults_liquidated",
        len(a[["ilk", "vault"]].drop_duplicates()) if {"ilk", "vault"} <= set(a.columns) else 0,
    )
    debt = _kpi(r, "liquidated_debt", a["due"].sum() if "due" in a.columns else 0.0)
    if not (unsafe > 0).any() and n_auctions == 0:
        return [Finding("liquidations", "No vault became unsafe.", values={"auctions": 0})]
    values: dict[str, Any] = {
        "unsafe_max": float(unsafe.max()) if len(unsafe) else 0.0,
        "vaults_liquidated": int(vaults),
        "auctions": int(n_auctions),
        "liquidated_debt": debt,
    }
    first_unsafe = int(np.argmax(unsafe > 0)) if (unsafe > 0).any() else None
    first_liq = int(np.argmax(started > 0)) if (started > 0).any() else None
    peak = int(np.argmax(unsafe)) if len(unsafe) else 0
    ticks = r.ts["tick"].to_numpy()
    parts = []
    if first_unsafe is not None:
        values["first_unsafe_tick"] = int(ticks[first_unsafe])
        parts.append(f"Vaults first became unsafe at {r.when(first_unsafe)}")
    if first_liq is not None:
        values["first_liquidation_tick"] = int(ticks[first_liq])
        parts.append(f"liquidations began at {r.when(first_liq)}")
    head = "; ".join(parts) if parts else "Liquidations ran"
    head = head[0].upper() + head[1:]
    if n_auctions:
        tail = (
            f"{readable(vaults)} vaults were liquidated in {readable(n_auctions)} auctions "
            f"({readable(debt)} Dai of debt)"
        )
    else:
        tail = "none was liquidated"
    most = f", at most {readable(values['unsafe_max'])} unsafe at once ({r.when(peak)})"
    start = first_unsafe if first_unsafe is not None else first_liq
    return [
        Finding(
            "liquidations",
            f"{head}: {tail}{most if first_unsafe is not None else ''}.",
            r.at(start) if start is not None else None,
            r.at(int(np.flatnonzero(started > 0)[-1])) if first_liq is not None else None,
            values,
        )
    ]


def _spells(flags: np.ndarray) -> list[tuple[int, int]]:
    """Runs of consecutive True rows as ``(first, last)`` positions."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _priced_out(r: _Run) -> list[Finding]:
    out = []
    gas = r.column("gas_price_gwei") if "gas_price_gwei" in r.ts else None
    body = r.ts["tick"].to_numpy() > 0
    for c in r.ts.columns:
        if not c.startswith("priced_out."):
            continue
        waiting = r.column(c)
        flags = (waiting > 0) & body
        if not flags.any():
            continue
        group = c[len("priced_out.") :]
        spells = _spells(flags)
        first, last = max(spells, key=lambda s: (s[1] - s[0], -s[0]))
        total = float(flags.sum()) * r.tick_s
        longest = (last - first + 1) * r.tick_s
        rows = slice(first, last + 1)
        peak_gas = float(np.nanmax(gas[rows])) if gas is not None else float("nan")
        most = float(waiting[rows].max())
        gas_text = f", gas up to {readable(peak_gas)} gwei" if gas is not None else ""
        out.append(
            Finding(
                "priced_out",
                f"{group} had transactions priced out for {duration_text(total)} in "
                f"{len(spells)} spell{'s' if len(spells) != 1 else ''}; the longest, "
                f"{duration_text(longest)} {r.span(first, last)}"
                f"{gas_text}, up to {readable(most)} waiting.",
                r.at(first),
                r.at(last),
                {
                    "group": group,
                    "total_s": total,
                    "spells": len(spells),
                    "longest_s": longest,
                    "longest_start_tick": int(r.ts["tick"].iloc[first]),
                    "longest_end_tick": int(r.ts["tick"].iloc[last]),
                    "gas_peak_gwei": peak_gas,
                    "waiting_max": most,
                },
            )
        )
    return out


def _blocks(r: _Run) -> list[Finding]:
    agent, block = r.column("agent_gas"), r.column("block_gas")
    body = (r.ts["tick"].to_numpy() > 0) & (block > 0)
    if not body.any():
        return []
    share = np.where(body, np.divide(agent, block, out=np.zeros_like(agent), where=block > 0), -1)
    peak = int(np.argmax(share))
    values: dict[str, Any] = {"peak_share": float(share[peak]), "peak_tick": int(r.ts.tick[peak])}
    text = (
        f"Agents used up to {percent_text(share[peak])} of a tick's block capacity ({r.when(peak)})"
    )
    if r.times is not None:
        hours = gas_by_hour(r.ts.assign(time=r.times), r.tick_s)
        hours = hours[hours["agent_share"].notna()]
        if len(hours):
            top = hours.loc[hours["agent_share"].idxmax()]
            busy = hours.loc[hours["agent_share"] > BUSY_HOUR_SHARE, "hour"].tolist()
            values |= {
                "hour_share_max": float(top["agent_share"]),
                "hour_max": top["hour"],
                "busy_hours": busy,
            }
            hour = top["hour"].strftime("%Y-%m-%d %H:00 UTC")
            text += f"; by the hour at most {percent_text(top['agent_share'])} ({hour})"
            limit = percent_text(BUSY_HOUR_SHARE)
            if busy:
                named = ", ".join(h.strftime("%Y-%m-%d %H:00") for h in busy[:MAX_HOURS_NAMED])
                more = (
                    f" and {len(busy) - MAX_HOURS_NAMED} more"
                    if len(busy) > MAX_HOURS_NAMED
                    else ""
                )
                text += (
                    f", above {limit} in {len(busy)} hour{'s' if len(busy) != 1 else ''} "
                    f"({named}{more})"
                )
            else:
                text += f", never above {limit}"
    return [Finding("blocks", text + ".", r.at(peak), r.at(peak), values)]


def _zero_bid_findings(r: _Run) -> list[Finding]:
    zero = _zero_bids(r)
    if len(zero) == 0:
        return []
    total = len(r.auctions)
    first = int(zero["start_tick"].min())
    first_pos, last_pos = int(r.pos(first)), int(r.pos(zero["end_tick"].max()))
    given = float(np.nansum(zero["given_away"]))
    values = {
        "count": len(zero),
        "auctions": total,
        "share": len(zero) / total,
        "first_start_tick": first,
        "given_away": given,
    }
    found = [
        Finding(
            "zero_bid",
            f"{readable(len(zero))} of {readable(total)} auctions "
            f"({percent_text(len(zero) / total)}) were won for ~0 Dai (under "
            f"{percent_text(ZERO_BID_FRACTION)} of the collateral's value), the first starting "
            f"at {r.when(first_pos)}; they gave away collateral worth {readable(given)} Dai.",
            r.at(first_pos),
            r.at(last_pos),
            values,
        )
    ]
    counts = zero["cause"].value_counts()
    counts = {k: int(counts[k]) for k in CAUSES if k in counts.index}
    parts = [
        f"{readable(n)} ({percent_text(n / len(zero))}) {CAUSES[k]}" for k, n in counts.items()
    ]
    found.append(
        Finding(
            "zero_bid_causes",
            f"Why they went for nothing: {'; '.join(parts)}.",
            r.at(first_pos),
            r.at(last_pos),
            dict(counts),
        )
    )
    return found


def _outcome(r: _Run) -> list[Finding]:
    if "bad_debt" not in r.ts.columns or len(r.ts) == 0:
        return []
    bad = r.column("bad_debt")
    peak = int(np.nanargmax(bad)) if np.isfinite(bad).any() else 0
    bad_max = _kpi(r, "bad_debt_max", bad[peak])
    bad_final = _kpi(r, "bad_debt_final", bad[-1])
    minted = _kpi(
        r,
        "mkr_minted",
        r.column("mkr_minted")[-1] - r.column("mkr_minted")[0] if "mkr_minted" in r.ts else 0.0,
    )
    raised = (
        float(r.column("debt_auction_dai")[-1] - r.column("debt_auction_dai")[0])
        if "debt_auction_dai" in r.ts
        else 0.0
    )
    values: dict[str, Any] = {
        "bad_debt_max": bad_max,
        "bad_debt_final": bad_final,
        "mkr_minted": minted,
        "debt_auction_dai": raised,
    }
    flops = None
    if r.events is not None and "event" in r.events.columns:
        flops = int((r.events["event"].astype(str) == "flop").sum())
        values["debt_auctions"] = flops
    if bad_max <= 0:
        text = "The system took no bad debt"
    else:
        text = (
            f"Bad debt peaked at {readable(bad_max)} Dai ({r.when(peak)}) and ended at "
            f"{readable(bad_final)} Dai"
        )
    if minted > 0 or raised > 0 or flops:
        count = f"{readable(flops)} debt auctions" if flops is not None else "debt auctions"
        text += f"; {count} raised {readable(raised)} Dai for {readable(minted)} MKR minted"
    elif bad_max > 0:
        text += "; no MKR was minted"
    return [Finding("outcome", text + ".", r.at(peak) if bad_max > 0 else None, None, values)]


def story(run: Any) -> Story:
    """The story of a run, read from its tables (the findings are in the module docstring).

    Args:
        run: a :class:`sim.results.RunData` (a run folder, :func:`sim.results.load_run`) or the
            :class:`sim.record.RunResult` of ``sim.run`` — anything with ``timeseries``,
            ``auctions``, ``summary`` and ``scenario`` or ``manifest["scenario"]`` (and
            ``events``, used when present).

    Returns:
        The findings in order; none for a run without a time series.
    """
    r = _run_of(run)
    if len(r.ts) == 0:
        return Story(r.name, [])
    findings = _crash(r) + _liquidations(r)
    if r.network:
        findings += _priced_out(r) + _blocks(r)
    findings += _zero_bid_findings(r) + _outcome(r)
    return Story(r.name, findings)


__all__ = [
    "BUSY_HOUR_SHARE",
    "CAUSES",
    "CRASH_MIN_FALL",
    "FULL_BLOCKS",
    "Finding",
    "KeeperGroup",
    "Story",
    "gas_by_hour",
    "keeper_groups",
    "story",
    "zero_bid_causes",
]
