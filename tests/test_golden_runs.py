"""Golden runs: small runs of every shipped scenario give exactly the tables they gave before.

A guard for optimisations of the engine: each case below runs a shipped scenario (made small by
overrides, but keeping its crash, its liquidations and, where it has them, its debt auctions)
and hashes its five tables — timeseries, events, auctions, vaults and summary — bit for bit
(every float by its IEEE bytes, every name by its text, column names and dtypes included). The
hashes in ``tests/golden_runs.json`` were computed before the engine was optimised for speed, so
a change that should not change results (a faster data structure, a vectorised loop) must leave
every one of them as it is.

When the model changes on purpose (a new rule, a new column, a corrected formula), regenerate
them from the repository root and commit the file with the change, saying why it changed::

    .venv/bin/python -m tests.test_golden_runs --regenerate

The hashes hold for the numpy, pandas and pyarrow pinned in ``constraints.txt`` (which the
README's install and CI use) on x86-64; ``scripts/refresh_constraints.sh`` runs this test first
before it moves the pins. After upgrading any of them, run the test before anything else and, if it fails, check that the differences are float rounding
in the last bits (``sim.run`` the case and compare with the previous version's tables) before
regenerating.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).with_name("golden_runs.json")
TABLES = ("timeseries", "events", "auctions", "vaults", "summary")

#: name → (scenario file, overrides): small, but with the scenario's crash and liquidations.
#: ``black_thursday_2020-flop`` shortens the Vow's wait and leaves three market keepers, so that
#: the lowballers leave a deficit and debt auctions and the MKR bidders run within the case;
#: ``eth_crash_liq2-flap`` lowers the surplus buffer so that the penalties start many surplus
#: auctions, on which the MKR bidders bid against each other (in a deeper ETH market than the
#: scenario's 2 M USD per 2 %, in which the crash leaves bad debt instead of surplus).
CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "baseline": ("baseline.yaml", ("clock.duration=10d",)),
    "spiral": ("spiral.yaml", ("clock.duration=30h",)),
    "multi_collateral": ("multi_collateral.yaml", ("clock.duration=4d",)),
    "eth_crash_liq2": ("eth_crash_liq2.yaml", ("clock.duration=20h",)),
    "eth_crash_liq1": ("eth_crash_liq1.yaml", ("clock.duration=20h",)),
    "eth_crash_liq2-flap": (
        "eth_crash_liq2.yaml",
        (
            "clock.duration=20h",
            "system.vow.hump=1e5",
            "system.vow.lid=1e6",
            "collateral.ETH.market.depth_usd_2pct=1e7",
        ),
    ),
    "black_thursday_2020": ("black_thursday_2020.yaml", ("clock.duration=36h",)),
    "black_thursday_2020-flop": (
        "black_thursday_2020.yaml",
        (
            "clock.duration=60h",
            "system.vow.wait=2h",
            "borrowers.2.vaults=200",
            "keepers.0.count=3",
        ),
    ),
    "black_thursday_liq2": ("black_thursday_liq2.yaml", ("clock.duration=36h",)),
    "black_thursday_liq2_may2021": ("black_thursday_liq2_may2021.yaml", ("clock.duration=36h",)),
    "autoline_breaker": ("autoline_breaker.yaml", ("clock.duration=20h",)),
    "governance_tip_spell": ("governance_tip_spell.yaml", ("clock.duration=20h",)),
    "governor_psm_fee": ("governor_psm_fee.yaml", ()),
    "shutdown_crash": ("shutdown_crash.yaml", ("clock.duration=12h",)),
    "eth_book_crash": ("eth_book_crash.yaml", ("clock.duration=12h",)),
    "liq2_gas_spike": (
        "liq2_gas_spike.yaml",
        ("clock.duration=12h", *(f"borrowers.{i}.vaults={n}" for i, n in enumerate((600, 100, 4)))),
    ),
}


def _column_bytes(values: pd.Series) -> bytes:
    """A column's exact content: numbers by their bytes, everything else by its text."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _column_bytes(values.astype(object))
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return values.to_numpy(dtype="datetime64[ns]").view(np.int64).tobytes()
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        return np.ascontiguousarray(values.to_numpy()).tobytes()
    return "\x1f".join("\x00" if v is None else str(v) for v in values.tolist()).encode()


