"""The benchmark scenario family: one ETH-A ilk on Liquidations 2.0, sized by vaults and ticks.

``make_scenario(vaults, ticks, seed)`` builds the scenario used by ``benchmarks/run.py`` and by the
per-agent reference model (``benchmarks/reference_mesa.py``). Everything that sizes the system
(debt, ceilings, ``hole``/``Hole``, keeper capital, the Vow's surplus buffer) scales with the vault
count so that every size behaves alike per vault; the exogenous ETH path depends only on the seed
and the tick count (its own random stream), never on the vault count.

The family:

- clock: 1-minute ticks, ``ticks`` of them;
- ETH: GBM from 3 000 USD, drift −20 /yr (about −4 % over 1 000 minutes), vol 150 %/yr, no
  market depth (keepers' sales do not move the price);
- ETH-A (2021 parameters): ``mat`` 1.45, stability fee 5.5 %/yr, ``dust`` 5 000 Dai, Clipper
  with ``chop`` 13 %, ``buf`` 1.30, ``tail`` 140 min, ``cusp`` 0.40, ``chip`` 0.1 %, ``tip``
  300 Dai, stairstep curve ``cut`` 0.99 per 90 s; ``hole`` 2 % of the debt, ``Hole`` 4 %;
- OSM ``hop`` 1 h; Vow ``wait`` 156 h (2021), so liquidated debt stays queued and no debt
  auction starts while collateral auctions run; ``hump`` 1 % of the debt (fee income never
  triggers surplus auctions); ``sump``/``bump``/``dump`` dss defaults;
- gas: 40 gwei, with a spike to 400 gwei from 25 % of the run for 150 minutes (half-life 15
  minutes back): keepers bid 150–200 gwei, so for a while nobody barks or takes and auctions
  that were running pass ``cusp``/``tail`` and must be reset (``redo``);
- borrowers: 50 000 Dai per vault on average (log-normal sizes), CR log-normal around 2.3
  (floored at 1.47, so about 7 % of vaults sit just above ``mat``); 70 % passive, 30 % ``target_cr``
  (trigger 1.6, target 1.9, lock from a wallet of half the initial collateral, reaction
  probability 0.2 per tick, so the cohort's random stream is used every tick);
- 3 keepers (5 % discount, gas bids 150, 180 and 200 gwei) whose Dai capital is 0.1 % of the
  debt each, at least 50 000 Dai;
- recording: CR quantiles 5/25/50/75/95 %, vault snapshots at the start and the end only,
  invariant checks on (the defaults).
"""

from __future__ import annotations

from pathlib import Path

import sim
from sim.scenario import Scenario, validate_data

#: Mean debt per vault [Dai].
DEBT_PER_VAULT = 50_000.0
#: Least Dai capital of a keeper [Dai] (the share of the debt at 1 000 vaults).
KEEPER_DAI_MIN = 50_000.0
#: Tick length [s].
TICK_S = 60


def _minutes(x: float) -> str:
    return f"{round(x)}m"


