"""Recording: per-tick series, vault snapshots, the event log and auctions → DataFrames / a run folder.

Timeseries layout (``timeseries.parquet``, one row per tick, tick 0 = the initial state):

- ``tick``, ``time`` (UTC timestamp at the end of the tick);
- per ilk, columns named ``field[ILK]`` (e.g. ``price[ETH-A]``), :data:`ILK_FIELDS`;
- system columns, :data:`SYSTEM_FIELDS`.

When each column is sampled within tick ``k`` (the tick order is in :mod:`sim.model`; at tick 0
every column is the initial state):

- just before the first keeper acts (what keepers see; after the borrowers that act before it
  in the tick's ``schedule.order``): ``unsafe_vaults`` [count] and
  ``unsafe_debt`` [Dai], the vaults with ``ink·spot < art·rate`` (unsafe at the oracle price
  ``spot`` set in this tick's oracle step, fees accrued) and their debt ``art·rate``;
- over the tick: ``liquidations`` [count], the collateral auctions started during tick ``k`` (by
  keepers' ``bark``/``bite``; Liquidations 1.x starts one per ``lump`` of a vault);
- every other column at the end of the tick, after the keepers, the MKR bidders, the arbitrageur
  and the Vow (what is left):

  - ``unsafe_vaults_after`` [count], ``unsafe_debt_after`` [Dai]: the same test as above;
  - ``price`` (market) [USD/token]: it includes the impact of this tick's trades (keepers and
    closing borrowers selling collateral), so it can differ from the price the oracle read in
    this tick's oracle step; ``osm_price`` [USD/token] changes only in the oracle step;
    ``gas_price_gwei`` (the tick's gas price, what the rest of the chain pays) is set before the
    oracle step; ``agent_gas`` [gas] is the gas of the agents' transactions landed in the tick,
    ``block_gas`` [gas] the tick's block capacity (blocks × gas limit), ``block_fill_max`` [-] the
    largest share of one block's limit the agents held (≤ 1; all three only with a network);
  - with a network, per sending group (``oracle``, ``keepers.<name>``, ``borrowers.<name>``,
    ``mkr``, ``arbitrageur``): ``txs.<group>`` [count], its transactions landed in the tick, and
    ``priced_out.<group>`` [count], what had to wait (a keeper whose first transaction did not
    land counts once; a cohort, each vault); per keeper group ``dai.<group>`` [Dai], the Dai its
    keepers hold at the end of the tick, and ``idle.<group>`` [count], its keepers that could do
    nothing in the tick (priced out with work, or wanting to bid with Dai for no bid);
  - ``debt`` (``Art·rate``) [Dai], ``collateral_value`` (``Ink`` at the market price) [USD],
    ``vaults_open`` (vaults with debt) [count], ``cr_pNN`` (quantiles of the open vaults' CR at
    the market price; vaults liquidated in the tick are no longer open) [-],
    ``auctions_active`` (collateral auctions running) [count];
  - only for an ilk with a DC-IAM (``ilks.<ILK>.autoline``): ``line`` [Dai], its debt ceiling
    (DssAutoLine's ``exec`` runs after the rates step); only for a Clipper ilk with a breaker
    (``liquidation.breaker``): ``stopped`` [level 0-3], the Clipper's ``stopped`` (2 once the
    ClipperMom breaker tripped);
  - system: ``dai_supply`` (Vat ``debt``, unbacked Dai included) [Dai], ``surplus`` (Vow Dai
    above its sin) [Dai], ``mkr_minted`` / ``mkr_burned`` (cumulative since tick 0, by debt /
    surplus auctions) [MKR], ``debt_auction_dai`` (cumulative Dai the debt auctions raised: the
    first bid of each) [Dai], ``mkr_price`` [USD/MKR], ``dai_price`` (Dai market) [USD/Dai],
    ``psm_debt`` (Dai minted by the PSM) [Dai], ``savings`` (Dai in the Pot, ``Pie·chi``) [Dai];
    only with a PSM DC-IAM (``system.psm.autoline``): ``psm_line`` [Dai], the PSM ilk's ceiling;
    only with a PSM stablecoin price (``system.psm.price``): ``psm_gem_price`` [USD/token], the
    stablecoin's market price, and ``psm_gem`` [tokens], the stablecoin the PSM holds;
  - system deficit and exposure, kept apart:

    - ``auction_debt`` [Dai]: debt awaiting collateral-auction proceeds, ``Σ max(due − raised,
      0)`` over the running collateral auctions (``due`` the debt confiscated, ``raised`` the Dai
      raised so far: a Flipper's current bid, a Clipper's takes); the penalty an auction may
      still collect is not counted (:func:`running_auction_debt`);
    - ``bad_debt`` [Dai]: the realised deficit, ``max(sin − dai − auction_debt, 0)`` with ``sin``
      and ``dai`` the Vow's: Vow debt covered neither by its Dai nor by the debt running auctions
      must still raise. Queued debt and debt on flop auctions count until Dai comes in for them;
      keeper incentives the Vow paid count. After an Emergency Shutdown, the debt the End moved
      to the Vow is covered by the collateral it holds, valued at the cage prices: the deficit
      is the Dai outstanding that collateral does not back, and from ``thaw`` on the loss Dai
      holders bear as settled, ``debt·(1 − Σ fix/tag)`` (:meth:`sim.shutdown.Shutdown.deficit`);
    - ``insolvent_debt`` [Dai]: debt of open vaults above the value of their collateral,
      ``Σ max(art·rate − ink·price/dai_price, 0)`` (collateral at the market price, in Dai at the
      Dai price): underwater debt not yet liquidated. Summed over the vaults unsafe at ``spot``
      (a vault underwater at the market is unsafe whenever ``price/dai_price ≥ spot``) or, when
      the market has fallen below ``spot`` within the OSM's delay, over every open vault — exact
      either way.

Auction table (``auctions.parquet``, one row per collateral auction, :data:`AUCTION_COLUMNS`):
``start_tick`` / ``end_tick`` (-1 while running), ``duration_s`` [s], ``tab`` (Dai to raise,
``due·chop``) [Dai], ``lot`` (collateral on sale at the start) [tokens], ``due`` (debt confiscated)
[Dai], ``dai_raised`` [Dai], ``collateral_sold`` / ``collateral_returned`` (to the vault owner)
[tokens of the ilk's collateral, not USD], ``shortfall`` / ``bad_debt`` [Dai] (see
:func:`auctions_frame`); Clipper auctions add ``redos`` [count] and ``coin`` (keeper incentives
``tip + chip·tab`` paid by the Vow for the kick and the redos) [Dai], Flipper auctions ``bids``
(accepted ``tend``/``dent`` calls) [count]. The run's totals are the KPIs of :mod:`sim.metrics`.

:func:`ilk_frame` returns one ilk's columns with plain names.

Recording never holds N×T values: quantiles are computed per tick, vault snapshots are taken at
the configured interval (and at the start and the end).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.protocol.events import COLUMNS as EVENT_COLUMNS
from sim.protocol.flip import Flipper

if TYPE_CHECKING:
    from sim.model import ProtocolModel
    from sim.protocol.clip import Clipper
    from sim.protocol.vat import Ilk
    from sim.stream import RunStream

ILK_FIELDS = (
    "price",
    "osm_price",
    "debt",
    "collateral_value",
    "vaults_open",
    "unsafe_vaults",
    "unsafe_debt",
    "unsafe_vaults_after",
    "unsafe_debt_after",
    "liquidations",
    "auctions_active",
)
COUNT_FIELDS = frozenset(
    {"vaults_open", "unsafe_vaults", "unsafe_vaults_after", "liquidations", "auctions_active"}
)
SYSTEM_FIELDS = (
    "dai_supply",
    "surplus",
    "bad_debt",
    "auction_debt",
    "insolvent_debt",
    "mkr_minted",
    "mkr_burned",
    "debt_auction_dai",
    "mkr_price",
    "dai_price",
    "gas_price_gwei",
    "agent_gas",
    "block_gas",
    "block_fill_max",
    "psm_debt",
    "savings",
)


#: Position of each system / ilk field in its block of a row.
_SYSTEM_INDEX = {name: k for k, name in enumerate(SYSTEM_FIELDS)}
_ILK_INDEX = {name: k for k, name in enumerate(ILK_FIELDS)}

#: The system columns of the block market (zero without a network section).
BLOCK_FIELDS = ("agent_gas", "block_gas", "block_fill_max")


def quantile_name(q: float) -> str:
    """Column name of a CR quantile: 0.05 → ``cr_p05``, 0.5 → ``cr_p50``, 0.975 → ``cr_p97.5``."""
    pct = q * 100
    return f"cr_p{round(pct):02d}" if abs(pct - round(pct)) < 1e-9 else f"cr_p{pct:g}"


def col(name: str, ilk: str) -> str:
    """Timeseries column of a per-ilk field: ``col("price", "ETH-A") == "price[ETH-A]"``."""
    return f"{name}[{ilk}]"


def ilk_frame(timeseries: pd.DataFrame, ilk: str) -> pd.DataFrame:
    """One ilk's columns with plain names (``price``, ``debt``, ...), plus tick, time and system."""
    suffix = f"[{ilk}]"
    own = {c: c[: -len(suffix)] for c in timeseries.columns if c.endswith(suffix)}
    if not own:
        raise KeyError(f"no columns for ilk {ilk!r}")
    plain = [c for c in timeseries.columns if "[" not in c]
    return timeseries[plain + list(own)].rename(columns=own)


