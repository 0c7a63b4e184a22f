"""ABC-SMC on cdpsim's executors: pyabc proposes, the local pool or a Dask cluster simulates.

pyabc (Klinger, Rickert & Hasenauer, *Bioinformatics* 2018) does the inference: priors,
perturbation kernels (a multivariate normal fitted to each population), adaptive tolerances,
importance weights and its SQLite history, which makes a stopped calibration resumable.
cdpsim supplies the model (a scenario at the proposed parameters, run with a seed, reduced to
the targets' statistics), the distance (:func:`~sim.calibrate.spec.combined` of the targets'
band-scaled distances) and the sampler:

:class:`ExecutorSampler` evaluates pyabc's "simulate one candidate" function in batches on a
cdpsim executor (:mod:`sim.experiments.executors`), each candidate with its own seed derived
from (calibration seed, generation, candidate number), and accepts candidates **in candidate
order**, never in completion order. Batch sizes depend only on the results so far. So a
calibration gives the same posterior with 1 worker, 2 workers or a Dask cluster, and after a
resume — which pyabc's own parallel samplers do not promise.

Parameters with a ``loguniform`` prior are inferred on the log10 scale (uniform there), so that
the kernels perturb them by factors; the outputs give scenario values.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from sim.calibrate.spec import Calibration, combined, target_distance, target_values

Progress = Callable[[str], None]


class CalibrationError(RuntimeError):
    """A calibration could not go on (a simulation failed, or the budget left no population)."""


def internal_names(calibration: Calibration) -> list[str]:
    """Pyabc's names of the free parameters (``p0``, ``p1``, …, in file order)."""
    return [f"p{i}" for i in range(len(calibration.parameters))]


def _is_log(parameter: Any) -> bool:
    return parameter.dist == "loguniform"


def to_scenario(calibration: Calibration, internal: dict[str, float]) -> dict[str, float]:
    """Pyabc's parameter (log10 for loguniform priors) as scenario values, by name."""
    out = {}
    for key, parameter in zip(internal_names(calibration), calibration.parameters, strict=True):
        value = float(internal[key])
        out[parameter.name] = 10.0**value if _is_log(parameter) else value
    return out


def priors(calibration: Calibration) -> Any:
    """The prior as a pyabc ``Distribution`` (uniform on the inference scale)."""
    import pyabc

    rvs = {}
    for key, parameter in zip(internal_names(calibration), calibration.parameters, strict=True):
        assert parameter.range is not None
        low, high = parameter.range
        if _is_log(parameter):
            low, high = math.log10(low), math.log10(high)
        rvs[key] = pyabc.RV("uniform", low, high - low)
    return pyabc.Distribution(**rvs)


def simulate(calibration: Calibration, values: dict[str, float], seed: int) -> dict[str, float]:
    """Run the base scenario at ``values`` with ``seed``; the targets' statistics."""
    from sim.runner import run

    result = run(calibration.scenario_at(values), seed=int(seed))
    return target_values(result, calibration.targets)


class Model:
    """pyabc's model: one simulation at a proposed parameter, seeded from numpy's global RNG.

    The sampler seeds that RNG per candidate before pyabc draws the parameter, so the
    simulation's seed follows from the candidate's seed too.
    """

    def __init__(self, calibration: Calibration) -> None:
        self.calibration = calibration

    def __call__(self, parameter: dict[str, float]) -> dict[str, float]:
        """The statistics of one run at ``parameter`` (pyabc's scale)."""
        seed = int(np.random.randint(0, 2**31 - 1))  # noqa: NPY002 (pyabc draws from it)
        return simulate(self.calibration, to_scenario(self.calibration, parameter), seed)


class Distance:
    """pyabc's distance: the targets' band-scaled distances, combined (``rms`` or ``max``)."""

    def __init__(self, calibration: Calibration) -> None:
        self.targets = calibration.targets
        self.how = calibration.method.distance

    def __call__(self, x: dict[str, float], x_0: dict[str, float]) -> float:
        """The combined distance of statistics ``x`` (``x_0``, the record, is in the targets)."""
        return combined(
            [target_distance(t, float(x[name])) for name, t in self.targets.items()], self.how
        )


# ---------------------------------------------------------------------------------------- workers


_PAYLOAD: tuple[bytes, Any] | None = None


def _simulate_one(payload: bytes) -> Any:
    """The candidate function of a payload (the last one is kept: a batch shares one)."""
    global _PAYLOAD
    if _PAYLOAD is None or _PAYLOAD[0] != payload:
        import cloudpickle

        _PAYLOAD = (payload, cloudpickle.loads(payload))
    return _PAYLOAD[1]


def evaluate(task: tuple[int, bytes, int]) -> tuple[int, Any, str | None]:
    """Worker side: seed the RNGs with the candidate's seed and simulate it."""
    index, payload, seed = task
    np.random.seed(seed % 2**32)  # noqa: NPY002 (pyabc draws from the global RNG)
    random.seed(seed)
    try:
        return index, _simulate_one(payload)(), None
    except Exception as exc:
        return index, None, f"{type(exc).__name__}: {exc}"


