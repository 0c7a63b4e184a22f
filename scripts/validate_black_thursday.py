"""Black Thursday against the public record: a batch over seeds, the figures, docs/VALIDATION.md.

Runs ``scenarios/black_thursday_2020.yaml`` (Liquidations 1.0, as in March 2020) and
``scenarios/black_thursday_liq2.yaml`` (the same day under Liquidations 2.0) over many seeds with
the batch layer, measures in every run the figures the record has, and writes the tables,
figures and sensitivities between the markers of ``docs/VALIDATION.md``; the prose around them
is the project's, the numbers are this script's.

Usage (from the repository root)::

    .venv/bin/python scripts/validate_black_thursday.py              # 20 seeds, ~3 min on 2 cores
    .venv/bin/python scripts/validate_black_thursday.py --seeds 5 --no-write   # a quick look

The figures (each from a run's folder; see :func:`run_figures`):

- ``zero_bid_share``: collateral auctions that sold their lot for under 1 % of its market value,
  over the auctions that finished;
- ``given_away_musd``: the market value of the collateral those auctions gave away [M USD];
- ``deficit_mdai``: the largest realised system deficit during the run (``bad_debt_max``)
  [M Dai];
- ``mkr_minted_k``: MKR minted by debt auctions that settled [thousand MKR];
- ``debt_auction_mdai``: Dai the debt auctions raised [M Dai];
- ``dai_peak``: the highest Dai price on 12 March [USD] (the record's Dai prices cover that
  day) and ``dai_peak_hour``, its hour after the start; ``dai_peak_run`` over the whole run;
- ``eth_dai_end_mdai``: Dai drawn against ETH at the end of the run [M Dai].
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sim  # noqa: E402
from sim.calibrate import load_calibration  # noqa: E402
from sim.calibrate.report import few_runs_note, joint_lines, targets_table  # noqa: E402
from sim.calibrate.scoring import score  # noqa: E402
from sim.calibrate.spec import target_values  # noqa: E402
from sim.metrics import ZERO_BID_FRACTION  # noqa: E402
from sim.results import load_folder, load_run  # noqa: E402

SCENARIOS = ROOT / "scenarios"
LIQ1 = SCENARIOS / "black_thursday_2020.yaml"
#: The calibration whose targets the replay is scored on (jointly).
CALIBRATION = SCENARIOS / "calibrations" / "black_thursday_2020.yaml"
LIQ2 = SCENARIOS / "black_thursday_liq2.yaml"
LIQ2_MAY = SCENARIOS / "black_thursday_liq2_may2021.yaml"
ASSUMPTIONS_DOC = ROOT / "docs" / "ASSUMPTIONS.md"
DOC = ROOT / "docs" / "VALIDATION.md"
IMAGES = ROOT / "docs" / "img"
ILK = "ETH-A"
#: Hours of the record's Dai prices (the data's ``dai_high`` column covers 12 March only).
FIRST_DAY_H = 24.0


@dataclass(frozen=True)
class Record:
    """One figure on the public record: its range (low = high for a point value) and source."""

    name: str
    label: str
    low: float
    high: float
    source: str


#: The public record of 12–13 March 2020 (sources: MakerDAO's post-mortem and governance calls,
#: the White Rabbit analysis of 14 March 2020, the debt auctions' results as reported by Smith +
#: Crown on 1 April 2020, Dai/USD trades; the ranges are those reported). The calibration's
#: targets (scenarios/calibrations/black_thursday_2020.yaml) are scored jointly by
#: :func:`target_table`; the figures here are compared one by one in the 3-way table and the
#: "other figures" of the first section.
RECORD = (
    Record("zero_bid_share", "share of auctions won with ~0 bids", 0.36, 0.36, "White Rabbit"),
    Record(
        "given_away_musd",
        "collateral given away [M USD]",
        7.1,
        8.32,
        "White Rabbit: 62 890 ETH, valued at about 7.1 M USD (Cointelegraph) or 8.32 M USD",
    ),
    Record("deficit_mdai", "system deficit [M Dai]", 5.4, 5.7, "MakerDAO post-mortem"),
    Record(
        "mkr_minted_k",
        "MKR minted by debt auctions [k MKR]",
        20.98,
        20.98,
        "the debt auctions sold 20 980 MKR (Smith + Crown, 2020-04-01)",
    ),
    Record(
        "debt_auction_mdai",
        "Dai raised by debt auctions [M Dai]",
        5.3,
        5.3,
        "the debt auctions raised 5.3 M Dai (Smith + Crown, 2020-04-01)",
    ),
    Record("dai_peak", "Dai peak on 12 March [USD]", 1.10, 1.13, "Dai/USD trades"),
    Record("dai_peak_hour", "hour of that peak [UTC]", 10.0, 11.0, "Dai/USD trades"),
    Record("eth_dai_end_mdai", "Dai drawn against ETH after [M Dai]", 68.0, 68.0, "two weeks on"),
)


# ---------------------------------------------------------------------------------------- figures


def run_figures(folder: Path) -> dict[str, float]:
    """The record's figures measured in one run folder."""
    run = load_run(folder)
    ts, auctions, summary = run.timeseries, run.auctions, run.summary
    price = ts[f"price[{ILK}]"].to_numpy()
    end = auctions["end_tick"].to_numpy()
    at = np.clip(np.where(end < 0, len(price) - 1, end), 0, len(price) - 1)
    value = auctions["collateral_sold"].to_numpy() * price[at]
    finished = end >= 0
    zero = finished & (auctions["collateral_sold"].to_numpy() > 0)
    zero &= auctions["dai_raised"].to_numpy() < ZERO_BID_FRACTION * value
    hours_in = (ts["time"] - ts["time"].iloc[0]).dt.total_seconds().to_numpy() / 3600.0
    dai = ts["dai_price"].to_numpy()
    first_day = hours_in < FIRST_DAY_H  # the Dai record (the data's dai_high) covers 12 March
    peak = int(np.argmax(np.where(first_day, dai, -np.inf)))
    return {
        "zero_bid_share": float(zero.sum() / max(finished.sum(), 1)),
        "given_away_musd": float(value[zero].sum() / 1e6),
        "deficit_mdai": float(summary["bad_debt_max"] / 1e6),
        "mkr_minted_k": float(summary.get("mkr_minted", 0.0) / 1e3),
        "debt_auction_mdai": float(ts["debt_auction_dai"].iloc[-1] / 1e6),
        "dai_peak": float(dai[peak]),
        "dai_peak_hour": float(hours_in[peak]),
        "dai_peak_run": float(dai.max()),
        "eth_dai_end_mdai": float(ts[f"debt[{ILK}]"].iloc[-1] / 1e6),
        "auctions": float(len(auctions)),
    }


