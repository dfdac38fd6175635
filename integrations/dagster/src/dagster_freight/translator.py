"""`FreightTranslator`: how a project's output becomes an asset spec.

Like dagster-dbt's `DagsterDbtTranslator`, `get_asset_spec` calls small hooks that a
subclass overrides one at a time. Each takes the output as the catalog describes it (a
JSON-safe dict: `path`, `md5`, `size`, `nfiles`, `hash`, `metafile`, `stage`, `remote`,
`desc`, `type`, `labels`, `meta`, `uri`, and `remote_url` from the repository's config).

Without code, an output's own `meta:` in its `.dvc` file or `dvc.yaml` can set
`dagster: {asset_key: [...], group: ..., owners: [...]}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import dagster as dg

Output = Mapping[str, Any]
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")
_TAG = re.compile(r"[^A-Za-z0-9_.\-]")


class FreightTranslator:
    """The default rules: the key is the output path (`data/raw` → `data/raw`), the
    description its `desc`, the metadata its `meta`, kinds `freight` and the remote's scheme.

    Args:
        remote_url: the remote's URL when the repository's config does not name it (a
            remote defined only on the resource); used for the kind only.
        blocking_checks: make every output's checks blocking (`get_check_blocking`).
    """

    def __init__(self, *, remote_url: str | None = None, blocking_checks: bool = False) -> None:
        self.remote_url = remote_url
        self.blocking_checks = blocking_checks

    def get_asset_spec(self, output: Output, deps: Sequence[dg.AssetKey] = ()) -> dg.AssetSpec:
        """The spec of `output`'s asset, depending on `deps` (the upstream outputs' keys)."""
        return dg.AssetSpec(
            key=self.get_asset_key(output),
            deps=deps,
            description=self.get_description(output),
            metadata={**self.get_metadata(output), **_location(output)},
            group_name=self.get_group_name(output),
            code_version=self.get_code_version(output),
            automation_condition=self.get_automation_condition(output),
            owners=self.get_owners(output),
            tags=self.get_tags(output),
            kinds=self.get_kinds(output),
            skippable=True,
        )

    def get_asset_key(self, output: Output) -> dg.AssetKey:
        configured = _dagster_meta(output).get("asset_key")
        if configured:
            parts = [configured] if isinstance(configured, str) else configured
            return dg.AssetKey([str(p) for p in parts])
        return dg.AssetKey([_UNSAFE.sub("_", part) for part in output["path"].split("/")])

    def get_observation_key(self, output: Output) -> dg.AssetKey:
        """The key of the observable source asset standing for the output's metafile
        record (`freight_assets(..., observe=True)`): `metafile/<asset key>`."""
        return self.get_asset_key(output).with_prefix("metafile")

    def get_group_name(self, output: Output) -> str | None:
        group = _dagster_meta(output).get("group")
        return str(group) if group else None

    def get_description(self, output: Output) -> str | None:
        desc = output.get("desc")
        return str(desc) if desc else None

    def get_metadata(self, output: Output) -> Mapping[str, Any]:
        """The output's `meta` annotation, if any (as JSON)."""
        if output.get("meta") is None:
            return {}
        return {"meta": dg.MetadataValue.json(json.loads(json.dumps(output["meta"])))}

    def get_tags(self, output: Output) -> Mapping[str, str]:
        """DVC's `type` and `labels` annotations as tags."""
        tags = {f"freight/label-{_TAG.sub('_', label)}": "" for label in output.get("labels") or ()}
        if output.get("type"):
            tags["freight/type"] = _TAG.sub("_", str(output["type"]))[:63]
        return tags

    def get_kinds(self, output: Output) -> set[str]:
        url = self.remote_url or output.get("remote_url")
        if not url:
            return {"freight"}
        scheme = urlsplit(url).scheme.lower() if "://" in url else ""
        return {"freight", scheme if scheme and scheme != "file" else "local"}

    def get_owners(self, output: Output) -> Sequence[str]:
        owners = _dagster_meta(output).get("owners") or ()
        return [str(owner) for owner in owners]

    def get_code_version(self, output: Output) -> str | None:
        """None: a pulled output's version is its data version (the md5) alone."""
        return None

    def get_automation_condition(self, output: Output) -> dg.AutomationCondition[Any] | None:
        return None

    def get_check_blocking(self, output: Output) -> bool:
        """Whether a failed check of `output` stops the assets downstream."""
        return self.blocking_checks


def _dagster_meta(output: Output) -> Mapping[str, Any]:
    meta = output.get("meta")
    found = meta.get("dagster") if isinstance(meta, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def _location(output: Output) -> dict[str, Any]:
    """Where the output lives (always set: the asset factories read them back)."""
    values: dict[str, Any] = {
        "freight/path": output["path"],
        "freight/metafile": output["metafile"],
    }
    if output.get("uri"):
        values["freight/uri"] = dg.MetadataValue.url(output["uri"])
    return values