def sender_labels(model: ProtocolModel) -> list[str]:
    """The agent groups that send transactions, as labelled in the blocks' tally.

    ``oracle``, ``keepers.<name>`` and ``borrowers.<name>`` per scenario entry, ``mkr`` and
    ``arbitrageur`` when the scenario has them.
    """
    labels = ["oracle"]
    labels += [f"keepers.{spec.name}" for spec in model.spec.keepers]
    labels += [f"borrowers.{spec.name}" for spec in model.spec.borrowers]
    if model.mkr_bidders:
        labels.append("mkr")
    if model.arbitrageur is not None:
        labels.append("arbitrageur")
    return labels


def running_auction_debt(house: Clipper | Flipper) -> float:
    """Debt the running collateral auctions of a house must still raise [Dai].

    ``Σ max(due − raised, 0)`` over its running auctions: ``due`` is the debt confiscated
    (penalty excluded); ``raised`` is the Dai raised so far — a Flipper's current bid (each
    ``tend`` pays the Vow at once), a Clipper's takes.

    Args:
        house: an ilk's auction house (Clipper or Flipper).
    """
    ids = house.active_ids()
    if ids.size == 0:
        return 0.0
    raised = house.bid[ids] if isinstance(house, Flipper) else house.raised[ids]
    return float(np.maximum(house.due[ids] - raised, 0.0).sum())