def ensemble(
    scenario: Path,
    seeds: int,
    out: Path,
    overrides: list[str] | None = None,
    workers: int | None = 2,
) -> pd.DataFrame:
    """Run ``scenario`` over ``seeds`` seeds (a batch in ``out``) and measure every run."""
    table = sim.run_batch(
        [scenario], seeds=seeds, overrides=overrides or [], out=out, workers=workers
    )
    targets = load_calibration(CALIBRATION).targets
    rows = []
    for run_id in table["run_id"]:
        folder = out / "runs" / run_id
        scored = {f"target.{k}": v for k, v in target_values(load_run(folder), targets).items()}
        rows.append({"run_id": run_id, **run_figures(folder), **scored})
    return pd.DataFrame(rows)


#: Figures of the record that are not calibration targets, shown beside the joint fit.
OTHER_FIGURES = ("given_away_musd", "debt_auction_mdai", "eth_dai_end_mdai")


def target_table(runs: pd.DataFrame) -> str:
    """The calibration's targets over the runs, jointly: the joint fit and one row per target."""
    targets = load_calibration(CALIBRATION).targets
    table = runs[[f"target.{k}" for k in targets]].rename(columns=lambda c: c[len("target.") :])
    scored = score(table, targets, how="max")
    note = few_runs_note(scored["n_runs"])
    return f"{joint_lines(scored)}\n\n{targets_table(scored)}" + (f"\n\n{note}" if note else "")


