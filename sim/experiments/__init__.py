"""The workflow layer: many runs of the engine, on any executor, into folders that survive.

- :mod:`~sim.experiments.executors`: where runs execute (in-process, local pool, Dask);
- :mod:`~sim.experiments.store`: batch and sweep folders: every file of them is read and
  written there (``batch.json``, the runs, points and sensitivity tables, discovery results);
- :mod:`~sim.experiments.batch`: scenarios × seeds;
- :mod:`~sim.experiments.sweep_schema`, :mod:`~sim.experiments.sweep_checks`: a sweep file's
  fields, and its checks from YAML to validated design points;
- :mod:`~sim.experiments.designs`: where a sweep runs (grid, random, LHS, Sobol, Morris);
- :mod:`~sim.experiments.sweep`: sweep files → design points → runs on the batch layer;
- :mod:`~sim.experiments.points`, :mod:`~sim.experiments.sensitivity`,
  :mod:`~sim.experiments.discovery`: the points table, Sobol and Morris indices, scenario
  discovery (CART, PRIM): tables in, tables out, no files;
- :mod:`~sim.experiments.sweep_analysis`: read a sweep folder, compute, write back
  (``sim.sensitivity``, ``sim.discover``).

It knows the engine only through :func:`sim.runner.result_of`, the model and the run folder.
"""

from sim.experiments.batch import BatchInputError, BatchInterrupted, run_batch
from sim.experiments.discovery import Discovery
from sim.experiments.errors import AnalysisError
from sim.experiments.store import StoreError, SweepFolder, load_runs
from sim.experiments.sweep import Sweep, SweepResult, load_sweep, run_sweep
from sim.experiments.sweep_analysis import discover, sensitivity

__all__ = [
    "AnalysisError",
    "BatchInputError",
    "BatchInterrupted",
    "Discovery",
    "StoreError",
    "Sweep",
    "SweepFolder",
    "SweepResult",
    "discover",
    "load_runs",
    "load_sweep",
    "run_batch",
    "run_sweep",
    "sensitivity",
]
