"""The look every figure shares (sim/plots/style.py): settings applied per figure and never
globally, figures without pyplot, series that differ by more than colour, readable amounts,
time axes, the shared key, legends that keep clear of the data, labels that keep apart.

Read through matplotlib's public API only. How the figures use this look is tested with each
figure (tests/test_overview.py, test_ensemble.py, ...).
"""

from __future__ import annotations

import colorsys
import itertools

import matplotlib as mpl
import matplotlib.colors as mcolors
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.layout_engine import ConstrainedLayoutEngine

from sim.plots import style as st
from tests.test_plots import gray, overlap


def test_the_look_applies_only_while_a_figure_is_drawn():
    before = dict(mpl.rcParams)
    with st.styled():
        for name, value in st.RC.items():
            assert mpl.rcParams[name] == value, name
    assert dict(mpl.rcParams) == before
    with pytest.raises(RuntimeError), st.styled():  # also when drawing fails
        raise RuntimeError("boom")
    assert dict(mpl.rcParams) == before


def test_text_is_never_read_as_tex_math():
    with st.styled():
        fig = st.new_figure(1, 1)
        fig.axes[0].set_title("scenario $\\frac{$ name")  # not valid mathtext
        fig.draw_without_rendering()  # would raise ValueError while parsing it
    assert fig.axes[0].get_title() == "scenario $\\frac{$ name"


def test_a_new_figure_is_a_grid_of_panels_sized_by_its_rows():
    fig = st.new_figure(3, 2)
    assert len(fig.axes) == 6
    assert tuple(fig.get_size_inches()) == pytest.approx(
        (st.FIG_WIDTH_IN, 3 * st.ROW_HEIGHT_IN + 0.9)
    )
    assert isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    tall = st.new_figure(1, 1, height=7.5)
    assert tall.get_size_inches()[1] == pytest.approx(7.5)
    shared = st.new_figure(2, 1, sharex=True)  # passed on to Figure.subplots
    assert shared.axes[0].get_shared_x_axes().joined(shared.axes[0], shared.axes[1])


def test_series_styles_differ_in_colour_line_and_marker():
    n = len(st.LINESTYLES)
    styles = [st.style(k) for k in range(n)]
    assert len({s.color for s in styles}) == n
    assert len({str(s.linestyle) for s in styles}) == n
    assert len({s.marker for s in styles}) == n
    assert [s.color for s in styles] == list(st.OKABE_ITO[:n])  # the palette's order
    assert st.style(len(st.OKABE_ITO)).color == st.style(0).color  # then it cycles
    line = st.style(1).line(linewidth=3, color="0.5")
    assert line == {"color": "0.5", "linestyle": st.LINESTYLES[1], "linewidth": 3}


def test_an_ilk_keeps_one_style_in_the_order_given():
    styles = st.ilk_colours(["WBTC-A", "ETH-A", "WBTC-A"])
    assert list(styles) == ["WBTC-A", "ETH-A"]
    assert styles["WBTC-A"] == st.style(0) and styles["ETH-A"] == st.style(1)


@pytest.mark.parametrize(
    ("values", "scale"),
    [
        ([3.3e8, 1.0], (1e6, "M ")),
        ([999.0], (1.0, "")),
        ([1000.0], (1e3, "k ")),
        ([-2.0e9, 5.0], (1e9, "bn ")),  # by size, negative amounts too
        ([np.nan, 5.0e6, np.inf], (1e6, "M ")),  # NaN and infinity left out
        ([np.nan], (1.0, "")),
        ([], (1.0, "")),
        (pd.Series([2.5e3, 7.0]), (1e3, "k ")),
        (np.array([[1.0, 4.0e9], [2.0, 3.0]]), (1e9, "bn ")),
    ],
)
def test_amounts_are_scaled_by_their_largest_value(values, scale):
    assert st.amount_scale(values) == scale


@pytest.mark.parametrize(
    ("q", "label"), [(0.05, "5 %"), (0.5, "50 %"), (0.95, "95 %"), (0.025, "2.5 %")]
)
def test_quantile_labels(q, label):
    assert st.quantile_label(q) == label


def test_titles_wrap_at_their_width_and_keep_their_line_breaks():
    text = "Ensemble over 12 runs of the batch " * 6 + "\nsecond line"
    wrapped = st.wrap(text, width=40)
    assert all(len(line) <= 40 for line in wrapped.splitlines())
    assert wrapped.splitlines()[-1] == "second line"
    assert wrapped.replace("\n", " ").split() == text.split()
    assert st.wrap("short\nlines") == "short\nlines"


def test_a_flat_amount_axis_is_widened_around_its_middle_and_a_wide_one_left_alone():
    fig = st.new_figure(1, 2)
    flat, wide = fig.axes
    flat.set_ylim(330.0, 330.06)  # a change of 0.02 %
    st.min_relative_span(flat)
    low, high = flat.get_ylim()
    assert high - low == pytest.approx(st.MIN_RELATIVE_SPAN * 330.06)
    assert (low + high) / 2 == pytest.approx(330.03)
    wide.set_ylim(100.0, 300.0)
    st.min_relative_span(wide)
    assert wide.get_ylim() == (100.0, 300.0)
    st.min_relative_span(wide, fraction=2.0)  # a larger fraction widens it too
    assert wide.get_ylim()[1] - wide.get_ylim()[0] == pytest.approx(600.0)


