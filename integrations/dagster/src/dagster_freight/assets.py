"""`freight_assets`: a project's tracked outputs as Dagster assets, one per output.

Like `@dbt_assets`, it builds ONE `multi_asset` with a spec per selected output and
`can_subset=True`, so any subset materialises alone. Building it reads only the catalog
(`freight.project`): no data, no Git process, no network. Materialising an asset pulls
exactly that output (fetch + checkout) and records its lineage with the md5 as the data
version (`dagster_freight.metadata`). Outputs linked by `dvc.yaml` stages become asset
dependencies. With `observe=True` an observable source asset per output reads the md5 its
metafile records (cheap, no data read) and each pulled asset depends on it, so Dagster
sees a new data version when a new metafile is committed, before anything is transferred.

No `from __future__ import annotations` here: Dagster inspects the annotations of the
decorated bodies when they are defined.
"""

from collections.abc import Generator, Iterator, Mapping, Sequence
from typing import Any, cast

import dagster as dg
import freight

from dagster_freight import checks, metadata
from dagster_freight.failures import fail, one_line, one_line_errors, problems
from dagster_freight.project import Project, load
from dagster_freight.resources import FreightResource
from dagster_freight.translator import FreightTranslator


def freight_assets(
    repo_path: str,
    *,
    select: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    translator: FreightTranslator | None = None,
    asset_checks: bool = True,
    observe: bool = False,
    name: str = "freight_assets",
) -> list[dg.AssetsDefinition]:
    """The assets of the outputs of the repository at `repo_path`.

    Args:
        repo_path: the repository, read now (its catalog only).
        select, exclude: which outputs (globs over paths, `stage:`, `label:`, `type:`).
        translator: keys, groups, descriptions, tags, kinds, owners, metadata, blocking.
        asset_checks: add the remote and workspace checks of every output.
        observe: also return an observable source asset per output (its metafile's md5),
            upstream of the pulled asset.
        name: the op's name (unique per code location).

    Returns:
        `[the multi_asset]`, plus the observable source assets with `observe`. They need
        the `FreightResource` under the key `freight`.
    """
    translator = translator or FreightTranslator()
    project = load(repo_path, select, exclude)
    if not project.outputs:
        raise ValueError(f"'{repo_path}': select/exclude leave no output to make assets of")
    keys = {o["path"]: translator.get_asset_key(o) for o in project.outputs}
    specs, check_specs = [], []
    for output in project.outputs:
        deps = [keys[source] for source in project.upstream(output["path"])]
        if observe:
            deps.append(translator.get_observation_key(output))
        specs.append(translator.get_asset_spec(output, deps))
        if asset_checks:
            blocking = translator.get_check_blocking(output)
            check_specs += checks.check_specs(keys[output["path"]], output["path"], blocking)
    paths = {key: path for path, key in keys.items()}

    @dg.multi_asset(name=name, specs=specs, check_specs=check_specs, can_subset=True)
    def pulled(context: dg.AssetExecutionContext, freight: FreightResource) -> Iterator[Any]:
        with one_line_errors():
            yield from _materialize(context, freight, paths)

    definitions = [pulled]
    if observe:
        definitions.append(observations(project, translator, f"{name}_metafiles"))
    return definitions


def _materialize(
    context: dg.AssetExecutionContext,
    freight_resource: FreightResource,
    paths: Mapping[dg.AssetKey, str],
) -> Iterator[Any]:
    """For each selected output: the remote check, the pull, the workspace check."""
    chosen_checks = context.selected_asset_check_keys
    failed: list[str] = []
    for key, path in paths.items():
        if dg.AssetCheckKey(key, checks.REMOTE_CHECK) in chosen_checks:
            yield checks.remote_check(freight_resource, key, path)
        if key in context.selected_asset_keys:
            lines = yield from _pull(freight_resource, key, path)
            failed += lines
            if lines:
                continue
        if dg.AssetCheckKey(key, checks.WORKSPACE_CHECK) in chosen_checks:
            yield checks.workspace_check(freight_resource, key, path)
    if failed:
        raise fail("pull failed", failed)


def _pull(
    freight_resource: FreightResource, key: dg.AssetKey, path: str
) -> Generator[Any, None, list[str]]:
    """Pull one output and yield its materialization; returns what failed instead."""
    try:
        result = freight_resource.pull([path])
    except freight.FreightError as exc:
        return [f"{path}: {one_line(exc)}"]
    lines = problems(result)
    if not lines:
        yield metadata.materialize_result(key, result.lineage()[path])
    return lines


def observations(project: Project, translator: FreightTranslator, name: str) -> dg.AssetsDefinition:
    """One observable source asset per output: the md5 its metafile records now."""
    keys = {o["path"]: translator.get_observation_key(o) for o in project.outputs}
    specs = [
        dg.AssetSpec(
            keys[o["path"]],
            description=f"The version of {o['path']} that {o['metafile']} records.",
            group_name=translator.get_group_name(o),
            kinds={"freight"},
            metadata={"freight/path": o["path"], "freight/metafile": o["metafile"]},
        )
        for o in project.outputs
    ]

    @dg.multi_observable_source_asset(  # type: ignore[untyped-decorator]
        name=name, specs=specs, can_subset=True
    )
    def metafiles(context: dg.AssetExecutionContext, freight: FreightResource) -> Iterator[Any]:
        with one_line_errors():
            records = freight.catalog().lineage()
        for path, key in keys.items():
            if key in context.selected_asset_keys:
                yield metadata.observe_result(key, records[path])

    return cast(dg.AssetsDefinition, metafiles)
