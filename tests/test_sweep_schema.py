"""The sweep file's schema (sim/experiments/sweep_schema.py): each field on its own, its
messages in the user's words, worded as a scenario file's are ("did you mean" included).
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sim.experiments.sweep_schema import SweepFile, quoted
from sim.scenario.messages import schema_errors
from tests.test_sweep import GRID, errors_of, write


def schema_messages(data: dict) -> list[str]:
    """The schema's messages of sweep data, located nowhere."""
    with pytest.raises(ValidationError) as caught:
        SweepFile.model_validate(data)
    items, _ = schema_errors(caught.value, data, lambda path: ("s.yaml", None), SweepFile)
    return [str(item) for item in items]


@pytest.mark.parametrize(
    "seeds, message",
    [
        ("0", "the number of seeds every point runs with is 1 to 1,000,000 (got 0)"),
        ("[3, -1]", "a seed is an integer from 0 to 18446744073709551615 (got -1)"),
        ("[3, 3]", "the seed list repeats a seed"),
        ("2.5", "give a number of seeds or a list of seeds such as [1, 5, 9] (got 2.5)"),
    ],
)
def test_a_bad_seeds_field_is_one_message_in_the_users_words(tmp_path, seeds, message):
    path = write(tmp_path, GRID.replace("seeds: 2", f"seeds: {seeds}"))
    assert errors_of(path) == [f"{path}:8: seeds: {message}"]


def test_an_unknown_key_of_a_sweep_file_gets_the_closest_field(tmp_path):
    text = GRID.replace("{kind: grid}", "{kind: grid, level: 3}").replace(
        "{values: [1.3, 1.5]}", "{vales: [1.3, 1.5]}"
    )
    path = write(tmp_path, text.replace("kpis:", "kpi:"))
    assert errors_of(path) == [
        f"{path}:4: design.level: unknown field; did you mean 'levels'? (allowed: kind, levels)",
        f"{path}:6: parameters.ilks.ETH-A.mat.vales: unknown field; did you mean 'values'? "
        "(allowed: range, values, dist, scale)",
        f"{path}:9: kpi: unknown field; did you mean 'kpis'? (allowed: name, description, base, "
        "overrides, design, parameters, seeds, master_seed, kpis)",
    ]


def test_each_field_alone_in_the_users_words():
    base = {"name": "s", "base": "b.yaml", "parameters": {"x": {"range": [1, 2]}}}
    assert schema_messages({**base, "design": {"kind": "sobol", "n": 100, "sed": 1}}) == [
        "s.yaml: design.n: n must be a power of two for a Sobol design (got 100; try 64 or 128)",
        "s.yaml: design.sed: unknown field; did you mean 'seed'? (allowed: kind, n, second_order, "
        "seed, resamples, conf_level)",
    ]
    assert schema_messages({**base, "design": {"kind": "morris", "n": 4, "levels": 5}}) == [
        "s.yaml: design.levels: Morris levels must be even (got 5)"
    ]
    assert schema_messages({**base, "design": {"kind": "lhc", "n": 4}}) == [
        "s.yaml: design: unknown 'kind' 'lhc'; expected one of 'grid', 'random', 'lhs', 'sobol', "
        "'morris'"
    ]
    design = {"kind": "grid"}
    assert schema_messages(
        {**base, "design": design, "parameters": {"x": {"range": ["1h", 2]}}}
    ) == ["s.yaml: parameters.x: range: both ends are numbers, or both durations (e.g. 20m, 4h)"]
    assert schema_messages({**base, "design": design, "seeds": [1, "a"]}) == [
        "s.yaml: seeds: a seed is an integer from 0 to 18446744073709551615 (got 'a')"
    ]


def test_values_are_quoted_short():
    assert quoted(0.1 + 0.2) == "0.3"
    assert quoted("x" * 100) == "'" + "x" * 38 + "…"
    assert quoted([1, 2]) == "a list of 2 items"
