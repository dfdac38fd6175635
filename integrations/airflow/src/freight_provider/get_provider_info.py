"""Provider metadata for Airflow's ProvidersManager (the `apache_airflow_provider` entry point).

Keep this module import-light: every Airflow process imports it.
"""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-freight",
        "name": "Freight",
        "description": "Push, fetch, pull and check out DVC-versioned data with freight; "
        "content hashes as asset-event extras and OpenLineage dataset versions.",
        "versions": ["0.1.0"],
        "connection-types": [
            {
                "connection-type": "freight",
                "hook-class-name": "freight_provider.hooks.freight.FreightHook",
            }
        ],
        "asset-uris": [
            {
                "schemes": ["freight"],
                "handler": "freight_provider.assets.freight.sanitize_uri",
                "to_openlineage_converter": (
                    "freight_provider.assets.freight.convert_asset_to_openlineage"
                ),
            }
        ],
    }