class Recorder:
    """Collects one row per tick into preallocated arrays, and vault snapshots at an interval.

    In memory (no ``stream``) the arrays hold every tick of the run and the snapshots are kept
    until the end. With a ``stream`` (:class:`sim.stream.RunStream`, a run written to a folder)
    the arrays hold a window of ``stream.flush_ticks`` rows: when it is full, its rows go out
    as a row group of ``timeseries.parquet`` and the window starts again at the current tick;
    each snapshot becomes its rows of ``vaults.parquet`` at once, and the event log is drained,
    whenever either holds ``stream.flush_bytes`` or the window turns over
    (:meth:`sim.stream.RunStream.after_tick`). The row of the current tick is always in the
    window (:meth:`value`).

    Attributes:
        stream: where the growing tables go (``None``: kept in memory).
        base: the tick of the window's first row (0 in memory).
        rows: rows recorded so far (ticks completed + 1).
    """

    def __init__(self, model: ProtocolModel, stream: RunStream | None = None):
        self.model = model
        self.stream = stream
        self.base = 0
        scenario = model.spec
        n = model.n_ticks + 1
        if stream is not None:
            n = min(n, stream.flush_ticks)
            if "events" not in stream.keep:  # a run kept as a summary: no event log at all
                model.vat.log.clear()
                model.vat.log.enabled = False
        self.quantiles = list(scenario.record.cr_quantiles)
        self.qnames = [quantile_name(q) for q in self.quantiles]
        self.ilks = list(scenario.ilks)
        # One block per ilk (fields in ILK_FIELDS order, then the quantiles) and one for the
        # system: a tick writes each block's row in one assignment.
        self._ilk_blocks = {
            ilk: np.zeros((n, len(ILK_FIELDS) + len(self.qnames))) for ilk in self.ilks
        }
        self._sys_block = np.zeros((n, len(SYSTEM_FIELDS)))
        self._q = len(ILK_FIELDS)
        # What a tick reads, resolved once: (name, book, osm, asset, auction house, block).
        self._refs = [
            (
                ilk,
                model.vat.ilks[ilk],
                model.osms[scenario.ilks[ilk].collateral],
                scenario.ilks[ilk].collateral,
                model.liquidator(ilk),
                self._ilk_blocks[ilk],
            )
            for ilk in self.ilks
        ]
        self._kicks_seen = {ilk: 0 for ilk in self.ilks}
        # (count, debt) of unsafe vaults per ilk before the keepers acted, and the tick sampled.
        self._unsafe_before: list[tuple[int, float]] = []
        self._unsafe_tick = -1
        every = scenario.record.vault_snapshot_every
        self.snapshot_every = max(1, round(every / scenario.clock.tick)) if every else None
        self.snapshots: list[dict[str, np.ndarray]] = []
        #: Rows recorded so far (ticks completed + 1).
        self.rows = 0
        self._ratio_cache: dict[str, tuple[int, tuple]] = {}
        # Per ilk: ((book version, rate, spot, collateral value), insolvent debt [Dai]).
        self._insolvent_cache: dict[str, tuple[tuple, float]] = {}
        # With a network: per sender (agent group), transactions landed and priced out per tick;
        # per keeper group, the Dai its keepers hold.
        self.senders = sender_labels(model) if model.blocks is not None else []
        self._groups = (
            {
                f"keepers.{spec.name}": [k for k in model.keepers if k.spec is spec]
                for spec in scenario.keepers
            }
            if model.blocks is not None
            else {}
        )
        self._agent_block = np.zeros((n, 2 * len(self.senders) + 2 * len(self._groups)))
        # Governance levers, only where configured: (column, book or Clipper, attribute).
        self._levers: list[tuple[str, Any, str]] = []
        for ilk, spec in scenario.ilks.items():
            if spec.autoline is not None:
                self._levers.append((col("line", ilk), model.vat.ilks[ilk], "line"))
            if getattr(spec.liquidation, "breaker", None) is not None:
                self._levers.append((col("stopped", ilk), model.clippers[ilk], "stopped"))
        psm = scenario.system.psm
        if psm is not None and psm.autoline is not None:
            self._levers.append(("psm_line", model.vat.ilks[model.psm.ilk], "line"))
        if psm is not None and psm.price is not None:
            self._levers.append(("psm_gem_price", model, "gem_price"))
            self._levers.append(("psm_gem", model.psm, "gem"))
        self._lever_block = np.zeros((n, len(self._levers)))

    @property
    def series(self) -> dict[str, np.ndarray]:
        """Every timeseries column by name (integer counts as int64), one value per row.

        Row ``k`` is tick ``base + k``; in memory every tick of the run (rows not yet recorded
        are 0), with a stream the window's.
        """
        n = self._sys_block.shape[0]
        out: dict[str, np.ndarray] = {"tick": np.arange(self.base, self.base + n, dtype=np.int64)}
        for ilk, block in self._ilk_blocks.items():
            for k, name in enumerate((*ILK_FIELDS, *self.qnames)):
                column = block[:, k]
                out[col(name, ilk)] = column.astype(np.int64) if name in COUNT_FIELDS else column
        for k, (name, _, attr) in enumerate(self._levers):
            column = self._lever_block[:, k]
            out[name] = column.astype(np.int64) if attr == "stopped" else column
        network = self.model.blocks is not None
        for k, name in enumerate(SYSTEM_FIELDS):
            if network or name not in BLOCK_FIELDS:
                out[name] = self._sys_block[:, k]
        m = len(self.senders)
        for k, sender in enumerate(self.senders):
            out[f"txs.{sender}"] = self._agent_block[:, k].astype(np.int64)
            out[f"priced_out.{sender}"] = self._agent_block[:, m + k].astype(np.int64)
        g = len(self._groups)
        for k, group in enumerate(self._groups):
            out[f"dai.{group}"] = self._agent_block[:, 2 * m + k]
            out[f"idle.{group}"] = self._agent_block[:, 2 * m + g + k].astype(np.int64)
        return out

    def value(self, name: str, tick: int) -> float:
        """One recorded value: a system column (``dai_price``) or an ilk's (``price[ETH-A]``).

        What the governors read at the end of a tick (in the column's unit, see the module
        docstring). Only :data:`SYSTEM_FIELDS` and :data:`ILK_FIELDS` columns.

        Raises:
            KeyError: no such column.
        """
        tick -= self.base
        if name in _SYSTEM_INDEX:
            return float(self._sys_block[tick, _SYSTEM_INDEX[name]])
        field_, _, rest = name.partition("[")
        block = self._ilk_blocks.get(rest[:-1])
        if block is None or field_ not in _ILK_INDEX or not rest.endswith("]"):
            raise KeyError(f"no recorded quantity {name!r}")
        return float(block[tick, _ILK_INDEX[field_]])

    @staticmethod
    def _unsafe(book) -> tuple[int, float]:
        """Count and debt [Dai] of the book's vaults unsafe at ``spot`` (``Ilk.unsafe``, cached)."""
        idx = book.unsafe()
        if idx.size == 0:
            return 0, 0.0
        return idx.size, float(book.art[idx].sum()) * book.rate

    def sample_unsafe(self) -> None:
        """Sample each ilk's unsafe vaults and their debt as the keepers are about to see them.

        The tick calls it between the borrowers and the keepers; :meth:`record` writes the sample
        as ``unsafe_vaults`` / ``unsafe_debt`` (a row without a sample this tick, such as tick 0,
        takes the state at recording). ``Ilk.unsafe`` is cached by book version, ``spot`` and
        ``rate``, so the first keeper's own look at the book costs nothing more.
        """
        self._unsafe_before = [self._unsafe(ref[1]) for ref in self._refs]
        self._unsafe_tick = self.model.tick

    def record(self) -> None:
        """Record the model's state as the row of its current tick."""
        model = self.model
        tick = model.tick
        t = tick - self.base
        if t == self._sys_block.shape[0]:  # the stream's window is full: its rows go out
            self.stream.window_full(self)
            t = tick - self.base
        vat = model.vat
        market = model.market
        dai_price = model.dai_market.price()
        auction_debt = 0.0
        insolvent = 0.0
        q = self._q
        before = self._unsafe_before if self._unsafe_tick == tick else None
        for k, (ilk_name, book, osm, asset, house, block) in enumerate(self._refs):
            price = market.price(asset)
            kicks = house.kicks
            n_open, lower, upper, frac = self._ratio_order_stats(ilk_name)
            n_after, debt_after = self._unsafe(book)
            n_before, debt_before = (n_after, debt_after) if before is None else before[k]
            row = block[t]
            row[:q] = (
                price,
                osm.cur,
                book.Art * book.rate,
                book.Ink * price,
                n_open,
                n_before,
                debt_before,
                n_after,
                debt_after,
                kicks - self._kicks_seen[ilk_name],
                house.active_ids().size,
            )
            self._kicks_seen[ilk_name] = kicks
            auction_debt += running_auction_debt(house)
            insolvent += self._insolvent_debt(ilk_name, book, price / dai_price)
            if n_open:
                # CR = (price/rate) / (art/ink): the CR order statistics are the ratio's,
                # reversed; interpolate between them in CR space, as np.quantile would.
                scale = price / book.rate
                cr_lo = scale / lower
                row[q:] = cr_lo + (scale / upper - cr_lo) * frac
            else:
                row[q:] = np.nan
        if self._levers:
            self._lever_block[t] = [getattr(obj, attr) for _, obj, attr in self._levers]
        vow = model.vow
        joy, awe = vow.joy, vow.awe
        psm = model.psm
        blocks = model.blocks
        deficit = awe - joy - auction_debt
        if model.shutdown is not None:  # the Dai the End's collateral does not back
            deficit = model.shutdown.deficit(deficit)
        self._sys_block[t] = (
            vat.debt,
            max(joy - awe, 0.0),
            max(deficit, 0.0),
            auction_debt,
            insolvent,
            vow.mkr_minted,
            vow.mkr_burned,
            vow.flop_dai,
            model.mkr_price(),
            dai_price,
            model.gas_price,
            blocks.landed_gas if blocks is not None else 0.0,
            blocks.capacity if blocks is not None else 0.0,
            blocks.fullest if blocks is not None else 0.0,
            psm.debt if psm is not None else 0.0,
            model.pot.Pie * model.pot.chi,
        )
        if blocks is not None:
            row = self._agent_block[t]
            m = len(self.senders)
            for k, sender in enumerate(self.senders):
                row[k] = blocks.txs.get(sender, 0)
                row[m + k] = blocks.priced_out.get(sender, 0)
            g = len(self._groups)
            for k, keepers in enumerate(self._groups.values()):
                row[2 * m + k] = sum(keeper.dai for keeper in keepers)
                row[2 * m + g + k] = sum(keeper.idle() for keeper in keepers)
        if tick == 0 or (self.snapshot_every and tick % self.snapshot_every == 0) or model.finished:
            self.snapshot()
        self.rows = tick + 1
        if self.stream is not None:
            self.stream.after_tick(self)

    def start_window(self) -> None:
        """Start the window again at the current tick (its rows have gone to the stream)."""
        self.base = self.model.tick

    def _insolvent_debt(self, ilk_name: str, book: Ilk, value: float) -> float:
        """Debt of the ilk's open vaults above the value of their collateral [Dai].

        ``Σ max(art·rate − ink·value, 0)``, ``value`` being the collateral's value [Dai/token]. A
        vault underwater at ``value`` is unsafe at ``spot`` whenever ``value ≥ spot``, so the sum
        runs over the cached unsafe vaults (``Ilk.unsafe``); only when the market is below
        ``spot`` (a fall within the OSM's delay) does it run over every open vault. The result
        is cached until the book, ``rate``, ``spot`` or ``value`` changes.
        """
        key = (book.version, book.rate, book.spot, value)
        cached = self._insolvent_cache.get(ilk_name)
        if cached is not None and cached[0] == key:
            return cached[1]
        if value >= book.spot:
            idx = book.unsafe()
        else:
            # Every open vault could be underwater: a large book looks only at those whose
            # art/ink is near or above value/rate (the others have gap ≤ 0 and add nothing).
            idx = book.above(value / book.rate) if value > 0 else np.flatnonzero(book.art > 0)
        total = 0.0
        if idx.size:
            gap = book.art[idx] * book.rate - book.ink[idx] * value
            total = float(gap[gap > 0].sum())
        self._insolvent_cache[ilk_name] = (key, total)
        return total

    def _ratio_order_stats(self, ilk_name: str) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
        """Order statistics of ``art/ink`` over open vaults needed for the CR quantiles.

        The ratio depends only on the vault book, so the result is cached until the book
        changes (``Ilk.version``). A large book reads the order statistics from its
        :meth:`~sim.protocol.vat.Ilk.ratio_index` (kept up to date from the vaults that changed,
        no sort); a small one sorts the open vaults' ratios again.

        Returns:
            ``(n_open, lower, upper, frac)``: for each quantile ``q`` with position
            ``q·(n_open − 1) = j + frac`` in ascending CR, the ratio of the CR order statistics
            ``j`` (``lower``) and ``j + 1`` (``upper``).
        """
        book = self.model.vat.ilks[ilk_name]
        cached = self._ratio_cache.get(ilk_name)
        if cached is not None and cached[0] == book.version:
            return cached[1]
        if book.indexed():
            index = book.ratio_index()
            n = index.open_count()
        else:
            open_ = book.art > 0
            n = int(np.count_nonzero(open_))
        if n == 0:
            empty = np.zeros(len(self.quantiles))
            stats = (0, empty, empty, empty)
        else:
            pos = np.asarray(self.quantiles) * (n - 1)
            j = np.floor(pos).astype(np.int64)
            frac = pos - j
            j1 = np.minimum(j + 1, n - 1)
            if book.indexed():
                # In ascending ratio over all slots (closed ones are 0 and come first), CR order
                # statistic j of the open vaults is at rank size − 1 − j.
                ranks = np.concatenate([book.size - 1 - j, book.size - 1 - j1])
                both = index.order_stats(ranks)
                q = j.shape[0]
                stats = (n, both[:q], both[q:], frac)
            else:
                # Closed vaults get ratio 0 and sort first: the open ones are the last n.
                ratio = np.zeros(book.size)
                with np.errstate(divide="ignore"):
                    np.divide(book.art, book.ink, out=ratio, where=open_)
                ratio.sort()
                ratio = ratio[book.size - n :]
                # Ascending CR is descending ratio: CR order statistic j is ratio[n - 1 - j].
                stats = (n, ratio[n - 1 - j], ratio[n - 1 - j1], frac)
        self._ratio_cache[ilk_name] = (book.version, stats)
        return stats

    def snapshot(self) -> None:
        """Record every vault's ink and art at the current tick (with the ilk's rate and price).

        A snapshot keeps what cannot be recomputed (copies of ``ink`` and ``art``) and the
        scalars the rest follows from; :func:`vaults_frame` derives the tick, vault, owner,
        debt and CR columns, exactly as they were at the snapshot (owners never change).
        """
        model = self.model
        if self.stream is not None and "vaults" not in self.stream.keep:
            return  # a run kept as a summary takes no snapshots
        for ilk_name in self.ilks:
            book = model.vat.ilks[ilk_name]
            snap = {
                "tick": model.tick,
                "ilk": ilk_name,
                "rate": book.rate,
                "price": model.market.price(model.spec.ilks[ilk_name].collateral),
                "owner": book.owner,
                "ink": book.ink,
                "art": book.art,
            }
            if self.stream is not None:  # its rows, derived now; the book is not copied
                self.stream.snapshot(self, snapshot_rows(snap))
            else:
                self.snapshots.append({**snap, "ink": book.ink.copy(), "art": book.art.copy()})


