"""Market depth: the price impact of trades and its recovery towards the exogenous price.

The exogenous price ``e`` of an asset [USD/token] is set each tick by the price
agent; the market price the agents trade at is

    ``p = e·exp(dev)``

where ``dev`` is the market's log deviation from the exogenous price [dimensionless]. Trades move
``dev`` through an impact curve; between trades ``dev`` decays towards 0 with a half-life
(:meth:`Market.step`):

    ``dev ← dev·0.5^(dt / half_life)``

so the decay of a period does not depend on how the period is split into ticks. Selling
collateral therefore lowers the market price, the Medianizer/OSM follow it an hour later and more
vaults become unsafe: the deleveraging spiral.

Impact kinds (each a frozen dataclass with the pure trade functions ``sell``, ``buy`` and
``room``; every kind acts on ``dev`` only, so all share the same decay mechanism):

- :class:`LogLinear` (``depth_usd_2pct`` ``D`` [USD]): the log price moves linearly in the USD
  flow, ``d ln p = ∓κ·dU`` with ``κ = ln(1/0.98)/D`` [1/USD], where ``dU = p·dq`` is the USD value
  of each slice ``dq`` of tokens at the price it executes at. A trade whose USD flow is ``D`` moves
  the price by exactly −2 % (sell, ``p' = 0.98·p``) or +2 % (buy, ``p' = p/0.98``). Equivalently
  ``1/p`` is linear in the tokens traded: ``1/p' = 1/p + κ·q`` after selling ``q`` tokens.
- :class:`ConstantProduct` (``reserves_usd`` ``R`` [USD]): a pool ``x·y = k`` holding ``x``
  tokens and ``y`` USD, re-centred on the exogenous price: at ``dev = 0`` it holds ``y = R`` USD and
  ``x = R/e`` tokens (``k = R²/e``); at deviation ``dev`` it is the point of that curve with price
  ``y/x = e·exp(dev)``, i.e. ``y = R·exp(dev/2)``, ``x = (R/e)·exp(−dev/2)``. Each trade rebuilds
  the pool from ``dev`` this way, trades on it, and stores the new ``dev``. A fresh pool
  (``dev = 0``) trades exactly as ``x·y = k``. Its 2 % depth is ``R·(1 − √0.98) ≈ 0.01·R``.
- :class:`NoDepth`: an infinitely deep market, trades execute at ``p`` and do not move it.

Both curves execute along the curve (the proceeds are the integral of the instantaneous price),
so a large sale gets a worse average price than a small one, and are path independent: selling
``q₁`` then ``q₂`` (without decay in between) is the same as selling ``q₁ + q₂``, and buying back
with the proceeds of a sale restores the price exactly.

:class:`DaiMarket` is the Dai/USD market: a :class:`LogLinear` curve around the peg ``par``.

Pure python/numpy: no mesa, no randomness, no global state. Every call is O(1) (agents trade
aggregated amounts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: ``ln(1/0.98)``: the log-price move of a 2 % fall.
LN_2PCT = -math.log(0.98)


def _check_amount(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(f"{name} must be finite and >= 0, got {value}")
    return value


def _check_price(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be finite and > 0, got {value}")
    return value


# ---------------------------------------------------------------------------------------------
# impact kinds


@dataclass(frozen=True)
class NoDepth:
    """An infinitely deep market: trades execute at the market price and do not move it."""

    def sell(self, exogenous: float, dev: float, tokens: float) -> tuple[float, float]:
        """Sell ``tokens`` at ``p = exogenous·exp(dev)``: proceeds ``q·p`` [USD], ``dev`` unchanged.

        Returns:
            ``(usd_received, new_dev)``.
        """
        return tokens * exogenous * math.exp(dev), dev

    def buy(self, exogenous: float, dev: float, usd: float) -> tuple[float, float]:
        """Spend ``usd`` at ``p``: tokens ``usd/p``, ``dev`` unchanged.

        Returns:
            ``(tokens_received, new_dev)``.
        """
        return usd / (exogenous * math.exp(dev)), dev

    def sell_each(self, exogenous: float, dev: float, tokens: np.ndarray) -> np.ndarray:
        """USD each amount in ``tokens`` would bring if sold alone: ``q·p`` [USD]."""
        return tokens * (exogenous * math.exp(dev))

    def buy_each(self, exogenous: float, dev: float, usd: np.ndarray) -> np.ndarray:
        """Tokens each amount in ``usd`` would buy if spent alone: ``usd/p`` [tokens]."""
        return usd / (exogenous * math.exp(dev))

    def room(self, exogenous: float, dev: float, target: float) -> float:
        """Tokens to sell (> 0) or buy (< 0) to bring the price to ``target``: ±inf (or 0)."""
        target = _check_price("target", target)
        price = exogenous * math.exp(dev)
        if target == price:
            return 0.0
        return math.inf if target < price else -math.inf


@dataclass(frozen=True)
class LogLinear:
    """Log-linear impact with a 2 % depth.

    The log price moves by ``κ`` per USD of flow, ``κ = ln(1/0.98)/D`` [1/USD]. With ``p`` the
    price before the trade:

    - selling ``q`` tokens: ``1/p' = 1/p + κ·q``, proceeds ``U = ln(1 + κ·p·q)/κ`` [USD] (the
      integral of the instantaneous price; ``U < q·p``), ``dev' = dev − κ·U``;
    - spending ``u`` USD: ``dev' = dev + κ·u``, tokens ``(1 − e^{−κ·u})/(κ·p)`` [tokens], i.e.
      ``1/p' = 1/p − κ·tokens``.

    Attributes:
        depth_usd_2pct: ``D``, the USD flow that moves the price by 2 % [USD].
    """

    depth_usd_2pct: float

    def __post_init__(self) -> None:
        _check_price("depth_usd_2pct", self.depth_usd_2pct)

    @property
    def kappa(self) -> float:
        """``κ = ln(1/0.98)/D``: log-price move per USD of flow [1/USD]."""
        return LN_2PCT / self.depth_usd_2pct

    def sell(self, exogenous: float, dev: float, tokens: float) -> tuple[float, float]:
        """Sell ``tokens`` along the curve.

        Returns:
            ``(usd_received, new_dev)``: ``U = ln(1 + κ·p·q)/κ``, ``dev − κ·U``.
        """
        kappa = self.kappa
        shift = math.log1p(kappa * exogenous * math.exp(dev) * tokens)  # = κ·U
        return shift / kappa, dev - shift

    def sell_each(self, exogenous: float, dev: float, tokens: np.ndarray) -> np.ndarray:
        """USD each amount in ``tokens`` would bring if sold alone (no state change) [USD]."""
        kappa = self.kappa
        return np.log1p(kappa * exogenous * math.exp(dev) * tokens) / kappa

    def buy_each(self, exogenous: float, dev: float, usd: np.ndarray) -> np.ndarray:
        """Tokens each amount in ``usd`` would buy if spent alone (no state change) [tokens]."""
        kappa = self.kappa
        return -np.expm1(-kappa * usd) / (kappa * exogenous * math.exp(dev))

    def buy(self, exogenous: float, dev: float, usd: float) -> tuple[float, float]:
        """Spend ``usd`` along the curve.

        Returns:
            ``(tokens_received, new_dev)``: ``−expm1(−κ·u)/(κ·p)``, ``dev + κ·u``.
        """
        kappa = self.kappa
        price = exogenous * math.exp(dev)
        return -math.expm1(-kappa * usd) / (kappa * price), dev + kappa * usd

    def room(self, exogenous: float, dev: float, target: float) -> float:
        """Tokens to sell (> 0) or buy (< 0) to bring the price to ``target`` [tokens].

        Closed form: ``(1/target − 1/p)/κ``. Buying more than ``1/(κ·p)`` tokens is impossible
        (the price would be infinite), so a buy room is always above ``−1/(κ·p)``.
        """
        target = _check_price("target", target)
        price = exogenous * math.exp(dev)
        return (1.0 / target - 1.0 / price) / self.kappa

    def cost(self, exogenous: float, dev: float, tokens: float) -> float:
        """USD needed to buy exactly ``tokens``: ``−ln(1 − κ·p·q)/κ`` (inf if ``κ·p·q ≥ 1``)."""
        x = self.kappa * exogenous * math.exp(dev) * tokens
        if x >= 1.0:
            return math.inf
        return -math.log1p(-x) / self.kappa


@dataclass(frozen=True)
class ConstantProduct:
    """A constant-product pool ``x·y = k``, re-centred on the exogenous price.

    At deviation ``dev`` from the exogenous price ``e`` the pool holds ``y = R·exp(dev/2)`` USD and
    ``x = (R/e)·exp(−dev/2)`` tokens (``k = R²/e``, price ``y/x = e·exp(dev)``).

    - selling ``q`` tokens: ``x' = x + q``, proceeds ``y − k/x' = y·q/(x + q)`` [USD],
      ``dev' = dev − 2·ln(1 + q/x)``;
    - spending ``u`` USD: ``y' = y + u``, tokens ``x − k/y' = x·u/(y + u)``,
      ``dev' = dev + 2·ln(1 + u/y)``.

    No fee is charged.

    Attributes:
        reserves_usd: ``R``, the pool's USD reserve at ``dev = 0`` [USD].
    """

    reserves_usd: float

    def __post_init__(self) -> None:
        _check_price("reserves_usd", self.reserves_usd)

    def reserves(self, exogenous: float, dev: float) -> tuple[float, float]:
        """The pool at deviation ``dev``: ``(x [tokens], y [USD])``."""
        half = 0.5 * dev
        return self.reserves_usd / exogenous * math.exp(-half), self.reserves_usd * math.exp(half)

    def sell(self, exogenous: float, dev: float, tokens: float) -> tuple[float, float]:
        """Sell ``tokens`` into the pool.

        Returns:
            ``(usd_received, new_dev)``.
        """
        x, y = self.reserves(exogenous, dev)
        return y * tokens / (x + tokens), dev - 2.0 * math.log1p(tokens / x)

    def sell_each(self, exogenous: float, dev: float, tokens: np.ndarray) -> np.ndarray:
        """USD each amount in ``tokens`` would bring if sold alone (no state change) [USD]."""
        x, y = self.reserves(exogenous, dev)
        return y * tokens / (x + tokens)

    def buy(self, exogenous: float, dev: float, usd: float) -> tuple[float, float]:
        """Spend ``usd`` on the pool.

        Returns:
            ``(tokens_received, new_dev)``.
        """
        x, y = self.reserves(exogenous, dev)
        return x * usd / (y + usd), dev + 2.0 * math.log1p(usd / y)

    def room(self, exogenous: float, dev: float, target: float) -> float:
        """Tokens to sell (> 0) or buy (< 0) to bring the price to ``target`` [tokens].

        Closed form: ``x' = √(k/target)``, room ``x' − x``.
        """
        target = _check_price("target", target)
        x, _ = self.reserves(exogenous, dev)
        return x * (math.sqrt(exogenous * math.exp(dev) / target) - 1.0)


#: Any impact kind.
Impact = NoDepth | LogLinear | ConstantProduct


# ---------------------------------------------------------------------------------------------
# decay


def decay(dev: float, dt: float, half_life: float) -> float:
    """Relax a log deviation towards 0: ``dev·0.5^(dt/half_life)``.

    Args:
        dev: log deviation [dimensionless].
        dt: elapsed time [s], ``>= 0``.
        half_life: recovery half-life [s]; ``0`` = instant recovery, ``inf`` = none.
    """
    if dt <= 0.0 or dev == 0.0:
        return dev
    if half_life <= 0.0:
        return 0.0
    return dev * 0.5 ** (dt / half_life)


def _check_half_life(half_life: float) -> float:
    half_life = float(half_life)
    if math.isnan(half_life) or half_life < 0.0:
        raise ValueError(f"half_life must be >= 0 (inf = no recovery), got {half_life}")
    return half_life


# ---------------------------------------------------------------------------------------------
# collateral market


@dataclass
class Market:
    """Market prices of the collateral assets, with impact and recovery.

    The market price of an asset is ``exogenous·exp(dev)`` [USD/token]. An asset that was never
    configured has :class:`NoDepth` and no recovery (its ``dev`` stays 0).

    Attributes:
        exogenous: the exogenous price of each asset this tick [USD/token].
        dev: log deviation of the market price from the exogenous price [dimensionless].
        impact: the impact kind of each asset.
        half_life: recovery half-life of ``dev`` [s].
        tokens_sold: cumulative tokens sold into the market [tokens].
        tokens_bought: cumulative tokens bought from the market [tokens].
        usd_received: cumulative USD received by sellers [USD].
        usd_spent: cumulative USD spent by buyers [USD].
    """

    exogenous: dict[str, float] = field(default_factory=dict)
    dev: dict[str, float] = field(default_factory=dict)
    impact: dict[str, Impact] = field(default_factory=dict)
    half_life: dict[str, float] = field(default_factory=dict)
    tokens_sold: dict[str, float] = field(default_factory=dict)
    tokens_bought: dict[str, float] = field(default_factory=dict)
    usd_received: dict[str, float] = field(default_factory=dict)
    usd_spent: dict[str, float] = field(default_factory=dict)

    def _ensure(self, asset: str) -> None:
        self.dev.setdefault(asset, 0.0)
        self.impact.setdefault(asset, NoDepth())
        self.half_life.setdefault(asset, math.inf)
        for book in (self.tokens_sold, self.tokens_bought, self.usd_received, self.usd_spent):
            book.setdefault(asset, 0.0)

    def configure(self, asset: str, impact: Impact, half_life: float) -> None:
        """Set the impact kind and the recovery half-life [s] of ``asset`` (keeps its ``dev``)."""
        if not isinstance(impact, NoDepth | LogLinear | ConstantProduct):
            raise TypeError(f"impact must be NoDepth, LogLinear or ConstantProduct, got {impact!r}")
        self._ensure(asset)
        self.impact[asset] = impact
        self.half_life[asset] = _check_half_life(half_life)

    def set_exogenous(self, asset: str, price: float) -> None:
        """Publish the exogenous price of ``asset`` for this tick [USD/token]."""
        if not (price > 0.0 and math.isfinite(price)):
            _check_price(f"exogenous price of {asset}", price)  # raises with the message
        if asset not in self.exogenous:
            self._ensure(asset)
        self.exogenous[asset] = float(price)

    def price(self, asset: str) -> float:
        """The market price of ``asset``: ``exogenous·exp(dev)`` [USD/token]."""
        return self.exogenous[asset] * math.exp(self.dev.get(asset, 0.0))

    def quote_sell(self, asset: str, tokens: float) -> float:
        """USD that selling ``tokens`` would bring now, without trading [USD]."""
        tokens = _check_amount("tokens", tokens)
        usd, _ = self.impact[asset].sell(self.exogenous[asset], self.dev[asset], tokens)
        return usd

    def quote_sell_each(self, asset: str, tokens: np.ndarray) -> np.ndarray:
        """USD that selling each amount of ``tokens`` alone would bring now [USD]."""
        return self.impact[asset].sell_each(self.exogenous[asset], self.dev[asset], tokens)

    def quote_buy(self, asset: str, usd: float) -> float:
        """Tokens that spending ``usd`` would buy now, without trading [tokens]."""
        usd = _check_amount("usd", usd)
        tokens, _ = self.impact[asset].buy(self.exogenous[asset], self.dev[asset], usd)
        return tokens

    def sell(self, asset: str, tokens: float) -> float:
        """Sell ``tokens`` of ``asset`` for USD, moving the price down.

        Returns:
            The USD received [USD].
        """
        tokens = _check_amount("tokens", tokens)
        usd, self.dev[asset] = self.impact[asset].sell(
            self.exogenous[asset], self.dev[asset], tokens
        )
        self.tokens_sold[asset] += tokens
        self.usd_received[asset] += usd
        return usd

    def buy(self, asset: str, usd: float) -> float:
        """Spend ``usd`` on ``asset``, moving the price up.

        Returns:
            The tokens received [tokens].
        """
        usd = _check_amount("usd", usd)
        tokens, self.dev[asset] = self.impact[asset].buy(
            self.exogenous[asset], self.dev[asset], usd
        )
        self.tokens_bought[asset] += tokens
        self.usd_spent[asset] += usd
        return tokens

    def room(self, asset: str, target: float) -> float:
        """Tokens to sell (> 0) or buy (< 0) to bring the market price to ``target`` [tokens]."""
        return self.impact[asset].room(self.exogenous[asset], self.dev[asset], target)

    def step(self, dt: float) -> None:
        """Let every asset's deviation recover for ``dt`` seconds: ``dev·0.5^(dt/half_life)``."""
        dt = _check_amount("dt", dt)
        for asset, dev in self.dev.items():
            self.dev[asset] = decay(dev, dt, self.half_life[asset])


