"""The process-wide caches, in one place, with one `clear()`.

A Space process loads its model once and keeps it: loaded weights, the networks built
around them, transcribers and model-card reports are each a `Registry` made here.
`clear()` forgets them all at once (tests; a long-lived process switching models), so
nothing needs to know which modules keep what.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_REGISTRIES: list[Registry] = []


class Registry(Generic[K, V]):
    """A thread-safe dict that `caches.clear()` empties."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._items: dict[K, V] = {}
        # Reentrant: creating one entry (a transcriber) may create another (its model).
        self._lock = threading.RLock()
        _REGISTRIES.append(self)

    def get_or_create(self, key: K, create: Callable[[], V]) -> V:
        """The value for `key`, made by `create()` the first time. One creator at a time:
        two threads must not load the same 4 GB of weights twice."""
        with self._lock:
            if key not in self._items:
                self._items[key] = create()
            return self._items[key]

    def get(self, key: K, default: V | None = None) -> V | None:
        with self._lock:
            return self._items.get(key, default)

    def set(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value

    def discard(self, key: K) -> None:
        with self._lock:
            self._items.pop(key, None)

    def values(self) -> Iterator[V]:
        with self._lock:
            return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def clear() -> None:
    """Forget every cached model, network, transcriber and card report of this process."""
    for registry in _REGISTRIES:
        registry.clear()