# ---------------------------------------------------------------------------------------- tables


def timeseries_frame(
    model: ProtocolModel, pick: Callable[[list[str]], list[str]] | None = None
) -> pd.DataFrame:
    """The per-tick series as a DataFrame (``time`` as UTC timestamps).

    Args:
        model: the model.
        pick: the columns wanted, from every column's name (e.g.
            :func:`sim.metrics.summary_columns`: what the KPIs read); ``tick`` and ``time``
            are kept only if picked. Default: every column, ``tick`` and ``time`` first.
    """
    rec = model.recorder
    n = rec.rows - rec.base
    if pick is not None:
        series = rec.series
        return pd.DataFrame({k: series[k][:n] for k in pick(list(series))})
    data = {k: v[:n] for k, v in rec.series.items()}
    start = pd.Timestamp(model.spec.clock.start)
    times = start + pd.to_timedelta(data["tick"] * model.dt, unit="s")
    columns = {"tick": data["tick"], "time": times}
    columns.update((k, v) for k, v in data.items() if k != "tick")
    return pd.DataFrame(columns)


def events_frame(model: ProtocolModel, consume: bool = False, drain: bool = False) -> pd.DataFrame:
    """The protocol event log, one row per event.

    ``event``, ``ilk`` and ``actor`` are categorical (a code per row into a few names), so a
    run with a hundred million events needs bytes, not a Python string, per row and name.

    Args:
        model: the model.
        consume: empty the model's event log while building the frame (halves the peak memory
            of a run with many events; for a model that will not step again).
        drain: empty the log but keep its names (a stream's chunk of a running model: the
            next chunk's codes and categories continue these).
    """
    numeric, coded = model.vat.log.coded_columns(consume=consume or drain, keep_names=drain)
    data: dict[str, Any] = dict(numeric)
    for name, (codes, categories) in coded.items():
        data[name] = pd.Categorical.from_codes(codes, categories=categories)
    return pd.DataFrame({name: data[name] for name in EVENT_COLUMNS}, copy=False)


