"""The installed cdpsim version, for manifests, ``batch.json`` and files cdpsim writes.

A module of its own (standard library only) so that every layer can record the version without
importing the package's public API (:mod:`sim`), which sits above them all.
"""

from __future__ import annotations

import functools


@functools.cache
def version() -> str:
    """The version of the installed ``cdpsim`` distribution (``0.0.0+source`` without one)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("cdpsim")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0+source"


__all__ = ["version"]
