"""The workflow layer: many runs of the engine, on any executor, into folders that survive.

- :mod:`~sim.experiments.executors`: where runs execute (in-process, local pool, Dask);
- :mod:`~sim.experiments.store`: the batch folder, its manifest and the runs table;
- :mod:`~sim.experiments.batch`: scenarios × seeds.

It knows the engine only through :func:`sim.runner.result_of`, the model and the run folder.
"""

from sim.experiments.batch import BatchInputError, BatchInterrupted, run_batch
from sim.experiments.store import StoreError, load_runs

__all__ = ["BatchInputError", "BatchInterrupted", "StoreError", "load_runs", "run_batch"]
