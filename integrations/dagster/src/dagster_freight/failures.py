"""What failed in a core result, as one line naming each object, and the Dagster failure.

The core reports failures in its results instead of raising (`failed`, `missing`, a pull's
`checkout.failed`); a step must fail on them, saying which file and object.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import dagster as dg
import freight


def problems(result: freight.TransferResult | freight.CheckoutResult) -> list[str]:
    """One message per missing or failed item: `path (oid): what happened`."""
    found: list[freight.Failure] = []
    if isinstance(result, freight.TransferResult):
        remote = result.remote or "the default remote"
        lines = [
            f"{f.path} ({f.oid}) is in neither the cache nor remote '{remote}'"
            for f in result.missing
        ]
        found.extend(result.failed)
        if result.checkout is not None:
            missing = {f.oid for f in result.missing}
            found.extend(f for f in result.checkout.failed if f.oid not in missing)
    else:
        lines = []
        found.extend(result.failed)
    lines.extend(f"{f.path} ({f.oid}): {f.kind}: {f.message}".replace("\n", " ") for f in found)
    return lines


def fail(what: str, lines: Sequence[str]) -> dg.Failure:
    """A step failure whose description is one line naming every problem."""
    return dg.Failure(
        description=f"{what}: {'; '.join(lines)}",
        metadata={"problems": dg.MetadataValue.json(list(lines))},
        allow_retries=False,
    )


def one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn a freight error (bad config, a broken metafile, a refused remote) into a step
    failure whose description is its one-line message."""
    try:
        yield
    except freight.FreightError as exc:
        raise dg.Failure(description=one_line(exc), allow_retries=False) from exc