def scenario_data(vaults: int, ticks: int, seed: int = 1) -> dict:
    """The scenario as plain data (what a YAML file would hold)."""
    if vaults < 10:
        raise ValueError(f"the benchmark needs at least 10 vaults, got {vaults}")
    if ticks < 1:
        raise ValueError(f"ticks must be >= 1, got {ticks}")
    debt = DEBT_PER_VAULT * vaults
    passive = round(0.7 * vaults)
    careful = vaults - passive
    duration_min = ticks * TICK_S / 60
    cr = {"dist": "lognormal", "median": 2.3, "sigma": 0.3, "min": 1.47}
    keeper_dai = max(0.001 * debt, KEEPER_DAI_MIN)
    size = {"dist": "lognormal", "sigma": 0.35}
    return {
        "name": f"bench-{vaults}x{ticks}",
        "description": "Benchmark family: ETH-A on Liquidations 2.0 under a GBM with a gas spike",
        "seed": seed,
        "clock": {"tick": f"{TICK_S}s", "duration": _minutes(duration_min)},
        "collateral": {
            "ETH": {"price": {"process": "gbm", "start": 3000.0, "vol": 1.5, "drift": -20.0}}
        },
        "ilks": {
            "ETH-A": {
                "collateral": "ETH",
                "mat": 1.45,
                "stability_fee": 0.055,
                "line": 10.0 * debt,
                "dust": 5_000.0,
                "liquidation": {
                    "engine": "clip",
                    "chop": 0.13,
                    "hole": 0.02 * debt,
                    "buf": 1.30,
                    "tail": "140m",
                    "cusp": 0.40,
                    "chip": 0.001,
                    "tip": 300.0,
                    "curve": {"kind": "stairstep", "cut": 0.99, "step": "90s"},
                },
            }
        },
        "system": {
            "Line": 20.0 * debt,
            "Hole": 0.04 * debt,
            "oracle": {"hop": "1h"},
            "vow": {"wait": "156h", "hump": 0.01 * debt},
        },
        "network": {
            "gas": {
                "process": "spike",
                "base": 40.0,
                "peak": 400.0,
                "at": _minutes(0.25 * duration_min),
                "over": "150m",
                "decay": "15m",
            },
            "block_time": "12s",
            "gas_limit": 30_000_000,
        },
        "borrowers": [
            {
                "name": "passive",
                "ilk": "ETH-A",
                "vaults": passive,
                "debt": DEBT_PER_VAULT * passive,
                "cr": cr,
                "size": size,
            },
            {
                "name": "careful",
                "ilk": "ETH-A",
                "vaults": careful,
                "debt": DEBT_PER_VAULT * careful,
                "cr": cr,
                "size": size,
                "strategy": {
                    "kind": "target_cr",
                    "trigger": 1.6,
                    "target": 1.9,
                    "react_prob": 0.2,
                    "action": "lock",
                    "wallet": 0.5,
                },
            },
        ],
        "keepers": [
            {"name": "keeper-a", "dai": keeper_dai, "gas_bid_gwei": 150.0},
            {"name": "keeper-b", "dai": keeper_dai, "gas_bid_gwei": 200.0},
            {"name": "keeper-c", "dai": keeper_dai, "gas_bid_gwei": 180.0},
        ],
        # The per-agent reference model implements a single gas threshold (no p90 spread), blocks
        # that never fill and borrowers before keepers; the family keeps those rules so the two
        # stay identical.
        "schedule": {"order": "borrowers_first"},
        "record": {"cr_quantiles": [0.05, 0.25, 0.5, 0.75, 0.95]},
    }


def make_scenario(vaults: int, ticks: int, seed: int = 1) -> Scenario:
    """The benchmark scenario with ``vaults`` vaults run for ``ticks`` one-minute ticks.

    Args:
        vaults: number of vaults (≥ 10).
        ticks: number of ticks.
        seed: the run seed.

    Returns:
        The validated scenario.
    """
    return validate_data(
        scenario_data(vaults, ticks, seed),
        filename=f"<bench {vaults}x{ticks}>",
        base_dir=Path(sim.__file__).resolve().parent,
    )


# ------------------------------------------------------------------------------- shipped scenarios
#: The shipped crash scenarios the benchmarks scale up (``scenarios/<name>.yaml``).
CRASH_SCENARIOS = ("eth_crash_liq2", "eth_crash_liq1", "black_thursday_2020", "black_thursday_liq2")
#: Where the shipped scenarios live.
SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"


def _times(section: dict | None, factor: float, *names: str) -> None:
    """Multiply the named fields of ``section`` that are set by ``factor``."""
    if section is None:
        return
    for name in names:
        if section.get(name) is not None:
            section[name] = section[name] * factor


