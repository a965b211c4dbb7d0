"""What the store raises. Every message names the item and the field, for a person to read."""

from __future__ import annotations

from solver.io import Problem


class StoreError(Exception):
    """Anything the store refuses or cannot do."""


class NotFoundError(StoreError, LookupError):
    """No school, item or version with that id."""


class ValidationError(StoreError, ValueError):
    """The document was refused; ``problems`` lists every problem found, each naming its field."""

    def __init__(self, problems: list[Problem], head: str = ""):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        text = f"{head}: " if head else ""
        if len(problems) == 1:
            super().__init__(f"{text}{problems[0]}")
        else:
            super().__init__(f"{text}{len(problems)} problems:\n{lines}")


class ReferencedError(StoreError):
    """The item is still referred to; ``refs`` lists ``(kind, id, field)`` of every referrer."""

    def __init__(self, message: str, refs: list[tuple[str, str, str]]):
        self.refs = refs
        super().__init__(message)


class UnavailableError(StoreError, ConnectionError):
    """The database did not answer, even after retrying."""
