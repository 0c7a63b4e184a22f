"""Joint scoring of runs against a set of targets.

The fit of a model to an event is judged on all targets at once, not figure by figure:

- **joint fit**: the share of runs whose every statistic lies in its target's band (what a
  "matching run" is), with the number of runs behind it;
- **distance distribution**: each run's combined distance (:func:`~sim.calibrate.spec.combined`)
  as quantiles; ≤ 1 under the ``max`` combination is a matching run;
- **per-target posterior-predictive p-values**: for each target, the two-sided tail share of
  runs beyond the record's value, ``2·min(P(s ≤ v), P(s ≥ v))`` (capped at 1): small when the
  record sits in a tail of what the model produces;
- **parameter uncertainty vs event randomness**: the variance of each statistic over the
  posterior-predictive runs (parameters drawn from the posterior, one seed each) against its
  variance over runs at one parameter set (the posterior median) with different seeds: the
  share of the spread that the parameters explain is ``1 − var(fixed)/var(predictive)``
  (clipped to [0, 1]; NaN with fewer than 3 runs of either).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from sim.calibrate.spec import TargetSpec, combined, target_distance
from sim.metrics import ENSEMBLE_QUANTILES, MIN_TAIL_RUNS


def distances(runs: pd.DataFrame, targets: Mapping[str, TargetSpec]) -> pd.DataFrame:
    """Each run's signed distance to each target (columns ``d.<target>``)."""
    return pd.DataFrame(
        {
            f"d.{name}": [target_distance(t, float(v)) for v in runs[name]]
            for name, t in targets.items()
        },
        index=runs.index,
    )


def inside(runs: pd.DataFrame, targets: Mapping[str, TargetSpec]) -> pd.DataFrame:
    """Whether each run's statistic lies in each target's band (NaN is outside)."""
    out = {}
    for name, t in targets.items():
        values = runs[name].to_numpy(dtype=np.float64)
        out[name] = (values >= t.band[0]) & (values <= t.band[1])
    return pd.DataFrame(out, index=runs.index)


def p_value(values: np.ndarray, record: float) -> float:
    """Two-sided posterior-predictive p-value of the record among ``values`` (NaN-free)."""
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return float("nan")
    below = np.mean(values <= record)
    above = np.mean(values >= record)
    return float(min(1.0, 2.0 * min(below, above)))


def _quantiles(values: np.ndarray) -> dict[str, float]:
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return {name: float("nan") for name, _ in ENSEMBLE_QUANTILES}
    return {name: float(np.quantile(finite, q)) for name, q in ENSEMBLE_QUANTILES}


def score(
    runs: pd.DataFrame,
    targets: Mapping[str, TargetSpec],
    *,
    fixed: pd.DataFrame | None = None,
    how: str = "rms",
) -> dict[str, Any]:
    """Score runs (one row per run, a column per target) against the targets, jointly.

    Args:
        runs: the runs to judge (posterior-predictive, or a case's runs).
        targets: the targets, by name (each a column of ``runs``).
        fixed: runs at one parameter set with different seeds, for the split of the spread
            into parameter uncertainty and event randomness (optional).
        how: how distances combine (``rms`` or ``max``).

    Returns:
        ``n_runs``, ``joint_fit`` (share of runs inside every band), ``joint_inside`` (their
        count), ``distance`` (quantiles of the combined distance), ``few_runs`` (fewer than
        :data:`MIN_TAIL_RUNS`), and per target under ``targets``: the record, the band, the
        runs' mean and quantiles, ``n`` (finite values), ``inside`` (share in the band),
        ``p_value`` and, with ``fixed``, ``param_share``.
    """
    n = len(runs)
    d = distances(runs, targets)
    ins = inside(runs, targets)
    joint = ins.all(axis=1) if n else pd.Series(dtype=bool)
    total = np.array([combined(row, how) for row in d.to_numpy()]) if n else np.zeros(0)
    per_target: dict[str, Any] = {}
    for name, t in targets.items():
        values = runs[name].to_numpy(dtype=np.float64)
        finite = values[np.isfinite(values)]
        entry: dict[str, Any] = {
            "statistic": t.statistic or name,
            "record": t.value,
            "band": list(t.band),
            "source": t.source,
            "n": len(finite),
            "mean": float(finite.mean()) if len(finite) else float("nan"),
            **_quantiles(values),
            "inside": float(ins[name].mean()) if n else float("nan"),
            "p_value": p_value(values, t.value),
        }
        if fixed is not None and name in fixed:
            fv = fixed[name].to_numpy(dtype=np.float64)
            fv = fv[np.isfinite(fv)]
            if len(fv) >= 3 and len(finite) >= 3 and np.var(finite) > 0:
                entry["param_share"] = float(np.clip(1.0 - np.var(fv) / np.var(finite), 0, 1))
            else:
                entry["param_share"] = float("nan")
            entry["n_fixed"] = len(fv)
        per_target[name] = entry
    return {
        "n_runs": n,
        "few_runs": n < MIN_TAIL_RUNS,
        "joint_inside": int(joint.sum()),
        "joint_fit": float(joint.mean()) if n else float("nan"),
        "distance": {"how": how, **_quantiles(total)},
        "targets": per_target,
    }
