"""Scenario errors: one :class:`ErrorItem` per problem, all of them in one :class:`ScenarioError`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Most problems listed in one error; the rest are counted ("… and N more errors").
MAX_ERRORS = 50


@dataclass(frozen=True)
class ErrorItem:
    """One problem in a scenario: where it is and what is wrong.

    ``str()`` is ``file:line: path.to.field: message`` (without the line when there is none,
    e.g. for a ``--set`` override, whose text is then part of ``file``).
    """

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ScenarioError(Exception):
    """A scenario file (or its overrides) is invalid.

    Attributes:
        errors: the problems found, at most :data:`MAX_ERRORS`.
        omitted: how many more problems were found and not listed.
    """

    def __init__(self, errors: Sequence[ErrorItem], omitted: int = 0):
        items = list(errors)
        self.errors = items[:MAX_ERRORS]
        self.omitted = omitted + len(items) - len(self.errors)
        lines = [str(e) for e in self.errors]
        if self.omitted:
            lines.append(f"… and {self.omitted} more error{'s' if self.omitted > 1 else ''}")
        super().__init__("\n".join(lines))

    def __reduce__(self):
        """Pickle with the constructor's arguments (process pools send errors back)."""
        return (type(self), (self.errors, self.omitted))
