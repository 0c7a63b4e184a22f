"""The Vat (sim/protocol/vat.py): frob's rules, fold, grab, suck, heal, the Dai and collateral
moves, the accounting invariants :meth:`Vat.check` enforces, and the unsafe-vault query."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.protocol import vat as vat_module
from sim.protocol.vat import (
    FROB_CEILING,
    FROB_DUST,
    FROB_NEGATIVE,
    FROB_NOT_LIVE,
    FROB_NOT_SAFE,
    FROB_OK,
    FROB_REASONS,
    ProtocolError,
    Vat,
)

ILK = "ETH-A"
#: Price with the safety margin [Dai/token]: a vault may owe up to 100 Dai per token locked.
SPOT = 100.0


def make_vat(n: int = 4, *, line: float = np.inf, dust: float = 0.0, Line: float = np.inf) -> Vat:
    vat = Vat(Line=Line)
    vat.init_ilk(ILK, n, line=line, dust=dust)
    vat.ilks[ILK].spot = SPOT
    return vat


def frob(vat: Vat, idx, dink, dart) -> np.ndarray:
    return vat.frob_many(ILK, np.asarray(idx), np.asarray(dink, float), np.asarray(dart, float))


def state(vat: Vat) -> dict:
    """Everything a vault operation may change, for exact comparison."""
    ilk = vat.ilks[ILK]
    return {
        "ink": ilk.ink.copy().tolist(),
        "art": ilk.art.copy().tolist(),
        "Art": ilk.Art,
        "Ink": ilk.Ink,
        "joined": ilk.joined,
        "exited": ilk.exited,
        "debt": vat.debt,
        "vice": vat.vice,
        "dai": dict(vat.dai),
        "sin": dict(vat.sin),
        "gem": dict(vat.gem),
        "events": len(vat.log),
    }


# ---------------------------------------------------------------------------------------- frob


def test_a_frob_within_the_rules_locks_draws_and_books_it():
    vat = make_vat()
    code = frob(vat, [0, 2], [10.0, 5.0], [900.0, 500.0])
    assert code.tolist() == [FROB_OK, FROB_OK]
    ilk = vat.ilks[ILK]
    assert ilk.ink.tolist() == [10.0, 0.0, 5.0, 0.0]
    assert ilk.art.tolist() == [900.0, 0.0, 500.0, 0.0]
    assert (ilk.Art, ilk.Ink, vat.debt) == (1400.0, 15.0, 1400.0)
    assert (ilk.joined, ilk.exited) == (15.0, 0.0)
    assert vat.debt_peak == 1400.0
    log = vat.log.columns()
    assert list(log["event"]) == ["frob", "frob"] and list(log["vault"]) == [0, 2]
    assert list(log["collateral"]) == [10.0, 5.0] and list(log["dai"]) == [900.0, 500.0]
    assert vat.check() == []


def test_debt_beyond_the_collateral_is_not_safe_and_changes_nothing():
    vat = make_vat()
    frob(vat, [0], [10.0], [1000.0])  # exactly at spot: allowed
    before = state(vat)
    assert frob(vat, [0], [0.0], [1.0]).tolist() == [FROB_NOT_SAFE]
    assert frob(vat, [0], [-0.5], [0.0]).tolist() == [FROB_NOT_SAFE]  # freeing makes it unsafe
    assert state(vat) == before
    with pytest.raises(ProtocolError, match="Vat/not-safe"):
        vat.frob(ILK, 0, 0.0, 1.0)


def test_an_unsafe_vault_may_still_repay_and_lock_but_not_draw():
    vat = make_vat()
    frob(vat, [0], [10.0], [1000.0])
    vat.ilks[ILK].spot = SPOT / 2  # the price halves: the vault is unsafe
    assert frob(vat, [0], [0.0], [-100.0]).tolist() == [FROB_OK]  # safer: allowed
    assert frob(vat, [0], [1.0], [0.0]).tolist() == [FROB_OK]
    assert frob(vat, [0], [5.0], [1.0]).tolist() == [FROB_NOT_SAFE]  # draws while unsafe after
    assert vat.ilks[ILK].art[0] == 900.0 and vat.ilks[ILK].ink[0] == 11.0


def test_the_ilk_line_and_the_system_line_cap_the_debt():
    vat = make_vat(line=1500.0)
    assert frob(vat, [0], [20.0], [1500.0]).tolist() == [FROB_OK]
    assert frob(vat, [1], [20.0], [1.0]).tolist() == [FROB_CEILING]
    assert frob(vat, [0], [0.0], [-500.0]).tolist() == [FROB_OK]  # repaying is never capped
    system = make_vat(Line=800.0)
    assert frob(system, [0], [20.0], [801.0]).tolist() == [FROB_CEILING]
    assert frob(system, [0], [20.0], [800.0]).tolist() == [FROB_OK]
    with pytest.raises(ProtocolError, match="Vat/ceiling-exceeded"):
        system.frob(ILK, 1, 20.0, 1.0)


def test_ceilings_are_applied_in_index_order():
    """dss checks the line after each call: earlier elements draw first, later ones are refused,
    and an element refused for another reason leaves its room to the next."""
    vat = make_vat(n=5, line=1000.0)
    code = frob(vat, [0, 1, 2, 3, 4], [5, 5, 0, 5, 5], [400, 400, 100, 400, 100])
    # 400 + 400 fit; 2 is not safe (no collateral); 3 would exceed; 4 fits in the 200 left.
    assert code.tolist() == [FROB_OK, FROB_OK, FROB_NOT_SAFE, FROB_CEILING, FROB_OK]
    assert vat.ilks[ILK].Art == 900.0


def test_a_vault_with_debt_owes_at_least_dust():
    vat = make_vat(dust=100.0)
    assert frob(vat, [0], [10.0], [99.0]).tolist() == [FROB_DUST]
    assert frob(vat, [0], [10.0], [100.0]).tolist() == [FROB_OK]
    assert frob(vat, [0], [0.0], [-50.0]).tolist() == [FROB_DUST]  # repaying below dust
    assert frob(vat, [0], [0.0], [-100.0]).tolist() == [FROB_OK]  # repaying all of it is fine
    vat.ilks[ILK].rate = 2.0  # the dust is on the debt, art·rate
    assert frob(vat, [1], [10.0], [50.0]).tolist() == [FROB_OK]
    with pytest.raises(ProtocolError, match="Vat/dust"):
        vat.frob(ILK, 2, 10.0, 49.0)


def test_ink_or_art_below_zero_is_negative():
    vat = make_vat()
    frob(vat, [0], [10.0], [100.0])
    before = state(vat)
    assert frob(vat, [0, 1], [-11.0, 0.0], [0.0, -1.0]).tolist() == [FROB_NEGATIVE] * 2
    assert state(vat) == before
    with pytest.raises(ProtocolError, match="Vat/negative"):
        vat.frob(ILK, 0, 0.0, -101.0)
    assert set(FROB_REASONS) == {
        FROB_OK,
        FROB_NOT_SAFE,
        FROB_CEILING,
        FROB_DUST,
        FROB_NEGATIVE,
        FROB_NOT_LIVE,
    }


def test_repaying_and_freeing_everything_leaves_exact_zeros():
    vat = make_vat()
    frob(vat, [0], [0.1 + 0.2], [10.0 / 3.0])
    ilk = vat.ilks[ILK]
    # a float residue of the amounts given back is zero, not a tiny negative or positive value
    code = frob(vat, [0], [-0.3], [-(10.0 / 3.0) * (1 + 1e-15)])
    assert code.tolist() == [FROB_OK]
    assert ilk.ink[0] == 0.0 and ilk.art[0] == 0.0
    assert ilk.exited == pytest.approx(ilk.joined)
    assert vat.check() == []


def test_freed_collateral_leaves_the_system():
    vat = make_vat()
    frob(vat, [0], [10.0], [500.0])
    frob(vat, [0], [-4.0], [0.0])
    ilk = vat.ilks[ILK]
    assert (ilk.joined, ilk.exited, ilk.Ink) == (10.0, 4.0, 6.0)
    assert vat.check() == []


@st.composite
def frob_batches(draw):
    """A book, its parameters, and batches of whole-number frobs (sums are then exact), mostly
    locking and drawing so that the ceilings bind within batches."""
    n = draw(st.integers(1, 6))
    line = draw(st.sampled_from([math.inf, 2000.0, 3000.0]))
    Line = draw(st.sampled_from([math.inf, 2500.0]))
    dust = draw(st.sampled_from([0.0, 100.0]))
    batches = []
    for _ in range(draw(st.integers(1, 5))):
        idx = draw(st.permutations(range(n)))[: draw(st.integers(1, n))]
        dink = draw(st.lists(st.integers(-5, 20), min_size=len(idx), max_size=len(idx)))
        dart = draw(st.lists(st.integers(-500, 1500), min_size=len(idx), max_size=len(idx)))
        batches.append((list(idx), dink, dart))
    return n, line, Line, dust, batches


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frob_batches())
def test_a_batch_of_frobs_is_the_calls_one_after_another(case):
    """``frob_many`` decides and books each element as dss would for one call, in index order."""
    n, line, Line, dust, batches = case
    batch = make_vat(n, line=line, Line=Line, dust=dust)
    single = make_vat(n, line=line, Line=Line, dust=dust)
    for idx, dink, dart in batches:
        codes = frob(batch, idx, dink, dart)
        one_by_one = [
            frob(single, [i], [a], [b])[0] for i, a, b in zip(idx, dink, dart, strict=True)
        ]
        assert codes.tolist() == one_by_one
        assert batch.check() == [] and single.check() == []
        ilk = batch.ilks[ILK]
        assert ilk.Art <= line and batch.debt <= Line
        assert (ilk.ink >= 0).all() and (ilk.art >= 0).all()
        debt = ilk.art * ilk.rate
        assert ((debt == 0) | (debt >= dust)).all()
    mine, theirs = state(batch), state(single)
    assert mine == theirs


# ---------------------------------------------------------------------------------------- opening


def test_open_vaults_is_all_or_nothing():
    vat = make_vat(n=4, dust=100.0)
    before = state(vat)
    with pytest.raises(ProtocolError, match=r"1 of 3 vaults cannot open: Vat/dust"):
        vat.open_vaults(ILK, np.arange(3), np.full(3, 10.0), np.array([500.0, 50.0, 500.0]), 2)
    after = state(vat)
    assert after["ink"] == before["ink"] and after["art"] == before["art"]
    assert (after["Art"], after["debt"], after["joined"], after["exited"]) == (0.0, 0.0, 0.0, 0.0)
    assert vat.check() == []
    vat.open_vaults(ILK, np.arange(3), np.full(3, 10.0), np.full(3, 500.0), owner=2)
    assert vat.ilks[ILK].owner.tolist() == [2, 2, 2, 0]
    with pytest.raises(ProtocolError, match="already in use"):
        vat.open_vaults(ILK, np.array([2, 3]), np.ones(2), np.zeros(2), owner=1)
    with pytest.raises(ProtocolError, match="Vat/ilk-already-init"):
        vat.init_ilk(ILK, 3, line=1.0, dust=0.0)


# ---------------------------------------------------------------------------------------- fold, grab


def test_fold_raises_the_rate_and_pays_the_fees_to_the_vow():
    vat = make_vat()
    frob(vat, [0, 1], [10.0, 10.0], [400.0, 600.0])
    created = vat.fold(ILK, 0.05)
    assert created == pytest.approx(50.0)
    assert vat.ilks[ILK].rate == pytest.approx(1.05)
    assert vat.dai["vow"] == pytest.approx(50.0) and vat.debt == pytest.approx(1050.0)
    assert vat.debt_peak == pytest.approx(1050.0)
    assert vat.check() == []
    # the debt a vault owes follows the rate
    assert vat.ilks[ILK].art[1] * vat.ilks[ILK].rate == pytest.approx(630.0)


def test_grab_moves_collateral_to_the_house_and_debt_to_sin():
    vat = make_vat()
    frob(vat, [0, 1, 2], [10.0, 10.0, 10.0], [800.0, 900.0, 500.0])
    vat.fold(ILK, 0.1)
    due = vat.grab(
        ILK, np.array([0, 1]), np.array([10.0, 4.0]), np.array([800.0, 300.0]), gem_to="clip"
    )
    np.testing.assert_allclose(due, [880.0, 330.0])
    ilk = vat.ilks[ILK]
    assert ilk.ink.tolist() == [0.0, 6.0, 10.0, 0.0] and ilk.art.tolist() == [
        0.0,
        600.0,
        500.0,
        0.0,
    ]
    assert ilk.Art == 1100.0 and ilk.Ink == 16.0
    assert vat.gem[(ILK, "clip")] == 14.0
    assert vat.sin["vow"] == pytest.approx(1210.0) and vat.vice == pytest.approx(1210.0)
    # the debt is unchanged: it moved from the vaults to the system's sin
    assert vat.debt == pytest.approx(2200.0 * 1.1)
    assert vat.check() == []


def test_grab_of_a_whole_vault_leaves_exact_zeros():
    vat = make_vat()
    frob(vat, [0], [0.7], [1.0 / 3.0 * 100])
    ilk = vat.ilks[ILK]
    vat.grab(ILK, np.array([0]), np.array([0.7 * (1 + 1e-15)]), np.array([ilk.art[0]]), gem_to="c")
    assert ilk.ink[0] == 0.0 and ilk.art[0] == 0.0
    assert vat.check() == []


# ---------------------------------------------------------------------------------------- suck, heal


def test_suck_mints_unbacked_dai_against_sin():
    vat = make_vat()
    vat.suck("vow", "keeper", 25.0)
    assert (vat.sin["vow"], vat.dai["keeper"], vat.vice, vat.debt) == (25.0, 25.0, 25.0, 25.0)
    assert vat.check() == []
    with pytest.raises(ProtocolError, match="Vat/suck-negative"):
        vat.suck("vow", "keeper", -1.0)
    assert vat.vice == 25.0


def test_heal_cancels_sin_against_dai_and_never_more_than_either():
    vat = make_vat()
    vat.suck("vow", "vow", 100.0)
    vat.suck("vow", "keeper", 50.0)  # the vow holds 150 sin and 100 Dai
    vat.heal("vow", 60.0)
    assert (vat.sin["vow"], vat.dai["vow"], vat.vice, vat.debt) == (90.0, 40.0, 90.0, 90.0)
    assert vat.check() == []
    for rad in (40.0 + 1.0, -1.0):
        with pytest.raises(ProtocolError, match=r"Vat/heal: vow has 90.0 sin and 40.0 Dai"):
            vat.heal("vow", rad)
    vat.heal("vow", 40.0 * (1 + 1e-12))  # rounding residue is healed, never left negative
    assert vat.dai["vow"] == 0.0 and vat.sin["vow"] == pytest.approx(50.0)
    assert vat.check() == []


# ---------------------------------------------------------------------------------------- moves


def test_move_and_the_dai_join():
    vat = make_vat()
    vat.join_dai("a", 100.0)
    assert vat.dai_joined == 100.0 and vat.dai_total() == 100.0
    vat.move("a", "b", 30.0)
    assert (vat.dai["a"], vat.dai["b"]) == (70.0, 30.0)
    with pytest.raises(ProtocolError, match=r"Vat/move: b has 30.0 Dai, needs 31.0"):
        vat.move("b", "a", 31.0)
    vat.exit_dai("a", 70.0)
    assert vat.dai["a"] == 0.0
    with pytest.raises(ProtocolError, match="DaiJoin/exit"):
        vat.exit_dai("b", 40.0)
    with pytest.raises(ProtocolError, match="Vat/move"):
        vat.move("b", "a", -1.0)
    assert vat.check() == []


def test_flux_and_the_gem_exit_move_collateral_outside_vaults():
    vat = make_vat()
    frob(vat, [0], [10.0], [100.0])
    vat.grab(ILK, np.array([0]), np.array([4.0]), np.array([40.0]), gem_to="clip")
    vat.flux(ILK, "clip", "keeper", 3.0)
    assert vat.gem[(ILK, "clip")] == 1.0 and vat.gem[(ILK, "keeper")] == 3.0
    with pytest.raises(ProtocolError, match=r"Vat/flux: clip has 1.0 ETH-A collateral, needs 2.0"):
        vat.flux(ILK, "clip", "keeper", 2.0)
    vat.exit_gem(ILK, "keeper", 3.0)
    assert vat.gem[(ILK, "keeper")] == 0.0 and vat.ilks[ILK].exited == 3.0
    with pytest.raises(ProtocolError, match="GemJoin/exit"):
        vat.exit_gem(ILK, "keeper", 0.5)
    assert vat.check() == []


# ---------------------------------------------------------------------------------------- check


def busy_vat() -> Vat:
    """A Vat that went through every operation, its accounts consistent."""
    vat = make_vat()
    frob(vat, [0, 1, 2], [10.0, 10.0, 10.0], [800.0, 900.0, 500.0])
    vat.fold(ILK, 0.1)
    vat.grab(ILK, np.array([1]), np.array([10.0]), np.array([900.0]), gem_to="clip")
    vat.suck("vow", "keeper", 10.0)
    vat.join_dai("keeper", 5.0)
    vat.flux(ILK, "clip", "keeper", 2.0)
    vat.heal("vow", 100.0)
    assert vat.check() == []
    return vat


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda v: setattr(v, "debt", v.debt + 1.0), "debt 2331.0 != Σ Art·rate"),
        (lambda v: v.sin.__setitem__("x", 1.0), "Σ sin "),
        (lambda v: v.ilks[ILK].art.__setitem__(0, 801.0), f"{ILK}: Σ art 1301.0 != Art 1300.0"),
        (lambda v: v.ilks[ILK].ink.__setitem__(0, 11.0), f"{ILK}: collateral not conserved"),
        (lambda v: v.gem.__setitem__((ILK, "clip"), 9.0), f"{ILK}: collateral not conserved"),
        (lambda v: v.dai.__setitem__("nobody", -1.0), "negative balance nobody: -1.0"),
        (lambda v: v.ilks[ILK].ink.__setitem__(3, -1.0), f"{ILK}: negative ink or art"),
        (
            lambda v: v.ilks[ILK].art.__setitem__(2, math.inf),
            "a vault's ink or art is not a finite",
        ),
        (lambda v: setattr(v, "vice", math.nan), "not a finite number: vice = nan"),
    ],
    ids=["debt", "sin", "art", "ink", "gem", "dai", "negative", "inf-art", "nan-vice"],
)
def test_check_names_each_broken_invariant(damage, problem):
    vat = busy_vat()
    damage(vat)
    problems = vat.check()
    assert any(problem in p for p in problems), problems


def test_a_scalar_check_skips_the_vaults():
    vat = busy_vat()
    vat.ilks[ILK].art[0] += 1.0  # only a pass over the vaults sees this
    assert vat.check(full=False) == []
    assert vat.check(full=True) != []


def test_rounding_at_the_scale_of_the_past_is_not_a_violation():
    """Accounts are compared at the scale of all Dai ever issued, not of what is left."""
    vat = make_vat()
    frob(vat, [0], [1e8], [1e9])
    frob(vat, [0], [0.0], [-1e9 + 1.0])
    vat.debt += 1e-3  # 1e-12 of the billion once issued
    assert vat.check() == []
    vat.debt += 100.0
    assert vat.check() != []


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_invariant_check_catches_non_finite_numbers(bad):
    vat = Vat()
    ilk = vat.init_ilk("ETH-A", 3, line=1e9, dust=0.0)
    ilk.spot = 1000.0
    vat.open_vaults("ETH-A", np.arange(3), np.full(3, 10.0), np.full(3, 1000.0), owner=0)
    assert vat.check() == []
    ilk.ink[1] = bad
    problems = vat.check(full=True)
    assert problems and "finite" in problems[0]
    ilk.ink[1] = 10.0
    vat.dai["keeper"] = bad
    problems = vat.check(full=False)
    assert problems and "dai[keeper]" in problems[0]


# ---------------------------------------------------------------------------------------- unsafe


def test_unsafe_is_cached_until_the_book_spot_or_rate_changes():
    vat = make_vat()
    frob(vat, [0, 1, 2], [10.0, 10.0, 10.0], [1000.0, 800.0, 500.0])
    ilk = vat.ilks[ILK]
    assert ilk.unsafe().tolist() == []
    first = ilk.unsafe()
    assert ilk.unsafe() is first  # the same array: nothing recomputed
    ilk.spot = 85.0
    assert ilk.unsafe().tolist() == [0]
    ilk.rate = 1.1
    assert ilk.unsafe().tolist() == [0, 1]
    frob(vat, [1], [1.0], [0.0])  # the book changed: 800·1.1 < 11·85
    assert ilk.unsafe().tolist() == [0]
    ilk.spot = 0.0  # no price: every vault with debt
    assert ilk.unsafe().tolist() == [0, 1, 2]


def unsafe_by_scan(ilk) -> list[int]:
    """A pass over every vault, with the test of the small books."""
    return np.flatnonzero(ilk.art * (ilk.rate / ilk.spot) > ilk.ink).tolist()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ink=st.lists(st.floats(0.0, 50.0), min_size=8, max_size=40),
    steps=st.lists(
        st.tuples(
            st.sampled_from(["frob", "grab", "spot", "rate"]),
            st.integers(0, 39),
            st.floats(-10.0, 10.0),
            st.floats(-3000.0, 3000.0),
        ),
        max_size=25,
    ),
)
def test_a_large_book_selects_the_unsafe_vaults_a_scan_selects(ink, steps):
    """Books indexed by ``art/ink`` (large ones) give exactly the vaults a pass over the book
    gives, as frobs, liquidations, prices and fees change."""
    n = len(ink)
    books = []
    for indexed in (False, True):
        limit = 1 if indexed else 10**9
        with pytest.MonkeyPatch.context() as m:
            m.setattr(vat_module, "INDEX_MIN_VAULTS", limit)
            vat = make_vat(n)
        assert vat.ilks[ILK].indexed() == indexed
        art = np.round(np.array(ink) * SPOT * 0.9)
        frob(vat, np.arange(n), ink, art)
        books.append(vat)
    for kind, i, x, y in steps:
        for vat in books:
            ilk = vat.ilks[ILK]
            i %= n
            if kind == "frob":
                frob(vat, [i], [x], [y])
            elif kind == "grab" and ilk.art[i] > 0:
                vat.grab(
                    ILK, np.array([i]), np.array([ilk.ink[i]]), np.array([ilk.art[i]]), gem_to="c"
                )
            elif kind == "spot":
                ilk.spot = SPOT * (1 + x / 20)
            elif kind == "rate":
                ilk.rate *= 1 + abs(x) / 100
        scan, indexed = (vat.ilks[ILK] for vat in books)
        assert scan.unsafe().tolist() == unsafe_by_scan(scan)
        assert indexed.unsafe().tolist() == unsafe_by_scan(indexed) == scan.unsafe().tolist()
        for threshold in (0.5 * SPOT, SPOT, 2 * SPOT):
            wanted = set(np.flatnonzero(indexed.art > threshold * indexed.ink).tolist())
            assert wanted <= set(indexed.above(threshold).tolist())