def frame_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of a DataFrame's column names, dtypes and values (bit for bit)."""
    h = hashlib.sha256()
    h.update(repr(len(frame)).encode())
    for name in frame.columns:
        h.update(f"\x1e{name}:{frame[name].dtype}\x1e".encode())
        h.update(_column_bytes(frame[name]))
    return h.hexdigest()


def summary_digest(summary: dict) -> str:
    """SHA-256 of the summary as JSON (floats by their shortest exact repr)."""
    text = json.dumps(summary, sort_keys=True, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def digests(name: str) -> dict[str, str]:
    """Run one case and hash its five tables."""
    path, overrides = CASES[name]
    result = sim.run(sim.load_scenario(ROOT / "scenarios" / path, overrides=list(overrides)))
    out: dict = {table: frame_digest(getattr(result, table)) for table in TABLES[:-1]}
    out["summary"] = summary_digest(result.summary)
    out["rows"] = {table: len(getattr(result, table)) for table in TABLES[:-1]}
    counts = result.events["event"].value_counts()
    out["events"] = {str(k): int(v) for k, v in sorted(counts.items())}
    return out


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(GOLDEN.read_text())


def test_every_shipped_scenario_has_a_case(golden):
    shipped = {p.name for p in (ROOT / "scenarios").glob("*.yaml")}
    assert shipped == {path for path, _ in CASES.values()}
    assert set(golden) == set(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_tables_are_unchanged(name, golden):
    got = digests(name)
    want = golden[name]
    assert got["rows"] == want["rows"], f"{name}: row counts changed"
    assert got["events"] == want["events"], f"{name}: event counts changed"
    changed = [t for t in TABLES if got[t] != want[t]]
    assert not changed, (
        f"{name}: {', '.join(changed)} changed; if the model changed on purpose, regenerate "
        "tests/golden_runs.json (see this module's docstring)"
    )


#: Cases run again with every book answering from its ratio index (normally only books of
#: ``INDEX_MIN_VAULTS`` or more do): the index must select and order exactly as a full scan.
INDEXED_CASES = ("spiral", "eth_crash_liq2", "eth_crash_liq1", "black_thursday_2020-flop")


@pytest.mark.parametrize("name", INDEXED_CASES)
def test_the_ratio_index_gives_the_same_tables(name, golden, monkeypatch):
    from sim.protocol import ratio_index, vat

    monkeypatch.setattr(vat, "INDEX_MIN_VAULTS", 1)
    # Merge the delta into the base rarely, so that queries run against a long delta too.
    monkeypatch.setattr(ratio_index, "COMPACT_MIN", 200)
    got = digests(name)
    changed = [t for t in TABLES if got[t] != golden[name][t]]
    assert not changed, f"{name} with the ratio index: {', '.join(changed)} changed"


def test_the_cases_exercise_the_engine(golden):
    """The cases hold what the optimised paths touch: many events, auctions of both kinds."""
    rows = {name: golden[name]["rows"] for name in CASES}
    assert rows["eth_crash_liq2"]["auctions"] > 100
    assert rows["eth_crash_liq1"]["auctions"] > 100
    assert golden["black_thursday_2020-flop"]["events"]["flop"] > 100
    assert golden["eth_crash_liq2-flap"]["events"]["flap"] > 100
    assert golden["black_thursday_2020"]["events"]["tend"] > 1000


def regenerate() -> None:
    """Recompute every case and write ``tests/golden_runs.json``."""
    data = {name: digests(name) for name in CASES}
    GOLDEN.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    for name, d in data.items():
        print(name, d["rows"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="golden hashes of small runs")
    parser.add_argument("--regenerate", action="store_true", help="rewrite golden_runs.json")
    if parser.parse_args().regenerate:
        regenerate()
