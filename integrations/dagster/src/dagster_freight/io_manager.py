"""`FreightIOManager`: users' own assets stored as DVC-tracked outputs.

`handle_output` writes the value into the workspace at the asset's path (its metadata's
`freight/path`, else the asset key joined by `/`), `add`s and `push`es it, and records the
lineage as output metadata with the md5 as the data version. `load_input` reads the
`path` and `md5` the upstream asset's latest materialization (or observation, for a
source) recorded, fetches and checks out exactly that, verifies the workspace matches it,
and returns it: the version the upstream produced, not whatever the workspace holds.

Values: `bytes` and `str` become a file, a `Path` to a file or folder becomes that data,
anything else is pickled (as Dagster's own IO managers do). The kind is recorded as
`freight/format` and decides what `load_input` returns (a `Path` for outputs pulled by
`freight_assets`).
"""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from dagster_freight import metadata
from dagster_freight.failures import fail, problems
from dagster_freight.resources import FreightResource

PATH_KEY = "freight/path"
FORMAT_KEY = "freight/format"


class FreightIOManager(dg.ConfigurableIOManager):
    """Stores asset values as DVC outputs of `freight.repo_path`, on its remote."""

    freight: FreightResource = Field(description="The repository and remote to use.")
    prefix: str = Field(
        default="",
        description="Folder (relative to the repository root) for paths derived from keys.",
    )

    def path_for(self, key: dg.AssetKey, definition: Any) -> str:
        """The repository-relative path of `key`'s data."""
        given = (definition or {}).get(PATH_KEY)
        if given is not None:
            return str(getattr(given, "value", given))
        return "/".join([p for p in self.prefix.strip("/").split("/") if p] + list(key.path))

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        path = self.path_for(context.asset_key, context.definition_metadata)
        target = Path(self.freight.repo_path) / path
        kind = write(obj, target)
        added = self.freight.add([path])
        pushed = self.freight.push([path])
        lines = problems(pushed)
        if lines:
            raise fail(f"push of {path} failed", lines)
        record = {**added.lineage()[path], **pushed.lineage()[path]}
        context.add_output_metadata({**metadata.to_metadata(record), FORMAT_KEY: kind})
        # what `OpExecutionContext.set_data_version` does: IO managers have no public way
        # to give the materialization its data version (checked by the suite)
        context.step_context.set_data_version(context.asset_key, metadata.data_version(record))

    def load_input(self, context: dg.InputContext) -> Any:
        key = context.asset_key
        event = latest_event(context.instance, key)
        if event is None:
            raise dg.Failure(f"{key.to_user_string()} has no materialization to load yet")
        path, md5 = metadata.recorded(event.metadata)
        self._restore(key, path, md5)
        kind = event.metadata.get(FORMAT_KEY)
        return read(Path(self.freight.repo_path) / path, str(getattr(kind, "value", "path")))

    def _restore(self, key: dg.AssetKey, path: str, md5: str) -> None:
        """Fetch and check out `path` at `md5`, then verify the workspace holds it."""
        now = self.freight.catalog().output(path).oid
        if now != md5:
            raise dg.Failure(
                f"{key.to_user_string()} was materialised as {path} {md5}, but its metafile "
                f"now records {now}: materialise {key.to_user_string()} again"
            )
        fetched = self.freight.fetch([path])
        checked = self.freight.checkout([path], force=True)
        lines = problems(fetched) + problems(checked)
        if lines:
            raise fail(f"loading {path} failed", lines)
        status = self.freight.status([path])
        refs = {ref.path: ref.md5 for ref in status.outputs}
        if not status.clean or refs.get(path) != md5:
            raise dg.Failure(f"{path} does not match {md5} after checkout: {status.changes}")


def latest_event(
    instance: dg.DagsterInstance, key: dg.AssetKey
) -> dg.AssetMaterialization | dg.AssetObservation | None:
    """The latest materialization of `key`, or else its latest observation (a source)."""
    found = instance.get_latest_materialization_event(key)
    if found is not None and found.asset_materialization is not None:
        return found.asset_materialization
    records = instance.fetch_observations(key, limit=1).records
    if records and records[0].asset_observation is not None:
        return records[0].asset_observation
    return None


def write(obj: Any, target: Path) -> str:
    """Put `obj` at `target` (replacing what is there); returns its format."""
    if isinstance(obj, os.PathLike):
        source = Path(obj)
        if source.resolve() != target.resolve():
            _remove(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                shutil.copyfile(source, target)
        return "path"
    if isinstance(obj, bytes | str):
        data, kind = (obj, "bytes") if isinstance(obj, bytes) else (obj.encode(), "text")
    else:
        data, kind = pickle.dumps(obj), "pickle"
    _remove(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return kind


def read(source: Path, kind: str) -> Any:
    if kind == "bytes":
        return source.read_bytes()
    if kind == "text":
        return source.read_text()
    if kind == "pickle":
        return pickle.loads(source.read_bytes())
    return source


def _remove(target: Path) -> None:
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists() or target.is_symlink():
        target.unlink()
