"""Borrower cohorts: many vaults sharing an ilk and a strategy, decided in vectorised passes.

A cohort owns a contiguous slice ``[lo, hi)`` of its ilk's vault book. Strategies read the
protocol state and act only through ``Vat.frob_many``.

- ``passive``: never acts.
- ``target_cr``: when a vault's CR at the market price falls below ``trigger``, after ``delay``
  and with probability ``react_prob`` per tick, it restores ``target`` by locking collateral from
  its wallet (``action: lock``) or repaying Dai bought in the Dai market with its wallet (``action: repay``: the budget in Dai at par; deleveraging pushes Dai above par).
- ``leverage``: when CR rises above ``up``, the vault draws Dai, sells it for USD in the Dai
  market, buys collateral in the collateral market and locks it, back to ``target`` — the
  pro-cyclical part (it pushes the collateral price up and the Dai price down).
- ``close``: when CR falls below ``panic``, the owner buys the vault's debt in Dai in the Dai
  market (pushing Dai above par), repays everything, frees the collateral and, with
  ``sell_collateral``, sells enough of it to pay for the Dai (pushing the collateral down).

Trades of a cohort in one tick are aggregated into one market order (vectorised decisions, one
impact), and split between the vaults in proportion to their needs.

With a network section each acting vault sends one transaction (``frob`` through its DSProxy;
``close`` to unwind) at the cohort's gas bid (``borrowers[].gas``; none: the tick's gas price).
Those that do not fit in the tick's blocks at that bid are priced out: they stay triggered and
try again in a later tick (a top-up that loses the gas race to a bark comes too late).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.agents.bidding import GasBidder
from sim.agents.resample import resample_book
from sim.market.gas import tx_cost_eth
from sim.scenario import CloseStrategy, Cohort, LeverageStrategy, TargetCrStrategy

if TYPE_CHECKING:
    from sim.model import ProtocolModel


def initial_book(
    cohort: Cohort,
    price: float,
    rng: np.random.Generator,
    dust: float = 0.0,
    book: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw (or read) the cohort's starting vaults.

    Log-normal vault sizes are drawn, then any vault below ``dust`` is raised to ``dust`` and
    the others scaled down so that the cohort's total debt is kept (when ``vaults·dust`` fits).
    A cohort with a ``book`` opens the book's vaults as they are; with ``book.resample`` it
    draws ``resample.vaults`` from a kernel density fitted to them
    (:func:`sim.agents.resample.resample_book`, from ``rng``), rescaled to the cohort's debt,
    CRs shifted by ``cr_shift``, then floored at ``dust`` as above.

    Args:
        cohort: the cohort spec (vault count, total debt, CR and size distributions, or book).
        price: collateral price at the start [USD/token].
        rng: the cohort's generator.
        dust: the ilk's minimum vault debt [Dai].
        book: the book's ``(ink, debt)`` rows [tokens, Dai] for a cohort with a book
            (:func:`sim.scenario.books.cohort_rows`).

    Returns:
        ``(ink, debt)`` per vault: collateral [tokens] and debt [Dai].
    """
    if cohort.book is not None:
        if book is None:
            raise ValueError(f"cohort {cohort.name} reads a book: pass its rows")
        return _from_book(cohort, price, rng, dust, *book)
    n = cohort.vaults
    if cohort.size.dist == "equal":
        weights = np.full(n, 1.0 / n)
    else:
        raw = rng.lognormal(0.0, cohort.size.sigma, n)
        weights = raw / raw.sum()
    debt = _floor_at_dust(cohort.debt * weights, cohort.debt, dust)
    cr_spec = cohort.cr
    if cr_spec.dist == "fixed":
        cr = np.full(n, float(cr_spec.median))
    elif cr_spec.dist == "uniform":
        cr = rng.uniform(float(cr_spec.min), float(cr_spec.max), n)
    else:
        cr = float(cr_spec.median) * np.exp(cr_spec.sigma * rng.standard_normal(n))
    lo = cr_spec.min if cr_spec.min is not None else -np.inf
    hi = cr_spec.max if cr_spec.max is not None else np.inf
    cr = np.clip(cr, lo, hi)
    ink = debt * cr / price
    return ink, debt


