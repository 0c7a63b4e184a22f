"""Tests of the validation gallery (sim/gallery.py): its cases, timings, table and document."""

from __future__ import annotations

import numpy as np
import pytest

from sim import gallery as g
from sim.protocol.clip import Curve


# ---------------------------------------------------------------------------------- timing
def test_first_time_finds_the_first_second_a_condition_holds():
    assert g.first_time(lambda t: t >= 41.5, horizon=100.0) == 42.0
    assert g.first_time(lambda t: t >= 0.0, horizon=10.0) == 0.0
    assert g.first_time(lambda t: t > 1e9, horizon=100.0) is None
    assert g.first_time(lambda t: t >= 0.25, horizon=1.0, resolution=0.125) == 0.25
    with pytest.raises(ValueError):
        g.first_time(lambda t: t > 0, horizon=10.0, resolution=0.0)


def test_a_linear_sale_reaches_the_osm_price_when_checked_by_hand():
    """Linear to zero over 1000 s from top = 1.25 · OSM: price = OSM at 200 s exactly."""
    sale = g.liquidated_sale(
        buf=1.25, curve=Curve("linear", tau=1000.0), tail=np.inf, cusp=0.0, chop=1.13, mat=1.5
    )
    # 1.25 · (1000 − t)/1000 ≤ 1  ⇔  t ≥ 200
    assert sale.reaches_osm() == 200.0
    assert sale.needs_reset() is None  # no tail, no cusp: never within the horizon
    np.testing.assert_allclose(sale.price_over_osm(np.array([0.0, 200.0, 600.0])), [1.25, 1, 0.5])


def test_a_stairstep_sale_checked_by_hand():
    """0.5 every 10 s from top = 3 · OSM: 3, 1.5, 0.75 → at OSM or below from 20 s (2 stairs);
    cusp 0.2 of top: 0.5^3 = 0.125 < 0.2 at 30 s; tail 25 s: a reset is due at 26 s first."""
    curve = Curve("stairstep", cut=0.5, step=10.0)
    sale = g.liquidated_sale(buf=3.0, curve=curve, tail=np.inf, cusp=0.2, chop=1.13, mat=1.5)
    assert sale.reaches_osm() == 20.0
    assert sale.needs_reset() == 30.0
    tailed = g.liquidated_sale(buf=3.0, curve=curve, tail=25.0, cusp=0.2, chop=1.13, mat=1.5)
    assert tailed.needs_reset() == 26.0  # dss: elapsed > tail


def test_the_sale_status_is_the_clippers_own():
    sale = g.liquidated_sale(
        buf=1.3,
        curve=Curve("stairstep", cut=0.99, step=90.0),
        tail=8400.0,
        cusp=0.4,
        chop=1.13,
        mat=1.5,
    )
    times = np.array([0.0, 89.0, 90.0, 2430.0, 8279.0, 8280.0, 8401.0])
    done, price = sale.status(times)
    for k, t in enumerate(times):
        one_done, one_price = sale.clip.status(np.array([sale.id]), float(t))
        assert done[k] == one_done[0] and price[k] == one_price[0]


def test_a_vault_at_the_liquidation_ratio_is_barked():
    sale = g.liquidated_sale(
        buf=1.2,
        curve=Curve("stairstep", cut=0.99, step=60.0),
        tail=5400.0,
        cusp=0.4,
        chop=1.13,
        mat=1.3,
    )
    assert sale.clip.due[sale.id] == pytest.approx(sale.debt)
    assert sale.clip.tab[sale.id] == pytest.approx(1.13 * sale.debt)
    assert sale.vat.check() == []


# ---------------------------------------------------------------------------------- cases
@pytest.fixture(scope="module")
def exact_rows() -> list[g.Case]:
    return [
        row
        for name in ("eth_a_2021", "eth_b_2021", "gauntlet_2021", "liquidations_1_0")
        for row in g.compute_group(name)
    ]


def test_every_exact_case_passes(exact_rows):
    assert len(exact_rows) == 8
    assert all(row.kind == "exact" and row.n_runs == 1 for row in exact_rows)
    assert g.exact_failures(exact_rows) == [], [(r.name, r.record, r.result) for r in exact_rows]


