"""MKR bidders: competing in beg steps, their own margins, and the MKR market they trade in."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import numpy as np
import pytest

import sim
from sim.agents.mkr_bidder import MARKET, OPENING_FRACTION, bidder_margins, step_bidders
from sim.record import events_frame, timeseries_frame
from sim.scenario import ScenarioError, validate_data

MKR_PRICE = 1_000.0
SUMP = 50_000.0
DUMP = 250.0
BUMP = 10_000.0
HUMP = 100_000.0
FLOP_BEG = 0.03
FLAP_BEG = 0.05
TTL_S = 6 * 3600
TICK_S = 600
#: Ticks until an auction bid on in tick 1 can be dealt (its bid expires after ttl).
DEAL_TICKS = TTL_S // TICK_S + 2

BASE: dict[str, Any] = {
    "name": "mkr-bidders",
    "seed": 11,
    "clock": {"tick": "10m", "duration": "6d"},
    "collateral": {"ETH": {"price": {"process": "scripted", "points": [["0h", 2000]]}}},
    "ilks": {
        "ETH-A": {
            "collateral": "ETH",
            "mat": 1.5,
            "stability_fee": 0.0,
            "line": 1.0e9,
            "dust": 100,
            "liquidation": {"engine": "clip"},
        }
    },
    "system": {
        "vow": {
            "wait": "0s",
            "sump": SUMP,
            "dump": DUMP,
            "bump": BUMP,
            "hump": HUMP,
            "flop": {"beg": FLOP_BEG, "ttl": "6h", "tau": "3d"},
            "flap": {"beg": FLAP_BEG, "ttl": "6h", "tau": "3d"},
        }
    },
    "borrowers": [
        {
            "name": "safe",
            "ilk": "ETH-A",
            "vaults": 10,
            "debt": 1.0e6,
            "cr": {"dist": "fixed", "median": 3.0},
        }
    ],
    "mkr": {
        "price": {"process": "scripted", "points": [["0h", MKR_PRICE]]},
        "bidders": 2,
        "dai": 1.0e6,
        "mkr": 100.0,
        "margin": 0.1,
    },
}


def scenario(**mkr: Any) -> sim.Scenario:
    """The base scenario with the ``mkr`` section updated by ``mkr``."""
    data = copy.deepcopy(BASE)
    data["mkr"].update(mkr)
    return validate_data(data, filename="<mkr>", base_dir=".")


def model_with(margins: list[float], **mkr: Any) -> sim.ProtocolModel:
    """A model whose bidders ask exactly ``margins``."""
    model = sim.ProtocolModel(scenario(bidders=len(margins), **mkr))
    for bidder, margin in zip(model.mkr_bidders, margins, strict=True):
        bidder.margin = margin
    return model


def one_flop(model: sim.ProtocolModel) -> int:
    """Free debt of one ``sump``: the Vow starts a debt auction at the end of the next tick."""
    model.vat.suck("vow", "outside", SUMP)
    model.step()
    (auction,) = model.vow.flopper.active_ids()
    return int(auction)


def one_flap(model: sim.ProtocolModel) -> int:
    """Surplus of ``bump + hump``: the Vow starts a surplus auction at the end of the next tick."""
    model.vat.join_dai("vow", BUMP + HUMP)
    model.step()
    (auction,) = model.vow.flapper.active_ids()
    return int(auction)


def bids(model: sim.ProtocolModel, event: str) -> tuple[np.ndarray, list[str]]:
    """The amounts (``collateral``: MKR lot or MKR bid) and actors of the ``event`` calls."""
    frame = events_frame(model)
    rows = frame[frame.event == event]
    return rows.collateral.to_numpy(), list(rows.actor.astype(str))


# ---------------------------------------------------------------------------------------- flop


def test_a_debt_auction_ends_near_the_second_best_reservation():
    model = model_with([0.02, 0.2])
    flop = model.vow.flopper
    auction = one_flop(model)
    best, second = (SUMP * (1.0 + m) / MKR_PRICE for m in (0.02, 0.2))  # 51 and 60 MKR
    model.step()  # the bidding war runs within the tick
    lot = float(flop.lot[auction])
    assert flop.winner(auction) == "mkr-bidder-1"  # the bidder asking the least margin
    assert second / (1.0 + FLOP_BEG) <= lot < second * (1.0 + FLOP_BEG)
    assert lot > best * (1.0 + FLOP_BEG)  # not the winner's own reservation
    model.run_for(DEAL_TICKS)
    assert not flop.active[auction]
    assert model.vow.mkr_minted == pytest.approx(lot)


def test_bidders_undercut_each_other_by_beg_in_turn():
    model = model_with([0.02, 0.2])
    one_flop(model)
    model.step()
    lots, actors = bids(model, "dent")
    steps = lots[:-1] / lots[1:]
    assert len(lots) > 4  # a war, not a single jump
    assert np.all(steps >= 1.0 + FLOP_BEG - 1e-12)
    np.testing.assert_allclose(steps, 1.0 + FLOP_BEG, rtol=1e-12)  # the least improvement
    assert lots[0] == pytest.approx(DUMP / (1.0 + FLOP_BEG), rel=1e-12)
    assert all(a != b for a, b in itertools.pairwise(actors))  # they alternate


def test_a_lone_bidder_wins_at_its_first_dent_and_equal_bidders_at_their_reservation():
    lone = model_with([0.1])
    auction = one_flop(lone)
    lone.step()
    assert lone.vow.flopper.lot[auction] == pytest.approx(DUMP / (1.0 + FLOP_BEG), rel=1e-12)
    equal = model_with([0.1, 0.1])
    auction = one_flop(equal)
    equal.step()
    reservation = SUMP * 1.1 / MKR_PRICE
    assert reservation <= equal.vow.flopper.lot[auction] < reservation * (1.0 + FLOP_BEG)


def test_a_bidder_without_dai_neither_bids_nor_restarts():
    model = model_with([0.02, 0.2], dai=0.0)
    auction = one_flop(model)
    model.run_for(int(4 * 86400 / TICK_S))  # past the auction's end (tau 3 days)
    assert model.vow.flopper.active[auction] and model.vow.flopper.tic[auction] == 0
    assert model.vat.log.count("dent") == 0 and model.vat.log.count("tick") == 0


# ---------------------------------------------------------------------------------------- flap


def test_a_surplus_auction_ends_near_the_second_highest_maximum():
    model = model_with([0.02, 0.2])
    flap = model.vow.flapper
    auction = one_flap(model)
    best, second = (BUMP / ((1.0 + m) * MKR_PRICE) for m in (0.02, 0.2))  # 9.80 and 8.33 MKR
    model.step()
    bid = float(flap.bid[auction])
    assert flap.winner(auction) == "mkr-bidder-1"
    assert second / (1.0 + FLAP_BEG) < bid <= second * (1.0 + FLAP_BEG)
    assert bid < best / (1.0 + FLAP_BEG)
    amounts, _ = bids(model, "tend")
    assert amounts[0] == pytest.approx(OPENING_FRACTION * best)
    np.testing.assert_allclose(amounts[1:] / amounts[:-1], 1.0 + FLAP_BEG, rtol=1e-12)
    model.run_for(DEAL_TICKS)
    assert model.vow.mkr_burned == pytest.approx(bid)


# ---------------------------------------------------------------------------------------- margins


def test_margins_are_drawn_from_the_mkr_stream_within_the_spread():
    spec = scenario(bidders=5, margin=0.1, margin_spread=0.04).mkr
    a = bidder_margins(spec, np.random.default_rng(1))
    assert np.all((a >= 0.06) & (a <= 0.14)) and np.unique(a).size == 5
    assert np.array_equal(a, bidder_margins(spec, np.random.default_rng(1)))
    model = sim.ProtocolModel(scenario(bidders=5, margin=0.1, margin_spread=0.04))
    again = sim.ProtocolModel(scenario(bidders=5, margin=0.1, margin_spread=0.04))
    other = sim.ProtocolModel(scenario(bidders=5, margin=0.1, margin_spread=0.04), seed=12)
    margins = [b.margin for b in model.mkr_bidders]
    assert margins == [b.margin for b in again.mkr_bidders]
    assert margins != [b.margin for b in other.mkr_bidders]
    assert [b.margin for b in sim.ProtocolModel(scenario(bidders=3)).mkr_bidders] == [0.1] * 3


def test_the_margin_draw_changes_no_other_stream():
    plain = sim.ProtocolModel(scenario())
    spread = sim.ProtocolModel(scenario(margin_spread=0.05, bidders=7))
    assert np.array_equal(plain.price_agent.paths, spread.price_agent.paths)
    assert np.array_equal(plain.streams.keepers.random(8), spread.streams.keepers.random(8))


def test_the_schema_refuses_negative_margins_and_an_ambiguous_market():
    with pytest.raises(ScenarioError, match="margin_spread"):
        scenario(margin=0.05, margin_spread=0.06)
    with pytest.raises(ScenarioError, match="exactly one"):
        scenario(market={"depth_usd_2pct": 1.0e6, "pool_usd": 1.0e8})


# ---------------------------------------------------------------------------------------- market


def mkr_price_after_a_flop(**mkr: Any) -> tuple[sim.ProtocolModel, float]:
    """Run one debt auction to its deal; the MKR market price after the winner sold its MKR."""
    model = model_with([0.02, 0.2], mkr=0.0, **mkr)
    one_flop(model)
    model.run_for(DEAL_TICKS)
    assert model.vow.mkr_minted > 0
    return model, model.mkr_price()


def test_without_an_mkr_market_the_price_is_the_exogenous_path():
    model, _ = mkr_price_after_a_flop()
    model.run()
    ts = timeseries_frame(model)
    column = model.price_agent.assets.index("MKR")
    assert np.array_equal(ts["mkr_price"].to_numpy(), model.price_agent.paths[:, column])


@pytest.mark.parametrize("market", [{"depth_usd_2pct": 1.0e6}, {"pool_usd": 1.0e8}])
def test_selling_minted_mkr_lowers_the_price_and_brings_the_dai_back(market):
    model, price = mkr_price_after_a_flop(market={**market, "recovery_half_life": "1d"})
    assert price < MKR_PRICE
    # The winner sold what brings its Dai back, and kept the rest of the MKR it won.
    assert 0 < model.vow.mkr[MARKET] < model.vow.mkr_minted
    for bidder in model.mkr_bidders:
        assert bidder.dai == pytest.approx(bidder.capital, rel=1e-9)  # capital recycled
    assert model.market.usd_received["MKR"] == pytest.approx(SUMP * model.dai_market.price())


def test_a_thinner_mkr_market_falls_further_and_recovers():
    _, deep = mkr_price_after_a_flop(market={"depth_usd_2pct": 5.0e6, "recovery_half_life": "1d"})
    model, thin = mkr_price_after_a_flop(
        market={"depth_usd_2pct": 5.0e5, "recovery_half_life": "1d"}
    )
    assert thin < deep < MKR_PRICE
    model.run_for(int(5 * 86400 / TICK_S) - model.tick)
    assert thin < model.mkr_price() < MKR_PRICE  # the impact fades towards the exogenous price


def test_buying_back_mkr_after_a_surplus_auction_lifts_the_price():
    model = model_with([0.02, 0.2], market={"depth_usd_2pct": 1.0e6, "recovery_half_life": "1d"})
    one_flap(model)
    model.run_for(DEAL_TICKS)
    assert model.vow.mkr_burned > 0
    assert model.mkr_price() > MKR_PRICE
    for bidder in model.mkr_bidders:
        assert bidder.dai == pytest.approx(bidder.capital, rel=1e-9)


def test_a_bidder_leading_a_debt_auction_keeps_its_mkr():
    # Its Dai is in the bid, not lost: it sells no MKR before it wins.
    model = model_with([0.02, 0.2], market={"depth_usd_2pct": 1.0e6, "recovery_half_life": "1d"})
    one_flop(model)
    model.step()
    assert model.mkr_price() == MKR_PRICE
    assert [b.mkr for b in model.mkr_bidders] == [100.0, 100.0]
    leader = model.mkr_bidders[0]
    assert leader.dai_bid() == SUMP
    assert leader.profit() == pytest.approx(
        float(model.vow.flopper.lot[0]) * MKR_PRICE - SUMP, rel=1e-12
    )


def test_runs_with_an_mkr_market_are_deterministic():
    spec = scenario(margin_spread=0.05, market={"depth_usd_2pct": 1.0e6})
    a, b = sim.ProtocolModel(spec), sim.ProtocolModel(spec)
    for model in (a, b):
        one_flop(model)
        model.run_for(DEAL_TICKS)
    ta, tb = timeseries_frame(a), timeseries_frame(b)
    assert ta.equals(tb)
    assert events_frame(a).equals(events_frame(b))


def test_step_runs_one_bidder_on_its_own():
    model = model_with([0.1])
    auction = one_flop(model)
    step_bidders([])  # no bidders, nothing happens
    model.mkr_bidders[0].step()
    assert model.vow.flopper.winner(auction) == "mkr-bidder-1"