def _from_book(
    cohort: Cohort,
    price: float,
    rng: np.random.Generator,
    dust: float,
    ink: np.ndarray,
    debt: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """A book cohort's vaults: the rows as they are, or drawn like them (``resample``)."""
    res = cohort.book.resample
    if res is None:
        return np.array(ink, dtype=np.float64), np.array(debt, dtype=np.float64)
    owing = debt > 0
    cr = np.zeros(debt.shape)
    cr[owing] = ink[owing] * price / debt[owing]
    sizes, crs = resample_book(
        debt,
        cr,
        res.vaults,
        rng,
        total=cohort.debt,
        cr_shift=res.cr_shift,
        bandwidth=res.bandwidth,
    )
    sizes = _floor_at_dust(sizes, cohort.debt, dust)
    return sizes * crs / price, sizes


def _floor_at_dust(debt: np.ndarray, total: float, dust: float) -> np.ndarray:
    """Raise vaults below ``dust`` to it and rescale the rest to keep ``total`` (water-filling)."""
    if dust <= 0 or total < dust * debt.size:
        return debt
    debt = debt.copy()
    fixed = np.zeros(debt.shape, dtype=bool)
    for _ in range(debt.size):
        low = ~fixed & (debt < dust)
        if not low.any():
            break
        fixed |= low
        debt[fixed] = dust
        free = ~fixed
        debt[free] *= (total - dust * fixed.sum()) / debt[free].sum()
    return debt


class BorrowerCohort(mesa.Agent):
    """A cohort of vaults (one mesa agent), acting on its slice of the ilk's book.

    Attributes:
        spec: the cohort's scenario entry.
        ilk: ilk name.
        lo, hi: the cohort's slice of the ilk's vault book.
        wallet: per-vault reserve [tokens for ``lock``, Dai for ``repay``].
        since: time each vault first fell below the trigger [s], NaN when above.
        bidder: the cohort's gas bid (its vaults share one bot setting).
        gas_usd: value of the gas its vaults spent [USD].
    """

    def __init__(self, model: ProtocolModel, spec: Cohort, lo: int, hi: int, owner_id: int):
        super().__init__(model)
        self.spec = spec
        self.name = spec.name
        self.ilk = spec.ilk
        self.collateral = model.spec.ilks[spec.ilk].collateral
        self.mat = model.spec.ilks[spec.ilk].mat
        self.lo, self.hi = lo, hi
        self.owner_id = owner_id
        self.stream = model.streams.borrowers[owner_id]
        self.strategy = spec.strategy
        self.wallet = np.zeros(hi - lo)
        self.since = np.full(hi - lo, np.nan)
        #: Positions that may hold a trigger time in ``since`` (those triggered last tick).
        self._waiting_at = np.zeros(0, dtype=np.int64)
        self.bidder = GasBidder(model, spec.gas, self.stream)
        self.sender = f"borrowers.{spec.name}"
        self.gas_usd = 0.0

    def fund_wallets(self) -> None:
        """Give each vault its reserve, a fraction of its initial collateral or debt."""
        if not isinstance(self.strategy, TargetCrStrategy):
            return
        book = self.model.vat.ilks[self.ilk]
        base = book.ink if self.strategy.action == "lock" else book.art * book.rate
        self.wallet = base[self.lo : self.hi] * self.strategy.wallet

    def step(self) -> None:
        """Apply the cohort's strategy to its vaults."""
        st = self.strategy
        if isinstance(st, TargetCrStrategy):
            self._target_cr(st)
        elif isinstance(st, LeverageStrategy):
            self._leverage(st)
        elif isinstance(st, CloseStrategy):
            self._close(st)

    def _landed(self, ready: np.ndarray, call: str) -> np.ndarray:
        """The ready vaults whose ``call`` transactions land this tick (in vault order).

        The others are priced out: they keep their trigger time and try again later.
        """
        model = self.model
        blocks = model.blocks
        if blocks is None or ready.size == 0:
            return ready
        bid = self.bidder.bid()
        gas = model.gas_used[call]
        n = blocks.send(bid, gas, ready.size, self.sender)
        if n < ready.size:
            blocks.refuse(self.sender, ready.size - n)
        if n == 0:
            self.bidder.stuck()
            return ready[:0]
        self.bidder.landed()
        self.gas_usd += n * float(tx_cost_eth(gas, bid)) * model.eth_price()
        return ready[:n]

    def _ready(self, triggered: np.ndarray, delay: float, react_prob: float) -> np.ndarray:
        """Positions (within the cohort) of triggered vaults that act now (a mask of them)."""
        return self._ready_at(np.flatnonzero(triggered), delay, react_prob)

    def _ready_at(self, triggered: np.ndarray, delay: float, react_prob: float) -> np.ndarray:
        """Positions (within the cohort) of triggered vaults that act now.

        ``triggered`` holds the positions of the vaults below (or above) their trigger, in
        ascending order. A vault acts once it has been triggered for ``delay`` seconds, with
        probability ``react_prob`` per tick (draws only for the triggered vaults, in index
        order). Only the triggered vaults and those that were last tick are looked at, never
        the whole cohort.
        """
        now = self.model.now
        since = self.since
        waiting = self._waiting_at
        if triggered.size == 0:
            if waiting.size:
                since[waiting] = np.nan
                self._waiting_at = triggered
            return np.zeros(0, dtype=np.int64)
        at = since[triggered]  # when each was first triggered (NaN: it is new)
        if waiting.size:
            since[waiting] = np.nan  # vaults no longer triggered forget when they were
        self._waiting_at = triggered
        at[np.isnan(at)] = now
        since[triggered] = at
        ready = triggered[now - at >= delay]
        if react_prob < 1.0 and ready.size:
            ready = ready[self.stream.random(ready.size) < react_prob]
        return ready

    def _leverage(self, st: LeverageStrategy) -> None:
        model = self.model
        book = model.vat.ilks[self.ilk]
        price = model.market.price(self.collateral)
        ink = book.ink[self.lo : self.hi]
        art = book.art[self.lo : self.hi]
        # CR > up  ⇔  ink·price > art·rate·up (open vaults only)
        above = (art > 0) & (ink * (price / (book.rate * st.up)) > art)
        ready = self._landed(self._ready(above, st.delay, st.react_prob), "frob")
        if ready.size == 0:
            return
        debt = art[ready] * book.rate
        # Draw ΔD and lock ΔD/price of collateral: (ink·p + ΔD)/(D + ΔD) = target, but never
        # below the target at the protocol's (OSM) price either: ink·spot·mat/target ≥ D + ΔD.
        draw = np.maximum((ink[ready] * price - st.target * debt) / (st.target - 1.0), 0.0)
        osm_cap = ink[ready] * book.spot * self.mat / st.target - debt
        draw = np.minimum(draw, np.maximum(osm_cap, 0.0))
        idx = ready + self.lo
        code = model.vat.frob_many(self.ilk, idx, 0.0, draw / book.rate, actor=self.name)
        draw = np.where(code == 0, draw, 0.0)
        total = float(draw.sum())
        if total <= 0:
            return
        usd = model.dai_market.sell_dai(total)
        tokens = model.market.buy(self.collateral, usd)
        share = draw / total
        got = share > 0
        model.vat.frob_many(self.ilk, idx[got], tokens * share[got], 0.0, actor=self.name)
        self.since[ready] = np.nan

    def _close(self, st: CloseStrategy) -> None:
        model = self.model
        book = model.vat.ilks[self.ilk]
        price = model.market.price(self.collateral)
        ink = book.ink[self.lo : self.hi]
        art = book.art[self.lo : self.hi]
        below = (art > 0) & (ink * (price / (book.rate * st.panic)) < art)
        ready = self._landed(self._ready(below, st.delay, st.react_prob), "close")
        if ready.size == 0:
            return
        # Buy exactly the Dai owed in the Dai market, then repay and free everything. A thin
        # market may not hold that much Dai at any price: close the vaults (in index order)
        # whose debt it can supply, the others try again next tick.
        owed = np.cumsum(art[ready] * book.rate)
        market = model.dai_market
        n = ready.size
        if not np.isfinite(market.quote_cost_dai(float(owed[-1]))):
            lo, hi = 0, n
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if np.isfinite(market.quote_cost_dai(float(owed[mid - 1]))):
                    lo = mid
                else:
                    hi = mid
            n = lo
            if n == 0:
                return
        ready = ready[:n]
        idx = ready + self.lo
        cost = market.quote_cost_dai(float(owed[n - 1]))
        market.buy_dai(cost)
        freed = ink[ready].copy()
        code = model.vat.frob_many(self.ilk, idx, -freed, -art[ready], actor=self.name)
        closed = code == 0
        if st.sell_collateral and closed.any():
            # Sell enough of the freed collateral to pay for the Dai (at most all of it).
            tokens = min(float(freed[closed].sum()), cost / price)
            if tokens > 0:
                model.market.sell(self.collateral, tokens)
        self.since[ready] = np.nan

    def _target_cr(self, st: TargetCrStrategy) -> None:
        model = self.model
        book = model.vat.ilks[self.ilk]
        price = model.market.price(self.collateral)
        ink = book.ink[self.lo : self.hi]
        art = book.art[self.lo : self.hi]
        # CR < trigger  ⇔  ink·price < art·rate·trigger
        below = ink * (price / (book.rate * st.trigger)) < art
        ready = self._ready(below, st.delay, st.react_prob)
        if ready.size == 0:
            return
        ready = self._landed(ready[self.wallet[ready] > 0], "frob")
        if ready.size == 0:
            return
        idx = ready + self.lo
        if st.action == "lock":
            need = art[ready] * book.rate * st.target / price - ink[ready]
            dink = np.minimum(np.maximum(need, 0.0), self.wallet[ready])
            act = dink > 0
            code = model.vat.frob_many(self.ilk, idx[act], dink[act], 0.0, actor=self.name)
            spent = np.where(code == 0, dink[act], 0.0)
            self.wallet[ready[act]] -= spent
        else:
            # Repay down to the target: art' = ink·price / (target·rate).
            want = art[ready] - ink[ready] * price / (st.target * book.rate)
            dart = np.minimum(np.maximum(want, 0.0), self.wallet[ready] / book.rate)
            left = (art[ready] - dart) * book.rate
            dusty = (left > 0) & (left < book.dust)
            # Below dust the vault must repay everything if it can, else stop at dust.
            can_close = self.wallet[ready] >= art[ready] * book.rate
            dart = np.where(
                dusty & can_close,
                art[ready],
                np.where(dusty, np.maximum(art[ready] - book.dust / book.rate, 0.0), dart),
            )
            act = dart > 0
            code = model.vat.frob_many(self.ilk, idx[act], 0.0, -dart[act], actor=self.name)
            paid = np.where(code == 0, dart[act] * book.rate, 0.0)
            self.wallet[ready[act]] -= paid
            # The Dai repaid is bought in the Dai market (deleveraging pushes Dai above par).
            total = float(paid.sum())
            if total > 0:
                cost = model.dai_market.quote_cost_dai(total)
                if np.isfinite(cost):
                    model.dai_market.buy_dai(cost)
        self.since[ready] = np.nan
