"""The scenario-discovery figure (sim/plots/discovery.py): PRIM's box beside CART's.

Synthetic box tables with the discovery files' columns; the figure a real sweep folder gets
(the missing method found from its runs table) is tested in tests/test_figures.py.
"""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.container import BarContainer

from sim.plots import discovery_boxes
from sim.plots import style as st
from sim.plots.discovery import limits_text, parameter_spans
from sim.plots.sweep import SweepPlotError
from tests.test_plots import data_axes, drawn, has_unit, labels
from tests.test_plots_sweep import (
    BUF,
    BUF_LABEL,
    DAI,
    DAI_LABEL,
    PARAMETERS,
    SCALE,
    boxes,
    trajectory,
)


def cart_boxes() -> pd.DataFrame:
    """One CART leaf restricting the keepers' Dai only."""
    return (
        boxes()
        .assign(method="cart")
        .query("box == 0")
        .assign(
            lower=lambda t: t["lower"].where(t["parameter"] == DAI, t["lower"]),
        )
    )


def test_prim_box_is_drawn_beside_the_cart_boxes():
    both = pd.concat([cart_boxes(), boxes()], ignore_index=True)
    fig = drawn(
        discovery_boxes(
            both,
            trajectory(),
            parameters=PARAMETERS,
            title="bad debt above 1 M",
            methods=["cart", "prim"],
        )
    )
    trade, cart, prim = data_axes(fig)
    assert has_unit(trade.get_xlabel()) and has_unit(trade.get_ylabel())
    assert "PRIM peeling trajectory (each step: a smaller box)" in labels(trade)
    assert {"cart box 0", "prim box 0", "prim box 1"} <= set(labels(trade))
    assert len([c for c in trade.collections if isinstance(c, PathCollection)]) == 3
    assert cart.get_title(loc="left").startswith("CART boxes")
    assert prim.get_title(loc="left").startswith("PRIM box")
    bars = {
        ax: [p for c in ax.containers if isinstance(c, BarContainer) for p in c]
        for ax in (cart, prim)
    }
    assert len(bars[cart]) == 3 and len(bars[prim]) == 6  # 1 CART box, 2 PRIM boxes × 3 parameters
    assert set(labels(cart)) == {"cart box 0"} and set(labels(prim)) == {"prim box 0", "prim box 1"}
    # the rows are named once, on CART's panel, by the schema labels with the paths under them
    names = [t.get_text() for t in cart.texts if t.get_gid() == st.ROW_NAME_GID]
    assert names == [BUF_LABEL, DAI_LABEL, f"{SCALE} [× base value]"]
    paths = [t.get_text() for t in cart.texts if t.get_gid() == st.PATH_GID]
    assert paths == [BUF, DAI, "borrowers.0.debt"]
    assert not [t for t in prim.texts if t.get_gid() == st.ROW_NAME_GID]
    assert cart.get_ylim() == prim.get_ylim()  # the same rows side by side
    texts = {t.get_text() for t in prim.texts}
    assert "1.35 – 1.5" in texts and "1 M – 6 M Dai" in texts  # limits with units and scale
    assert not any(t.startswith("0.5") for t in texts)  # unrestricted: not labelled


def test_a_method_without_a_box_says_why_in_its_panel():
    fig = discovery_boxes(
        boxes(),
        trajectory(),
        parameters=PARAMETERS,
        methods=["cart", "prim"],
        notes={"cart": "no leaf of the tree in which more than half of the runs are cases"},
    )
    _trade, cart, prim = data_axes(fig)
    said = " ".join(t.get_text() for t in cart.texts).replace("\n", " ")
    assert "No leaf of the tree in which more than half of the runs are cases" in said
    assert [p for c in prim.containers if isinstance(c, BarContainer) for p in c]


def test_no_box_at_all_is_one_note_or_an_error():
    note = "no run is above the threshold"
    fig = discovery_boxes(boxes().iloc[0:0], note=note, methods=["cart", "prim"])
    assert [t.get_text() for ax in fig.axes for t in ax.texts] == ["No run is above the threshold"]
    with pytest.raises(SweepPlotError, match="no boxes"):
        discovery_boxes(boxes().iloc[0:0])


def test_limits_and_spans_read_in_the_parameter_s_unit():
    assert limits_text(1e6, 6e6, "Dai") == "1 M – 6 M Dai"
    assert limits_text(1800, 7200, "s") == "30m – 2h"
    assert limits_text(1.05, 1.5, "-") == "1.05 – 1.5"
    spans = parameter_spans(PARAMETERS)
    assert spans[DAI] == (1e6, 2e7) and spans[BUF] == (1.05, 1.5)