def snapshot_rows(snap: dict[str, Any]) -> dict[str, Any]:
    """One ilk's snapshot as its rows of the vault table (the columns of :func:`vaults_frame`).

    Args:
        snap: ``tick``, ``ilk``, ``rate``, ``price`` and the book's ``owner``, ``ink`` and
            ``art`` arrays at the snapshot (``ink`` and ``art`` are copied).

    Returns:
        ``tick``, ``ilk`` (a name), ``vault``, ``owner`` (cohort codes), ``ink``, ``art``,
        ``debt``, ``cr``: arrays of one row per vault, ``ilk`` a scalar.
    """
    ink, art = snap["ink"], snap["art"]
    n = ink.shape[0]
    debt = art * snap["rate"]
    with np.errstate(divide="ignore", invalid="ignore"):
        cr = np.where(debt > 0, ink * snap["price"] / debt, np.nan)
    return {
        "tick": np.full(n, snap["tick"], dtype=np.int64),
        "ilk": str(snap["ilk"]),
        "vault": np.arange(n, dtype=np.int64),
        "owner": snap["owner"].copy(),
        "ink": ink.copy(),
        "art": art.copy(),
        "debt": debt,
        "cr": cr,
    }


def vault_rows_frame(
    parts: list[dict[str, Any]], ilks: list[str], cohorts: list[str]
) -> pd.DataFrame:
    """Snapshots' rows (:func:`snapshot_rows`) as a vault table, the columns of :func:`vaults_frame`.

    Args:
        parts: the rows of each snapshot, in order (emptied while the frame is built).
        ilks: every ilk, in the order of the model's snapshots (the ``ilk`` categories).
        cohorts: the cohorts' names (the ``cohort`` categories).
    """
    sizes = np.array([p["tick"].shape[0] for p in parts], dtype=np.int64)
    ilk_codes = np.repeat(np.array([ilks.index(p["ilk"]) for p in parts], dtype=np.int64), sizes)
    data: dict[str, Any] = {}
    for name in ("tick", "vault", "owner", "ink", "art", "debt", "cr"):
        dtype = np.float64 if name in ("ink", "art", "debt", "cr") else np.int64
        data[name] = np.concatenate([p[name] for p in parts]) if parts else np.zeros(0, dtype)
        for p in parts:
            p[name] = None
    parts.clear()
    return pd.DataFrame(
        {
            "tick": data["tick"],
            "ilk": pd.Categorical.from_codes(ilk_codes, categories=ilks),
            "vault": data["vault"],
            "cohort": pd.Categorical.from_codes(data["owner"], categories=cohorts),
            "ink": data["ink"],
            "art": data["art"],
            "debt": data["debt"],
            "cr": data["cr"],
        },
        copy=False,
    )


