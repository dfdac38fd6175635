"""OpenLineage facets from freight's lineage records (standard facets only).

Each output becomes a dataset named after its `uri` (namespace `freight://<git host>`,
name = repository path + output path) with the dataset version = its md5, and input or
output statistics = its size and file count. The OpenLineage client is imported here only,
when Airflow's OpenLineage listener asks: it is the `openlineage` extra of the provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from freight_provider.assets.freight import openlineage_name

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

Role = Literal["inputs", "outputs"]


def operator_lineage(
    records: Mapping[str, Mapping[str, Any]], role: Role
) -> OperatorLineage[Any, Any]:
    """The datasets of `records` (a result's `lineage()`) as the task's inputs or outputs."""
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import InputDataset, OutputDataset
    from openlineage.client.generated.dataset_version_dataset import DatasetVersionDatasetFacet
    from openlineage.client.generated.input_statistics_input_dataset import (
        InputStatisticsInputDatasetFacet,
    )
    from openlineage.client.generated.output_statistics_output_dataset import (
        OutputStatisticsOutputDatasetFacet,
    )

    datasets: list[Any] = []
    for record in records.values():
        namespace, name = openlineage_name(record["uri"])
        facets: dict[str, Any] = {}
        if record.get("md5"):
            facets["version"] = DatasetVersionDatasetFacet(datasetVersion=record["md5"])
        nfiles = record.get("nfiles") or (1 if record.get("md5") else None)
        size = record.get("size")
        if role == "inputs":
            stats = InputStatisticsInputDatasetFacet(size=size, fileCount=nfiles)
            datasets.append(
                InputDataset(
                    namespace=namespace,
                    name=name,
                    facets=facets,
                    inputFacets={"inputStatistics": stats},
                )
            )
        else:
            stats_out = OutputStatisticsOutputDatasetFacet(size=size, fileCount=nfiles)
            datasets.append(
                OutputDataset(
                    namespace=namespace,
                    name=name,
                    facets=facets,
                    outputFacets={"outputStatistics": stats_out},
                )
            )
    if role == "inputs":
        return OperatorLineage(inputs=datasets)
    return OperatorLineage(outputs=datasets)
