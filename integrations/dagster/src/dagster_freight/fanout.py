"""`freight_fanout_asset`: one large output's transfer as shards, then the finishing step.

A graph-backed asset of three ops: `plan` asks the core for a plan of `shards` parts
(balanced by bytes and object count; JSON-safe, no credential in it) and emits each as a
dynamic output; `shard` moves exactly one shard's file objects (mapped: with the
multiprocess executor, shards run side by side); `finish` runs the ordinary pull or push
of the output, which moves the `.dir` manifest (push) or checks the data out (pull),
verifies everything, and records the lineage with the md5 as the data version, as
`freight_assets` does. A failed shard fails its step; re-running it is safe.

No `from __future__ import annotations` here: Dagster inspects the ops' annotations.
"""

from collections.abc import Iterator
from typing import Any, Literal

import dagster as dg

from dagster_freight import metadata
from dagster_freight.failures import fail, problems
from dagster_freight.project import load
from dagster_freight.resources import FreightResource
from dagster_freight.translator import FreightTranslator

Direction = Literal["pull", "push"]


def freight_fanout_asset(
    repo_path: str,
    path: str,
    *,
    shards: int = 4,
    direction: Direction = "pull",
    translator: FreightTranslator | None = None,
) -> dg.AssetsDefinition:
    """The asset of the output at `path`, materialised by a sharded pull or push.

    Leave `path` out of `freight_assets` (`exclude=[path]`): one key, one definition.
    """
    if direction not in ("pull", "push"):
        raise ValueError(f"direction must be 'pull' or 'push', not {direction!r}")
    translator = translator or FreightTranslator()
    project = load(repo_path, [path])
    if path not in {o["path"] for o in project.outputs}:
        raise ValueError(f"'{path}' is not an output of '{repo_path}'")
    spec = translator.get_asset_spec(project.output(path))
    key = spec.key
    name = "_".join(key.path).replace(".", "_").replace("-", "_")
    verb: Literal["push", "fetch"] = "push" if direction == "push" else "fetch"

    @dg.op(name=f"{name}_plan", out=dg.DynamicOut(dict))
    def plan(freight: FreightResource) -> Iterator[dg.DynamicOutput[dict[str, Any]]]:
        made = freight.plan(verb, [path], shards=shards)
        lines = [f"{f.path} ({f.oid}): {f.kind}: {f.message}" for f in made.failed]
        lines += [
            f"{f.path} ({f.oid}) is in neither the cache nor the remote" for f in made.missing
        ]
        if lines:
            raise fail(f"planning the {verb} of {path} failed", lines)
        for shard in made.shards:
            yield dg.DynamicOutput(shard, mapping_key=f"shard_{shard['shard']}")

    @dg.op(name=f"{name}_shard")
    def shard(freight: FreightResource, part: dict[str, Any]) -> dict[str, Any]:
        run = freight.push if verb == "push" else freight.fetch
        result = run(shard=part)
        lines = problems(result)
        if lines:
            raise fail(f"shard {part['shard']} of {path} failed", lines)
        return {"shard": part["shard"], "transferred": result.transferred, "bytes": result.bytes}

    @dg.op(name=f"{name}_finish", out=dg.Out(dg.Nothing))
    def finish(freight: FreightResource, done: list[dict[str, Any]]) -> Iterator[dg.Output[None]]:
        result = freight.push([path]) if verb == "push" else freight.pull([path])
        lines = problems(result)
        if lines:
            raise fail(f"{direction} of {path} failed", lines)
        record = result.lineage()[path]
        moved = sum(d["transferred"] for d in done)
        extra = {"shards": dg.MetadataValue.int(len(done)), "shard_objects": moved}
        yield dg.Output(
            None,
            metadata={**metadata.to_metadata(record), **extra},
            data_version=metadata.data_version(record),
        )

    @dg.graph_multi_asset(name=f"{name}_fanout", outs={"out": dg.AssetOut.from_spec(spec)})
    def sharded() -> Any:
        return finish(plan().map(shard).collect())

    return sharded
