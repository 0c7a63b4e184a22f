"""The numeric policy: what equal, enough and zero mean for float balances."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.protocol import numeric as num
from sim.protocol.vat import ProtocolError, Vat
from sim.protocol.vow import FLAP, Vow

amounts = st.floats(min_value=0.0, max_value=1e12, allow_nan=False, allow_infinity=False)


@given(st.lists(amounts.filter(lambda x: x > 1e-6), min_size=1, max_size=200))
def test_a_pool_built_from_increments_covers_their_sum(parts):
    """Adding amounts to a pool in one order and paying them out in another never falls short,
    given the unit's total (the pool's peak carries the rounding error of its largest sum)."""
    pool = 0.0
    for p in parts:
        pool += p
    total = pool
    for p in reversed(parts):
        assert num.covers(pool, p, total)
        pool = num.debit(pool, p)
        assert pool >= 0.0
    assert pool <= num.tolerance(0.0, 0.0, total)


def test_without_the_total_a_drained_pool_can_look_short():
    """Why the policy needs the unit's total: 4 294 967 295 + 1.00001 − 4 294 967 295 ≠ 1.00001."""
    pool = 1.00001 + 4294967295.0 - 4294967295.0
    assert not num.covers(pool, 1.00001)
    assert num.covers(pool, 1.00001, total=4294967296.00001)


@given(amounts, amounts)
def test_covers_same_and_debit_agree(have, need):
    if num.same(have, need):
        assert num.covers(have, need) and num.covers(need, have)
    if num.covers(have, need):
        assert num.debit(have, need) <= max(have - need, 0.0) + 1e-300
    else:
        assert need > have


def test_a_real_shortfall_is_not_covered():
    assert not num.covers(100.0, 100.0 * (1 + 1e-6))
    assert not num.covers(0.0, 1e-6)
    assert num.covers(7.824828057617822, 7.824828057632047)  # the residue of issue 8


def test_array_forms_match_the_scalar_forms():
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 1e6, 500)
    b = a * (1 + rng.choice([-1e-6, -1e-12, 0.0, 1e-12, 1e-6], 500))
    assert list(num.same_array(a, b)) == [num.same(x, y) for x, y in zip(a, b, strict=True)]
    assert list(num.covers_array(a, b)) == [num.covers(x, y) for x, y in zip(a, b, strict=True)]
    z = num.zero_residue(b - a, a)
    assert list(z == 0) == [num.negligible(y - x, x) for x, y in zip(a, b, strict=True)]


def test_the_pooled_flap_balance_pays_out_despite_rounding():
    """Many surplus auctions bid and settled in interleaved order (the crash of issue 8)."""
    vat = Vat()
    vow = Vow(vat, bump=1_000.0, hump=0.0)
    rng = np.random.default_rng(7)
    vat.join_dai("vow", 40 * 1_000.0)
    ids = [vow.flap(0.0) for _ in range(40)]
    bidders = [f"b{k}" for k in range(3)]
    for b in bidders:
        vow.give_mkr(b, 1e4)
    fp = vow.flapper
    t = 1.0
    for _ in range(6):  # rounds of outbidding with awkward increments
        for i in rng.permutation(ids):
            who = bidders[(int(i) + int(t)) % 3]
            fp.tend(int(i), 1_000.0, float(fp.bid[i]) * 1.07 + rng.uniform(0.1, 0.3) / 3, who, t)
            t += 1.0
    for i in rng.permutation(ids):
        fp.deal(int(i), t + fp.ttl)
    assert vow.mkr.get(FLAP, 0.0) == pytest.approx(0.0, abs=1e-6)
    assert vow.mkr_burned == pytest.approx(float(fp.bid[ids].sum()))
    assert vat.check() == []


def test_flapper_lid_bounds_the_surplus_on_sale():
    vat = Vat()
    vow = Vow(vat, bump=10_000.0, hump=0.0)
    vow.flapper.lid = 35_000.0
    vat.join_dai("vow", 1e9)  # surplus for 100 000 auctions
    out = vow.step(0.0)
    assert len(out["flaps"]) == 3  # 3 × 10 000 fit under the lid, a fourth does not
    assert vow.flapper.fill == pytest.approx(30_000.0)
    assert vow.step(1.0)["flaps"] == []
    with pytest.raises(ProtocolError, match="overflow-lid"):
        vow.flap(2.0)
    vow.give_mkr("k", 10.0)
    vow.flapper.tend(0, 10_000.0, 1.0, "k", 3.0)
    vow.flapper.deal(0, 3.0 + vow.flapper.ttl + 1)
    assert vow.flapper.fill == pytest.approx(20_000.0)
    assert len(vow.step(4.0 + vow.flapper.ttl)["flaps"]) == 1  # room for one more
