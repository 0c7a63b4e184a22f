"""The depeg figures (sim/plots/depeg.py) draw what they are given."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.plots.depeg import depeg_runs, spell_delay


def _run(dai_low: float) -> pd.DataFrame:
    time = pd.date_range("2023-03-10", periods=5, freq="h", tz="UTC")
    return pd.DataFrame(
        {
            "time": time,
            "dai_price": [1.0, dai_low, 0.95, 0.99, 1.0],
            "psm_gem_price": [1.0, 0.88, 0.92, 0.99, 1.0],
            "psm_debt": [3e9, 3.5e9, 3.9e9, 3.9e9, 3.8e9],
            "psm_gem": [3e9, 3.5e9, 3.9e9, 3.9e9, 3.8e9],
            "psm_line": [4e9, 4e9, 4e9, 4.2e9, 4.2e9],
        }
    )


def test_depeg_runs_draws_each_run_and_the_spell():
    mark = ("spell", pd.Timestamp("2023-03-10T02:00:00Z"))
    fig = depeg_runs({"with": _run(0.88), "without": _run(0.9)}, [mark], title="t")
    price_ax, psm_ax = fig.axes[:2]
    lows = sorted(float(np.min(line.get_ydata())) for line in price_ax.get_lines()[1:3])
    assert lows == [0.88, 0.9]
    assert any(line.get_linestyle() == ":" for line in psm_ax.get_lines())  # the spell's mark
    assert max(float(np.max(line.get_ydata())) for line in psm_ax.get_lines()[:1]) == 3.9


def test_spell_delay_has_a_panel_per_outcome_over_the_delay():
    table = pd.DataFrame(
        {
            "delay_h": [0, 24, 48],
            "dai_low": [0.88] * 3,
            "psm_inflow": [1e9, 1.2e9, 1.5e9],
            "psm_depeg_loss": [5e7, 6e7, 9e7],
        }
    )
    fig = spell_delay(table, on_record_h=48)
    assert len(fig.axes) == 3
    assert list(fig.axes[1].get_lines()[0].get_ydata()) == [1.0, 1.2, 1.5]
