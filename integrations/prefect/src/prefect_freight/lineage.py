"""The one place where freight's lineage records become Prefect assets and artifacts.

Every output of a task is a Prefect asset keyed by its `uri` (the core's rule: the same
dataset has the same URI in every clone), with its lineage record (md5, size, nfiles,
hash, uri, rev, remote, version ids) as the event's metadata:

- `add` and `push` **materialize** their outputs: the running task's asset context gets
  them as its assets, so Prefect emits `prefect.asset.materialization.succeeded` with the
  record as payload, related to the upstream assets the task depends on and to `freight`
  (`asset-materialized-by`);
- `pull`, `fetch` and `checkout` **reference** theirs: a `prefect.asset.referenced` event
  per output with the record as payload, and the asset becomes a dependency of the task,
  so a downstream task that materializes from its result lists it as upstream.

The URIs are known only once the core has run (targets resolve to outputs there, and
`add` creates them), which is why the assets are registered on the running task's
`AssetContext` instead of being declared with `@materialize` up front.

Artifacts: a table (output, md5, size, files, remote) under the key `freight-<verb>` and a
short markdown summary under `freight-<verb>-summary`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.assets import Asset, AssetProperties
from prefect.context import AssetContext, FlowRunContext, TaskRunContext
from prefect.events import emit_event

from prefect_freight.logs import run_logger

#: who materializes or references the assets (Prefect's `materialized_by`)
BY = "freight"
REFERENCED_BY = {"prefect.resource.id": BY, "prefect.resource.role": "asset-referenced-by"}
Role = Literal["materialized", "referenced"]
Records = Mapping[str, Mapping[str, Any]]


def assets(records: Records) -> dict[str, Asset]:
    """An asset per output that has a valid asset key (by output path). A URI Prefect
    refuses as a key (a percent-escaped character, over 512 characters) is left out."""
    found = {}
    for path, record in records.items():
        uri = record.get("uri")
        if not uri:
            continue
        properties = AssetProperties(name=path, description=f"freight output {path}")
        try:
            found[path] = Asset(key=uri, properties=properties)
        except ValueError:  # pydantic's ValidationError: the key breaks Prefect's rules
            run_logger().warning("%s: %s is not a valid Prefect asset key", path, uri)
    return found


def publish_assets(records: Records, role: Role) -> None:
    """Attach the outputs of `records` to the running task as materialized or referenced
    assets (outside a task run, e.g. through `.fn`, there is nothing to attach to)."""
    ctx = AssetContext.get()
    if ctx is None:
        return
    found = assets(records)
    if role == "materialized":
        for path, asset in found.items():
            ctx.downstream_assets.add(asset)
            ctx.add_asset_metadata(asset.key, dict(records[path]))
        ctx.materialized_by = BY
        ctx.upstream_assets -= ctx.downstream_assets  # an asset is not its own upstream
        ctx.direct_asset_dependencies -= ctx.downstream_assets
    else:
        for path, asset in found.items():
            ctx.direct_asset_dependencies.add(asset)
            emit_event(
                event="prefect.asset.referenced",
                resource=AssetContext.asset_as_resource(asset),
                related=[
                    {"prefect.resource.id": BY, "prefect.resource.role": "asset-referenced-by"}
                ],
                payload=dict(records[path]),
            )
    ctx.update_tracked_assets()


def publish_artifacts(verb: str, summary: Mapping[str, Any]) -> None:
    """The table and markdown artifacts of one task's result (its `summary` dict), when
    it runs in a flow or task run (Prefect links artifacts to their run)."""
    if TaskRunContext.get() is None and FlowRunContext.get() is None:
        return
    records: Records = summary.get("lineage") or {}
    rows = [
        {
            "output": path,
            "md5": r.get("md5"),
            "size": r.get("size"),
            "files": r.get("nfiles") or (1 if r.get("md5") else 0),
            "remote": r.get("remote_url") or r.get("remote") or "",
            "uri": r.get("uri"),
        }
        for path, r in records.items()
    ]
    create_table_artifact(
        table=rows, key=f"freight-{verb}", description=f"freight {verb}: outputs and hashes"
    )
    create_markdown_artifact(markdown=markdown(verb, summary), key=f"freight-{verb}-summary")


def markdown(verb: str, summary: Mapping[str, Any]) -> str:
    """A few lines: what moved, what failed, and each output's md5."""
    lines = [f"### freight {verb}"]
    if summary.get("remote"):
        lines.append(f"Remote: `{summary['remote']}`")
    lines.append(
        f"{summary.get('transferred', 0)} transferred, {summary.get('skipped', 0)} skipped, "
        f"{summary.get('bytes', 0):,} bytes, {len(summary.get('failed') or ())} failed"
    )
    records: Records = summary.get("lineage") or {}
    if records:
        lines += ["", "| output | md5 | size | files |", "|---|---|---|---|"]
        for path, r in records.items():
            lines.append(
                f"| `{path}` | `{r.get('md5')}` | {r.get('size')} | {r.get('nfiles') or 1} |"
            )
    return "\n".join(lines)
