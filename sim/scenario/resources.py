"""What a run will need: its ticks and an estimate of its memory, checked before it starts.

The estimate counts what grows with the scenario's size and is known before the run:

- the recorder's time series: ``rows × (ilks × (per-ilk columns + quantiles) + system columns)``
  float64 values, held twice (the arrays, then the table written at the end);
- the price and gas paths: per asset the path, its shocks, and the market and OSM price
  histories, ``rows × (assets × 4 + 1)`` float64 values;
- the vault book: about :data:`VAULT_BYTES` per vault (Vat, cohort state, per-tick temporaries);
- vault snapshots: ``snapshots × vaults ×`` :data:`SNAPSHOT_BYTES_PER_VAULT`;
- the interpreter with its libraries, :data:`PROCESS_BYTES`.

Auctions and protocol events are not estimated: how many there are depends on what happens in
the run (a crash liquidates thousands of vaults, a calm month none).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from sim.scenario.schema import Scenario
from sim.scenario.yamlfile import DataPath
from sim.units import format_duration

#: Most ticks in one run: 50 M ticks of 10 minutes are 950 years; the series alone take GBs.
MAX_TICKS = 50_000_000
#: Bytes per float64 value.
FLOAT_BYTES = 8
#: Timeseries columns per ilk, besides the CR quantiles (``sim.record.ILK_FIELDS``).
ILK_COLUMNS = 11
#: Timeseries columns of the whole system, with ``tick`` and ``time`` (``sim.record.SYSTEM_FIELDS``
#: without the block columns).
SYSTEM_COLUMNS = 15
#: With a network: the block columns (``sim.record.BLOCK_FIELDS``), two per sending group
#: (``txs``, ``priced_out``) and two per keeper group (``dai``, ``idle``).
BLOCK_COLUMNS = 3
#: Copies of the time series held at the end of a run (the recorder's arrays and the table).
SERIES_COPIES = 2
#: float64 arrays per asset over the run: the path, its shocks, market and OSM price histories.
PATH_ARRAYS_PER_ASSET = 4
#: Bytes per vault in memory: ink, art, owner in the Vat, wallet and trigger time in the cohort,
#: and a few per-tick temporaries of the same length (unsafe test, CR order statistics).
VAULT_BYTES = 100
#: Bytes per vault per snapshot at the run's peak: the recorder's 52 bytes (tick, vault, owner,
#: ink, art, debt, CR), the table built from them and its Parquet conversion. Measured: a
#: 10-year daily baseline with daily snapshots (7.3 M vault-snapshots) peaks 770 MB above the
#: same run without snapshots, about 105 bytes each; 120 leaves a margin.
SNAPSHOT_BYTES_PER_VAULT = 120
#: The interpreter with numpy, pandas, pyarrow and mesa loaded.
PROCESS_BYTES = 300 * 1024**2
#: Physical memory assumed when the system does not say [bytes].
FALLBACK_MEMORY_BYTES = 8 * 1024**3


@dataclass(frozen=True)
class ResourceEstimate:
    """The size of a run, estimated before it starts (auctions and events not included).

    Attributes:
        ticks: ticks of the run.
        vaults: vaults of all cohorts.
        snapshots: vault snapshots taken (start, each interval, end).
        series_bytes: recorder time series [bytes].
        path_bytes: price and gas paths and histories [bytes].
        vault_bytes: the vault book [bytes].
        snapshot_bytes: vault snapshots [bytes].
    """

    ticks: float
    vaults: int
    snapshots: float
    series_bytes: float
    path_bytes: float
    vault_bytes: float
    snapshot_bytes: float

    @property
    def total_bytes(self) -> float:
        """Everything above plus the interpreter [bytes]."""
        return (
            self.series_bytes
            + self.path_bytes
            + self.vault_bytes
            + self.snapshot_bytes
            + PROCESS_BYTES
        )


def physical_memory() -> int:
    """This machine's physical memory [bytes], or :data:`FALLBACK_MEMORY_BYTES` if unknown."""
    try:
        size = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return FALLBACK_MEMORY_BYTES
    return size if size > 0 else FALLBACK_MEMORY_BYTES


