"""The one error type every loader raises, with a message for people (standard library only).

A file we read that is damaged, hostile, too new or simply not ours ends in :class:`LoadError`:
its message names the file, the field (when one is to blame) and the problem, so the CLI can
print it (exit status 2) and the window can show it in a dialog, never a traceback. It is a
``ValueError`` so callers that already catch bad values keep working.
"""

from __future__ import annotations


class LoadError(ValueError):
    """A file that cannot be used: ``path``, optional ``field`` (dotted), and ``problem``."""

    def __init__(self, path: str, problem: str | None = None, field: str = "") -> None:
        if problem is None:  # a whole message already naming its file (older call sites)
            self.path, self.problem, self.field = "", str(path), ""
            super().__init__(str(path))
            return
        self.path, self.problem, self.field = str(path), problem, field
        where = f"{self.path}: {field}: " if field else f"{self.path}: "
        super().__init__(where + problem)


class SchemaError(ValueError):
    """A value that breaks its schema; ``field`` is where (``config.model.dim``). Loaders turn it
    into a :class:`LoadError` naming their file."""

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}" if field else problem)

    def in_file(self, path: str) -> LoadError:
        return LoadError(path, self.problem, self.field)