def test_the_exact_results_are_the_stairs_dss_gives(exact_rows):
    """40.5 min = 27 × 90 s (1.30 · 0.99^27 ≈ 0.991 ≤ 1 < 1.30 · 0.99^26); 138 min = 92 × 90 s
    (0.99^92 < 0.40 ≤ 0.99^91); 19 min = 19 × 60 s; 16 min = 32 × 30 s."""
    results = {row.name: row.result for row in exact_rows}
    assert 1.30 * 0.99**27 <= 1 < 1.30 * 0.99**26 and 0.99**92 < 0.40 <= 0.99**91
    assert results["ETH-A 2021 (buf 1.30, 0.99 / 90 s): price reaches the OSM price"] == "40.5 min"
    assert results["ETH-A 2021: reset at the cusp (0.40 of top)"] == "138.0 min"
    assert results["ETH-B June 2021 (buf 1.20, 0.99 / 60 s): price reaches the OSM price"] == (
        "19.0 min"
    )
    assert results["Gauntlet 2021 (buf 1.10, 0.997 / 30 s): price reaches the OSM price"] == (
        "16.0 min"
    )
    assert results["ETH-B June 2021: OSM price at the auction reset"] == "48.57 %"
    assert results["ETH-B June 2021: Maker's loss on a 130 % vault at the lowest price"] == (
        "-36.86 %"
    )
    assert results["Liquidations 1.0: largest share of collateral returned to the owner"] == (
        f"{100 * (1 - 1.13 / 1.50):.4f} %"
    )


def test_the_throughput_case_runs_the_scenario_and_falls_in_its_band():
    (row,) = g.throughput_nov2021()
    assert row.kind == "throughput" and row.n_runs == 1
    assert row.passed is True, (row.result, row.note)
    assert "580 M Dai of debt" in row.note


def test_a_missing_throughput_scenario_is_an_error(tmp_path):
    with pytest.raises(g.GalleryError, match="missing"):
        g.throughput_nov2021(tmp_path / "nope.yaml")


def test_event_rows_are_appended_after_the_computed_ones(monkeypatch):
    exact = g.Case("e", "exact", "s", "1", "1", passed=True)
    monkeypatch.setattr(g, "GROUPS", {"one": lambda: [exact]})
    event = g.Case("Black Thursday", "in_sample", "s", "5.4 M", "14 M", n_runs=20, passed=False)
    assert g.gallery_rows([event]) == [exact, event]


def test_a_case_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        g.Case("x", "guess", "s", "r", "m")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------- the table
def test_the_table_has_a_row_per_case_and_escapes_pipes():
    rows = [
        g.Case("a | b", "exact", "[src](http://x)", "1 ± 0", "1", passed=True, note="n\nm"),
        g.Case("c", "out_of_sample", "s", "2", "3", n_runs=10, passed=False),
        g.Case("d", "in_sample", "s", "2", "3", n_runs=10, passed=None),
    ]
    lines = g.gallery(rows).splitlines()
    assert lines[0].startswith("| case | kind | record | model | runs | pass |")
    assert len(lines) == 2 + len(rows)
    assert lines[2] == "| a \\| b | exact | 1 ± 0 | 1 | 1 | yes | [src](http://x) | n m |"
    assert "| out-of-sample |" in lines[3] and "| 10 | **no** |" in lines[3]
    assert "| — |" in lines[4]


DOC = """# Title

intro

<!-- gallery:begin -->
old table
<!-- gallery:end -->

## Rest

kept | as it is
"""


def test_the_writer_replaces_only_between_the_markers(tmp_path):
    doc = tmp_path / "VALIDATION.md"
    doc.write_text(DOC)
    g.write_gallery("| new |", doc)
    text = doc.read_text()
    head, rest = DOC.split("old table\n")
    assert text == head + "| new |\n" + rest
    g.write_gallery("| new |", doc)  # again: the same document
    assert doc.read_text() == text


@pytest.mark.parametrize(
    "text",
    [
        "no markers\n",
        "<!-- gallery:begin -->\nonly the begin\n",
        "<!-- gallery:end -->\n<!-- gallery:begin -->\n",
        "<!-- gallery:begin -->\n<!-- gallery:end -->\n<!-- gallery:begin -->\n",
    ],
)
def test_the_writer_refuses_a_document_without_its_markers(tmp_path, text):
    doc = tmp_path / "VALIDATION.md"
    doc.write_text(text)
    with pytest.raises(g.GalleryError):
        g.write_gallery("| new |", doc)
    assert doc.read_text() == text


def test_the_document_has_the_markers_once():
    text = g.DOC.read_text()
    assert text.count(g.BEGIN) == 1 and text.count(g.END) == 1
    assert text.index("## Validation gallery") < text.index(g.BEGIN) < text.index(g.END)