def tick_count(s: Scenario) -> float:
    """``duration / tick`` rounded up, as a float (it may be astronomically large, or inf)."""
    ratio = s.clock.duration / s.clock.tick
    return max(1.0, math.ceil(ratio - 1e-9)) if math.isfinite(ratio) else math.inf


def estimate_resources(s: Scenario) -> ResourceEstimate:
    """Estimate the ticks and memory of a run of ``s`` (see the module docstring).

    Returns:
        The estimate; nothing is allocated.
    """
    ticks = tick_count(s)
    rows = ticks + 1
    vaults = sum(c.vaults for c in s.borrowers)
    assets = len(s.collateral) + (1 if s.mkr is not None else 0)
    per_row = len(s.ilks) * (ILK_COLUMNS + len(s.record.cr_quantiles)) + SYSTEM_COLUMNS
    # A DC-IAM adds a ``line`` column, a Clipper breaker a ``stopped`` column.
    per_row += sum(
        (ilk.autoline is not None) + (getattr(ilk.liquidation, "breaker", None) is not None)
        for ilk in s.ilks.values()
    )
    if s.network is not None:
        senders = 1 + len(s.keepers) + len(s.borrowers) + (s.mkr is not None)
        senders += s.system.psm is not None and s.system.psm.arbitrage
        per_row += BLOCK_COLUMNS + 2 * senders + 2 * len(s.keepers)
    every = s.record.vault_snapshot_every
    interval = max(1, round(every / s.clock.tick)) if every else math.inf
    snapshots = 2 + (ticks // interval if math.isfinite(interval) else 0)
    return ResourceEstimate(
        ticks=ticks,
        vaults=vaults,
        snapshots=snapshots,
        series_bytes=rows * per_row * FLOAT_BYTES * SERIES_COPIES,
        path_bytes=rows * (assets * PATH_ARRAYS_PER_ASSET + 1) * FLOAT_BYTES,
        vault_bytes=vaults * VAULT_BYTES,
        snapshot_bytes=snapshots * vaults * SNAPSHOT_BYTES_PER_VAULT,
    )


def check_resources(s: Scenario, memory_bytes: int | None = None) -> list[tuple[DataPath, str]]:
    """Refuse a run that cannot fit: too many ticks, or more memory than the machine has.

    Args:
        s: the scenario.
        memory_bytes: the memory limit [bytes]; default this machine's physical memory.

    Returns:
        ``(path, message)`` problems (empty when the run fits).
    """
    ticks = tick_count(s)
    clock = s.clock
    if not ticks <= MAX_TICKS:
        return [
            (
                ("clock",),
                f"the run has {ticks:.3g} ticks (duration {format_duration(clock.duration)} / tick "
                f"{format_duration(clock.tick)}), above the limit of {MAX_TICKS:,}; "
                "use a longer tick or a shorter duration",
            )
        ]
    limit = physical_memory() if memory_bytes is None else memory_bytes
    est = estimate_resources(s)
    if est.total_bytes <= limit:
        return []
    parts = {
        ("record", "vault_snapshot_every"): (
            est.snapshot_bytes,
            f"vault snapshots {_size(est.snapshot_bytes)} ({est.snapshots:,.0f} × "
            f"{est.vaults:,} vaults)",
        ),
        ("borrowers",): (est.vault_bytes, f"vault book {_size(est.vault_bytes)}"),
        ("clock",): (
            est.series_bytes + est.path_bytes,
            f"time series and paths {_size(est.series_bytes + est.path_bytes)} "
            f"({est.ticks:,.0f} ticks)",
        ),
    }
    blame = max(parts, key=lambda p: parts[p][0])
    detail = ", ".join(text for _, text in parts.values())
    return [
        (
            blame,
            f"the run needs about {_size(est.total_bytes)} of memory ({detail}), more than "
            f"this machine's {_size(limit)}",
        )
    ]


def _size(n: Any) -> str:
    for unit, scale in (("TB", 1024**4), ("GB", 1024**3), ("MB", 1024**2)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n / 1024:,.0f} kB"
