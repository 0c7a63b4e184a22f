"""The workflow layer: many runs of the engine, on any executor, into folders that survive.

- :mod:`~sim.experiments.executors`: where runs execute (in-process, local pool, Dask);
- :mod:`~sim.experiments.store`: the batch folder, its manifest and the runs table;
- :mod:`~sim.experiments.batch`: scenarios × seeds;
- :mod:`~sim.experiments.sweep_schema`, :mod:`~sim.experiments.sweep_checks`: a sweep file's
  fields, and its checks from YAML to validated design points;
- :mod:`~sim.experiments.designs`: where a sweep runs (grid, random, LHS, Sobol, Morris);
- :mod:`~sim.experiments.sweep`: sweep files → design points → runs on the batch layer;
- :mod:`~sim.experiments.analysis`: points table, sensitivity indices, scenario discovery.

It knows the engine only through :func:`sim.runner.result_of`, the model and the run folder.
"""

from sim.experiments.analysis import AnalysisError, Discovery, discover, sensitivity
from sim.experiments.batch import BatchInputError, BatchInterrupted, run_batch
from sim.experiments.store import StoreError, load_runs
from sim.experiments.sweep import Sweep, SweepResult, load_sweep, run_sweep

__all__ = [
    "AnalysisError",
    "BatchInputError",
    "BatchInterrupted",
    "Discovery",
    "StoreError",
    "Sweep",
    "SweepResult",
    "discover",
    "load_runs",
    "load_sweep",
    "run_batch",
    "run_sweep",
    "sensitivity",
]
