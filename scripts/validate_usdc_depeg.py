"""The USDC depeg of March 2023 against the record: runs, figures and docs/VALIDATION.md's section.

Runs ``scenarios/events/usdc_depeg_2023.yaml`` (with the 11 March emergency spell) and
``usdc_depeg_2023_nospell.yaml`` (without), each with the assumed Dai market depth and at 25 M and
400 M USD per 2 %, and with the DC-IAM's last increase at the start; reads the spell-delay sweep
folder written by ``cdpsim sweep scenarios/sweeps/usdc_spell_delay.yaml --keep full --out DIR``; draws
``docs/img/usdc_depeg_2023.png`` and ``docs/img/usdc_spell_delay.png`` and writes the tables
between the ``usdc:begin``/``usdc:end`` and ``usdc-delay:begin``/``usdc-delay:end`` marks of
docs/VALIDATION.md. Every number there comes from these runs. Seconds on one core.

Usage (from the repository root)::

    cdpsim sweep scenarios/sweeps/usdc_spell_delay.yaml --keep full --out runs/usdc_spell_delay
    .venv/bin/python scripts/validate_usdc_depeg.py runs/usdc_spell_delay
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import sim  # noqa: E402
from sim.calibrate.statistics import compute  # noqa: E402
from sim.plots import save_figure  # noqa: E402
from sim.plots.depeg import depeg_runs, spell_delay  # noqa: E402
from sim.scenario.governance import spell_marks  # noqa: E402

EVENTS = ROOT / "scenarios" / "events"
WITH, WITHOUT = EVENTS / "usdc_depeg_2023.yaml", EVENTS / "usdc_depeg_2023_nospell.yaml"
DOC = ROOT / "docs" / "VALIDATION.md"
IMAGES = ROOT / "docs" / "img"
#: The spell's delay on record (the GSM pause delay of March 2023) [h].
ON_RECORD_H = 48.0
#: Assumed-parameter variants: label → overrides (on both files).
VARIANTS: dict[str, tuple[str, ...]] = {
    "as assumed (depth 100 M, 6 h)": (),
    "Dai depth 25 M": ("dai.depth_usd_2pct=25e6",),
    "Dai depth 400 M": ("dai.depth_usd_2pct=400e6",),
    "DC-IAM increased at the start": ("system.psm.line=3.1e9",),
}
STATS = ("dai_low", "dai_low_hour", "psm_gem_growth", "dai_supply_change", "psm_depeg_loss")


def stats_of(run) -> dict[str, float]:
    """The case's statistics of one run (and the PSM's inflow after 13 March 13:00 UTC)."""
    out = {
        name: compute(run, name, within_h=48 if name.startswith("dai_low") else None)
        for name in STATS
    }
    ts = run.timeseries
    late = pd.to_datetime(ts["time"], utc=True) >= pd.Timestamp("2023-03-13T13:00:00Z")
    psm = ts["psm_debt"].to_numpy()
    first = int(late.to_numpy().argmax())
    out["inflow_after_13"] = float(psm[-1] - psm[first - 1])
    return out


def event_table() -> tuple[str, dict[str, pd.DataFrame], list]:
    """Run both files under every variant; the Markdown table and the as-assumed runs."""
    rows, shown = [], {}
    marks: list = []
    for label, overrides in VARIANTS.items():
        for spell, path in (("with spell", WITH), ("no spell", WITHOUT)):
            result = sim.run(sim.load_scenario(path, overrides=list(overrides)))
            s = stats_of(result)
            rows.append(
                f"| {label} | {spell} | {s['dai_low']:.4f} | {s['dai_low_hour']:.1f} | "
                f"{s['psm_gem_growth'] / 1e9:.3f} | {s['dai_supply_change'] / 1e9:.3f} | "
                f"{s['inflow_after_13'] / 1e6:.0f} | {s['psm_depeg_loss'] / 1e6:.1f} | 1 |"
            )
            if not overrides:
                shown[spell] = result.timeseries
                if spell == "with spell":
                    start = pd.Timestamp(result.timeseries["time"].iloc[0])
                    marks = [
                        (name, start + pd.Timedelta(seconds=s_))
                        for name, s_ in spell_marks(result.manifest["scenario"])
                    ]
    head = (
        "| assumption | run | Dai low [USD] | its hour | PSM inflow [B] | Dai supply change [B] "
        "| PSM inflow after 13 Mar 13:00 [M] | PSM's loss had USDC not recovered [M USD] | runs |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    return head + "\n".join(rows), shown, marks


def delay_table(folder: Path) -> pd.DataFrame:
    """The sweep's runs: delay and the statistics read from each run folder."""
    runs = pd.read_parquet(folder / "runs.parquet")
    rows = []
    for _, r in runs.iterrows():
        run_dir = folder / "runs" / r["run_id"]
        ts = pd.read_parquet(run_dir / "timeseries.parquet")
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        run = SimpleNamespace(timeseries=ts, auctions=pd.DataFrame(), summary=summary)
        rows.append(
            {
                "delay_h": float(r["governance.spells.0.delay"]) / 3600.0,
                "dai_low": compute(run, "dai_low"),
                "psm_inflow": compute(run, "psm_gem_growth"),
                "psm_depeg_loss": compute(run, "psm_depeg_loss"),
                "runs": 1,
            }
        )
    return pd.DataFrame(rows).sort_values("delay_h").reset_index(drop=True)


def replace_block(text: str, name: str, body: str) -> str:
    """Put ``body`` between ``<!-- name:begin -->`` and ``<!-- name:end -->``."""
    pattern = re.compile(rf"(<!-- {name}:begin -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{DOC}: no {name}:begin/end block")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def main(argv: list[str] | None = None) -> int:
    """Run, draw and write; the sweep folder is the one argument."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, help="folder of cdpsim sweep usdc_spell_delay.yaml")
    args = parser.parse_args(argv)
    table, shown, marks = event_table()
    save_figure(
        depeg_runs(shown, marks, title="USDC depeg, 10–14 March 2023: Dai through PSM-USDC-A"),
        IMAGES / "usdc_depeg_2023.png",
    )
    delays = delay_table(args.sweep)
    save_figure(
        spell_delay(
            delays,
            on_record_h=ON_RECORD_H,
            title="The 11 March 2023 emergency spell (tin 1 %, gap 250 M) by its delay",
        ),
        IMAGES / "usdc_spell_delay.png",
    )
    lines = [
        "| spell delay [h] | Dai low [USD] | PSM inflow [B] | PSM's loss had USDC not recovered "
        "[M USD] | runs |",
        "|---|---|---|---|---|",
    ]
    for _, r in delays.iterrows():
        lines.append(
            f"| {r['delay_h']:g} | {r['dai_low']:.4f} | {r['psm_inflow'] / 1e9:.3f} | "
            f"{r['psm_depeg_loss'] / 1e6:.1f} | {int(r['runs'])} |"
        )
    text = DOC.read_text(encoding="utf-8")
    text = replace_block(text, "usdc", table)
    text = replace_block(text, "usdc-delay", "\n".join(lines))
    DOC.write_text(text, encoding="utf-8")
    print(table)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
