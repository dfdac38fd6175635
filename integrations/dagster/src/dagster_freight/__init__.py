"""Dagster integration for freight: a project's tracked outputs as assets whose data
version is their md5, a resource, an IO manager, asset checks, and sharded transfers."""

from dagster_freight.assets import freight_assets
from dagster_freight.automation import eager_on_new_data
from dagster_freight.checks import REMOTE_CHECK, WORKSPACE_CHECK
from dagster_freight.fanout import freight_fanout_asset
from dagster_freight.io_manager import FreightIOManager
from dagster_freight.resources import FreightResource
from dagster_freight.translator import FreightTranslator

__version__ = "0.1.0"

__all__ = [
    "REMOTE_CHECK",
    "WORKSPACE_CHECK",
    "FreightIOManager",
    "FreightResource",
    "FreightTranslator",
    "__version__",
    "eager_on_new_data",
    "freight_assets",
    "freight_fanout_asset",
]
