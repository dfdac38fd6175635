"""Progress reporting: fsspec's `Callback`, plus a throttled adapter for loggers.

The core calls `set_size(n)` once it knows how many items an operation has and
`relative_update(1)` per item, possibly from worker threads. Front ends plug in their own
callback (a progress bar, a logger); the core never draws anything.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

from fsspec.callbacks import DEFAULT_CALLBACK, Callback, NoOpCallback

__all__ = ["DEFAULT_CALLBACK", "Callback", "LoggingCallback", "NoOpCallback"]


class _Logger(Protocol):
    def info(self, msg: str, *args: Any) -> Any: ...


class LoggingCallback(Callback):  # type: ignore[misc]
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
