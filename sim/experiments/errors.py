"""The error of an analysis that cannot be done as asked (a user-facing message).

Raised by the compute modules (:mod:`~sim.experiments.sensitivity`,
:mod:`~sim.experiments.discovery`) for a request they cannot answer, and by the sweep folder's
readers (:class:`sim.experiments.store.SweepFolder`) for a folder that is not a sweep's or is
damaged. A folder that is not a batch folder at all is a :class:`~sim.experiments.store.StoreError`.
"""

from __future__ import annotations


class AnalysisError(ValueError):
    """An analysis cannot be done as asked (a user-facing message)."""


__all__ = ["AnalysisError"]
