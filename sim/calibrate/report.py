"""A calibration's summary as Markdown (``summary.md``): posterior, acceptance, joint fit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from sim.calibrate.spec import Calibration
from sim.metrics import tail_warning


def fmt(value: float) -> str:
    """A number in a table: 3–4 significant figures, thousands separated."""
    if value != value:  # NaN
        return "–"
    a = abs(value)
    if a >= 1e6:
        return f"{value / 1e6:,.2f} M"
    if a >= 1000:
        return f"{value:,.0f}"
    if a >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def _prior(record: Mapping[str, Any]) -> str:
    low, high = record["range"]
    return f"{record.get('dist') or 'uniform'} [{fmt(low)}, {fmt(high)}]"


def few_runs_note(n: int) -> str:
    """The warning for quantiles resting on ``n`` runs (empty when there are enough)."""
    warning = tail_warning(n, "the 5 % and 95 % quantiles")
    return "" if warning is None else f"*{warning[0].upper()}{warning[1:]}.*"


def targets_table(scored: Mapping[str, Any]) -> str:
    """One row per target: record, band, runs' median and 5–95 %, inside share, p-value."""
    n = scored["n_runs"]
    has_split = any("param_share" in t for t in scored["targets"].values())
    head = f"| target | record | band | median | 5–95 % of {n} runs | inside band | p-value |" + (
        " parameter share of spread |" if has_split else ""
    )
    lines = [head, "|" + "---|" * (7 + has_split)]
    for name, t in scored["targets"].items():
        row = (
            f"| {name} | {fmt(t['record'])} | {fmt(t['band'][0])} – {fmt(t['band'][1])} | "
            f"{fmt(t['p50'])} | {fmt(t['p05'])} – {fmt(t['p95'])} | {t['inside']:.0%} | "
            f"{t['p_value']:.2f} |"
        )
        if has_split:
            share = t.get("param_share", float("nan"))
            row += " – |" if share != share else f" {share:.0%} |"
        lines.append(row)
    return "\n".join(lines)


def joint_lines(scored: Mapping[str, Any]) -> str:
    """The joint fit in two sentences."""
    d = scored["distance"]
    return (
        f"**{scored['joint_inside']} of {scored['n_runs']} runs** "
        f"({scored['joint_fit']:.0%}) fall inside every target's band at once. Combined "
        f"distance ({d['how']}; 1 = a band's edge): median {fmt(d['p50'])}, 5–95 % "
        f"{fmt(d['p05'])} – {fmt(d['p95'])} ({scored['n_runs']} runs)."
    )


def summary_markdown(
    calibration: Calibration, summary: Mapping[str, Any], history: pd.DataFrame
) -> str:
    """The whole ``summary.md``."""
    method = calibration.method
    pp = summary["predictive"]
    out = [
        f"# Calibration `{calibration.name}`",
        "",
        calibration.description,
        "",
        f"ABC-SMC (pyabc) on `{calibration.checked.base_file.name}`: {summary['generations']} "
        f"generations of {method.population} particles, {summary['simulations']} simulations, "
        f"final tolerance ε = {fmt(summary['epsilon'])} ({method.distance} of the targets' "
        f"band-scaled distances), {summary['wall_time_s'] / 60:.1f} min.",
        "",
        "## Posterior",
        "",
        f"| parameter | prior | median | 5–95 % of {summary['population']} particles |",
        "|---|---|---|---|",
    ]
    for name, p in summary["parameters"].items():
        out.append(
            f"| `{name}` | {_prior(p['prior'])} | {fmt(p['median'])} | "
            f"{fmt(p['p05'])} – {fmt(p['p95'])} |"
        )
    out += [
        "",
        "## Acceptance history",
        "",
        "| generation | ε | particles | simulations | acceptance rate |",
        "|---|---|---|---|---|",
    ]
    for row in history.itertuples(index=False):
        out.append(
            f"| {row.generation} | {fmt(row.epsilon)} | {row.particles} | {row.simulations} | "
            f"{row.acceptance_rate:.0%} |"
        )
    out += [
        "",
        "## Joint fit: posterior-predictive runs",
        "",
        f"Each run takes one parameter set drawn from the posterior (by weight) and its own seed. "
        f"The spread is parameter uncertainty and event randomness together; the last column is "
        f"the share of each statistic's variance the parameters explain (1 − variance over "
        f"{summary.get('fixed_runs', method.fixed_seeds)} seeds at the "
        "posterior median / variance over these runs).",
        "",
        joint_lines(pp),
        "",
        targets_table(pp),
    ]
    note = few_runs_note(pp["n_runs"])
    if note:
        out += ["", note]
    out += ["", "Sources of the targets:", ""]
    for name, t in calibration.targets.items():
        out.append(f"- **{name}**: {t.source}" + (f" ({t.note})" if t.note else ""))
    return "\n".join(out) + "\n"