def test_text_takes_a_series_colour_darkened_when_it_is_light():
    for colour in st.TEXT_SAFE:
        assert st.text_colour(colour) == mcolors.to_hex(colour)
    for colour in set(st.OKABE_ITO) - set(st.TEXT_SAFE):
        text = st.text_colour(colour)
        assert gray(text) < gray(colour), colour
        hue = colorsys.rgb_to_hls(*mcolors.to_rgb(colour))[0]
        assert colorsys.rgb_to_hls(*mcolors.to_rgb(text))[0] == pytest.approx(hue, abs=0.01)
    assert gray(st.text_colour(st.YELLOW)) < 0.5  # legible on white


def test_the_shared_key_is_a_legend_row_and_not_a_panel():
    fig = st.new_figure(3, 1)
    panel, spare, key = fig.axes
    panel.plot([0, 1], [0, 1], label="median")
    image = panel.imshow([[0, 1], [1, 0]])
    colorbar = fig.colorbar(image, ax=panel)
    st.key(key, panel.get_lines(), ncols=3)
    assert key.get_label() == st.KEY_LABEL and not key.axison
    assert [t.get_text() for t in key.get_legend().get_texts()] == ["median"]
    assert st.panels(fig) == [panel, spare]  # neither the key nor the colour bar
    assert colorbar.ax in fig.axes
    empty = st.new_figure(1, 1).axes[0]
    st.key(empty, [], ncols=2)
    assert empty.get_legend() is None


def test_a_legend_only_when_something_is_labelled():
    ax = st.new_figure(1, 1).axes[0]
    ax.plot([0, 1], [1, 2])  # unlabelled
    st.legend(ax)
    assert ax.get_legend() is None
    ax.plot([0, 1], [2, 3], label="Dai supply")
    st.legend(ax)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Dai supply"]


def test_notes_titles_and_unused_panels():
    fig = st.new_figure(2, 2)
    st.note(fig.axes[0], "no collateral auctions in this run")
    (text,) = fig.axes[0].texts
    assert text.get_text() == "no collateral auctions in this run"
    assert text.get_position() == (0.5, 0.5) and text.get_ha() == "center"
    st.panel_title(fig.axes[1], "Dai supply")
    assert fig.axes[1].get_title(loc="left") == "Dai supply" and fig.axes[1].get_title() == ""
    kept = fig.axes[:2]
    st.hide_unused(fig.axes[2:])
    assert fig.axes == kept


def test_times_are_naive_utc_on_a_concise_date_axis():
    frame = pd.DataFrame(
        {"time": pd.date_range("2020-03-12 09:00", periods=3, freq="h", tz="Europe/Berlin")}
    )
    expected = pd.date_range("2020-03-12 08:00", periods=3, freq="h").to_numpy()
    np.testing.assert_array_equal(st.times(frame), expected)
    fig = st.new_figure(1, 2)
    st.date_axis(fig.axes[0])
    st.date_axis(fig.axes[1], label=False)
    assert isinstance(fig.axes[0].xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
    assert fig.axes[0].get_xlabel() == "time (UTC)" and fig.axes[1].get_xlabel() == ""


def test_plain_numbers_leave_out_the_offset():
    fig = st.new_figure(1, 2)
    default, plain = fig.axes
    for ax in (default, plain):
        ax.plot([0, 1, 2], [330.01, 330.02, 330.03])
    st.plain_numbers(plain)
    fig.draw_without_rendering()
    assert default.yaxis.get_offset_text().get_text() != ""  # what plain_numbers removes
    assert plain.yaxis.get_offset_text().get_text() == ""
    log = st.new_figure(1, 1).axes[0]
    log.set_yscale("log")
    st.plain_numbers(log)  # no offset to remove: nothing happens


def _crowded(fig, *, room: bool) -> tuple:
    """A panel whose data reach the top, with a legend of four entries along its top."""
    ax = fig.axes[0]
    x = np.linspace(0, 1, 50)
    for k in range(4):
        ax.plot(x, x * (1 + k / 10), label=f"series {k}")
    st.top_legend(ax, ncols=1)
    if room:
        st.make_room(fig)
    fig.draw_without_rendering()
    data_top = ax.transData.transform((1.0, 1.3))[1]
    return data_top, ax.get_legend().get_window_extent().y0


def test_a_top_legend_gets_room_above_the_data():
    data_top, legend_bottom = _crowded(st.new_figure(1, 1), room=False)
    assert data_top > legend_bottom  # without make_room the legend covers the data
    data_top, legend_bottom = _crowded(st.new_figure(1, 1), room=True)
    assert data_top < legend_bottom
    plain = st.new_figure(1, 1)
    plain.axes[0].plot([0, 1], [0, 1], label="x")
    st.legend(plain.axes[0])
    limits = plain.axes[0].get_ylim()
    st.make_room(plain)  # no top legend: nothing moves
    assert plain.axes[0].get_ylim() == limits


def test_repelled_labels_keep_apart_and_inside_the_panel():
    fig = st.new_figure(1, 1)
    ax = fig.axes[0]
    xs, ys = [1.0, 1.02, 1.04, 1.06, 2.0], [1.0, 1.01, 0.99, 1.0, 2.0]
    ax.scatter(xs, ys)
    ax.set_xlim(0.5, 2.5)
    ax.set_ylim(0.5, 2.5)
    texts = ["ilks.ETH-A.liquidation.buf", "keepers.0.dai", "debt_scale", "tail", "far"]
    colours = [st.style(k).color for k in range(len(texts))]
    labels = st.repel_labels(ax, xs, ys, texts, colours)
    assert [a.get_text() for a in labels] == texts
    assert [a.get_color() for a in labels] == [st.text_colour(c) for c in colours]
    fig.draw_without_rendering()
    boxes = [a.get_window_extent() for a in labels]
    for a, b in itertools.combinations(boxes, 2):
        assert not overlap(a, b)
    frame = ax.get_window_extent()
    for box in boxes:
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1