def predict(task: tuple[int, Calibration, dict[str, float], int]) -> tuple[int, Any, str | None]:
    """Worker side: one run at given parameter values and seed; its statistics."""
    index, calibration, values, seed = task
    try:
        return index, simulate(calibration, values, seed), None
    except Exception as exc:
        return index, None, f"{type(exc).__name__}: {exc}"


def _lost(task: tuple[Any, ...], exc: BaseException) -> tuple[int, Any, str]:
    return task[0], None, f"its worker died ({type(exc).__name__}: {exc})"


def run_tasks(executor: Any, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> list[Any]:
    """Every task's result, in task order (executors yield in completion order)."""
    return sorted(executor.imap_unordered(fn, tasks, _lost), key=lambda r: r[0])


def candidate_seed(seed: int, t: int, kind: int, index: int) -> int:
    """The seed of candidate ``index`` of generation ``t`` (``kind`` 1: pyabc's prior sample)."""
    return int(np.random.SeedSequence([seed, t + 1, kind, index]).generate_state(1)[0])


def _sampler_class() -> type:
    from pyabc.sampler import Sampler

    class ExecutorSampler(Sampler):
        """pyabc sampler that simulates on a cdpsim executor, in candidate order."""

        def __init__(self, executor: Any, seed: int, progress: Progress | None = None) -> None:
            super().__init__()
            self.executor = executor
            self.seed = seed
            self.progress = progress

        def sample_until_n_accepted(
            self,
            n: int,
            simulate_one: Callable[[], Any],
            t: int,
            *,
            max_eval: float = np.inf,
            all_accepted: bool = False,
            ana_vars: Any = None,
        ) -> Any:
            import cloudpickle

            payload = cloudpickle.dumps(simulate_one)
            sample = self._create_empty_sample()
            kind = 1 if all_accepted else 0
            evaluated = next_index = 0
            batch = n
            while sample.n_accepted < n and evaluated < max_eval:
                size = int(min(batch, max_eval - evaluated))
                tasks = [
                    (next_index + i, payload, candidate_seed(self.seed, t, kind, next_index + i))
                    for i in range(size)
                ]
                for index, particle, error in run_tasks(self.executor, evaluate, tasks):
                    if error is not None:
                        raise CalibrationError(
                            f"generation {t}, candidate {index}: the simulation failed: {error}"
                        )
                    sample.append(particle)
                    evaluated += 1
                    if sample.n_accepted >= n:
                        break
                next_index += size
                accepted = sample.n_accepted
                if self.progress is not None:
                    what = "prior sample" if all_accepted else f"generation {t}"
                    self.progress(f"{what}: {accepted}/{n} accepted of {evaluated} simulated")
                rate = accepted / max(evaluated, 1)
                need = n - accepted
                batch = min(4 * n, max(2, math.ceil(need / rate * 1.1) if rate > 0 else n))
            self.nr_evaluations_ = evaluated
            if sample.n_accepted < n:
                sample.ok = False
            return sample

    return ExecutorSampler


def quiet_pyabc() -> None:
    """Turn pyabc's loggers (``ABC``, ``ABC.History``, …) to warnings: cdpsim reports progress."""
    import logging

    for name in ("ABC", *[n for n in logging.root.manager.loggerDict if n.startswith("ABC")]):
        logging.getLogger(name).setLevel(logging.WARNING)


def make_abc(calibration: Calibration, executor: Any, progress: Progress | None = None) -> Any:
    """The pyabc ``ABCSMC`` object of a calibration, simulating on ``executor``."""
    import pyabc

    quiet_pyabc()
    method = calibration.method
    sampler = _sampler_class()(executor, method.seed, progress)
    sampler.show_progress = False
    return pyabc.ABCSMC(
        models=Model(calibration),
        parameter_priors=priors(calibration),
        distance_function=Distance(calibration),
        population_size=method.population,
        sampler=sampler,
        eps=pyabc.QuantileEpsilon(alpha=method.epsilon_quantile),
    )


def observed(calibration: Calibration) -> dict[str, float]:
    """The record's values of the targets (pyabc's observed statistics)."""
    return {name: float(t.value) for name, t in calibration.targets.items()}


def weighted_median(values: Sequence[float], weights: Sequence[float]) -> float:
    """The weighted median (the smallest value with at least half the weight at or below)."""
    return weighted_quantile(values, weights, 0.5)


def weighted_quantile(values: Sequence[float], weights: Sequence[float], q: float) -> float:
    """A weighted quantile (as :func:`weighted_median`, at ``q``)."""
    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order]) / w.sum()
    return float(v[order][min(int(np.searchsorted(cum, q)), len(v) - 1)])
