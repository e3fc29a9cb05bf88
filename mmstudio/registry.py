"""A small named registry, so encoders, fusions and heads are chosen by name from configs and UIs.

Each name has an :class:`Entry`: its one-line help and the metadata the rest of the program reads
(a fusion's level, an encoder's options and their defaults, the tasks it supports), so the CLI's
help, the Model panel, the docs table and the run checks all come from one place.

An entry is either registered with its factory (``@REG.register("name", help=..., ...)``) or
declared ahead of it (``REG.declare("name", module=..., ...)``): a declaration names the module
whose decorator registers the factory, so names and metadata are known without importing that
module (and torch); ``create`` imports it on first use. Standard library only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: Where a fusion lets modalities meet (shown beside the fusion in the Model panel and the docs).
LEVELS = {
    "early": "features meet before one shared network",
    "mid": "each encoder's features meet in the fusion, then one head",
    "late": "each modality decides, decisions are averaged",
}


@dataclass(frozen=True)
class Entry:
    """What the program knows about one registered name, without building it."""

    name: str
    help: str = ""
    #: The module whose ``register`` decorator supplies the factory ("" when registered directly).
    module: str = ""
    #: Option names this component takes in ``options`` and their defaults (types follow them).
    options: Mapping[str, Any] = field(default_factory=dict)
    #: Fusions: "early", "mid" or "late" (see :data:`LEVELS`); "" for encoders.
    level: str = ""
    #: Tasks it supports; empty means every task.
    tasks: tuple[str, ...] = ()

    @property
    def layered(self) -> bool:
        """Whether its depth is an option (``layers``): the Model panel shows a Layers box."""
        return "layers" in self.options

    def supports(self, task: str) -> bool:
        return not self.tasks or task in self.tasks


class Registry(Generic[T]):
    """Maps lower-case names to entries and factories. Unknown names get an error listing the known."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        self._factories: dict[str, Callable[..., T]] = {}

    def declare(self, name: str, *, module: str, help: str, **meta: Any) -> None:
        """Announce ``name`` with its metadata; ``module``'s ``register`` decorator supplies it."""
        self._check_new(name)
        self._entries[name] = Entry(name, help, module, **meta)

    def register(
        self, name: str, doc: str | None = None, **meta: Any
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator: register a factory (or class) under ``name``; keyword arguments are the
        :class:`Entry` metadata (``help`` defaults to the first line of the docstring). For a
        declared name it supplies the factory and keeps the declaration's metadata."""
        declared = self._entries.get(name)
        if declared is None or not declared.module or name in self._factories:
            self._check_new(name)

        help_text = meta.pop("help", None) or doc

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            self._factories[name] = factory
            if declared is None or not declared.module:
                lines = (help_text or factory.__doc__ or "").strip().splitlines()
                self._entries[name] = Entry(name, lines[0] if lines else "", **meta)
            return factory

        return decorate

    def unregister(self, name: str) -> None:
        """Forget ``name`` (tests that register a component clean up with this)."""
        self._entries.pop(name, None)
        self._factories.pop(name, None)

    def create(self, name: str, **kwargs: Any) -> T:
        return self.get(name)(**kwargs)

    def get(self, name: str) -> Callable[..., T]:
        entry = self.entry(name)
        if name not in self._factories and entry.module:
            importlib.import_module(entry.module)  # its decorator registers the factory
        if name not in self._factories:
            raise KeyError(f"{self.kind} {name!r} is declared in {entry.module} but not registered there")
        return self._factories[name]

    def entry(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(self.unknown(name)) from None

    def unknown(self, name: str) -> str:
        """The message for an unknown name: what was asked and what would work."""
        return f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names()) or '(none)'}"

    def describe(self, name: str) -> str:
        """The one-line explanation shown beside the name in the UI."""
        return self.entry(name).help

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[Entry]:
        return [self._entries[n] for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def _check_new(self, name: str) -> None:
        if name != name.lower() or not name:
            raise ValueError(f"{self.kind} names are lower-case and non-empty, got {name!r}")
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