def compare(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and 5–95 % range of each figure over the runs, against the record."""
    rows = []
    for rec in RECORD:
        values = runs[rec.name].to_numpy()
        lo, hi = np.quantile(values, [0.05, 0.95])
        inside = hi >= rec.low and lo <= rec.high
        rows.append(
            {
                "figure": rec.label,
                "record": rec.low if rec.low == rec.high else (rec.low, rec.high),
                "mean": float(values.mean()),
                "p05": float(lo),
                "p95": float(hi),
                "inside": bool(inside),
            }
        )
    table = pd.DataFrame(rows)
    table.attrs["n_runs"] = len(runs)
    return table


def _fmt(value: object) -> str:
    if isinstance(value, tuple):
        return "–".join(_fmt(v) for v in value)
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def markdown_table(table: pd.DataFrame) -> str:
    """The comparison as a Markdown table."""
    n = int(table.attrs.get("n_runs", 0))
    lines = [
        f"| figure | record | simulated mean | simulated 5–95 % of {n} runs | record inside |",
        "|---|---|---|---|---|",
    ]
    for row in table.itertuples():
        lines.append(
            f"| {row.figure} | {_fmt(row.record)} | {_fmt(row.mean)} | "
            f"{_fmt(row.p05)} – {_fmt(row.p95)} | {'yes' if row.inside else '**no**'} |"
        )
    return "\n".join(lines)


SWEEP = SCENARIOS / "sweeps" / "black_thursday_gas.yaml"

#: Why a figure can fall outside the simulated range (the doc states the reason of each miss).
MISS_REASONS = {
    "zero_bid_share": (
        "the keepers' parameters were fitted by hand under the earlier blockspace model and not "
        "refitted; on the new blocks (the story below) the four lowballers bid 300 gwei, ahead "
        "of everyone in every block, and tend each auction of the 12:00 OSM step first, while "
        "most market keepers (bids log-normal around 100 gwei) are priced out and those that "
        "land spend their room on bites and their Dai on earlier bids. No assumed parameter "
        "of the block market moves it much (docs/ASSUMPTIONS.md); refitting the calibrated ones "
        "by a declared procedure is the next step"
    ),
    "given_away_musd": "tied to the zero-bid share: the same windows decide both",
    "deficit_mdai": "follows the zero-bid auctions (their debt, less the penalties collected)",
    "mkr_minted_k": (
        "follows the deficit, at the scenario's scripted MKR price (450 falling to 300 USD) "
        "and the bidders' 10 % margin; the record's auctions cleared near 255 Dai per MKR"
    ),
    "debt_auction_mdai": "follows the deficit (debt auctions raise `sump` Dai each)",
    "dai_peak": "set by the Dai market's depth, a calibrated parameter",
    "dai_peak_hour": (
        "the model's Dai demand comes from vaults deleveraging after their owners react "
        "(15-minute delay for the whales, once their CR crosses 2.0 at the market price), so the "
        "peak follows the 10:00 crash by up to an hour or two"
    ),
    "eth_dai_end_mdai": (
        "the model has no new borrowing: after the crash vaults were opened and Dai drawn "
        "again (Dai above par made minting it profitable), which the record's figure, two weeks "
        "later, includes; the run ends after seven days with only the repayments and "
        "liquidations of the crash"
    ),
}


def _image(fig: object, name: str) -> str:
    """Save a figure under docs/img and return its path relative to docs/."""
    from sim.plots import save_figure

    IMAGES.mkdir(parents=True, exist_ok=True)
    save_figure(fig, IMAGES / name)  # type: ignore[arg-type]
    return f"img/{name}"


def figures_of(batch: Path, run_id: str) -> tuple[str, str]:
    """The run overview of one run and the fan chart of the batch, as images."""
    from sim.plots import figures_for

    (overview,) = figures_for(load_folder(batch / "runs" / run_id), "overview")
    (fan,) = figures_for(load_folder(batch), "fan")
    return (
        _image(overview.figure, "validation-overview.png"),
        _image(fan.figure, "validation-fan.png"),
    )


def sensitivity(out: Path, workers: int | None) -> tuple[pd.DataFrame, str]:
    """The gas sweep: points table and its heatmap of the mean deficit."""
    from sim.plots import sweep_heatmap

    result = sim.run_sweep(SWEEP, out=out, workers=workers)
    points = result.points
    params = load_folder(out, series=False).parameters
    fig = sweep_heatmap(
        points,
        "keepers.0.gas.median",
        "network.gas.after",
        "bad_debt_max",
        parameters=params,
        title="Black Thursday: system deficit over the keepers' gas bids and gas after 12 March",
    )
    return points, _image(fig, "validation-gas-sweep.png")


def sensitivity_table(points: pd.DataFrame) -> str:
    """The sweep's points as a Markdown table."""
    lines = [
        "| keepers' median bid [gwei] | gas after 12 March [gwei] | deficit mean [M Dai] | "
        "5–95 % [M Dai] | zero-bid auctions (mean) | MKR minted (mean) |",
        "|---|---|---|---|---|---|",
    ]
    ordered = points.sort_values(["keepers.0.gas.median", "network.gas.after"])
    for d in ordered.to_dict("records"):
        lines.append(
            f"| {d['keepers.0.gas.median']:g} | {d['network.gas.after']:g} | "
            f"{d['bad_debt_max_mean'] / 1e6:.2f} | "
            f"{d['bad_debt_max_p05'] / 1e6:.2f} – {d['bad_debt_max_p95'] / 1e6:.2f} | "
            f"{d['auctions_zero_bid_mean']:,.0f} | {d['mkr_minted_mean']:,.0f} |"
        )
    return "\n".join(lines)


def counterfactual_table(one: pd.DataFrame, two: pd.DataFrame) -> str:
    """The same figures under Liquidations 1.0 and 2.0, side by side (means and 2.0's range)."""
    lines = [
        "| figure | Liquidations 1.0 mean | Liquidations 2.0 mean | 2.0 5–95 % |",
        "|---|---|---|---|",
    ]
    for rec in RECORD:
        a, b = one[rec.name], two[rec.name]
        lo, hi = b.quantile(0.05), b.quantile(0.95)
        lines.append(
            f"| {rec.label} | {_fmt(float(a.mean()))} | {_fmt(float(b.mean()))} | "
            f"{_fmt(float(lo))} – {_fmt(float(hi))} |"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class Assumption:
    """A parameter of the Black Thursday scenario that is not on record, and two other values."""

    path: str
    status: str
    base: str
    low: str
    high: str
    why: str


#: The parameters of black_thursday_2020.yaml that are assumed, estimated or calibrated and that
#: the block market brought in or made matter, each moved one at a time to a lower and a higher
#: value (every other parameter at its base) over the same seeds.
ASSUMPTIONS = (
    Assumption("network.gas_used.tick", "assumed", "60000", "30000", "120000", "Flipper.tick"),
    Assumption("network.gas_used.poke", "assumed", "250000", "100000", "500000", "oracle poke"),
    Assumption("network.gas_used.frob", "assumed", "300000", "150000", "600000", "vault top-up"),
    Assumption(
        "network.gas_used.close", "forum estimate", "400000", "200000", "800000", "vault unwind"
    ),
    Assumption(
        "network.gas.p90_column",
        "estimated from data",
        "gas_p90_gwei",
        "null",
        "gas_p90_gwei",
        "background spread from the p90 column (low: none, everyone pays the mean)",
    ),
    Assumption("network.gas.after", "assumed", "97", "40", "150", "gas after 12 March [gwei]"),
    Assumption(
        "keepers.0.gas.median", "calibrated", "100", "80", "120", "keepers' median bid [gwei]"
    ),
    Assumption("keepers.0.gas.sigma", "calibrated", "0.4", "0.2", "0.6", "spread of their bids"),
    Assumption("keepers.0.settlement", "assumed", "0s", "0s", "1h", "time to sell won ETH for Dai"),
    Assumption(
        "keepers.1.gas_bid_gwei", "assumed", "300", "150", "500", "the lowballers' gas bid [gwei]"
    ),
)


def one_at_a_time(seeds: int, out: Path, workers: int | None) -> pd.DataFrame:
    """Each assumption at its low and high value over ``seeds`` seeds (base: the same seeds)."""
    rows = []
    base = ensemble(LIQ1, seeds, out / "base", workers=workers)
    for k, a in enumerate(ASSUMPTIONS):
        row = {"assumption": a, "base": base}
        for side in ("low", "high"):
            value = getattr(a, side)
            if value == a.base:
                row[side] = base
                continue
            row[side] = ensemble(
                LIQ1, seeds, out / f"{k}-{side}", [f"{a.path}={value}"], workers=workers
            )
        rows.append(row)
    return pd.DataFrame(rows)


def assumptions_table(oat: pd.DataFrame, seeds: int) -> str:
    """The one-at-a-time sensitivity of the deficit and zero-bid share, as Markdown."""
    lines = [
        "| parameter | status | base | low → deficit [M Dai] | high → deficit [M Dai] | "
        "zero-bid share (low / base / high) |",
        "|---|---|---|---|---|---|",
    ]
    for row in oat.to_dict("records"):
        a = row["assumption"]

        def deficit(runs: pd.DataFrame) -> str:
            d = runs["deficit_mdai"]
            return f"{d.mean():.2f} ({d.quantile(0.05):.2f}–{d.quantile(0.95):.2f})"

        lines.append(
            f"| `{a.path}` ({a.why}) | {a.status} | {a.base} → {deficit(row['base'])} | "
            f"{a.low} → {deficit(row['low'])} | {a.high} → {deficit(row['high'])} | "
            f"{row['low']['zero_bid_share'].mean():.2f} / "
            f"{row['base']['zero_bid_share'].mean():.2f} / "
            f"{row['high']['zero_bid_share'].mean():.2f} |"
        )
    n = seeds * (1 + sum((a.low != a.base) + (a.high != a.base) for a in ASSUMPTIONS))
    lines.append(
        f"\nMean deficit (`bad_debt_max`) and its 5–95 % range over the same {seeds} seeds at every "
        f"value ({n} runs of black_thursday_2020.yaml); each parameter moved alone, the others at "
        "their base. The ranges are the event's randomness (the seeds: the intra-hour price path "
        "and the keepers' bids); the rows are parameter uncertainty."
    )
    return "\n".join(lines)


def counterfactual_table3(one: pd.DataFrame, two: pd.DataFrame, may: pd.DataFrame) -> str:
    """The figures under Liquidations 1.0 and both 2.0 parameter sets (means, 2.0's ranges)."""
    lines = [
        f"| figure | 1.0 (March 2020), mean of {len(one)} runs | 2.0, Sept 2021 | 5–95 % of "
        f"{len(two)} runs | 2.0, May 2021 | 5–95 % of {len(may)} runs |",
        "|---|---|---|---|---|---|",
    ]
    for rec in RECORD:
        cells = [_fmt(float(one[rec.name].mean()))]
        for runs in (two, may):
            b = runs[rec.name]
            cells += [
                _fmt(float(b.mean())),
                f"{_fmt(float(b.quantile(0.05)))} – {_fmt(float(b.quantile(0.95)))}",
            ]
        lines.append(f"| {rec.label} | {' | '.join(cells)} |")
    return "\n".join(lines)


#: The data file with the record's gas columns (hourly mean and 90th percentile of 12 March).
DATA = SCENARIOS / "data" / "black_thursday_2020_hourly.csv"
#: Hours of the hour-by-hour table: 12 March and the first hours of 13 March (ETH's low).
HOURS_SHOWN = 30


def hourly_table(run: object) -> str:
    """The record's gas columns beside the run's blocks, hour by hour, as Markdown."""
    from sim.story import gas_by_hour

    hours = gas_by_hour(run.timeseries).head(HOURS_SHOWN)  # type: ignore[attr-defined]
    record = pd.read_csv(DATA, parse_dates=["timestamp"]).set_index("timestamp")
    lines = [
        "| hour (UTC) | record gas mean / p90 [gwei] | run gas [gwei] | agents' share of the "
        "blocks (hour / fullest minute) | market keepers: txs, minutes priced out | "
        "lowballers: txs |",
        "|---|---|---|---|---|---|",
    ]
    for row in hours.to_dict("records"):
        at = pd.Timestamp(row["hour"]).tz_convert("UTC")
        mean = record["gas_mean_gwei"].get(at, np.nan)
        p90 = record["gas_p90_gwei"].get(at, np.nan)
        rec = "—" if np.isnan(mean) else f"{mean:.0f} / {p90:.0f}"
        lines.append(
            f"| {at:%d %b %H:00} | {rec} | {row['gas_price_gwei']:.0f} | "
            f"{row['agent_share']:.0%} / {row['agent_share_max']:.0%} | "
            f"{row.get('txs.keepers.keeper', 0):,.0f}, "
            f"{row.get('priced_out_minutes.keepers.keeper', 0):.0f} | "
            f"{row.get('txs.keepers.lowballer', 0):,.0f} |"
        )
    return "\n".join(lines)


def story_of(run: object) -> str:
    """The generated story of one run, as Markdown."""
    from sim.story import story

    # Under this page's own heading: the story's title one level down.
    return story(run).markdown().replace("## What happened", "#### What happened", 1)


def reasons_table(batch: Path, runs: pd.DataFrame) -> str:
    """Why the zero-bid auctions went for nothing, counted over every run of the ensemble."""
    from sim.story import CAUSES, zero_bid_causes

    counts: dict[str, int] = {}
    for run_id in runs["run_id"]:
        causes = zero_bid_causes(load_run(batch / "runs" / run_id))["cause"]
        for cause, n in causes.value_counts().items():
            counts[str(cause)] = counts.get(str(cause), 0) + int(n)
    total = sum(counts.values())
    lines = ["| why a zero-bid auction went for nothing | auctions | share |", "|---|---|---|"]
    for cause, label in CAUSES.items():
        if counts.get(cause):
            lines.append(f"| {label} | {counts[cause]:,d} | {counts[cause] / total:.0%} |")
    lines.append(
        f"\n{total:,d} zero-bid auctions over {len(runs)} runs (one per seed); the rules are in "
        "`sim/story.py`'s docstring."
    )
    return "\n".join(lines)


def misses(table: pd.DataFrame) -> str:
    """A plain statement of each figure outside the simulated range, and why."""
    by_label = {rec.label: rec for rec in RECORD}
    out = []
    for row in table.itertuples():
        if not row.inside:
            out.append(f"- **{row.figure}**: {MISS_REASONS[by_label[row.figure].name]}.")
    return "\n".join(out) if out else "Every recorded figure falls inside the simulated range."


def write_doc(sections: dict[str, str], doc: Path = DOC) -> None:
    """Replace each generated section of ``doc`` (between its markers)."""
    text = doc.read_text()
    for name, body in sections.items():
        begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
        head, found, rest = text.partition(begin)
        if not found:
            raise SystemExit(f"{doc}: no marker {begin}")
        _, found, tail = rest.partition(end)
        if not found:
            raise SystemExit(f"{doc}: no marker {end}")
        text = f"{head}{begin}\n{body}\n{end}{tail}"
    doc.write_text(text)


def main(argv: list[str] | None = None) -> int:
    """Run the ensembles and the sensitivity sweep; print and write the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument(
        "--oat-seeds", type=int, default=10, help="seeds per value of the assumptions' sweep"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--scenario", type=Path, default=None, help="calibration: one scenario")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cdpsim-validation-") as tmp:
        if args.scenario is not None:  # calibration: one scenario, printed only
            runs = ensemble(
                args.scenario, args.seeds, Path(tmp) / "b", args.overrides, args.workers
            )
            print(markdown_table(compare(runs)))
            print(f"\n{len(runs)} runs in {time.perf_counter() - started:.0f} s")
            return 0
        one = ensemble(LIQ1, args.seeds, Path(tmp) / "liq1", workers=args.workers)
        two = ensemble(LIQ2, args.seeds, Path(tmp) / "liq2", workers=args.workers)
        may = ensemble(LIQ2_MAY, args.seeds, Path(tmp) / "may", workers=args.workers)
        table1 = compare(one)
        print(markdown_table(table1))
        print(counterfactual_table3(one, two, may))
        # The seed nearest the median deficit stands for the ensemble in the figures and story.
        median = one.iloc[(one["deficit_mdai"] - one["deficit_mdai"].median()).abs().argsort()]
        typical = str(median["run_id"].iloc[0])
        typical_run = load_run(Path(tmp) / "liq1" / "runs" / typical)
        hours = hourly_table(typical_run)
        told = story_of(typical_run)
        reasons = reasons_table(Path(tmp) / "liq1", one)
        print(hours)
        print(told)
        if args.no_write:
            return 0
        overview, fan = figures_of(Path(tmp) / "liq1", typical)
        points, heatmap = sensitivity(Path(tmp) / "gas", args.workers)
        oat = one_at_a_time(args.oat_seeds, Path(tmp) / "oat", args.workers)
    wall = time.perf_counter() - started
    other = table1[[r.name in OTHER_FIGURES for r in RECORD]].reset_index(drop=True)
    other.attrs["n_runs"] = len(one)
    deficit1, deficit2, deficit3 = one["deficit_mdai"], two["deficit_mdai"], may["deficit_mdai"]
    seed_of = int(typical_run.manifest["seed"])
    sections = {
        "how": (
            f"Made by `scripts/validate_black_thursday.py` with {args.seeds} seeds per scenario "
            f"(the batch layer's seeds from master seed 0), the sweep "
            f"`scenarios/sweeps/black_thursday_gas.yaml` and {args.oat_seeds} seeds per value of "
            f"the assumptions' one-at-a-time sweep, in {wall:.0f} s on this machine."
        ),
        "liq1": (
            f"{target_table(one)}\n\nOther figures of the record (not targets), over the same "
            f"{len(one)} runs:\n\n{markdown_table(other)}\n\n{misses(other)}\n\nAuctions per "
            f"run: {one['auctions'].mean():,.0f} (mean).\n\n"
            f"![run overview of one seed]({overview})\n\n![fan chart over the seeds]({fan})"
        ),
        "hours": (
            f"Seed {seed_of}, the run nearest the ensemble's median deficit "
            f"({typical_run.summary['bad_debt_max'] / 1e6:.2f} M Dai).\n\n{hours}"
        ),
        "story": f"{told}\n\n{reasons}",
        "liq2": (
            f"{counterfactual_table3(one, two, may)}\n\nSystem deficit, mean over the same "
            f"{args.seeds} seeds: {deficit1.mean():.2f} M Dai under 1.0, {deficit2.mean():.2f} M "
            f"Dai under the September 2021 Clipper (5–95 %: {deficit2.quantile(0.05):.2f}–"
            f"{deficit2.quantile(0.95):.2f}), {deficit3.mean():.2f} M Dai under the May 2021 one "
            f"({deficit3.quantile(0.05):.2f}–{deficit3.quantile(0.95):.2f})."
        ),
        "sensitivity": f"{sensitivity_table(points)}\n\n![deficit over the gas sweep]({heatmap})",
    }
    write_doc(sections)
    write_doc({"bt-sensitivity": assumptions_table(oat, args.oat_seeds)}, ASSUMPTIONS_DOC)
    print(f"wrote {DOC} and {ASSUMPTIONS_DOC} in {wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
