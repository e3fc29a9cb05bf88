"""A tiny named registry, so encoders, fusions and heads are chosen by name from configs and UIs.

Standard library only.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps lower-case names to factories. ``create`` with an unknown name lists the known ones."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}
        self._docs: dict[str, str] = {}

    def register(self, name: str, doc: str | None = None) -> Callable[[Callable[..., T]], Callable[..., T]]:
        if name != name.lower() or not name:
            raise ValueError(f"{self.kind} names are lower-case and non-empty, got {name!r}")

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._factories[name] = factory
            lines = (doc or factory.__doc__ or "").strip().splitlines()
            self._docs[name] = lines[0] if lines else ""
            return factory

        return decorate

    def create(self, name: str, **kwargs: Any) -> T:
        return self.get(name)(**kwargs)

    def get(self, name: str) -> Callable[..., T]:
        try:
            return self._factories[name]
        except KeyError:
            known = ", ".join(self.names()) or "(none)"
            raise KeyError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def describe(self, name: str) -> str:
        """The one-line explanation shown beside the name in the UI."""
        self.get(name)
        return self._docs[name]

    def names(self) -> list[str]:
        return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories
