"""Tests for sim.market.depth: price impact, recovery and the Dai market."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.market.depth import (
    LN_2PCT,
    ConstantProduct,
    DaiMarket,
    LogLinear,
    Market,
    NoDepth,
    decay,
)

HOUR = 3600.0
D = 5e6  # 2 % depth [USD]


def loglinear_market(price: float = 2000.0, depth: float = D, half_life: float = HOUR) -> Market:
    m = Market()
    m.set_exogenous("ETH", price)
    m.configure("ETH", LogLinear(depth), half_life)
    return m


# ------------------------------------------------------------------ log-linear


def test_selling_D_usd_moves_the_price_down_2pct():
    m = loglinear_market()
    p0 = m.price("ETH")
    kappa = LN_2PCT / D
    # The token amount whose proceeds along the curve are D USD.
    q = (1 / 0.98 - 1) / (kappa * p0)
    usd = m.sell("ETH", q)
    assert usd == pytest.approx(D, rel=1e-12)
    assert m.price("ETH") == pytest.approx(0.98 * p0, rel=1e-12)
    assert m.dev["ETH"] == pytest.approx(math.log(0.98), rel=1e-12)


def test_buying_D_usd_moves_the_price_up_2pct():
    m = loglinear_market()
    p0 = m.price("ETH")
    m.buy("ETH", D)
    assert m.price("ETH") == pytest.approx(p0 / 0.98, rel=1e-12)
    assert m.dev["ETH"] == pytest.approx(-math.log(0.98), rel=1e-12)


def test_selling_D_usd_at_the_pre_trade_price():
    # D/p0 tokens (D USD at the pre-trade price) bring less than D and move the price by
    # 1/(1 + ln(1/0.98)) − 1 ≈ −1.98 %.
    m = loglinear_market()
    p0 = m.price("ETH")
    usd = m.sell("ETH", D / p0)
    assert usd < D
    assert m.price("ETH") == pytest.approx(p0 / (1 + LN_2PCT), rel=1e-12)


def test_proceeds_are_the_integral_of_the_instantaneous_price():
    m = loglinear_market()
    p0 = m.price("ETH")
    kappa = LN_2PCT / D
    q = 20_000.0  # 40 M USD at p0: a big sale
    usd = m.sell("ETH", q)
    # Instantaneous price after x tokens sold: 1/p(x) = 1/p0 + κ·x.
    x = np.linspace(0.0, q, 200_001)
    p = 1.0 / (1.0 / p0 + kappa * x)
    integral = float(np.sum((p[1:] + p[:-1]) / 2 * np.diff(x)))
    assert usd == pytest.approx(integral, rel=1e-8)
    assert usd == pytest.approx(math.log1p(kappa * p0 * q) / kappa, rel=1e-12)
    assert usd < q * p0
    assert m.price("ETH") == pytest.approx(p[-1], rel=1e-12)


def test_loglinear_is_path_independent():
    one, many = loglinear_market(), loglinear_market()
    q = 10_000.0
    usd_one = one.sell("ETH", q)
    usd_many = sum(many.sell("ETH", q / 100) for _ in range(100))
    assert usd_many == pytest.approx(usd_one, rel=1e-10)
    assert many.price("ETH") == pytest.approx(one.price("ETH"), rel=1e-12)


def test_a_bigger_sale_gets_a_worse_average_price():
    m = loglinear_market()
    small = m.quote_sell("ETH", 1.0)
    big = m.quote_sell("ETH", 10_000.0)
    assert big / 10_000.0 < small / 1.0 < m.price("ETH")


def test_buy_tokens_closed_form_and_cost_inverse():
    m = loglinear_market()
    p0 = m.price("ETH")
    kappa = LN_2PCT / D
    tokens = m.buy("ETH", 3e6)
    assert tokens == pytest.approx(-math.expm1(-kappa * 3e6) / (kappa * p0), rel=1e-12)
    assert 1 / m.price("ETH") == pytest.approx(1 / p0 - kappa * tokens, rel=1e-12)
    curve = LogLinear(D)
    assert curve.cost(p0, 0.0, tokens) == pytest.approx(3e6, rel=1e-10)
    assert curve.cost(p0, 0.0, 1 / (kappa * p0)) == math.inf


# ------------------------------------------------------------------ constant product


@pytest.mark.parametrize("q", [1.0, 500.0, 1e5])
def test_constant_product_sell_from_a_fresh_pool(q):
    R, e = 1e7, 2000.0
    m = Market()
    m.set_exogenous("ETH", e)
    m.configure("ETH", ConstantProduct(R), HOUR)
    x, y = R / e, R
    k = x * y
    usd = m.sell("ETH", q)
    x1, y1 = x + q, y - usd
    assert x1 * y1 == pytest.approx(k, rel=1e-12)
    assert usd == pytest.approx(y - k / (x + q), rel=1e-12)
    assert m.price("ETH") == pytest.approx(y1 / x1, rel=1e-12)
    assert usd < q * e


def test_constant_product_buy_from_a_fresh_pool():
    R, e = 1e7, 2000.0
    m = Market()
    m.set_exogenous("ETH", e)
    m.configure("ETH", ConstantProduct(R), HOUR)
    x, y = R / e, R
    tokens = m.buy("ETH", 2e6)
    assert (x - tokens) * (y + 2e6) == pytest.approx(x * y, rel=1e-12)
    assert m.price("ETH") == pytest.approx((y + 2e6) / (x - tokens), rel=1e-12)


def test_constant_product_two_trades_stay_on_the_curve():
    # Without decay and with a fixed exogenous price, consecutive trades stay on one x·y = k.
    R, e = 1e7, 2000.0
    m = Market()
    m.set_exogenous("ETH", e)
    m.configure("ETH", ConstantProduct(R), HOUR)
    usd = m.sell("ETH", 300.0) + m.sell("ETH", 700.0)
    assert usd == pytest.approx(R - R * (R / e) / (R / e + 1000.0), rel=1e-12)


def test_constant_product_recentres_on_the_exogenous_price():
    R = 1e7
    m = Market()
    m.set_exogenous("ETH", 2000.0)
    m.configure("ETH", ConstantProduct(R), HOUR)
    m.sell("ETH", 1000.0)
    dev = m.dev["ETH"]
    m.set_exogenous("ETH", 1000.0)
    assert m.price("ETH") == pytest.approx(1000.0 * math.exp(dev))
    x, y = ConstantProduct(R).reserves(1000.0, dev)
    assert y / x == pytest.approx(m.price("ETH"))
    assert x * y == pytest.approx(R * R / 1000.0)


# ------------------------------------------------------------------ decay


def test_after_one_half_life_the_deviation_halves():
    m = loglinear_market(half_life=2 * HOUR)
    m.sell("ETH", 10_000.0)
    dev = m.dev["ETH"]
    m.step(2 * HOUR)
    assert m.dev["ETH"] == pytest.approx(dev / 2, rel=1e-12)
    m.step(4 * HOUR)
    assert m.dev["ETH"] == pytest.approx(dev / 8, rel=1e-12)


@pytest.mark.parametrize("n", [1, 7, 60, 3600])
def test_decay_does_not_depend_on_the_tick_split(n):
    m = loglinear_market(half_life=HOUR)
    m.sell("ETH", 10_000.0)
    dev = m.dev["ETH"]
    for _ in range(n):
        m.step(3 * HOUR / n)
    assert m.dev["ETH"] == pytest.approx(dev / 8, rel=1e-10)


def test_decay_edge_cases():
    assert decay(0.3, 10.0, 0.0) == 0.0  # instant recovery
    assert decay(0.3, 10.0, math.inf) == 0.3  # no recovery
    assert decay(0.3, 0.0, 0.0) == 0.3  # no time passed
    assert decay(-0.4, 5.0, 5.0) == pytest.approx(-0.2)


def test_price_follows_the_exogenous_price_and_recovers():
    m = loglinear_market(half_life=HOUR)
    m.sell("ETH", 10_000.0)
    ratio = m.price("ETH") / 2000.0
    m.set_exogenous("ETH", 1500.0)
    assert m.price("ETH") / 1500.0 == pytest.approx(ratio)
    m.step(1000 * HOUR)
    assert m.price("ETH") == pytest.approx(1500.0, rel=1e-12)


# ------------------------------------------------------------------ no depth, quotes, book-keeping


def test_no_depth_market_does_not_move():
    m = Market()
    m.set_exogenous("ETH", 2000.0)  # unconfigured: no depth
    assert m.sell("ETH", 1e6) == pytest.approx(2e9)
    assert m.price("ETH") == 2000.0
    assert m.buy("ETH", 4e9) == pytest.approx(2e6)
    assert m.price("ETH") == 2000.0
    m.configure("ETH", NoDepth(), HOUR)
    m.sell("ETH", 1e9)
    m.step(HOUR)
    assert m.price("ETH") == 2000.0
    assert m.room("ETH", 2000.0) == 0.0
    assert m.room("ETH", 1999.0) == math.inf
    assert m.room("ETH", 2001.0) == -math.inf


@pytest.mark.parametrize("impact", [NoDepth(), LogLinear(D), ConstantProduct(1e7)])
def test_quotes_do_not_change_state(impact):
    m = Market()
    m.set_exogenous("ETH", 2000.0)
    m.configure("ETH", impact, HOUR)
    m.sell("ETH", 100.0)
    before = copy.deepcopy(m)
    usd = m.quote_sell("ETH", 1000.0)
    tokens = m.quote_buy("ETH", 1e6)
    m.room("ETH", 1900.0)
    assert m == before
    assert m.sell("ETH", 1000.0) == usd
    m2 = copy.deepcopy(before)
    assert m2.buy("ETH", 1e6) == tokens

    dai = DaiMarket(depth_usd_2pct=1e6, half_life=HOUR)
    dai.sell_dai(1e5)
    before_dai = copy.deepcopy(dai)
    got = dai.quote_buy_dai(5e5)
    dai.quote_sell_dai(5e5)
    dai.quote_cost_dai(5e5)
    dai.arbitrage_room(1.0)
    assert dai == before_dai
    assert dai.buy_dai(5e5) == got


def test_cumulative_volumes():
    m = loglinear_market()
    usd = m.sell("ETH", 10.0) + m.sell("ETH", 5.0)
    tokens = m.buy("ETH", 1000.0)
    assert m.tokens_sold["ETH"] == 15.0
    assert m.usd_received["ETH"] == pytest.approx(usd)
    assert m.tokens_bought["ETH"] == pytest.approx(tokens)
    assert m.usd_spent["ETH"] == 1000.0


def test_configure_keeps_the_deviation_and_can_precede_the_price():
    m = Market()
    m.configure("ETH", LogLinear(D), HOUR)
    m.set_exogenous("ETH", 2000.0)
    m.sell("ETH", 1000.0)
    dev = m.dev["ETH"]
    m.configure("ETH", ConstantProduct(1e7), 2 * HOUR)
    assert m.dev["ETH"] == dev
    assert m.half_life["ETH"] == 2 * HOUR


@pytest.mark.parametrize("impact", [LogLinear(D), ConstantProduct(1e7)])
@pytest.mark.parametrize("target", [1800.0, 2300.0])
def test_market_room_reaches_the_target(impact, target):
    m = Market()
    m.set_exogenous("ETH", 2000.0)
    m.configure("ETH", impact, HOUR)
    room = m.room("ETH", target)
    if room > 0:
        m.sell("ETH", room)
    else:
        # Buy exactly -room tokens: find the USD by the curve's inverse.
        m2 = copy.deepcopy(m)
        lo, hi = 0.0, 1e12
        for _ in range(200):
            mid = (lo + hi) / 2
            if m2.quote_buy("ETH", mid) < -room:
                lo = mid
            else:
                hi = mid
        m.buy("ETH", hi)
    assert m.price("ETH") == pytest.approx(target, rel=1e-9)


def test_invalid_inputs_are_loud():
    m = loglinear_market()
    with pytest.raises(ValueError):
        m.sell("ETH", -1.0)
    with pytest.raises(ValueError):
        m.buy("ETH", math.nan)
    with pytest.raises(ValueError):
        m.set_exogenous("ETH", 0.0)
    with pytest.raises(ValueError):
        m.step(-1.0)
    with pytest.raises(ValueError):
        m.configure("ETH", LogLinear(D), -1.0)
    with pytest.raises(TypeError):
        m.configure("ETH", 5e6, HOUR)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        LogLinear(0.0)
    with pytest.raises(ValueError):
        ConstantProduct(-1.0)
    with pytest.raises(ValueError):
        DaiMarket(depth_usd_2pct=1e6, half_life=math.nan)
    with pytest.raises(ValueError):
        DaiMarket(depth_usd_2pct=1e6, half_life=HOUR).arbitrage_room(0.0)
    with pytest.raises(KeyError):
        m.sell("WBTC", 1.0)


# ------------------------------------------------------------------ Dai market


def test_dai_buy_pushes_above_peg_and_decays_back():
    dai = DaiMarket(depth_usd_2pct=1e6, half_life=HOUR)
    assert dai.price() == 1.0
    got = dai.buy_dai(1e6)
    assert dai.price() == pytest.approx(1 / 0.98, rel=1e-12)
    assert 0 < got < 1e6
    dev = dai.dev
    dai.step(HOUR)
    assert dai.dev == pytest.approx(dev / 2, rel=1e-12)
    assert 1.0 < dai.price() < 1 / 0.98
    dai.step(100 * HOUR)
    assert dai.price() == pytest.approx(1.0, rel=1e-12)
    assert dai.dai_bought == got
    assert dai.usd_spent == 1e6


def test_dai_sell_pushes_below_peg():
    dai = DaiMarket(depth_usd_2pct=1e6, half_life=HOUR)
    usd = dai.sell_dai(5e5)
    assert dai.price() < 1.0
    assert 0 < usd < 5e5
    assert dai.dai_sold == 5e5
    assert dai.usd_received == usd


@pytest.mark.parametrize("target", [1.0, 1.001, 0.999, 1.02])
@pytest.mark.parametrize("start_usd", [3e5, -3e5])
def test_arbitrage_room_brings_the_price_exactly_to_the_target(target, start_usd):
    dai = DaiMarket(depth_usd_2pct=1e6, half_life=HOUR)
    if start_usd > 0:
        dai.buy_dai(start_usd)  # premium
    else:
        dai.sell_dai(-start_usd)  # discount
    room = dai.arbitrage_room(target)
    assert (room > 0) == (dai.price() > target)
    if room > 0:
        dai.sell_dai(room)
    else:
        usd = dai.quote_cost_dai(-room)
        assert dai.buy_dai(usd) == pytest.approx(-room, rel=1e-9)
    assert dai.price() == pytest.approx(target, rel=1e-12)
    assert dai.arbitrage_room(target) == pytest.approx(0.0, abs=1e-6)


# ------------------------------------------------------------------ properties

amounts = st.floats(min_value=1e-6, max_value=1e7, allow_nan=False)
prices = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False)
depths = st.floats(min_value=1e3, max_value=1e10, allow_nan=False)
devs = st.floats(min_value=-2.0, max_value=2.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(price=prices, depth=depths, dev=devs, q=amounts)
def test_loglinear_sell_then_buy_back_restores_the_price(price, depth, dev, q):
    m = Market()
    m.set_exogenous("X", price)
    m.configure("X", LogLinear(depth), HOUR)
    m.dev["X"] = dev
    p0 = m.price("X")
    usd = m.sell("X", q)
    assert math.isfinite(usd) and usd > 0
    assert usd <= q * p0 * (1 + 1e-12)
    m.buy("X", usd)
    assert m.price("X") == pytest.approx(p0, rel=1e-9)
    assert m.dev["X"] == pytest.approx(dev, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(price=prices, depth=depths, dev=devs, q=amounts)
def test_constant_product_sell_then_buy_back_restores_the_price(price, depth, dev, q):
    m = Market()
    m.set_exogenous("X", price)
    m.configure("X", ConstantProduct(depth), HOUR)
    m.dev["X"] = dev
    p0 = m.price("X")
    usd = m.sell("X", q)
    assert math.isfinite(usd) and usd > 0
    assert usd <= q * p0 * (1 + 1e-12)
    m.buy("X", usd)
    assert m.price("X") == pytest.approx(p0, rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(depth=depths, dev=devs, usd=amounts)
def test_dai_proceeds_are_positive_and_finite(depth, dev, usd):
    dai = DaiMarket(depth_usd_2pct=depth, half_life=HOUR, dev=dev)
    got = dai.buy_dai(usd)
    assert math.isfinite(got) and got > 0
    back = dai.sell_dai(got)
    assert math.isfinite(back) and back > 0
    assert back == pytest.approx(usd, rel=1e-9)  # path independence: the round trip is free
    assert dai.dev == pytest.approx(dev, abs=1e-9)
