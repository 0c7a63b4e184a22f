"""The path toolkit (sim/scenario/paths.py): fields and values along a path, for any root model,
the units and labels the schema gives its fields, and an error location in the user's words.
"""

from __future__ import annotations

import re
import typing
from typing import Any

import pytest
from pydantic import BaseModel

from sim.experiments.sweep_schema import SobolDesign, SweepFile
from sim.scenario import load_scenario
from sim.scenario.paths import (
    allowed_fields,
    data_path,
    field_at,
    field_path,
    parts_of,
    unwrap,
    value_at,
)
from sim.scenario.schema import (
    ClipLiquidation,
    FlipLiquidation,
    GbmPrice,
    Scenario,
    ScriptedPrice,
    System,
)
from tests.conftest import SCENARIOS


def test_a_path_leads_to_its_field_with_the_named_entries_on_the_way():
    found = field_at(Scenario, "ilks.ETH-A.liquidation.buf")
    assert found is not None
    assert (found.name, found.section, found.keys) == ("buf", ClipLiquidation, (("ilks", "ETH-A"),))
    assert (found.unit, found.label) == ("-", "start price over OSM")
    assert found.info.default == 1.30
    keeper = field_at(Scenario, "keepers.0.dai")
    assert keeper is not None and keeper.keys == (("keepers", 0),)
    by_name = field_at(Scenario, ("keepers", "kp", "dai"))  # a list item by name, as --set
    assert by_name is not None and by_name.keys == (("keepers", "kp"),)


@pytest.mark.parametrize(
    "path",
    [
        "ilks.ETH-A",  # a named entry, not a field
        "keepers.0",  # a list item
        "ilks.ETH-A.matt",
        "ilks.ETH-A.mat.x",  # through a value
        "nothing",
        "collateral.ETH.price.points.0.1",  # inside a [time, price] pair
    ],
)
def test_a_path_that_ends_at_no_field_gives_none(path):
    assert field_at(Scenario, path) is None


def test_a_union_is_picked_by_the_datas_tag_else_by_the_first_member_with_the_field():
    path = "ilks.ETH-A.liquidation.chop"
    assert field_at(Scenario, path).section is ClipLiquidation
    flip = {"ilks": {"ETH-A": {"liquidation": {"engine": "flip"}}}}
    assert field_at(Scenario, path, flip).section is FlipLiquidation
    assert field_at(Scenario, "ilks.ETH-A.liquidation.lump").section is FlipLiquidation
    thursday = load_scenario(SCENARIOS / "black_thursday_2020.yaml")  # a model instance
    assert field_at(Scenario, path, thursday).section is FlipLiquidation
    price = "collateral.ETH.price.vol"
    assert field_at(Scenario, price).section is GbmPrice
    scripted = {"collateral": {"ETH": {"price": {"process": "scripted"}}}}
    assert field_at(Scenario, price, scripted).section is ScriptedPrice


def test_any_root_model():
    design = field_at(SweepFile, "design.n", {"design": {"kind": "sobol"}})
    assert design is not None and design.section is SobolDesign
    assert allowed_fields(("design", "sobol", "sed"), SweepFile) == tuple(SobolDesign.model_fields)
    assert allowed_fields(("parameters", "x", "rnage"), SweepFile)[:2] == ("range", "values")
    assert "clock" in allowed_fields(("colour",))  # the scenario by default


def test_units_come_from_the_field_or_its_type():
    assert field_at(Scenario, "system.Line").unit == "Dai"  # inside `| None`, on the field
    assert field_at(Scenario, "record.vault_snapshot_every").unit == "s"  # the type's, optional
    assert field_at(Scenario, "system.par").unit == "USD"  # the field's over its type's
    assert field_at(Scenario, "collateral.ETH.price.start").unit == "USD/token"
    assert field_at(Scenario, "seed").unit is None  # an identifier, no quantity
    fee = field_at(Scenario, "ilks.ETH-A.stability_fee")
    assert (fee.unit, fee.label, fee.title) == ("1/yr", None, "stability fee")


def _numeric(tp: Any) -> bool:
    inner = unwrap(tp)
    return inner in (int, float) and inner is not bool


def _fields() -> list[tuple[type[BaseModel], str]]:
    """Every field of every section of the scenario schema."""
    seen: list[type[BaseModel]] = []
    todo: list[Any] = [Scenario]
    while todo:
        tp = todo.pop()
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp in seen:
                continue
            seen.append(tp)
            todo += [f.annotation for f in tp.model_fields.values()]
        else:
            todo += list(typing.get_args(tp))
    return [(m, name) for m in seen for name, f in m.model_fields.items() if not f.exclude]


def test_every_number_of_the_scenario_schema_has_a_unit_and_its_description_agrees():
    """One place for a field's unit: its metadata; a ``[unit]`` in its description says the same."""
    fields = _fields()
    assert len(fields) > 150
    for model, name in fields:
        info = model.model_fields[name]
        found = field_at(model, name)
        if _numeric(info.annotation) and name != "seed":
            assert found.unit, f"{model.__name__}.{name} has no unit"
        bracketed = re.search(r"\[([^\]]+)\]", info.description or "")
        if bracketed:
            assert found.unit == bracketed.group(1), f"{model.__name__}.{name}"
        if found.label is not None:
            assert "," not in found.label  # an axis label adds ", ETH-A" after it


def test_value_at_reads_data_and_models():
    scenario = load_scenario(SCENARIOS / "eth_crash_liq2.yaml")
    data = scenario.to_dict()
    for path in ("ilks.ETH-A.mat", "keepers.0.dai", "collateral.ETH.price.crash.depth"):
        assert value_at(scenario, path) == value_at(data, path) is not None
    assert value_at(data, ("borrowers", 0, "debt")) == scenario.borrowers[0].debt
    assert value_at(scenario, "system") is scenario.system and isinstance(scenario.system, System)
    for missing in ("keepers.9.dai", "ilks.ETH-B.mat", "ilks.ETH-A.mat.x", "dai.depth_usd_2pct"):
        assert value_at(scenario, missing) is None and value_at(data, missing) is None
    assert value_at(scenario, "to_dict") is None  # methods are not fields


def test_parts_of_a_path():
    assert parts_of("ilks. ETH-A .mat") == ("ilks", "ETH-A", "mat")
    assert parts_of(("keepers", 0, "dai")) == ("keepers", 0, "dai")


def test_an_error_location_in_the_users_words():
    data = {"collateral": {"ETH": {"price": {"process": "gbm", "vol": "x"}}}, "seeds": [1, "a"]}
    loc = ("collateral", "ETH", "price", "gbm", "vol")
    assert field_path(loc, data) == "collateral.ETH.price.vol"  # the union's tag left out
    assert data_path(loc, data) == ("collateral", "ETH", "price", "vol")
    missing = ("collateral", "ETH", "price", "gbm", "start")
    assert field_path(missing, data) == "collateral.ETH.price.start"
    assert data_path(missing, data) == ("collateral", "ETH", "price")
    # pydantic's labels of union members and validators are left out; a bad key is said so
    assert field_path(("seeds", "list[int]", 1), data) == "seeds.1"
    assert field_path(("seeds", "constrained-int"), data) == "seeds"
    bad_key = {"ilks": {"bad key!": {}}}
    assert field_path(("ilks", "bad key!", "[key]"), bad_key) == "ilks.bad key!.[key]"