def vaults_frame(model: ProtocolModel, consume: bool = False) -> pd.DataFrame:
    """Vault snapshots: one row per vault per snapshot tick.

    ``ilk`` and ``cohort`` are categorical (a code per row into a few names).

    Args:
        model: the model.
        consume: free the recorder's snapshots one by one while building the frame (for a model
            that will not step again: the snapshots and the frame are never both held in full).
    """
    chunks = model.recorder.snapshots
    names = [c.name for c in model.cohorts]
    if not chunks:
        return pd.DataFrame(
            {k: [] for k in ("tick", "ilk", "vault", "cohort", "ink", "art", "debt", "cr")}
        )
    sizes = np.array([c["ink"].shape[0] for c in chunks])
    ilks = list(dict.fromkeys(str(c["ilk"]) for c in chunks))
    ilk_codes = np.repeat(np.array([ilks.index(str(c["ilk"])) for c in chunks]), sizes)
    total = int(sizes.sum())
    data = {
        "tick": np.repeat(np.array([c["tick"] for c in chunks], dtype=np.int64), sizes),
        "vault": np.concatenate([np.arange(n, dtype=np.int64) for n in sizes]),
        "owner": np.concatenate([c["owner"] for c in chunks]),
    }
    for name in ("ink", "art", "debt", "cr"):
        data[name] = np.empty(total)
    at = 0
    for c in chunks:
        n = c["ink"].shape[0]
        ink, art = c["ink"], c["art"]
        debt = art * c["rate"]
        with np.errstate(divide="ignore", invalid="ignore"):
            cr = np.where(debt > 0, ink * c["price"] / debt, np.nan)
        for name, values in (("ink", ink), ("art", art), ("debt", debt), ("cr", cr)):
            data[name][at : at + n] = values
        at += n
        if consume:
            c["ink"] = c["art"] = None
    if consume:
        model.recorder.snapshots = []
    owner = data.pop("owner")
    return pd.DataFrame(
        {
            "tick": data["tick"],
            "ilk": pd.Categorical.from_codes(ilk_codes, categories=ilks),
            "vault": data["vault"],
            "cohort": pd.Categorical.from_codes(owner, categories=names),
            "ink": data["ink"],
            "art": data["art"],
            "debt": data["debt"],
            "cr": data["cr"],
        },
        copy=False,
    )


