"""The ``cdpsim`` command (DESIGN.md section 9).

Exit codes: 0 ok; 1 a run failed (what it computed is kept); 2 bad input (a scenario file, a data
file or an argument), reported as ``file:line: field: message`` without a traceback.
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

import click

from sim.market.prices import DataError
from sim.protocol.vat import ProtocolError
from sim.scenario import ScenarioError, load_scenario

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _err(message: str) -> None:
    click.echo(message, err=True)


class _Progress:
    """A one-line progress bar on stderr, silent when stderr is not a terminal."""

    def __init__(self, total: int, label: str):
        self.total = max(total, 1)
        self.label = label
        self.enabled = sys.stderr.isatty()
        self.last = 0.0

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < self.total and now - self.last < 0.2:
            return
        self.last = now
        width = 30
        filled = int(width * done / self.total)
        sys.stderr.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total}"
        )
        if done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cdpsim")
def main() -> None:
    """cdpsim: agent-based simulation of MakerDAO-style stablecoins."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Validate scenario files (all errors, as file:line: field: message)."""
    bad = 0
    for path in paths:
        try:
            load_scenario(path)
        except ScenarioError as exc:
            bad += 1
            _err(str(exc))
        else:
            click.echo(f"{path}: ok")
    sys.exit(EXIT_BAD_INPUT if bad else EXIT_OK)


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option(
    "--seed", type=click.IntRange(min=0), default=None, help="Run seed (default: the file's)."
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Run folder (default: runs/<scenario name>).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a scenario field, e.g. --set ilks.ETH-A.mat=1.45 (repeatable).",
)
def run(scenario: Path, seed: int | None, out: Path | None, overrides: tuple[str, ...]) -> None:
    """Run one scenario, write its run folder and print its KPIs."""
    from sim.metrics import format_kpis
    from sim.runner import run_and_write

    try:
        spec = load_scenario(scenario, overrides=overrides)
    except ScenarioError as exc:
        _err(str(exc))
        sys.exit(EXIT_BAD_INPUT)
    out = out if out is not None else Path("runs") / spec.name
    progress = _Progress(spec.n_ticks, spec.name)
    try:
        result, folder = run_and_write(
            spec, out, seed=seed, progress=lambda d, _t: progress.update(d)
        )
    except (ProtocolError, DataError, ValueError) as exc:
        # The scenario passed validation but its pieces do not fit together (nothing ran).
        _err(f"{scenario}: the scenario cannot be built: {exc}")
        sys.exit(EXIT_BAD_INPUT)
    except Exception as exc:  # a bug while building: nothing to keep
        _err(f"{scenario}: the model could not be built: {type(exc).__name__}: {exc}")
        _err(traceback.format_exc())
        sys.exit(EXIT_RUN_FAILED)
    manifest = result.manifest
    if manifest["status"] != "ok":
        _err(f"{scenario}: the run failed at {manifest['error'].splitlines()[0]}")
        _err(f"the {manifest['ticks']} ticks computed before are kept in {folder}")
        sys.exit(EXIT_RUN_FAILED)
    click.echo(f"{spec.name} (seed {manifest['seed']}, {manifest['ticks']} ticks) → {folder}")
    click.echo(format_kpis(result.summary))
    sys.exit(EXIT_OK)


if __name__ == "__main__":  # pragma: no cover
    main()
