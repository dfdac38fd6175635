"""Work on many small files on every core: this process and helper processes.

Threads do not help there: each system call hands the GIL over, and a 20,000-file push on
two threads took twice as long as on one. Processes do: the copy loop of 20,000 x 4 KiB
files took 0.77-0.92 s in one process and 0.52-0.64 s in two on the 2-core benchmark
machine. Big files keep their threads (hashing and copying release the GIL).

Helpers are new interpreters (`subprocess`, fork + exec), never a bare fork (the worker of
an orchestrator runs threads: a forked child may inherit a lock held by one) nor
multiprocessing's spawn (it imports the parent's `__main__` again, Airflow's CLI for one).
A helper reads batches from its stdin and writes their results to its stdout, pickled; it
ends at the end of its input, so a killed parent leaves none behind once the batch at
hand is done (whose files, like the parent's, are written to a temporary and renamed, or
inside a directory no one sees yet). This process takes chunks from the front of the list
and helpers from the back, so that each works in directories of its own.

A task returns one result per item; an item that failed gives a `Fault` (an exception
does not cross a pipe intact), which `Fault.error` turns back into the exception.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from . import errors
from .fsutil import copy_into

logger = logging.getLogger(__name__)

#: below this many items a helper's start-up (an interpreter and freight's file modules,
#: ~50 ms of CPU) costs more than it saves
MIN_ITEMS = 2000
#: items per batch; a batch's pickled results stay far below a pipe's 64 KiB buffer
CHUNK = 256
#: batches a helper holds: one at work and one waiting, so it never waits for this process
IN_FLIGHT = 2
#: at most this many helpers: the work is bound by the filesystem's metadata locks long
#: before it runs out of cores (measured only on two cores so far: one helper)
MAX_HELPERS = 7
#: the number of processes for small-file work (this one included); `1` turns helpers off
ENV = "FREIGHT_PROCESSES"


class Stat(NamedTuple):
    """What the state cache needs of a new file's stat (an `os.stat_result` is bigger to
    pickle and cannot be built from these)."""

    st_ino: int
    st_mtime_ns: int
    st_size: int


class Fault(NamedTuple):
    """An exception raised for one item, in a form that crosses a pipe."""

    kind: str  # "os", "corrupt", or the name of a `freight.errors` class
    args: tuple[Any, ...]

    @staticmethod
    def of(exc: BaseException) -> Fault:
        if isinstance(exc, errors.ObjectCorruptedError):
            oid, actual, where = exc.oid, exc.actual, exc.where
            return Fault("corrupt", (oid, actual, where))
        if isinstance(exc, errors.FreightError):
            return Fault(type(exc).__name__, (str(exc),))
        if isinstance(exc, OSError):
            return Fault("os", (exc.errno, exc.strerror, exc.filename))
        raise exc  # a bug, not a file's fault: it ends the helper with its traceback

    def error(self) -> Exception:
        if self.kind == "os":
            return OSError(*self.args)  # errno picks the subclass (FileNotFoundError, ...)
        if self.kind == "corrupt":
            return errors.ObjectCorruptedError(*self.args)
        cls = getattr(errors, self.kind, errors.FreightError)
        try:
            return cls(*self.args)
        except TypeError:  # a class whose constructor takes more than a message
            return errors.FreightError(*self.args)


Result = Any  # a task's value for one item, a Fault, or None for an item never begun


def copy_files(
    _context: tuple[()], items: Sequence[tuple[str, str, int, str | None, bool]]
) -> list[Result]:
    """Task "copy": `fsutil.copy_into(src, dest, mode=, md5=, fresh=)` per item."""
    out: list[Result] = []
    for src, dest, mode, md5, fresh in items:
        try:
            st = copy_into(src, dest, mode=mode, md5=md5, fresh=fresh)
        except (OSError, errors.FreightError) as exc:
            out.append(Fault.of(exc))
        else:
            out.append(Stat(st.st_ino, st.st_mtime_ns, st.st_size))
    return out


_caches: dict[tuple[str, bool], Any] = {}


def ingest_files(context: tuple[str, bool], items: Sequence[str]) -> list[Result]:
    """Task "ingest": `Cache.ingest(path)` per item, into the cache at `context` (its
    root, whether it is shared); each result is (md5, new, the object's Stat if big)."""
    from .odb import Cache

    cache = _caches.get(context)
    if cache is None:
        cache = _caches[context] = Cache(Path(context[0]), shared=context[1])
    out: list[Result] = []
    for path in items:
        try:
            md5, new, st = cache.ingest_stat(path)
        except (OSError, errors.FreightError) as exc:
            out.append(Fault.of(exc))
        else:
            out.append((md5, new, st and Stat(st.st_ino, st.st_mtime_ns, st.st_size)))
    return out


TASKS: dict[str, Callable[[Any, Sequence[Any]], list[Result]]] = {
    "copy": copy_files,
    "ingest": ingest_files,
}


def unpack(result: Result) -> Any:
    """A result as its value, or the exception of a Fault."""
    return result.error() if isinstance(result, Fault) else result


def failed(result: Result) -> bool:
    """Whether a result is an error (`run`'s `stop` where any error ends the work)."""
    return isinstance(result, Fault)


def systemic(result: Result) -> bool:
    """Whether a result is an error every later file would hit too (`run`'s `stop`)."""
    return isinstance(result, Fault) and result.kind == "os" and result.args[0] in errors.SYSTEMIC


def begun_first(results: Sequence[Result]) -> list[int]:
    """The indices of `results`, those of items never begun (None) last: they are told of
    the error that stopped the run, which may have come from a later batch."""
    return sorted(range(len(results)), key=lambda i: results[i] is None)


def processes() -> int:
    """How many processes small-file work may use: the CPUs this process may run on, or
    FREIGHT_PROCESSES."""
    wanted = os.environ.get(ENV, "").strip()
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def worth(count: int) -> bool:
    """Whether `count` items are enough to start helpers for."""
    return count >= MIN_ITEMS and processes() > 1 and os.name == "posix" and bool(sys.executable)


def run(
    task: str,
    context: Any,
    items: Sequence[Any],
    *,
    progress: Callable[[int], None] | None = None,
    stop: Callable[[Result], bool] | None = None,
) -> list[Result]:
    """`TASKS[task](context, items)`, in batches shared with helpers when `worth` it; in
    order. Once a result satisfies `stop` (an error every later item would hit too), no
    batch is begun any more: the items of those not begun get None."""
    chunks = [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]
    results: list[list[Result] | None] = [None] * len(chunks)
    todo = deque(range(len(chunks)))
    stopped = False

    def finish(index: int, got: list[Result]) -> None:
        nonlocal stopped
        results[index] = got
        if progress is not None:
            progress(len(got))
        if stop is not None and not stopped and any(stop(r) for r in got):
            stopped = True

    helpers = (
        _start(min(processes() - 1, len(chunks) // 4, MAX_HELPERS)) if worth(len(items)) else []
    )
    if helpers:
        logger.debug(
            "%s: %d items, shared with %d helper processes", task, len(items), len(helpers)
        )
    try:
        for helper in helpers:
            helper.feed(task, context, chunks, todo)
        while todo and not stopped:
            index = todo.popleft()
            finish(index, TASKS[task](context, chunks[index]))
            for helper in helpers:
                while helper.ready():
                    finish(*helper.receive())
                if not stopped:
                    helper.feed(task, context, chunks, todo)
        for helper in helpers:  # this process is done: wait for what the helpers hold
            while helper.busy:
                finish(*helper.receive())
    finally:
        for helper in helpers:
            helper.close()
    return [r for index, got in enumerate(results) for r in (got or [None] * len(chunks[index]))]


def _start(count: int) -> list[_Helper]:
    """Up to `count` helpers; as many as could be started (none is no error: the work is
    then done here, and a lack of processes or descriptors shows there if it matters)."""
    helpers: list[_Helper] = []
    try:
        while len(helpers) < count:
            helpers.append(_Helper())
    except OSError as exc:
        logger.debug("going on with %d helper processes: %s", len(helpers), exc)
    return helpers


class _Helper:
    """One helper process and the batches it holds."""

    def __init__(self) -> None:
        root = str(Path(__file__).resolve().parent.parent)
        # results come back on a pipe of their own: whatever the interpreter or a site
        # hook prints on stdout goes to this process's stderr, not into the results
        self._out, answer = os.pipe()
        code = (
            f"import sys; sys.path.insert(0, {root!r}); "
            f"from freight.parallel import main; main({answer})"
        )
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", code],
                stdin=subprocess.PIPE,
                stdout=sys.stderr.fileno() if _has_fd(sys.stderr) else subprocess.DEVNULL,
                pass_fds=(answer,),
            )
        except BaseException:
            os.close(self._out)
            raise
        finally:
            os.close(answer)
        assert self._proc.stdin is not None
        self._in = self._proc.stdin.fileno()
        self._held: deque[int] = deque()

    @property
    def busy(self) -> bool:
        return bool(self._held)

    def feed(self, task: str, context: Any, chunks: list[Any], todo: deque[int]) -> None:
        """Hand over batches from the back of `todo` until IN_FLIGHT are held."""
        while len(self._held) < IN_FLIGHT and todo:
            index = todo.pop()
            _send(self._in, pickle.dumps((task, context, chunks[index]), pickle.HIGHEST_PROTOCOL))
            self._held.append(index)

    def ready(self) -> bool:
        return bool(self._held) and bool(select.select([self._out], [], [], 0)[0])

    def receive(self) -> tuple[int, list[Result]]:
        data = _receive(self._out)
        if data is None:
            code = self._proc.wait()
            raise errors.FreightError(
                f"a helper process of freight ended unexpectedly (exit {code})"
            )
        got: list[Result] = pickle.loads(data)
        return self._held.popleft(), got

    def close(self) -> None:
        """End the helper: at the end of its input it exits (after the batch at hand)."""
        with contextlib.suppress(OSError):
            self._proc.stdin.close()  # type: ignore[union-attr]
        with contextlib.suppress(OSError):
            os.close(self._out)
        try:
            self._proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


_HEADER = 8


def _send(fd: int, data: bytes) -> None:
    view = memoryview(len(data).to_bytes(_HEADER, "little") + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, size: int) -> bytes | None:
    parts, left = [], size
    while left:
        part = os.read(fd, left)
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _receive(fd: int) -> bytes | None:
    header = _read_exactly(fd, _HEADER)
    if header is None:
        return None
    return _read_exactly(fd, int.from_bytes(header, "little"))


def _has_fd(stream: Any) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):  # e.g. a captured or replaced stderr
        return False
    return True


def main(answer: int) -> None:
    """A helper's loop: a batch in on stdin, its results out on `answer`, until the end
    of the input."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        while (data := _receive(0)) is not None:
            task, context, items = pickle.loads(data)
            _send(answer, pickle.dumps(TASKS[task](context, items), pickle.HIGHEST_PROTOCOL))
    except BrokenPipeError:  # the parent stopped listening (an error, or it was killed)
        pass
    os._exit(0)  # nothing is buffered: skip the interpreter's teardown, the parent waits