AUCTION_COLUMNS = (
    "ilk",
    "auction",
    "vault",
    "kind",
    "start_tick",
    "end_tick",
    "duration_s",
    "tab",
    "lot",
    "due",
    "dai_raised",
    "collateral_sold",
    "collateral_returned",
    "winner",
    "shortfall",
    "bad_debt",
)


_AUCTION_RENAMES = {
    "id": "auction",
    "usr": "vault",
    "tab0": "tab",
    "lot0": "lot",
    "raised": "dai_raised",
    "sold": "collateral_sold",
    "returned": "collateral_returned",
}


def auctions_frame(model: ProtocolModel) -> pd.DataFrame:
    """One row per liquidation auction (Clipper or Flipper) with its outcome.

    ``shortfall`` is ``max(tab − dai_raised, 0)`` of a finished auction (what it failed to raise
    of its target, penalty included); ``bad_debt`` is ``max(due − dai_raised, 0)`` (the debt it
    left uncovered). Both are 0 while the auction runs.
    """
    records = []
    for ilk_name in model.spec.ilks:
        rec = model.liquidator(ilk_name).records()
        if len(rec["id"]) == 0:
            continue
        # The house's running tab/lot are dropped for the values at the kick.
        records.append(
            {
                _AUCTION_RENAMES.get(k, k): v
                for k, v in rec.items()
                if k not in ("tab", "lot", "tic", "top", "active")
            }
        )
    if not records:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in AUCTION_COLUMNS})
    if len(records) == 1:
        # One house (the usual case): the columns straight from its arrays.
        data = records[0]
    else:
        # Several: pandas aligns the houses' columns (a column one of them lacks gets NaN).
        frame = pd.concat([pd.DataFrame(r) for r in records], ignore_index=True)
        data = {name: frame[name].to_numpy() for name in frame.columns}
    finished = data["end_tick"] >= 0
    data["duration_s"] = np.where(
        finished, (data["end_tick"] - data["start_tick"]) * model.dt, np.nan
    )
    data["shortfall"] = np.where(finished, np.maximum(data["tab"] - data["dai_raised"], 0.0), 0.0)
    data["bad_debt"] = np.where(finished, np.maximum(data["due"] - data["dai_raised"], 0.0), 0.0)
    for name in ("ilk", "kind", "winner"):
        data[name] = pd.array(data[name], dtype="string")
    keep = [c for c in AUCTION_COLUMNS if c in data]
    extra = [c for c in data if c not in keep]
    return pd.DataFrame({c: data[c] for c in keep + extra}, copy=False)


