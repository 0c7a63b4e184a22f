"""Tasks for the pool tests, in a module of their own: a worker that unpickles one imports only
this (a test module would bring pytest, hypothesis and the fixtures into every new worker)."""

from __future__ import annotations

import os
from typing import Any


def pid_of(task: int) -> tuple[int, int]:
    """The task and the process that ran it."""
    return task, os.getpid()


def environment(name: str) -> tuple[str | None, str, int]:
    """The worker's value of the environment variable ``name``, its working folder and umask."""
    from sim.atomic import umask

    return os.environ.get(name), os.getcwd(), umask()


def execute_with_pid(spec: Any) -> dict[str, Any]:
    """:func:`sim.experiments.batch.execute`, its row saying which process ran it."""
    from sim.experiments.batch import execute

    return dict(execute(spec), pid=os.getpid())
