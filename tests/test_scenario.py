"""The scenario files of the repository and the scenario package as a whole.

Each module of the package has its own test file (test_loader.py, test_schema.py,
test_yamlfile.py, test_overrides.py, test_checks.py, test_resources.py, test_build.py,
test_scenario_errors.py, test_messages.py, test_paths.py); here: every scenario file and the
README's example validate, a replayed scenario holds its data, and the package's imports.
"""

from __future__ import annotations

import pytest

from sim.scenario import ScenarioError, load_scenario
from tests.conftest import SCENARIOS


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_scenario_file_validates(path):
    load_scenario(path)


def test_readme_scenario_example_is_valid(tmp_path):
    from tests.conftest import ROOT

    text = (ROOT / "README.md").read_text()
    start = text.index("## The scenario file")
    block = text[
        text.index("```yaml", start) + len("```yaml") : text.index(
            "```", text.index("```yaml", start) + 7
        )
    ]
    path = tmp_path / "readme.yaml"
    path.write_text(block)
    scenario = load_scenario(path)
    assert scenario.name == "eth_crash_liq2"


def test_black_thursday_holds_its_data_and_would_not_cover_the_run_without(tmp_path):
    path = SCENARIOS / "black_thursday_2020.yaml"
    s = load_scenario(path)
    assert s.collateral["ETH"].price.beyond == "hold" and s.network.gas.beyond == "hold"
    header = path.read_text().split("\nname:")[0]
    assert "134.79" in header and "97 gwei" in header
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides=["collateral.ETH.price.beyond=error"])
    assert "covers 2020-03-12T00:00:00Z to 2020-03-13T23:00:00Z" in str(info.value)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides=["network.gas.beyond=error"])
    assert "column 'gas_mean_gwei' covers 2020-03-12T00:00:00Z to 2020-03-12T23:00:00Z" in str(
        info.value
    )


# ---------------------------------------------------------------------------------------- layering


def test_the_scenario_package_does_not_reach_up_into_the_model():
    import ast

    from tests.conftest import ROOT

    above = ("sim.model", "sim.agents", "sim.runner", "sim.record", "sim.cli", "sim.protocol")
    for source in sorted((ROOT / "sim" / "scenario").glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                assert not name.startswith(above), (source.name, name)
