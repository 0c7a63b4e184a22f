"""The installed version (sim/version.py), recorded in manifests and batch.json."""

from __future__ import annotations

import importlib.metadata

import pytest

import sim
from sim.version import version


@pytest.fixture
def fresh():
    """An empty cache before and after the test."""
    version.cache_clear()
    yield version
    version.cache_clear()


def test_the_version_is_the_installed_distributions(fresh):
    try:
        installed = importlib.metadata.version("cdpsim")
    except importlib.metadata.PackageNotFoundError:
        installed = "0.0.0+source"
    assert fresh() == installed
    assert fresh() is fresh()  # looked up once
    assert sim.__version__ == installed


def test_a_source_tree_that_is_not_installed_says_so(fresh, monkeypatch):
    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert fresh() == "0.0.0+source"
