"""``cdpsim calibrate``: fit a calibration file's free parameters to its targets (ABC-SMC)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sim.cli import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_RUN_FAILED,
    _backend_option,
    _err,
    _out,
    _Path,
    _scheduler_option,
    _sigterm_as_interrupt,
    _workers,
    _workers_option,
    main,
)


@main.command()
@click.argument("calibration_file", type=_Path(path_type=Path))
@click.option(
    "--out",
    type=_Path(path_type=Path),
    default=None,
    help="The calibration folder (default: calibrations/<name>).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the calibration in --out from its last "
    "finished generation (the same file and method settings).",
)
@click.option(
    "--population",
    type=click.IntRange(4, 100_000),
    default=None,
    help="Particles per generation (overrides method.population).",
)
@click.option(
    "--generations",
    type=click.IntRange(1, 100),
    default=None,
    help="Generations at most (overrides method.generations).",
)
@click.option(
    "--max-simulations",
    type=click.IntRange(1),
    default=None,
    help="Simulations at most over all generations (overrides method.max_simulations).",
)
@click.option(
    "--predictive",
    type=click.IntRange(0, 100_000),
    default=None,
    help="Posterior-predictive runs (overrides method.predictive).",
)
@click.option(
    "--fixed-seeds",
    type=click.IntRange(0, 100_000),
    default=None,
    help="Runs at the posterior median with different seeds (method.fixed_seeds).",
)
@_workers_option
@_backend_option
@_scheduler_option
def calibrate(
    calibration_file: Path,
    out: Path | None,
    resume: bool,
    population: int | None,
    generations: int | None,
    max_simulations: int | None,
    predictive: int | None,
    fixed_seeds: int | None,
    workers: int | None,
    backend: str,
    scheduler: str | None,
) -> None:
    """Fit a calibration file's free parameters to the record by ABC-SMC (pyabc).

    The file (like scenarios/calibrations/*.yaml) names a base scenario, the free parameters
    with their priors, the targets (statistics with the record's value, band and source) and
    the method. Candidates run on the local pool (or Dask) with seeds derived from the
    method's seed, so the posterior is the same for any --workers. OUT gets calibration.json,
    abc.db (pyabc's history; --resume continues it), history.parquet (acceptance per
    generation), posterior.parquet, predictive.parquet (posterior-predictive runs),
    fixed.parquet (the posterior median over seeds), summary.json and summary.md (posterior,
    joint fit, per-target p-values). Exit 2 on a bad file or folder, 1 if a simulation fails.
    """
    import importlib.util

    if importlib.util.find_spec("pyabc") is None:  # the "calibrate" extra is not installed
        _err(
            "cdpsim calibrate needs pyabc, the calibrate extra: pip install -e '.[calibrate]' "
            "-c constraints.txt (from a checkout), or pip install 'cdpsim[calibrate]'"
        )
        sys.exit(EXIT_BAD_INPUT)
    try:
        from sim.calibrate.abc import CalibrationError
        from sim.calibrate.report import joint_lines, targets_table
        from sim.calibrate.run import calibrate as run_calibration
        from sim.calibrate.run import default_out
        from sim.calibrate.spec import load_calibration
    except ModuleNotFoundError as exc:  # pyabc is the "calibrate" extra
        _err(f"cdpsim calibrate needs {exc.name}: pip install 'cdpsim[calibrate]'")
        sys.exit(EXIT_BAD_INPUT)
    from sim.calibrate.run import FolderInUse
    from sim.metrics import tail_warning
    from sim.scenario import ScenarioError

    if scheduler is not None and backend != "dask":
        raise click.UsageError("--scheduler needs --backend dask")
    _sigterm_as_interrupt()
    try:
        spec = load_calibration(calibration_file).with_method(
            population=population,
            generations=generations,
            max_simulations=max_simulations,
            predictive=predictive,
            fixed_seeds=fixed_seeds,
        )
    except ScenarioError as exc:
        _err(str(exc))
        sys.exit(EXIT_BAD_INPUT)
    except ValueError as exc:
        _err(f"{calibration_file}: {exc}")
        sys.exit(EXIT_BAD_INPUT)
    out = out if out is not None else default_out(spec)
    workers = _workers(workers, backend, scheduler, False)
    try:
        result = run_calibration(
            spec,
            out,
            workers=workers,
            backend=backend,
            scheduler=scheduler,
            resume=resume,
            progress=lambda line: _err(f"{spec.name}: {line}"),
        )
    except FolderInUse as exc:
        _err(str(exc))
        sys.exit(EXIT_BAD_INPUT)
    except CalibrationError as exc:
        _err(
            f"{spec.name}: {exc}\nthe generations finished are kept: the same command with "
            "--resume continues"
        )
        sys.exit(EXIT_RUN_FAILED)
    except KeyboardInterrupt:
        _err(
            f"{spec.name}: interrupted; the generations finished are kept in {out}: the same "
            "command with --resume continues"
        )
        sys.exit(EXIT_INTERRUPTED)
    s = result.summary
    _out(
        f"{spec.name}: {s['generations']} generations, {s['simulations']} simulations, "
        f"ε = {s['epsilon']:.3g} → {out}"
    )
    for name, p in s["parameters"].items():
        _out(
            f"  {name}: median {p['median']:.4g}, 5–95 % {p['p05']:.4g} – {p['p95']:.4g} "
            f"({p['n_particles']} particles)"
        )
    _out(joint_lines(s["predictive"]).replace("**", ""))
    _out(targets_table(s["predictive"]))
    warning = tail_warning(s["predictive"]["n_runs"], "the 5 % and 95 % quantiles")
    if warning is not None:
        _err(f"warning: {warning} (--predictive sets more runs)")
    sys.exit(EXIT_OK)