#: The block market a ``+blocks`` variant adds to a scenario without a network section: 100 gwei
#: paid by everyone else, blocks of 15 M gas every 13 s (April–August 2021), scaled like the book.
BLOCKS = {
    "gas": {"process": "constant", "gwei": 100.0},
    "block_time": "13s",
    "gas_limit": 15_000_000,
}


def scaled_data(name: str, vaults: int) -> dict:
    """A shipped scenario scaled to about ``vaults`` vaults, as plain data.

    Every cohort's vault count is multiplied by ``factor = vaults / (the file's vaults)``
    (rounded, at least 1) and its debt by the same per-cohort ratio, so vault sizes and CRs are
    drawn from the same distributions. What sizes the system grows with it, so that every size
    behaves alike per vault: the debt ceilings (``line``, ``Line``), the liquidation limits
    (``hole``, ``Hole``, ``box``), the keepers' and MKR bidders' capital, the Vow's surplus
    buffer (``hump``) and the Flapper's ``lid``, the PSM's ceiling and reserves, the Dai in the
    Pot, and the depth of every market (collateral, Dai, MKR). Per-auction and per-vault amounts
    (``dust``, ``lump``, ``dunk``, ``tip``, ``sump``, ``dump``, ``bump``) are kept, so a larger
    book means more auctions and more events, not larger ones. The blocks' gas limit grows too
    (the same crash with more vaults, not a chain with less room per vault). Prices, gas, the
    clock and the seed are the file's. ``<name>+blocks`` adds the block market :data:`BLOCKS` to
    a scenario without a network section.

    Args:
        name: a scenario of :data:`CRASH_SCENARIOS` (any file in ``scenarios/`` works), with
            ``+blocks`` for the block-market variant.
        vaults: the vaults wanted (the result has the cohorts' rounded sum).

    Returns:
        The scenario data (validate with :func:`scaled_scenario`).
    """
    file, _, variant = name.partition("+")
    base = sim.load_scenario(SCENARIO_DIR / f"{file}.yaml")
    data = base.to_dict()
    if variant == "blocks":
        data["network"] = dict(BLOCKS)
    elif variant:
        raise ValueError(f"unknown variant {variant!r} of {file} (known: blocks)")
    factor = vaults / sum(c.vaults for c in base.borrowers)
    for cohort in data["borrowers"]:
        n = max(1, round(cohort["vaults"] * factor))
        cohort["debt"] = cohort["debt"] * n / cohort["vaults"]
        cohort["vaults"] = n
    for ilk in data["ilks"].values():
        _times(ilk, factor, "line")
        _times(ilk["liquidation"], factor, "hole")
    system = data["system"]
    _times(system, factor, "Line", "Hole", "box", "dsr_deposits")
    _times(system["vow"], factor, "hump", "lid")
    # Scaled down, the Flapper must still hold one surplus auction.
    system["vow"]["lid"] = max(system["vow"]["lid"], system["vow"]["bump"])
    _times(system.get("psm"), factor, "line", "start", "arbitrage_usd")
    for keeper in data["keepers"]:
        _times(keeper, factor, "dai")
    _times(data.get("network"), factor, "gas_limit")
    if data.get("network"):
        data["network"]["gas_limit"] = round(data["network"]["gas_limit"])
    _times(data.get("mkr"), factor, "dai", "mkr")
    markets = [c.get("market") for c in data["collateral"].values()]
    markets += [(data.get("mkr") or {}).get("market"), data.get("dai")]
    for market in markets:
        _times(market, factor, "depth_usd_2pct", "pool_usd")
    total = sum(c["vaults"] for c in data["borrowers"])
    data["name"] = f"{name.replace('+', '-')}-{total}"
    data["description"] = f"{base.description} (scaled to {total:,d} vaults)"
    return data


def scaled_scenario(name: str, vaults: int) -> Scenario:
    """:func:`scaled_data` validated into a scenario (data files resolved in ``scenarios/``)."""
    return validate_data(
        scaled_data(name, vaults), filename=f"<{name} × {vaults}>", base_dir=SCENARIO_DIR
    )
