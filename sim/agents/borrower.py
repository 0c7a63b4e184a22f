"""Borrower cohorts: many vaults sharing an ilk and a strategy, decided in vectorised passes.

A cohort owns a contiguous slice ``[lo, hi)`` of its ilk's vault book. Strategies read the
protocol state and act only through ``Vat.frob_many``.

- ``passive``: never acts.
- ``target_cr``: when a vault's CR at the market price falls below ``trigger``, after ``delay``
  and with probability ``react_prob`` per tick, it restores ``target`` by locking collateral from
  its wallet (``action: lock``) or repaying Dai from its wallet (``action: repay``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.scenario import Cohort, TargetCrStrategy

if TYPE_CHECKING:
    from sim.model import ProtocolModel


def initial_book(
    cohort: Cohort, price: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw the cohort's starting vaults.

    Args:
        cohort: the cohort spec (vault count, total debt, CR and size distributions).
        price: collateral price at the start [USD/token].
        rng: the cohort's generator.

    Returns:
        ``(ink, debt)`` per vault: collateral [tokens] and debt [Dai].
    """
    n = cohort.vaults
    if cohort.size.dist == "equal":
        weights = np.full(n, 1.0 / n)
    else:
        raw = rng.lognormal(0.0, cohort.size.sigma, n)
        weights = raw / raw.sum()
    debt = cohort.debt * weights
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


class BorrowerCohort(mesa.Agent):
    """A cohort of vaults (one mesa agent), acting on its slice of the ilk's book.

    Attributes:
        spec: the cohort's scenario entry.
        ilk: ilk name.
        lo, hi: the cohort's slice of the ilk's vault book.
        wallet: per-vault reserve [tokens for ``lock``, Dai for ``repay``].
        since: time each vault first fell below the trigger [s], NaN when above.
    """

    def __init__(self, model: ProtocolModel, spec: Cohort, lo: int, hi: int, owner_id: int):
        super().__init__(model)
        self.spec = spec
        self.name = spec.name
        self.ilk = spec.ilk
        self.collateral = model.spec.ilks[spec.ilk].collateral
        self.lo, self.hi = lo, hi
        self.owner_id = owner_id
        self.stream = model.streams.borrowers[owner_id]
        self.strategy = spec.strategy
        self.wallet = np.zeros(hi - lo)
        self.since = np.full(hi - lo, np.nan)

    def fund_wallets(self) -> None:
        """Give each vault its reserve, a fraction of its initial collateral or debt."""
        if not isinstance(self.strategy, TargetCrStrategy):
            return
        book = self.model.vat.ilks[self.ilk]
        base = book.ink if self.strategy.action == "lock" else book.art * book.rate
        self.wallet = base[self.lo : self.hi] * self.strategy.wallet

    def step(self) -> None:
        """Apply the cohort's strategy to its vaults."""
        if isinstance(self.strategy, TargetCrStrategy):
            self._target_cr(self.strategy)

    def _target_cr(self, st: TargetCrStrategy) -> None:
        model = self.model
        book = model.vat.ilks[self.ilk]
        price = model.market.price(self.collateral)
        now = model.now
        ink = book.ink[self.lo : self.hi]
        art = book.art[self.lo : self.hi]
        # CR < trigger  ⇔  ink·price < art·rate·trigger
        below = ink * (price / (book.rate * st.trigger)) < art
        if not below.any():
            if not np.isnan(self.since).all():
                self.since[:] = np.nan
            return
        above = ~below
        self.since[above] = np.nan
        newly = below & np.isnan(self.since)
        self.since[newly] = now
        ready = np.flatnonzero(below & (now - self.since >= st.delay))
        if st.react_prob < 1.0 and ready.size:
            ready = ready[self.stream.random(ready.size) < st.react_prob]
        if ready.size == 0:
            return
        ready = ready[self.wallet[ready] > 0]
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
        self.since[ready] = np.nan
