"""Calibration: fit a scenario's free parameters to an event's record, and score the fit.

- :mod:`sim.calibrate.statistics` — the statistics of a run that targets compare;
- :mod:`sim.calibrate.spec` — calibration files and targets;
- :mod:`sim.calibrate.abc` — ABC-SMC (pyabc) on cdpsim's executors;
- :mod:`sim.calibrate.scoring` — joint fit, distances, p-values, parameter vs seed spread;
- :mod:`sim.calibrate.run` — :func:`calibrate`, the calibration folder.
"""

from sim.calibrate.spec import Calibration, TargetSpec, load_calibration
from sim.calibrate.statistics import STATISTICS, compute

__all__ = [
    "STATISTICS",
    "Calibration",
    "CalibrationResult",
    "TargetSpec",
    "calibrate",
    "compute",
    "load_calibration",
]


def __getattr__(name: str) -> object:
    # calibrate() needs pyabc (the "calibrate" extra); import it only when asked for.
    if name in ("calibrate", "CalibrationResult"):
        from sim.calibrate import run

        return getattr(run, name)
    raise AttributeError(name)
