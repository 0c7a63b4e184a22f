"""Axis labels (sim/plots/labels.py): a KPI with its unit; a swept parameter by its schema
field's label and unit, read through the path toolkit; counts with their noun.
"""

from __future__ import annotations

import pytest

from sim.plots.labels import (
    ParameterLabel,
    counted,
    kpi_label,
    kpi_unit,
    parameter_info,
    parameter_infos,
    parameter_label,
)


@pytest.mark.parametrize(
    ("name", "spec", "label"),
    [
        ("ilks.ETH-A.line", None, "debt ceiling (ETH-A) [Dai]"),
        ("ilks.ETH-A.liquidation.buf", None, "start price over OSM (ETH-A) [-]"),
        ("ilks.ETH-A.liquidation.tail", None, "auction reset time (ETH-A) [s]"),
        ("ilks.ETH-A.stability_fee", None, "stability fee (ETH-A) [1/yr]"),
        (
            "collateral.ETH.market.depth_usd_2pct",
            None,
            "market depth per 2 % move (ETH) [USD]",
        ),
        ("ilks.ETH-A.liquidation.lump", None, "collateral per bite (ETH-A) [tokens]"),
        ("collateral.ETH.price.crash.depth", None, "crash depth (ETH) [-]"),
        ("keepers.0.dai", None, "capital per keeper (keepers 0) [Dai]"),
        ("borrowers.1.strategy.trigger", None, "trigger CR (borrowers 1) [-]"),
        ("system.vow.flop.beg", None, "minimum bid increase (system.vow.flop) [-]"),
        ("system.vow.sump", None, "debt auction bid (system.vow) [Dai]"),
        ("seed", None, "seed [-]"),
        ("debt", {"kind": "scale", "paths": ["borrowers.0.debt"]}, "debt [× base value]"),
        ("tail", {"kind": "value", "unit": "s", "paths": ["x"]}, "tail [s]"),
        (
            "t",
            {"kind": "value", "unit": "s", "paths": ["ilks.ETH-A.liquidation.tail"]},
            "auction reset time (ETH-A) [s]",
        ),
        ("no.such.field", None, "no.such.field [-]"),
    ],
)
def test_parameter_labels_carry_the_schema_label_and_unit(name, spec, label):
    assert parameter_label(name, spec) == label


def test_kpi_labels_carry_units():
    assert kpi_label("bad_debt_max", "mean", "M ") == "bad_debt_max, mean [M Dai]"
    assert kpi_label("auctions", "p50") == "auctions, median [count]"
    assert kpi_label("bad_debt_var95") == "bad_debt_var95 [Dai]"
    assert kpi_label("p_bad_debt") == "p_bad_debt [-]"
    assert kpi_label("p_bad_debt", prefix="k") == "p_bad_debt [× k]"
    assert kpi_unit("liquidated_debt_p95") == "Dai" and kpi_unit("n_failed") == "count"


def test_counted_nouns():
    assert counted(1, "run") == "1 run"
    assert counted(3, "run") == "3 runs"
    assert counted(2, "analysis", "analyses") == "2 analyses"


def test_a_parameter_s_info_keeps_its_path_for_small_type():
    """One function names a sweep parameter in every figure: label, unit and the path under it."""
    assert parameter_info("collateral.ETH.price.crash.depth") == ParameterLabel(
        "crash depth (ETH)", "-", "collateral.ETH.price.crash.depth"
    )
    tips = {"paths": ["ilks.ETH-A.liquidation.tip", "ilks.WBTC-A.liquidation.tip"]}
    both = parameter_info("tip", tips)
    assert both.text == "flat keeper reward (ETH-A, WBTC-A) [Dai]"
    assert both.path == "ilks.ETH-A.liquidation.tip, ilks.WBTC-A.liquidation.tip"
    assert parameter_info("seed").path is None  # the name is the path: nothing to add
    named = parameter_infos([{"name": "d", "paths": ["borrowers.0.debt"], "kind": "scale"}], ["d"])
    assert named["d"] == ParameterLabel("d", "× base value", "borrowers.0.debt")
