"""Progress reporting through callbacks that each front end plugs in.

The core calls `set_size(n)` once it knows how many items an operation has and
`relative_update(k)` as items complete. Any object with those two methods works, fsspec's
`fsspec.callbacks.Callback` (and its `TqdmCallback`) included; `Callback` here is a
dependency-free base with the same interface, so that importing freight stays fast.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol


class Callback:
    """Counts progress; subclasses react in `call()` (fsspec's Callback interface)."""

    def __init__(self, size: int | None = None, value: int = 0) -> None:
        self.size = size
        self.value = value

    def set_size(self, size: int) -> None:
        self.size = size
        self.call()

    def relative_update(self, inc: int = 1) -> None:
        self.value += inc
        self.call()

    def absolute_update(self, value: int) -> None:
        self.value = value
        self.call()

    def call(self, *args: Any, **kwargs: Any) -> None:
        """Hook run after every change; does nothing by default."""


DEFAULT_CALLBACK = Callback()


class _Logger(Protocol):
    def info(self, msg: str, *args: Any) -> Any: ...


class LoggingCallback(Callback):
    """Logs `<label>: done/total` at most every `interval` seconds (thread-safe)."""

    def __init__(self, logger: _Logger, label: str, interval: float = 10.0) -> None:
        super().__init__()
        self._logger = logger
        self._label = label
        self._interval = interval
        self._last = 0.0
        self._lock = threading.Lock()

    def call(self, *args: Any, **kwargs: Any) -> None:
        with self._lock:
            now = time.monotonic()
            done = self.size is not None and self.value >= self.size
            if now - self._last < self._interval and not done:
                return
            self._last = now
        self._logger.info("%s: %s/%s", self._label, self.value, self.size)


__all__ = ["DEFAULT_CALLBACK", "Callback", "LoggingCallback"]
