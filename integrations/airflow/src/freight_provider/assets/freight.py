"""Airflow assets for freight datasets, named by the core's `uri` rule.

A dataset's URI is `freight://<git host>/<repository path>/<output path>` (see the freight
README): the same on every machine and clone, so a DAG that pushes a dataset and a DAG
scheduled on it agree on the asset without configuration. Registered with Airflow under
the provider's `asset-uris` (`freight` scheme): URI validation, a factory and the
conversion to an OpenLineage dataset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit

from airflow.sdk import Asset

if TYPE_CHECKING:
    from openlineage.client.event_v2 import Dataset

SCHEME = "freight"


def sanitize_uri(uri: SplitResult) -> SplitResult:
    """Airflow's URI check for `freight://`: a dataset URI names an output path."""
    if not uri.path.strip("/"):
        raise ValueError("a freight:// asset URI must name a dataset: freight://<host>/<path>")
    return uri


def create_asset(*, uri: str, extra: Mapping[str, Any] | None = None) -> Asset:
    """The asset of the dataset `uri` (Airflow's `asset-uris` factory)."""
    return Asset(uri=uri, extra=dict(extra or {}))


def normalized(uri: str) -> str:
    """`uri` as Airflow stores it (so that a lineage `uri` compares with `Asset.uri`)."""
    return Asset(uri=uri).uri


def openlineage_name(uri: str) -> tuple[str, str]:
    """OpenLineage's (namespace, name) of a dataset URI: `freight://host` and the path, or
    `freight` and the absolute path for a repository without a Git origin."""
    parts = urlsplit(uri)
    if parts.netloc:
        return f"{SCHEME}://{parts.netloc}", parts.path.lstrip("/")
    return SCHEME, parts.path


def convert_asset_to_openlineage(asset: Asset, lineage_context: Any) -> Dataset:
    """A `freight://` asset as an OpenLineage dataset (Airflow's `asset-uris` converter)."""
    from openlineage.client.event_v2 import Dataset

    namespace, name = openlineage_name(asset.uri)
    return Dataset(namespace=namespace, name=name)
