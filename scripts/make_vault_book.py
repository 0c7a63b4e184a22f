"""Write scenarios/data/eth_a_book_synthetic.csv: a SYNTHETIC ETH-A vault book.

No public vault-level Maker snapshot with a licence that allows shipping it was found (see
scenarios/data/README.md), so the example book is made here, from fixed laws and a fixed seed.
It is not a record of any block: it has the columns of an on-chain export (``ilk``, ``owner``,
``ink`` from ``Vat.urns``, ``art`` and the ilk's ``rate`` from ``Vat.ilks``) and a ``class``
column, with three classes shaped after the story of ETH-A books told in public risk reports
(a few large vaults at moderate CRs, many small vaults at high CRs, and levered vaults close
to the liquidation ratio), and every number is drawn:

- ``whale``: 12 vaults, debt log-normal around 8 M Dai (σ 0.6), CR around 2.2 (σ 0.15);
- ``retail``: 300 vaults, debt log-normal around 60 000 Dai (σ 1.0), CR around 2.9 (σ 0.3);
  larger vaults run at lower CRs (log CR falls 0.08 per unit of log debt above the median);
- ``levered``: 80 vaults, debt log-normal around 300 000 Dai (σ 0.8), CR around 1.8 (σ 0.1).

CRs are floored at 1.55 and debts at 10 100 Dai (the dust, 10 000 Dai, and 1 %); ``ink`` is debt × CR / 2 000 USD
(the price the book is drawn for: ``scenarios/eth_book_crash.yaml`` starts there), ``art`` is
debt / rate with rate 1.08. Owners are ``synthetic-0001``… (no addresses).

Run from the repository root: ``python -m scripts.make_vault_book`` (the file is rewritten
byte for byte the same).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "scenarios" / "data" / "eth_a_book_synthetic.csv"
SEED = 20240522
#: The ETH price the CRs are drawn for [USD].
PRICE = 2000.0
#: ETH-A's accumulated rate the art column is given at [-] (an assumed value).
RATE = 1.08
#: Smallest debt drawn [Dai]: 1 % above the dust, so that art · rate rounded stays above it.
DUST_FLOOR = 10_100.0
CR_FLOOR = 1.55
#: class → (vaults, median debt [Dai], σ of log debt, median CR, σ of log CR, log-CR slope).
CLASSES = {
    "whale": (12, 8.0e6, 0.6, 2.2, 0.15, 0.0),
    "retail": (300, 6.0e4, 1.0, 2.9, 0.3, -0.08),
    "levered": (80, 3.0e5, 0.8, 1.8, 0.1, 0.0),
}


def make_book(seed: int = SEED) -> list[dict[str, str]]:
    """The synthetic book's rows, in the order written (classes interleaved by a shuffle)."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, (n, median, sigma, cr_median, cr_sigma, slope) in CLASSES.items():
        log_debt = rng.normal(0.0, sigma, n)
        debt = np.maximum(median * np.exp(log_debt), DUST_FLOOR)
        log_cr = np.log(cr_median) + slope * log_debt + cr_sigma * rng.standard_normal(n)
        cr = np.maximum(np.exp(log_cr), CR_FLOOR)
        for d, c in zip(debt, cr, strict=True):
            rows.append({"class": name, "debt": float(d), "cr": float(c)})
    order = rng.permutation(len(rows))
    out = []
    for k, i in enumerate(order, start=1):
        r = rows[i]
        out.append(
            {
                "ilk": "ETH-A",
                "owner": f"synthetic-{k:04d}",
                "class": r["class"],
                "ink": f"{r['debt'] * r['cr'] / PRICE:.6f}",
                "art": f"{r['debt'] / RATE:.6f}",
                "rate": f"{RATE}",
            }
        )
    return out


def main() -> None:
    """Write the book."""
    rows = make_book()
    with OUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{OUT.relative_to(ROOT)}: {len(rows)} vaults")


if __name__ == "__main__":
    main()
