"""The one place a freight lineage record becomes Dagster metadata and a `DataVersion`.

A record is one output's entry of a core result's `lineage()` (or the catalog's): md5,
size, nfiles, hash, path, metafile, uri, rev, dirty, and after a transfer remote and
remote_url (never with credentials), plus version ids on version-aware remotes. The md5 is
the data version, so Dagster's staleness follows the bytes. `path` and `md5` are what
`FreightIOManager.load_input` reads back from an upstream materialization.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

#: record keys shown as text, in this order (then `size`/`nfiles` as ints, `uri` as a URL)
TEXT_KEYS = ("md5", "hash", "path", "metafile", "rev", "remote", "remote_url", "version_id")


def data_version(record: Mapping[str, Any]) -> dg.DataVersion:
    """The output's md5 as its data version (a directory's ends in `.dir`)."""
    md5 = record.get("md5")
    if not md5:
        raise ValueError(f"'{record.get('path')}' has no recorded md5: add or run it first")
    return dg.DataVersion(str(md5))


def to_metadata(record: Mapping[str, Any]) -> dict[str, dg.MetadataValue]:
    """The record as metadata values (keys kept; absent ones left out)."""
    values: dict[str, dg.MetadataValue] = {}
    for key in TEXT_KEYS:
        if record.get(key) is not None:
            values[key] = dg.MetadataValue.text(str(record[key]))
    for key in ("size", "nfiles"):
        if record.get(key) is not None:
            values[key] = dg.MetadataValue.int(int(record[key]))
    if record.get("uri"):
        values["uri"] = dg.MetadataValue.url(str(record["uri"]))
    if record.get("dirty") is not None:
        values["dirty"] = dg.MetadataValue.bool(bool(record["dirty"]))
    if record.get("versions"):
        values["versions"] = dg.MetadataValue.json(dict(record["versions"]))
    return values


def materialize_result(key: dg.AssetKey, record: Mapping[str, Any]) -> dg.MaterializeResult[None]:
    """A materialization of `key` carrying the record and its md5 as the data version."""
    return dg.MaterializeResult(
        asset_key=key, metadata=to_metadata(record), data_version=data_version(record)
    )


def observe_result(key: dg.AssetKey, record: Mapping[str, Any]) -> dg.ObserveResult:
    """An observation of `key`: the md5 its metafile records, as the data version."""
    return dg.ObserveResult(
        asset_key=key, metadata=to_metadata(record), data_version=data_version(record)
    )


def recorded(metadata: Mapping[str, Any]) -> tuple[str, str]:
    """The `(path, md5)` a materialization or observation of a freight asset recorded."""
    path, md5 = metadata.get("path"), metadata.get("md5")
    if path is None or md5 is None:
        raise ValueError("the event carries no freight lineage (path and md5)")
    return str(getattr(path, "value", path)), str(getattr(md5, "value", md5))