# ---------------------------------------------------------------------------------------- run folder


@dataclass
class RunResult:
    """The outcome of one run: its tables, its KPIs and its manifest."""

    timeseries: pd.DataFrame
    events: pd.DataFrame
    auctions: pd.DataFrame
    vaults: pd.DataFrame
    summary: dict[str, Any]
    manifest: dict[str, Any] = field(default_factory=dict)
    #: Emergency Shutdown's table (``shutdown.parquet``, :func:`sim.shutdown.shutdown_frame`);
    #: None when the run had no shutdown.
    shutdown: pd.DataFrame | None = None

    def ilk(self, name: str) -> pd.DataFrame:
        """One ilk's timeseries with plain column names."""
        return ilk_frame(self.timeseries, name)

    def stored(self, name: str) -> Path | None:
        """The Parquet file holding table ``name`` when it is not held in memory (here never).

        A streamed run's result (:class:`sim.stream.StoredRunResult`) answers with the file
        of each table it wrote in row groups.
        """
        return None

    def write(self, out: str | Path) -> Path:
        """Write the run folder, as :func:`sim.rundir.write_run_folder` does.

        Returns:
            The folder.
        """
        from sim.rundir import write_run_folder  # rundir reads RunResult: imported on use

        return write_run_folder(self, out)