# ---------------------------------------------------------------------------------------------
# Dai market


@dataclass
class DaiMarket:
    """The Dai/USD market: a :class:`LogLinear` curve around the peg.

    The Dai price is ``par·exp(dev)`` [USD/Dai]; buying Dai pushes it up, selling pushes it down
    (the formulas of :class:`LogLinear` with Dai as the token), and ``dev`` decays back to 0 with
    ``half_life``.

    Attributes:
        depth_usd_2pct: USD flow that moves the Dai price by 2 % [USD].
        half_life: recovery half-life of the deviation from the peg [s].
        par: the peg [USD/Dai].
        dev: log deviation of the Dai price from ``par`` [dimensionless].
        dai_bought: cumulative Dai bought from the market [Dai].
        dai_sold: cumulative Dai sold into the market [Dai].
        usd_spent: cumulative USD spent buying Dai [USD].
        usd_received: cumulative USD received selling Dai [USD].
    """

    depth_usd_2pct: float
    half_life: float
    par: float = 1.0
    dev: float = 0.0
    dai_bought: float = 0.0
    dai_sold: float = 0.0
    usd_spent: float = 0.0
    usd_received: float = 0.0

    def __post_init__(self) -> None:
        if not math.isinf(self.depth_usd_2pct):
            _check_price("depth_usd_2pct", self.depth_usd_2pct)
        self.half_life = _check_half_life(self.half_life)
        self.par = _check_price("par", self.par)
        # Infinite depth: Dai always trades at par (no Dai market configured).
        self._curve = (
            NoDepth() if math.isinf(self.depth_usd_2pct) else LogLinear(self.depth_usd_2pct)
        )

    @classmethod
    def pegged(cls, par: float = 1.0) -> DaiMarket:
        """A Dai market of infinite depth: every trade at ``par``, the price never moves."""
        return cls(depth_usd_2pct=math.inf, half_life=0.0, par=par)

    @property
    def curve(self) -> LogLinear | NoDepth:
        """The impact curve: :class:`LogLinear` with ``depth_usd_2pct`` (NoDepth if infinite)."""
        return self._curve

    def price(self) -> float:
        """The Dai price ``par·exp(dev)`` [USD/Dai]."""
        return self.par * math.exp(self.dev)

    def quote_buy_dai(self, usd: float) -> float:
        """Dai that spending ``usd`` would buy now, without trading [Dai]."""
        dai, _ = self.curve.buy(self.par, self.dev, _check_amount("usd", usd))
        return dai

    def quote_buy_dai_each(self, usd: np.ndarray) -> np.ndarray:
        """Dai that spending each amount of ``usd`` alone would buy now [Dai]."""
        return self.curve.buy_each(self.par, self.dev, usd)

    def quote_sell_dai(self, dai: float) -> float:
        """USD that selling ``dai`` would bring now, without trading [USD]."""
        usd, _ = self.curve.sell(self.par, self.dev, _check_amount("dai", dai))
        return usd

    def quote_cost_dai(self, dai: float) -> float:
        """USD needed to buy exactly ``dai`` Dai now: ``−ln(1 − κ·p·dai)/κ`` (inf if impossible)."""
        dai = _check_amount("dai", dai)
        if isinstance(self._curve, NoDepth):
            return dai * self.price()
        return self._curve.cost(self.par, self.dev, dai)

    def buy_dai(self, usd: float) -> float:
        """Spend ``usd`` on Dai, pushing the price up.

        Returns:
            The Dai received [Dai].
        """
        usd = _check_amount("usd", usd)
        dai, self.dev = self.curve.buy(self.par, self.dev, usd)
        self.dai_bought += dai
        self.usd_spent += usd
        return dai

    def sell_dai(self, dai: float) -> float:
        """Sell ``dai`` for USD, pushing the price down.

        Returns:
            The USD received [USD].
        """
        dai = _check_amount("dai", dai)
        usd, self.dev = self.curve.sell(self.par, self.dev, dai)
        self.dai_sold += dai
        self.usd_received += usd
        return usd

    def arbitrage_room(self, target: float) -> float:
        """Dai to trade to bring the Dai price exactly to ``target`` [Dai].

        Closed form ``(1/target − 1/p)/κ`` with ``p`` the current price: positive when the price is
        above ``target`` (sell that many Dai, :meth:`sell_dai`), negative when below (buy that many
        Dai, spending :meth:`quote_cost_dai` of ``−room`` with :meth:`buy_dai`), 0 at the target.
        """
        return self.curve.room(self.par, self.dev, target)

    def step(self, dt: float) -> None:
        """Let the price recover towards ``par`` for ``dt`` seconds: ``dev·0.5^(dt/half_life)``."""
        self.dev = decay(self.dev, _check_amount("dt", dt), self.half_life)
