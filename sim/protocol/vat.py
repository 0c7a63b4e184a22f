"""Vat: the vault book and the system's Dai/sin accounting (dss ``vat.sol``, in float units).

Units: collateral in tokens, Dai in Dai (dss ``wad``/``rad`` become plain floats), rates as plain
multipliers (1.13, not 1.13e27). The dss names are used where they are the domain's words:

- ``ink``: collateral locked in a vault [tokens].
- ``art``: normalised debt of a vault [Dai at rate 1]; the vault owes ``art * rate`` Dai.
- ``rate``: the ilk's accumulated stability-fee multiplier [-].
- ``spot``: the ilk's collateral price with the safety margin, ``price / par / mat`` [Dai/token].
- ``line`` / ``Line``: debt ceiling of the ilk / of the system [Dai].
- ``dust``: minimum debt of a vault that holds any debt [Dai].
- ``Art``: total normalised debt of the ilk.
- ``debt``: total Dai issued; ``vice``: total unbacked Dai (system debt, ``sin``).
- ``gem``: collateral held outside vaults by an account (an auction house, a keeper, an owner).

The book of each ilk is a struct of arrays. Vault operations are vectorised: they take index
arrays and apply each element's rule independently, except where dss is sequential (debt
ceilings), which is reproduced with cumulative sums in index order.

Invariants (checked by :meth:`Vat.check`):
``debt == Σ_ilk Art·rate + vice``; ``Σ sin == vice``; per ilk ``Σ ink + Σ gem == joined − exited``;
no negative ``ink``, ``art``, ``dai``, ``sin`` or ``gem``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.protocol import numeric as num
from sim.protocol.events import EventLog
from sim.protocol.ratio_index import RatioIndex, lower_bound

#: Books of at least this many slots answer :meth:`Ilk.unsafe` (and the recorder's CR quantiles)
#: from their :class:`~sim.protocol.ratio_index.RatioIndex`; smaller ones scan every slot, which
#: is cheaper below this size.
INDEX_MIN_VAULTS = 32_768


class ProtocolError(Exception):
    """A protocol call was rejected (dss would revert); nothing was changed."""


# Reasons a frob can be rejected, as codes per element (0 = accepted).
FROB_OK = 0
FROB_NOT_SAFE = 1
FROB_CEILING = 2
FROB_DUST = 3
FROB_NEGATIVE = 4
FROB_NOT_LIVE = 5
FROB_REASONS = {
    FROB_OK: "ok",
    FROB_NOT_SAFE: "Vat/not-safe: the vault would be unsafe (or less safe) after the action",
    FROB_CEILING: "Vat/ceiling-exceeded: drawing would exceed the ilk line or the system Line",
    FROB_DUST: "Vat/dust: a vault with debt must owe at least dust",
    FROB_NEGATIVE: "Vat/negative: ink or art would become negative",
    FROB_NOT_LIVE: "Vat/not-live: the system is shut down (End.cage)",
}


@dataclass
class Ilk:
    """One collateral type: its parameters, accumulators and vault book.

    Attributes:
        name: ilk name, e.g. ``"ETH-A"``.
        ink: collateral per vault [tokens].
        art: normalised debt per vault [Dai at rate 1].
        owner: owner id per vault (the index of the borrower cohort that opened it).
        rate: accumulated stability-fee multiplier [-].
        spot: price with safety margin, ``osm_price / par / mat`` [Dai/token].
        line: ilk debt ceiling [Dai].
        dust: minimum vault debt [Dai].
        Art: total normalised debt [Dai at rate 1].
        Ink: total collateral in vaults [tokens] (kept incrementally).
        joined: collateral that entered the system from outside [tokens].
        exited: collateral that left the system [tokens].
    """

    name: str
    ink: np.ndarray
    art: np.ndarray
    owner: np.ndarray
    rate: float = 1.0
    spot: float = 0.0
    line: float = np.inf
    dust: float = 0.0
    Art: float = 0.0
    Ink: float = 0.0
    joined: float = 0.0
    exited: float = 0.0
    #: Largest ``Art`` so far: the scale of the float error of the incremental ``Art``.
    Art_peak: float = 0.0
    #: Incremented whenever the book changes; keys the cache of :meth:`unsafe`.
    version: int = 0
    _unsafe_key: tuple[int, float, float] | None = field(default=None, repr=False)
    _unsafe_idx: np.ndarray | None = field(default=None, repr=False)
    _index: RatioIndex | None = field(default=None, repr=False, compare=False)
    #: Vaults changed since :meth:`unsafe` was last computed (large books only).
    _unsafe_touched: list[np.ndarray] = field(default_factory=list, repr=False, compare=False)
    _unsafe_touched_n: int = field(default=0, repr=False, compare=False)
    #: Whether queries go through the ratio index (set from INDEX_MIN_VAULTS when created).
    _large: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._large = self.size >= INDEX_MIN_VAULTS

    @property
    def size(self) -> int:
        """Number of vault slots in the book (open or closed)."""
        return int(self.ink.shape[0])

    def changed(self, idx: np.ndarray | int) -> None:
        """Note that the vaults ``idx`` changed (every write to ``ink``/``art`` calls it)."""
        self.version += 1
        if self._index is not None:
            self._index.touch(idx)
        if self._large and self._unsafe_idx is not None and self._unsafe_touched_n <= self.size:
            idx = np.atleast_1d(np.asarray(idx, dtype=np.int64))
            self._unsafe_touched.append(idx)
            self._unsafe_touched_n += idx.shape[0]

    def indexed(self) -> bool:
        """Whether queries go through the :meth:`ratio_index` (large books)."""
        return self._large

    def ratio_index(self) -> RatioIndex:
        """The book ordered by ``art/ink`` (built on first use, then kept up to date)."""
        if self._index is None:
            self._index = RatioIndex(self.art, self.ink)
        return self._index

    def above(self, threshold: float) -> np.ndarray:
        """Open vaults whose ``art/ink`` may exceed ``threshold``: a superset, ascending.

        Every vault with ``art/ink > threshold`` is included, and some just below it (a margin
        for float rounding, :func:`~sim.protocol.ratio_index.lower_bound`); callers apply their
        own exact test to the result. Large books answer from the :meth:`ratio_index`, small
        ones return every open vault.
        """
        if self.indexed() and threshold > 0:
            return self.ratio_index().above(lower_bound(threshold))
        return np.flatnonzero(self.art > 0)

    def unsafe(self) -> np.ndarray:
        """Indices of unsafe vaults: ``ink * spot < art * rate``.

        The result is cached until the book, ``spot`` or ``rate`` changes, so that several
        keepers looking in the same tick cost one look at the book; a large book looks only at
        the vaults whose ``art/ink`` is near or above ``spot/rate`` (:meth:`above`).
        """
        key = (self.version, self.spot, self.rate)
        if self._unsafe_key == key and self._unsafe_idx is not None:
            return self._unsafe_idx
        if self.spot <= 0:
            self._unsafe_idx = np.flatnonzero(self.art > 0)
        else:
            # art * (rate/spot) > ink: one multiply per vault instead of two.
            c = self.rate / self.spot
            previous = self._unsafe_key
            if not self.indexed():
                self._unsafe_idx = np.flatnonzero(self.art * c > self.ink)
            elif (
                previous is not None
                and previous[1:] == key[1:]
                and self._unsafe_idx is not None
                and self._unsafe_touched
                and self._unsafe_touched_n <= self.size
            ):
                # Same spot and rate: only the vaults changed since can have changed sides.
                touched = np.unique(np.concatenate(self._unsafe_touched))
                still = touched[self.art[touched] * c > self.ink[touched]]
                kept = self._unsafe_idx[~np.isin(self._unsafe_idx, touched, assume_unique=True)]
                merged = np.concatenate((kept, still))
                merged.sort()
                self._unsafe_idx = merged
            else:
                cand = self.above(1.0 / c)
                self._unsafe_idx = cand[self.art[cand] * c > self.ink[cand]]
        self._unsafe_key = key
        self._unsafe_touched = []
        self._unsafe_touched_n = 0
        return self._unsafe_idx


@dataclass
class Vat:
    """The core accounting engine (dss ``Vat``).

    Attributes:
        ilks: collateral types by name.
        Line: system debt ceiling [Dai].
        debt: total Dai issued [Dai].
        vice: total unbacked Dai [Dai].
        dai: internal Dai balances of named accounts [Dai].
        sin: internal system-debt balances of named accounts [Dai].
        gem: collateral outside vaults, by ``(ilk, account)`` [tokens].
        log: event sink.
    """

    Line: float = np.inf
    ilks: dict[str, Ilk] = field(default_factory=dict)
    debt: float = 0.0
    vice: float = 0.0
    dai: dict[str, float] = field(default_factory=dict)
    sin: dict[str, float] = field(default_factory=dict)
    gem: dict[tuple[str, str], float] = field(default_factory=dict)
    log: EventLog = field(default_factory=EventLog)
    #: Dai brought into the modelled accounts from outside (DaiJoin ``join``) [Dai].
    dai_joined: float = 0.0
    #: Largest ``debt`` so far [Dai]: balances carry the rounding error of the largest amounts
    #: they were computed from, even after the debt is repaid.
    debt_peak: float = 0.0
    #: 1 while the system runs, 0 after Emergency Shutdown (dss ``live``; ``frob``, ``fold`` and
    #: ``file`` revert with ``Vat/not-live`` once it is 0).
    live: int = 1

    def dai_total(self) -> float:
        """All Dai issued (at its peak) or joined: the scale of Dai balances [Dai].

        This is the ``total`` of the numeric policy (:mod:`sim.protocol.numeric`) for Dai.
        """
        return self.debt_peak + self.dai_joined

    # ------------------------------------------------------------------ administration
    def init_ilk(self, name: str, n_vaults: int, *, line: float, dust: float) -> Ilk:
        """Create an ilk with ``n_vaults`` empty vault slots (dss ``init`` + ``file``).

        Args:
            name: ilk name.
            n_vaults: number of vault slots.
            line: debt ceiling [Dai].
            dust: minimum vault debt [Dai].

        Returns:
            The new ilk.
        """
        if name in self.ilks:
            raise ProtocolError(f"Vat/ilk-already-init: {name}")
        ilk = Ilk(
            name=name,
            ink=np.zeros(n_vaults),
            art=np.zeros(n_vaults),
            owner=np.zeros(n_vaults, dtype=np.int32),
            line=line,
            dust=dust,
        )
        self.ilks[name] = ilk
        return ilk

    def cage(self) -> None:
        """Stop the Vat (dss ``cage``, called by ``End.cage``): ``live = 0``.

        Source: makerdao/dss@fa4f6630:src/vat.sol lines 116-118 (``cage``); ``frob`` (line 145),
        ``fold`` (239) and ``file`` (105, 110) require ``live``.
        """
        self.live = 0

    # ------------------------------------------------------------------ vault operations
    def frob_many(
        self,
        ilk_name: str,
        idx: np.ndarray,
        dink: np.ndarray,
        dart: np.ndarray,
        *,
        actor: str = "system",
        log: bool = True,
    ) -> np.ndarray:
        """Change the collateral and debt of many vaults (dss ``frob``, vectorised).

        Each element is accepted or rejected on its own, exactly as dss would for one call;
        the debt ceilings are applied in index order (earlier elements draw first). Rejected
        elements change nothing. Locked collateral enters from the owner's wallet (``joined``),
        freed collateral leaves (``exited``); drawn Dai leaves the modelled accounts to the
        owner, repaid Dai comes from the owner.

        Args:
            ilk_name: the ilk.
            idx: vault indices (distinct).
            dink: collateral change per vault [tokens] (+ lock, − free).
            dart: normalised debt change per vault (+ draw, − repay).
            actor: caller name, for the event log.
            log: whether to record ``frob`` events for accepted elements.

        Returns:
            Reason code per element (``FROB_OK`` == 0 where accepted, see ``FROB_REASONS``).
        """
        ilk = self.ilks[ilk_name]
        idx = np.asarray(idx, dtype=np.int64)
        dink = np.broadcast_to(np.asarray(dink, dtype=np.float64), idx.shape)
        dart = np.broadcast_to(np.asarray(dart, dtype=np.float64), idx.shape)
        ink = ilk.ink[idx] + dink
        art = ilk.art[idx] + dart
        code = np.zeros(idx.shape, dtype=np.int8)
        if not self.live:
            code[:] = FROB_NOT_LIVE
            return code
        # Float residue from repaying (or freeing) everything is zero.
        art = num.zero_residue(art, ilk.art[idx])
        ink = num.zero_residue(ink, ilk.ink[idx])
        tab = art * ilk.rate
        code[(ink < 0) | (art < 0)] = FROB_NEGATIVE
        safer = (dart <= 0) & (dink >= 0)
        code[(code == 0) & ~safer & (tab > ink * ilk.spot)] = FROB_NOT_SAFE
        code[(code == 0) & (art > 0) & (tab < ilk.dust)] = FROB_DUST
        draws = (code == 0) & (dart > 0)
        if draws.any():
            # dss checks the ceilings after each call, so earlier elements draw first.
            net = np.where(code == 0, dart * ilk.rate, 0.0)
            ilk_after = ilk.Art * ilk.rate + np.cumsum(net)
            sys_after = self.debt + np.cumsum(net)
            over = draws & (
                ~num.covers_array(ilk.line, ilk_after) | ~num.covers_array(self.Line, sys_after)
            )
            if over.any():
                self._sequential_ceilings(ilk, code, dart)
        ok = code == 0
        if not ok.any():
            return code
        i = idx[ok]
        # Effective changes after clamping float residue to zero.
        di = ink[ok] - ilk.ink[i]
        da = art[ok] - ilk.art[i]
        ilk.ink[i] = ink[ok]
        ilk.art[i] = art[ok]
        ilk.changed(i)
        sum_dink = float(di.sum())
        sum_dart = float(da.sum())
        ilk.Art = max(ilk.Art + sum_dart, 0.0)
        ilk.Art_peak = max(ilk.Art_peak, ilk.Art)
        ilk.Ink += sum_dink
        self.debt += sum_dart * ilk.rate
        self.debt_peak = max(self.debt_peak, self.debt)
        lock = float(di[di > 0].sum())
        ilk.joined += lock
        ilk.exited += lock - sum_dink
        if log:
            self.log.add(
                "frob", ilk=ilk_name, vault=i, actor=actor, collateral=di, dai=da * ilk.rate
            )
        return code

    def _sequential_ceilings(self, ilk: Ilk, code: np.ndarray, dart: np.ndarray) -> None:
        """Apply the debt ceilings one element at a time (only when a ceiling binds)."""
        ilk_debt = ilk.Art * ilk.rate
        sys_debt = self.debt
        for k in range(code.shape[0]):
            if code[k] != FROB_OK:
                continue
            change = dart[k] * ilk.rate
            if change > 0 and (
                not num.covers(ilk.line, ilk_debt + change)
                or not num.covers(self.Line, sys_debt + change)
            ):
                code[k] = FROB_CEILING
                continue
            ilk_debt += change
            sys_debt += change

    def frob(self, ilk_name: str, i: int, dink: float, dart: float, actor: str = "system") -> None:
        """Single-vault ``frob`` that raises :class:`ProtocolError` when dss would revert."""
        code = self.frob_many(
            ilk_name, np.array([i]), np.array([dink]), np.array([dart]), actor=actor
        )
        if code[0] != FROB_OK:
            raise ProtocolError(FROB_REASONS[int(code[0])])

    def open_vaults(
        self, ilk_name: str, idx: np.ndarray, ink: np.ndarray, art: np.ndarray, owner: int
    ) -> None:
        """Open empty vault slots with collateral and debt through ``frob`` (all or nothing).

        Raises:
            ProtocolError: when any vault would be rejected, naming the first reason.
        """
        ilk = self.ilks[ilk_name]
        if np.any(ilk.art[idx] != 0) or np.any(ilk.ink[idx] != 0):
            raise ProtocolError("vault slots already in use")
        code = self.frob_many(ilk_name, idx, ink, art, log=False)
        if np.any(code != FROB_OK):
            bad = int(code[code != FROB_OK][0])
            accepted = idx[code == FROB_OK]
            # Undo the accepted part so that the call is atomic.
            self.frob_many(ilk_name, accepted, -ilk.ink[accepted], -ilk.art[accepted], log=False)
            ilk.joined -= float(ink[code == FROB_OK].sum())
            ilk.exited -= float(ink[code == FROB_OK].sum())
            raise ProtocolError(
                f"{(code != FROB_OK).sum()} of {len(idx)} vaults cannot open: {FROB_REASONS[bad]}"
            )
        ilk.owner[idx] = owner

    def grab(
        self,
        ilk_name: str,
        idx: np.ndarray,
        dink: np.ndarray,
        dart: np.ndarray,
        *,
        gem_to: str,
        sin_to: str = "vow",
    ) -> np.ndarray:
        """Confiscate collateral and debt from vaults for liquidation (dss ``grab``).

        Args:
            ilk_name: the ilk.
            idx: vault indices (distinct).
            dink: collateral taken per vault [tokens] (positive; negative gives collateral back
                from ``gem_to``, as ``End.snip``/``End.skip`` do — the caller checks the balance).
            dart: normalised debt taken per vault (positive; negative books debt back).
            gem_to: account receiving the collateral (the auction house).
            sin_to: account booked with the system debt.

        Returns:
            Debt moved to ``sin`` per vault, ``dart * rate`` [Dai].
        """
        ilk = self.ilks[ilk_name]
        ilk.changed(idx)
        ilk.ink[idx] -= dink
        ilk.art[idx] -= dart
        # Float residue is zero (a full liquidation leaves exactly zero).
        ilk.ink[idx] = num.zero_residue(ilk.ink[idx], dink)
        ilk.art[idx] = num.zero_residue(ilk.art[idx], dart)
        sum_dink = float(np.sum(dink))
        ilk.Art = max(ilk.Art - float(np.sum(dart)), 0.0)
        ilk.Art_peak = max(ilk.Art_peak, ilk.Art)  # End.snip grabs debt back (negative dart)
        ilk.Ink -= sum_dink
        due = dart * ilk.rate
        total = float(np.sum(due))
        key = (ilk_name, gem_to)
        self.gem[key] = self.gem.get(key, 0.0) + sum_dink
        self.sin[sin_to] = self.sin.get(sin_to, 0.0) + total
        self.vice += total
        return due

    def fold(self, ilk_name: str, drate: float, u: str = "vow") -> float:
        """Add ``drate`` to the ilk's rate; the fee income ``Art·drate`` goes to ``u`` (dss ``fold``).

        Returns:
            The Dai created [Dai].
        """
        if not self.live:
            raise ProtocolError("Vat/not-live: fold after End.cage")
        ilk = self.ilks[ilk_name]
        rad = ilk.Art * drate
        ilk.rate += drate
        self.dai[u] = self.dai.get(u, 0.0) + rad
        self.debt += rad
        self.debt_peak = max(self.debt_peak, self.debt)
        return rad

    def suck(self, u: str, v: str, rad: float) -> None:
        """Mint unbacked Dai: ``sin[u] += rad``, ``dai[v] += rad`` (dss ``suck``)."""
        if rad < 0:
            raise ProtocolError("Vat/suck-negative")
        self.sin[u] = self.sin.get(u, 0.0) + rad
        self.dai[v] = self.dai.get(v, 0.0) + rad
        self.vice += rad
        self.debt += rad
        self.debt_peak = max(self.debt_peak, self.debt)

    def heal(self, u: str, rad: float) -> None:
        """Cancel ``rad`` of ``u``'s sin against its Dai (dss ``heal``)."""
        sin, dai = self.sin.get(u, 0.0), self.dai.get(u, 0.0)
        total = self.dai_total()
        if rad < 0 or not num.covers(sin, rad, total) or not num.covers(dai, rad, total):
            raise ProtocolError(f"Vat/heal: {u} has {sin!r} sin and {dai!r} Dai, heal {rad!r}")
        self.sin[u] = num.debit(sin, rad)
        self.dai[u] = num.debit(dai, rad)
        self.vice = num.debit(self.vice, rad)
        self.debt = num.debit(self.debt, rad)

    def move(self, src: str, dst: str, rad: float) -> None:
        """Transfer internal Dai (dss ``move``)."""
        have = self.dai.get(src, 0.0)
        if rad < 0 or not num.covers(have, rad, self.dai_total()):
            raise ProtocolError(f"Vat/move: {src} has {have!r} Dai, needs {rad!r}")
        self.dai[src] = num.debit(have, rad)
        self.dai[dst] = self.dai.get(dst, 0.0) + rad

    def flux(self, ilk_name: str, src: str, dst: str, wad: float) -> None:
        """Transfer collateral outside vaults (dss ``flux``)."""
        key_src = (ilk_name, src)
        have = self.gem.get(key_src, 0.0)
        if wad < 0 or not num.covers(have, wad, self.ilks[ilk_name].joined):
            raise ProtocolError(
                f"Vat/flux: {src} has {have!r} {ilk_name} collateral, needs {wad!r}"
            )
        self.gem[key_src] = num.debit(have, wad)
        self.gem[(ilk_name, dst)] = self.gem.get((ilk_name, dst), 0.0) + wad

    def join_dai(self, u: str, rad: float) -> None:
        """Bring Dai held outside the Vat into ``u``'s internal balance (DaiJoin ``join``)."""
        self.dai[u] = self.dai.get(u, 0.0) + rad
        self.dai_joined += rad

    def exit_dai(self, u: str, rad: float) -> None:
        """Take Dai out of ``u``'s internal balance (DaiJoin ``exit``)."""
        have = self.dai.get(u, 0.0)
        if rad < 0 or not num.covers(have, rad, self.dai_total()):
            raise ProtocolError(f"DaiJoin/exit: {u} has {have!r} Dai, needs {rad!r}")
        self.dai[u] = num.debit(have, rad)

    def exit_gem(self, ilk_name: str, u: str, wad: float) -> None:
        """Take collateral out of ``u``'s balance and out of the system (GemJoin ``exit``)."""
        key = (ilk_name, u)
        have = self.gem.get(key, 0.0)
        if wad < 0 or not num.covers(have, wad, self.ilks[ilk_name].joined):
            raise ProtocolError(
                f"GemJoin/exit: {u} has {have!r} {ilk_name} collateral, needs {wad!r}"
            )
        self.gem[key] = num.debit(have, wad)
        self.ilks[ilk_name].exited += wad

    # ------------------------------------------------------------------ accounting
    def check(self, full: bool = True) -> list[str]:
        """Check the accounting invariants; return a description of each violation.

        Every comparison is written so that NaN or ±inf anywhere fails it (``not a <= b``), and
        the scalar accounts are checked to be finite first, so a run whose numbers overflowed
        stops with the account that did.

        Args:
            full: also check the per-vault arrays (O(number of vaults)); otherwise only the
                scalar accounts, which is cheap enough for every tick.
        """
        problems = []

        def differs(a: float, b: float, scale: float) -> bool:
            return not abs(a - b) <= num.INVARIANT_TOL * max(scale, 1.0)

        scalars = {"debt": self.debt, "vice": self.vice}
        for name, ilk in self.ilks.items():
            scalars.update(
                {f"{name}.Art": ilk.Art, f"{name}.rate": ilk.rate, f"{name}.Ink": ilk.Ink}
            )
            scalars[f"{name}.spot"] = ilk.spot
        for account, value in self.dai.items():
            scalars[f"dai[{account}]"] = value
        for account, value in self.sin.items():
            scalars[f"sin[{account}]"] = value
        for (ilk_name, account), value in self.gem.items():
            scalars[f"gem[{ilk_name}, {account}]"] = value
        bad = [f"{k} = {v!r}" for k, v in scalars.items() if not num.finite(v)]
        if bad:
            return [f"not a finite number: {', '.join(bad)}"]

        total_art_rate = sum(ilk.Art * ilk.rate for ilk in self.ilks.values())
        # Accounts carry the rounding error of the largest amounts they held: compare at the
        # scale of all Dai ever issued or joined, not of what is left.
        dai_scale = self.dai_total()
        if differs(self.debt, total_art_rate + self.vice, dai_scale):
            problems.append(
                f"debt {self.debt!r} != Σ Art·rate {total_art_rate!r} + vice {self.vice!r}"
            )
        sin_sum = sum(self.sin.values())
        if differs(sin_sum, self.vice, dai_scale):
            problems.append(f"Σ sin {sin_sum!r} != vice {self.vice!r}")
        for name, ilk in self.ilks.items():
            if full:
                art_sum = float(ilk.art.sum())
                ink_sum = float(ilk.ink.sum())
                if not (num.finite(art_sum) and num.finite(ink_sum)):
                    problems.append(f"{name}: a vault's ink or art is not a finite number")
                    continue
                # Art is kept incrementally: its float error scales with the largest Art seen.
                if differs(art_sum, ilk.Art, ilk.Art_peak):
                    problems.append(f"{name}: Σ art {art_sum!r} != Art {ilk.Art!r}")
                if np.any(ilk.ink < 0) or np.any(ilk.art < 0):
                    problems.append(f"{name}: negative ink or art")
            in_vaults = float(ilk.ink.sum()) if full else ilk.Ink
            gem_sum = sum(v for (i, _), v in self.gem.items() if i == name)
            expected = ilk.joined - ilk.exited
            if differs(in_vaults + gem_sum, expected, ilk.joined):
                problems.append(
                    f"{name}: collateral not conserved: Σ ink + Σ gem = {in_vaults + gem_sum!r}, "
                    f"joined − exited = {expected!r}"
                )
        for key, value in list(self.dai.items()) + list(self.sin.items()) + list(self.gem.items()):
            if value < -num.ABS_TOL:
                problems.append(f"negative balance {key}: {value!r}")
        return problems
