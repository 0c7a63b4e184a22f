"""The per-agent mesa reference model (benchmarks/reference_mesa.py) reproduces sim.run.

A small benchmark case (200 vaults × 600 one-minute ticks) in which vaults are liquidated, the
Dog's ``hole`` cuts liquidations into partial ones, keepers take partially and in full, a gas
spike keeps the keepers away until auctions need a ``redo``, and the ``target_cr`` cohort draws
from its random stream every tick.

The two models agree to float rounding, not bit for bit: cdpsim sums arrays with numpy (pairwise,
one call per bark or take over many vaults/auctions) where the reference adds one vault or
auction at a time, and numpy's vectorised ``exp``/``power`` may differ from ``math`` in the last
bit. Every shared series must match with ``rtol = 1e-9`` (plus an absolute slack of 1e-9 of the
column's scale, for values such as ``surplus`` that cancel to about zero); discrete outcomes
(counts, ticks, vault ids, winners) must match exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

import sim
from benchmarks.bench_scenario import make_scenario, scenario_data
from benchmarks.reference_mesa import ReferenceModel, VaultAgent
from sim.record import BLOCK_FIELDS
from sim.scenario import validate_data

#: Per-group blockspace columns (``txs.<group>``, ...), which the reference does not record.
SENDER_FIELDS = {"txs", "priced_out", "dai", "idle"}

VAULTS, TICKS = 200, 600
RTOL = 1e-9


def close(a, b) -> bool:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    scale = max(float(np.nanmax(np.abs(a), initial=0.0)), 1.0)
    return a.shape == b.shape and np.allclose(a, b, rtol=RTOL, atol=1e-9 * scale, equal_nan=True)


#: The cases: (seed, variant). With seed 1 auctions are running when the gas spike starts. The
#: variants make rules bind that the benchmark's own parameters leave slack (there ``cusp`` and
#: ``tail`` expire within two minutes of each other, and wallets never run dry): in "cusp"
#: auctions pass ``cusp`` long before ``tail`` during a shorter spike, and small wallets run dry
#: so that vaults keep drawing their reaction numbers with nothing left to lock; in "tail"
#: auctions reach ``tail`` long before ``cusp``.
CASES = ((1, ""), (7, ""), (1, "cusp"), (1, "tail"))


def variant(seed: int, name: str) -> sim.Scenario:
    data = scenario_data(VAULTS, TICKS, seed)
    liquidation = data["ilks"]["ETH-A"]["liquidation"]
    # Keepers come back when auctions have run past one limit but not yet the other.
    if name == "cusp":
        liquidation["cusp"] = 0.6
        data["network"]["gas"]["over"] = "90m"
        data["borrowers"][1]["strategy"]["wallet"] = 0.02
    else:
        liquidation["tail"] = "60m"
        data["network"]["gas"]["over"] = "60m"
    return validate_data(data, filename=f"<variant {name}>", base_dir=".")


@pytest.fixture(
    scope="module", params=CASES, ids=lambda c: f"seed{c[0]}{'-' if c[1] else ''}{c[1]}"
)
def pair(request):
    seed, name = request.param
    scenario = variant(seed, name) if name else make_scenario(VAULTS, TICKS, seed=seed)
    result = sim.run(scenario)
    reference = ReferenceModel(scenario)
    reference.run()
    return result, reference


def test_the_case_exercises_the_rules(pair):
    result, reference = pair
    auctions = result.auctions
    events = result.events
    assert len(auctions) >= 10, "vaults are liquidated"
    assert auctions.vault.duplicated().any(), "the hole room makes partial liquidations"
    if reference.seed == 1:
        assert auctions.redos.sum() > 0, "auctions are reset"
    takes = events[events.event == "take"]
    assert takes.auction.duplicated().any(), "auctions are taken in several parts"
    assert (auctions.collateral_returned > 0).any(), "leftover collateral goes back"
    frobs = events[events.event == "frob"]
    assert len(frobs) > 0 and set(frobs.actor) == {"careful"}, "the target_cr cohort acts"


def test_same_timeseries(pair):
    result, reference = pair
    ours = result.timeseries
    theirs = reference.timeseries()
    assert len(ours) == len(theirs) == TICKS + 1
    shared = [c for c in ours.columns if c in theirs.columns]
    # The reference leaves out only the blockspace accounting (tests/test_blocks.py).
    blockspace = {*BLOCK_FIELDS, *(c for c in ours.columns if c.split(".")[0] in SENDER_FIELDS)}
    assert set(shared) == set(ours.columns) - blockspace, set(ours.columns) - set(shared)
    assert (ours["time"].to_numpy() == theirs["time"].to_numpy()).all()
    for name in shared:
        if name == "time":
            continue
        a, b = ours[name].to_numpy(dtype=float), theirs[name].to_numpy(dtype=float)
        if ours[name].dtype.kind in "iu":
            assert np.array_equal(a, b), name
        else:
            bad = np.flatnonzero(~np.isclose(a, b, rtol=RTOL, atol=0, equal_nan=True))
            assert close(a, b), f"{name} first differs at tick {bad[:1]}"


def test_same_auctions(pair):
    result, reference = pair
    ours = result.auctions.reset_index(drop=True)
    theirs = reference.auctions_frame()
    assert len(ours) == len(theirs)
    for name in ("auction", "vault", "start_tick", "end_tick", "redos"):
        assert np.array_equal(ours[name].to_numpy(), theirs[name].to_numpy()), name
    assert list(ours["winner"].astype(str)) == list(theirs["winner"])
    for name in (
        "tab",
        "lot",
        "due",
        "dai_raised",
        "collateral_sold",
        "collateral_returned",
        "coin",
    ):
        assert close(ours[name], theirs[name]), name


def test_same_vaults_and_keepers_at_the_end(pair):
    result, reference = pair
    snap = result.vaults
    last = snap[snap.tick == TICKS].sort_values("vault")
    vaults = reference.vaults_frame()
    assert np.array_equal(last.vault.to_numpy(), vaults.vault.to_numpy())
    assert close(last.ink, vaults.ink)
    assert close(last.art, vaults.art)
    profits = {k.name: k.profit() for k in reference.keepers}
    assert close(
        list(result.summary["keepers"].values()), [profits[k] for k in result.summary["keepers"]]
    )


def test_reference_records_per_vault_cr_each_tick():
    scenario = make_scenario(20, 5, seed=1)
    reference = ReferenceModel(scenario)
    reference.run()
    crs = reference.datacollector.get_agenttype_vars_dataframe(VaultAgent)
    assert len(crs) == 20 * 6
    ours = sim.run(scenario).vaults
    first = ours[ours.tick == 0].cr.to_numpy()
    assert close(crs["cr"].to_numpy()[:20], first)


def test_vector_draws_equal_scalar_draws():
    # The cohort draws stream.random(k) for its k triggered vaults; the reference draws one
    # number per vault agent. A numpy Generator yields the same numbers either way.
    a = np.random.default_rng(123)
    b = np.random.default_rng(123)
    for k in (1, 3, 17, 1000):
        assert np.array_equal(a.random(k), np.array([b.random() for _ in range(k)]))
    assert np.array_equal(a.lognormal(0.0, 0.35, 257), [b.lognormal(0.0, 0.35) for _ in range(257)])
    assert np.array_equal(a.standard_normal(257), [b.standard_normal() for _ in range(257)])


def test_unsupported_features_are_refused():
    data = make_scenario(20, 5).to_dict()
    data["keepers"][0]["flash"] = True
    scenario = validate_data(data, filename="<t>", base_dir=".")
    with pytest.raises(NotImplementedError, match="flash"):
        ReferenceModel(scenario)


def test_benchmark_family_price_path_does_not_depend_on_vault_count():
    few = sim.ProtocolModel(make_scenario(10, 200, seed=3))
    many = sim.ProtocolModel(make_scenario(1_000, 200, seed=3))
    assert np.array_equal(few.price_agent.paths, many.price_agent.paths)
    assert np.array_equal(few.gas_path, many.gas_path)


def test_benchmark_family_liquidates_a_few_percent():
    result = sim.run(make_scenario(1_000, 1_000, seed=1))
    auctions = result.auctions
    share = auctions.vault.nunique() / 1_000
    assert 0.01 < share < 0.15
    assert auctions.redos.sum() > 0
    assert (auctions.end_tick >= 0).all()


def test_benchmark_children_report_their_figures():
    from benchmarks.run import _derived_fixed, _targets, child_cdpsim, child_reference

    ours = child_cdpsim(50, 20, 1)
    theirs = child_reference(50, 20, 1)
    for figures in (ours, theirs):
        assert figures["vaults"] == 50 and figures["ticks"] == 20
        assert figures["tick_s"] > 0 and figures["peak_mb"] > 0
        assert figures["vault_ticks_per_s"] == pytest.approx(50 * 20 / figures["tick_s"])
    sizes = [
        {"vaults": n, "ticks": 1000, "us_per_tick": us, "vault_ticks_per_s": n * 1e9 / us / 1e3}
        for n, us in ((1_000, 130.0), (10_000, 160.0), (100_000, 700.0))
    ]
    derived = _derived_fixed(sizes)
    assert derived["marginal_ns_per_vault_tick"] == pytest.approx(6.0)
    assert derived["us_per_tick"] == pytest.approx(124.0)
    fixed = {"vaults": 10, "ticks": 20_000, "us_per_tick": 70.0}
    verdicts = _targets({"sizes": sizes, "fixed": fixed, "fixed_derived": derived, "ratio": None})
    assert [met for _, _, met in verdicts] == [True, False]
    fixed["us_per_tick"] = 50.0
    crash = [
        {"model": "eth_crash_liq2", "vaults": 1_000_000, "wall_s": 50.0, "peak_mb": 3000.0},
        {"model": "eth_crash_liq1", "vaults": 1_000_000, "wall_s": 130.0, "peak_mb": 3000.0},
        {"model": "eth_crash_liq1", "vaults": 100_000, "vault_ticks_per_s": 31e6},
    ]
    verdicts = _targets({"sizes": sizes, "fixed": fixed, "ratio": None, "crash": crash})
    assert [met for _, _, met in verdicts] == [True, True, True, False, True, True]
