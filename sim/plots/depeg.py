"""Figures of a PSM stablecoin's depeg: Dai and the stablecoin over time, and a spell-delay sweep.

DataFrames in, a matplotlib Figure out (as every module of :mod:`sim.plots`); the runs and the
sweep are read by the caller (``scripts/validate_usdc_depeg.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.plots.overview import SPELL_COLOUR
from sim.plots.style import (
    date_axis,
    legend,
    new_figure,
    panel_title,
    style,
    styled,
    times,
)


def depeg_runs(
    runs: Mapping[str, pd.DataFrame],
    marks: Sequence[tuple[str, pd.Timestamp]] = (),
    *,
    title: str = "",
) -> Figure:
    """Dai and the stablecoin's price, and the PSM's stablecoin, for runs of one event.

    Args:
        runs: run label → its timeseries (with ``dai_price``, ``psm_gem_price``, ``psm_debt``).
        marks: spells as ``(name, UTC time it took effect)``, drawn as dotted lines.
        title: the figure's title.

    Returns:
        Two panels sharing the time axis: prices [USD] and the PSM's stablecoin [B tokens].
    """
    with styled():
        fig = new_figure(2, 1, sharex=True)
        price_ax, psm_ax = fig.axes
        first = next(iter(runs.values()))
        price_ax.plot(
            times(first),
            first["psm_gem_price"],
            color="0.55",
            linewidth=2.2,
            label="USDC (replayed input)",
        )
        for k, (label, ts) in enumerate(runs.items()):
            look = style(k)
            price_ax.plot(times(ts), ts["dai_price"], **look.line(label=f"Dai, {label}"))
            psm = ts["psm_gem"] if "psm_gem" in ts else ts["psm_debt"]
            psm_ax.plot(times(ts), np.asarray(psm) / 1e9, **look.line(label=label))
            if "psm_line" in ts:
                psm_ax.plot(
                    times(ts),
                    np.asarray(ts["psm_line"]) / 1e9,
                    **look.line(linewidth=0.8, alpha=0.6, label=f"ceiling, {label}"),
                )
        for ax in (price_ax, psm_ax):
            for _name, at in marks:
                ax.axvline(
                    np.datetime64(at.tz_localize(None)),
                    color=SPELL_COLOUR,
                    linestyle=":",
                    linewidth=1.2,
                    zorder=1,
                )
        if marks:
            price_ax.text(
                np.datetime64(marks[0][1].tz_localize(None)),
                price_ax.get_ylim()[0],
                f" {marks[0][0]}",
                color=SPELL_COLOUR,
                fontsize=8,
                va="bottom",
            )
        panel_title(price_ax, "Dai and USDC [USD]")
        panel_title(psm_ax, "USDC in PSM-USDC-A and its ceiling [B tokens]")
        legend(price_ax, loc="lower left")
        legend(psm_ax, loc="upper left")
        date_axis(psm_ax)
        if title:
            fig.suptitle(title)
    return fig


def spell_delay(table: pd.DataFrame, *, on_record_h: float, title: str = "") -> Figure:
    """Outcomes against the delay of a spell (one row per swept delay).

    Args:
        table: columns ``delay_h``, ``dai_low`` [USD], ``psm_inflow`` [Dai] and
            ``psm_depeg_loss`` [USD].
        on_record_h: the delay on record [h], marked.
        title: the figure's title.

    Returns:
        Three panels over the delay [h]: the Dai low, the PSM's inflow, its loss had the
        stablecoin not recovered.
    """
    with styled():
        fig = new_figure(1, 3, height=3.2)
        cols = (
            ("dai_low", 1.0, "Dai low [USD]"),
            ("psm_inflow", 1e9, "USDC the PSM took in [B]"),
            ("psm_depeg_loss", 1e6, "PSM's loss had USDC not recovered [M USD]"),
        )
        for ax, (col, scale, label) in zip(fig.axes, cols, strict=True):
            ax.plot(table["delay_h"], table[col] / scale, **style(0).line(marker="o"))
            ax.axvline(on_record_h, color=SPELL_COLOUR, linestyle=":", linewidth=1.2)
            ax.set_xlabel("spell delay [h]")
            panel_title(ax, label)
        if title:
            fig.suptitle(title)
    return fig
