"""Two runs, or two batches, overlaid: the same crash under two designs, side by side.

:func:`compare_runs` draws two runs on shared axes (run A a thick line, run B a thin one, each
its own colour and marker): market price [USD/token], unsafe debt before the keepers act [Dai],
liquidated debt (cumulative Σ ``due`` by ``start_tick``) [Dai], auctions running [count], auction
outcomes (price paid / market price at the end, zero-bid auctions marked) [%], bad debt [Dai],
Dai supply [Dai] and the Vow's surplus [Dai]. Runs that start at the same time share a date
axis; otherwise the axis is the time since each run's start. The liquidated debt, the totals
over ilks and the auction outcomes come from :mod:`sim.derived`.

:func:`compare_batches` overlays two batches' fan charts per scenario
(:func:`sim.plots.ensemble.ensemble_fan` with a row per scenario and a series per batch): runs of
the same scenario name are compared, never a pool of different scenarios. Two batches of one
scenario each are compared whatever their names (the same crash under two designs); batches of
several scenarios are paired by name (:func:`pair_scenarios`), scenarios in one batch only are
left out and named, and batches that share none are refused (:class:`ComparisonError`). When
scenarios of the same name were run differently in the two batches (other overrides: a shorter
clock, fewer vaults; or an edited file), a line under the title says where their resolved
scenarios differ (:func:`differences_note`) rather than compare them without a word. Each run's
bands end at its last tick.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.derived import PERCENT, auction_counts, auction_outcomes, ilk_total, liquidated_debt
from sim.metrics import ZERO_BID_FRACTION
from sim.plots import style as st
from sim.plots.ensemble import HOURS_PER_S, MAX_ROWS, ensemble_fan
from sim.plots.overview import OUTCOME_MARGIN_PCT

#: Number of runs or batches a comparison takes.
COMPARED = 2
#: Line widths of run A (thick, under) and run B (thin, over): apart in grayscale too, and
#: legible on jagged series where a dashed line would smear [points].
WIDTH_A, WIDTH_B = 2.8, 1.2
#: Opacity of run A's thick line (run B shows through it).
ALPHA_A = 0.65
#: Dot size of an auction [points²] and of a zero-bid cross.
DOT_SIZE, ZERO_BID_SIZE = 20.0, 60.0
#: Top-level fields of a resolved scenario that do not change a batch's runs (each run draws
#: its own seed), left out when same-named scenarios of two batches are compared.
IGNORED_FIELDS = frozenset({"seed"})
#: Most differences between two same-named scenarios written out one by one (path: A vs B);
#: with more, the top-level fields that differ are named.
MAX_NAMED_DIFFERENCES = 4
#: Most scenarios named one by one as differing; with more, they are counted.
MAX_NAMED_SCENARIOS = 3
#: Values longer than this (characters) are not written out, only where they differ.
MAX_VALUE_CHARS = 24


class ComparisonError(ValueError):
    """Two batches cannot be compared scenario by scenario (the message says why)."""


@dataclass(frozen=True)
class RunTables:
    """One run's tables for a comparison.

    Attributes:
        label: how the run is named in legends (``eth_crash_liq1``).
        timeseries: ``timeseries.parquet``.
        auctions: ``auctions.parquet`` (``None``: no auctions).
        scenario: the resolved scenario (``manifest["scenario"]``).
    """

    label: str
    timeseries: pd.DataFrame
    auctions: pd.DataFrame | None = None
    scenario: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchTables:
    """One batch's tables for a comparison (see :func:`sim.plots.ensemble.ensemble_fan`).

    Attributes:
        label: the batch's name in legends.
        runs: its runs table.
        timeseries: its runs' time series stacked with ``run_id`` (``None``: summaries only).
        auctions: its runs' auctions stacked with ``run_id``.
        scenarios: resolved scenarios by name.
    """

    label: str
    runs: pd.DataFrame
    timeseries: pd.DataFrame | None = None
    auctions: pd.DataFrame | None = None
    scenarios: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def _same_start(runs: Sequence[RunTables]) -> bool:
    starts = {pd.Timestamp(r.timeseries["time"].iloc[0]) for r in runs if "time" in r.timeseries}
    return len(starts) == 1 and all("time" in r.timeseries for r in runs)


def _x(ts: pd.DataFrame, dates: bool) -> np.ndarray:
    if dates:
        return st.times(ts)
    if "time" in ts:
        t = pd.to_datetime(ts["time"], utc=True)
        return ((t - t.iloc[0]).dt.total_seconds() * HOURS_PER_S).to_numpy()
    return ts["tick"].to_numpy()


def _line(k: int, label: str) -> dict[str, Any]:
    """Keyword arguments of ``Axes.plot`` for run ``k`` (0: A, thick; 1: B, thin)."""
    return {
        "color": st.style(k).color,
        "linestyle": "-",
        "linewidth": WIDTH_A if k == 0 else WIDTH_B,
        "alpha": ALPHA_A if k == 0 else 1.0,
        "label": label,
    }


def _amount_panel(
    ax: Axes,
    runs: Sequence[RunTables],
    xs: Sequence[np.ndarray],
    series: Sequence[np.ndarray],
    quantity: str,
    title: str,
    *,
    from_zero: bool = True,
) -> None:
    values_all = np.concatenate(series)
    divisor, prefix = st.amount_scale(values_all)
    for k, (run, x, values) in enumerate(zip(runs, xs, series, strict=True)):
        ax.plot(x, values / divisor, **_line(k, run.label))
    ax.set_ylabel(f"{quantity} [{prefix}Dai]")
    if from_zero and np.all(values_all[np.isfinite(values_all)] == 0):
        ax.set_ylim(-0.05, 1.0)
        st.note(ax, f"{quantity}: zero in both runs")
    elif from_zero and np.all(values_all >= 0):
        ax.set_ylim(bottom=0)
    elif not from_zero:
        st.min_relative_span(ax)
    st.plain_numbers(ax)
    st.panel_title(ax, title)
    st.legend(ax, fontsize=7.5)


def _outcomes(ax: Axes, runs: Sequence[RunTables], xs: Sequence[np.ndarray]) -> None:
    ax.axhline(PERCENT, color=st.BLACK, linestyle="--", linewidth=1.0, label="market price")
    for k, (run, x) in enumerate(zip(runs, xs, strict=True)):
        s = st.style(k)
        outcomes = auction_outcomes(run.timeseries, run.auctions)
        counts = auction_counts(run.auctions, outcomes)
        where = x[outcomes["end_tick"].to_numpy(dtype=np.int64)] if len(outcomes) else []
        zero = outcomes["zero_bid"].to_numpy(dtype=bool) if len(outcomes) else np.zeros(0, bool)
        ratio = outcomes["ratio"].to_numpy(dtype=float) * PERCENT if len(outcomes) else []
        if len(outcomes):
            ax.scatter(
                np.asarray(where)[~zero],
                np.asarray(ratio)[~zero],
                s=DOT_SIZE,
                color=s.color,
                marker=s.marker,
                alpha=0.6,
                edgecolors="none",
                label=f"{run.label}: {counts['sold']} auctions, {counts['zero_bid']} zero-bid",
            )
        if zero.any():
            ax.scatter(
                np.asarray(where)[zero],
                np.asarray(ratio)[zero],
                s=ZERO_BID_SIZE,
                color=s.color,
                marker="X",
                edgecolors="black",
                linewidths=0.5,
                zorder=4,
                label=f"{run.label} zero-bid (< {ZERO_BID_FRACTION:.0%} of market value)",
            )
    ax.set_ylim(-OUTCOME_MARGIN_PCT, PERCENT + OUTCOME_MARGIN_PCT)
    ax.set_ylabel("price paid / market price [%]")
    st.panel_title(ax, "Auction outcomes at each auction's end")
    st.legend(ax, fontsize=7.5, loc="lower left")


def compare_runs(runs: Sequence[RunTables], *, title: str | None = None) -> Figure:
    """Two runs overlaid (panels in the module docstring).

    Args:
        runs: the two runs, A then B.
        title: the figure title (default: ``A vs B`` and the scenarios' descriptions).

    Returns:
        The figure: eight panels.

    Raises:
        ValueError: not two runs.
    """
    if len(runs) != COMPARED:
        raise ValueError(f"a comparison takes {COMPARED} runs, not {len(runs)}")
    dates = _same_start(runs)
    xs = [_x(r.timeseries, dates) for r in runs]
    with st.styled():
        fig = st.new_figure(4, 2)
        grid = np.asarray(fig.axes).reshape(4, 2)
        ax = grid[0, 0]
        for k, (run, x) in enumerate(zip(runs, xs, strict=True)):
            for j, column in enumerate(c for c in run.timeseries if c.startswith("price[")):
                ilk = column[len("price[") : -1]
                line = _line(k, f"{run.label} {ilk}")
                line["linestyle"] = st.LINESTYLES[j % len(st.LINESTYLES)]
                ax.plot(x, run.timeseries[column], **line)
        ax.set_ylabel("market price [USD/token]")
        st.plain_numbers(ax)
        st.panel_title(ax, "Market price (after each tick's trades)")
        st.legend(ax, fontsize=7.5)
        _amount_panel(
            grid[0, 1],
            runs,
            xs,
            [ilk_total(r.timeseries, "unsafe_debt") for r in runs],
            "unsafe debt",
            "Debt of unsafe vaults, before keepers act",
        )
        _amount_panel(
            grid[1, 0],
            runs,
            xs,
            [liquidated_debt(r.timeseries, r.auctions) for r in runs],
            "liquidated debt",
            "Liquidated debt, cumulative (Σ due of auctions started)",
        )
        ax = grid[1, 1]
        for k, (run, x) in enumerate(zip(runs, xs, strict=True)):
            ax.plot(x, ilk_total(run.timeseries, "auctions_active"), **_line(k, run.label))
        ax.set_ylabel("auctions running [count]")
        st.panel_title(ax, "Collateral auctions running")
        st.legend(ax, fontsize=7.5)
        _outcomes(grid[2, 0], runs, xs)
        _amount_panel(
            grid[2, 1],
            runs,
            xs,
            [r.timeseries["bad_debt"].to_numpy(dtype=float) for r in runs],
            "bad debt",
            "Bad debt (Vow debt covered by nothing)",
        )
        _amount_panel(
            grid[3, 0],
            runs,
            xs,
            [r.timeseries["dai_supply"].to_numpy(dtype=float) for r in runs],
            "Dai supply",
            "Dai supply",
            from_zero=False,
        )
        _amount_panel(
            grid[3, 1],
            runs,
            xs,
            [r.timeseries["surplus"].to_numpy(dtype=float) for r in runs],
            "Vow surplus",
            "The Vow's surplus: its Dai above its debt",
        )
        for ax in fig.axes:
            if ax is not fig.axes[0]:
                ax.sharex(fig.axes[0])
            if dates:
                st.date_axis(ax)
            else:
                ax.set_xlabel("time since the start [h]")
        head = title or (
            f"Comparison — A: {runs[0].label} (thick line) vs B: {runs[1].label} (thin line)"
        )
        descriptions = [str(r.scenario.get("description") or "") for r in runs]
        if not title and any(descriptions):
            head += "".join(f"\n{k}: {d}" for k, d in zip("AB", descriptions, strict=True) if d)
        fig.suptitle(head, fontsize=12)
    return fig


def _scenario_names(batch: BatchTables) -> list[str]:
    if "scenario" not in batch.runs:
        return ["runs"]
    return [str(n) for n in dict.fromkeys(batch.runs["scenario"].fillna("runs"))]


@dataclass(frozen=True)
class Pairing:
    """Which scenarios of two batches are compared.

    Attributes:
        rows: ``(row name, scenario in A, scenario in B)`` per compared pair.
        only_a: scenarios of A that B lacks (left out).
        only_b: scenarios of B that A lacks (left out).
    """

    rows: list[tuple[str, str, str]]
    only_a: list[str]
    only_b: list[str]

    @property
    def left_out(self) -> str | None:
        """A sentence naming the scenarios left out, or ``None``."""
        parts = [
            f"only in {which}: {', '.join(names)}"
            for which, names in (("A", self.only_a), ("B", self.only_b))
            if names
        ]
        return f"left out ({'; '.join(parts)})" if parts else None


def pair_scenarios(batches: Sequence[BatchTables]) -> Pairing:
    """The scenarios two batches are compared on.

    Two batches of one scenario each form one pair whatever the names (row ``A vs B`` when they
    differ); otherwise the scenarios both hold, in A's order.

    Raises:
        ComparisonError: not two batches, or batches of several scenarios that share none.
    """
    if len(batches) != COMPARED:
        raise ComparisonError(f"a comparison takes {COMPARED} batches, not {len(batches)}")
    a, b = (_scenario_names(x) for x in batches)
    if len(a) == 1 and len(b) == 1:
        row = a[0] if a[0] == b[0] else f"{a[0]} vs {b[0]}"
        return Pairing([(row, a[0], b[0])], [], [])
    shared = [n for n in a if n in b]
    if not shared:
        raise ComparisonError(
            f"the batches share no scenario, so no runs of the same scenario can be compared "
            f"(A {batches[0].label}: {', '.join(a)}; B {batches[1].label}: {', '.join(b)}); "
            "compare batches of the same scenario files, or of one scenario each"
        )
    return Pairing(
        [(n, n, n) for n in shared],
        [n for n in a if n not in shared],
        [n for n in b if n not in shared],
    )


class _Absent:
    """A field one of two scenarios lacks."""

    def __repr__(self) -> str:
        return "absent"


_ABSENT = _Absent()


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, float) and isinstance(y, float) and np.isnan(x) and np.isnan(y):
        return True
    return bool(x == y)


def scenario_differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """Where two resolved scenarios differ, leaf by leaf (``seed`` left out).

    Args:
        a: a resolved scenario (a run manifest's ``scenario``).
        b: another.

    Returns:
        ``(dotted path, value in a, value in b)`` per differing leaf (``clock.duration``,
        ``borrowers.0.vaults``), in a's order of fields; a field one of them lacks has the
        value ``absent``.
    """
    out: list[tuple[str, Any, Any]] = []

    def walk(x: Any, y: Any, path: str) -> None:
        if isinstance(x, Mapping) and isinstance(y, Mapping):
            for key in dict.fromkeys([*x, *y]):
                if not path and key in IGNORED_FIELDS:
                    continue
                walk(
                    x.get(key, _ABSENT), y.get(key, _ABSENT), f"{path}.{key}" if path else str(key)
                )
        elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for k, (u, v) in enumerate(zip(x, y, strict=True)):
                walk(u, v, f"{path}.{k}")
        elif not _same(x, y):
            out.append((path, x, y))

    walk(a, b, "")
    return out


def _value_text(value: Any) -> str | None:
    """A short value as written in a scenario (``12h``, ``200``), or ``None`` when too long."""
    if isinstance(value, bool) or value is None or isinstance(value, _Absent):
        text = str(value).lower() if not isinstance(value, _Absent) else "absent"
    elif isinstance(value, int | float):
        text = f"{value:g}"
    elif isinstance(value, str):
        text = value
    else:
        return None
    return text if len(text) <= MAX_VALUE_CHARS else None


def _differences_text(diffs: Sequence[tuple[str, Any, Any]]) -> str:
    """``clock.duration: 8h vs 12h`` per difference, or the top-level fields when many."""
    if len(diffs) <= MAX_NAMED_DIFFERENCES:
        parts = []
        for path, x, y in diffs:
            u, v = _value_text(x), _value_text(y)
            parts.append(f"{path}: {u} vs {v}" if u is not None and v is not None else path)
        return ", ".join(parts)
    fields = list(dict.fromkeys(path.split(".")[0] for path, _x, _y in diffs))
    return f"{len(diffs)} values in {', '.join(fields)}"


def differences_note(batches: Sequence[BatchTables], pairing: Pairing) -> str | None:
    """A sentence saying which same-named compared scenarios differ between the batches.

    Only pairs of the same name are checked: two batches of one differently named scenario
    each are compared on purpose (two designs). Scenarios without a recorded resolved
    scenario are not checked.

    Returns:
        ``eth_crash_liq2 differs between the batches (A vs B): clock.duration: 8h vs 12h``,
        or ``None`` when every same-named pair was run alike.
    """
    found: dict[str, list[tuple[str, Any, Any]]] = {}
    for row, name_a, name_b in pairing.rows:
        if name_a != name_b:
            continue
        a, b = batches[0].scenarios.get(name_a), batches[1].scenarios.get(name_b)
        if a is None or b is None:
            continue
        diffs = scenario_differences(a, b)
        if diffs:
            found[row] = diffs
    if not found:
        return None
    if len(found) == 1:
        ((row, diffs),) = found.items()
        return f"{row} differs between the batches (A vs B): {_differences_text(diffs)}"
    if len(found) <= MAX_NAMED_SCENARIOS:
        return "scenarios differ between the batches (A vs B): " + "; ".join(
            f"{row}: {_differences_text(diffs)}" for row, diffs in found.items()
        )
    fields = list(
        dict.fromkeys(path.split(".")[0] for diffs in found.values() for path, _x, _y in diffs)
    )
    return (
        f"{len(found)} scenarios differ between the batches (in {', '.join(fields)}): "
        + ", ".join(found)
    )


def compare_batches(batches: Sequence[BatchTables], *, title: str | None = None) -> Figure:
    """Two batches' fan charts overlaid scenario by scenario, one colour per batch.

    Args:
        batches: the two batches, A then B.
        title: the figure title.

    Returns:
        The fan chart with a row per compared scenario (one row: six panels; two when either
        batch kept only summaries) and one set of bands per batch in each; under the title, the
        same-named scenarios that differ between the batches (:func:`differences_note`).

    Raises:
        ComparisonError: not two batches, or no scenario to compare (:func:`pair_scenarios`).
    """
    pairing = pair_scenarios(batches)
    labels = [b.label for b in batches]
    if labels[0] == labels[1]:
        labels = [f"A: {labels[0]}", f"B: {labels[1]}"]
    runs, series, auctions, scenarios = [], [], [], {}
    full = all(b.timeseries is not None and len(b.timeseries) for b in batches)
    for k, (label, batch) in enumerate(zip(labels, batches, strict=True)):
        rename = {pair[1 + k]: pair[0] for pair in pairing.rows}
        table = batch.runs.copy()
        names = table["scenario"].fillna("runs").astype(str) if "scenario" in table else None
        table["scenario"] = "runs" if names is None else names
        table = table[table["scenario"].isin(list(rename))]
        table["scenario"] = table["scenario"].map(rename)
        kept = set(table["run_id"].astype(str))
        table["run_id"] = label + "/" + table["run_id"].astype(str)
        table["batch"] = label
        runs.append(table)
        scenarios.update(batch.scenarios)
        if full:
            assert batch.timeseries is not None
            ts = batch.timeseries[batch.timeseries["run_id"].astype(str).isin(kept)].copy()
            ts["run_id"] = label + "/" + ts["run_id"].astype(str)
            series.append(ts)
            if batch.auctions is not None and len(batch.auctions):
                auc = batch.auctions[batch.auctions["run_id"].astype(str).isin(kept)].copy()
                auc["run_id"] = label + "/" + auc["run_id"].astype(str)
                auctions.append(auc)
    head = title or (
        f"Comparison of two ensembles, scenario by scenario — A: {labels[0]} vs B: {labels[1]}"
    )
    if not title and len(pairing.rows) == 1:
        head += f"\n{pairing.rows[0][0]}"
    if not title and pairing.left_out:
        head += f"\n{pairing.left_out}"
    differ = differences_note(batches, pairing)
    if not title and differ:
        head += f"\n{differ}"
    return ensemble_fan(
        pd.concat(runs, ignore_index=True),
        pd.concat(series, ignore_index=True) if full else None,
        pd.concat(auctions, ignore_index=True) if auctions else None,
        scenarios=scenarios,
        group="scenario",
        series="batch",
        title=head,
        max_rows=MAX_ROWS,
    )
