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
    """Counts progress; subclasses react in `call()` (fsspec's Callback interface).

    freight adds one thing to fsspec's interface: `add_bytes(n)`, called just before the
    `relative_update` of the item that moved those bytes (transfers), so that a progress
    line can show both files and bytes. Callbacks that lack it (fsspec's) count items only.
    """

    def __init__(self, size: int | None = None, value: int = 0) -> None:
        self.size = size
        self.value = value
        self.bytes = 0

    def set_size(self, size: int) -> None:
        self.size = size
        self.call()

    def relative_update(self, inc: int = 1) -> None:
        self.value += inc
        self.call()

    def absolute_update(self, value: int) -> None:
        self.value = value
        self.call()

    def add_bytes(self, n: int) -> None:
        """Count `n` more bytes moved (reported with the next update)."""
        self.bytes += n

    def call(self, *args: Any, **kwargs: Any) -> None:
        """Hook run after every change; does nothing by default."""


DEFAULT_CALLBACK = Callback()


def add_bytes(callback: object, n: int) -> None:
    """Report bytes to callbacks that count them (freight's); others count items only."""
    if isinstance(callback, Callback):
        callback.add_bytes(n)


class _Logger(Protocol):
    def info(self, msg: str, /, *args: Any) -> Any: ...


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - the loop returns at GiB


class LoggingCallback(Callback):
    """Logs `<label>: 1,234/20,000 files (6%), 4.8 MiB, 410 files/s` through any logger
    with an `info` method (a `logging.Logger`, Airflow's `self.log`, Prefect's run logger,
    Dagster's `context.log`).

    A line is logged when an operation learns its size, then at most every `interval`
    seconds, and always when its last item completes. A new `set_size` after a completed
    phase (a pull's checkout after its fetch) starts counting again. Thread-safe: transfers
    report from worker threads.
    """

    def __init__(self, logger: _Logger, label: str, interval: float = 10.0) -> None:
        super().__init__()
        self._logger = logger
        self._label = label
        self._interval = interval
        self._last: float | None = None  # None: the next update is logged at once
        self._start = time.monotonic()
        self._done = False
        self._lock = threading.Lock()

    def set_size(self, size: int) -> None:
        with self._lock:
            if self._done or (self.size is not None and self.value >= self.size):
                self.value, self.bytes, self._start = 0, 0, time.monotonic()
            self.size = size
            self._done = False
            self._last = None  # log the size at once
        self.call()

    def relative_update(self, inc: int = 1) -> None:
        with self._lock:
            self.value += inc
        self.call()

    def add_bytes(self, n: int) -> None:
        with self._lock:
            self.bytes += n

    def call(self, *args: Any, **kwargs: Any) -> None:
        with self._lock:
            now = time.monotonic()
            done = self.size is not None and self.value >= self.size
            due = self._last is None or now - self._last >= self._interval
            if self._done or not (due or done):
                return
            self._last, self._done = now, done
            line = self._line(now)
        self._logger.info("%s: %s", self._label, line)

    def _line(self, now: float) -> str:
        if self.size == 0:
            return "nothing to do"
        total = "?" if self.size is None else f"{self.size:,}"
        parts = [f"{self.value:,}/{total} files"]
        if self.size:
            parts[0] += f" ({100 * self.value // self.size}%)"
        if self.bytes:
            parts.append(_size(self.bytes))
        elapsed = now - self._start
        if self.value and elapsed >= 1:
            parts.append(f"{self.value / elapsed:,.0f} files/s")
        return ", ".join(parts)


__all__ = ["DEFAULT_CALLBACK", "Callback", "LoggingCallback", "add_bytes"]
