"""Prefect 3 integration for freight: a remote block, tasks for freight's verbs, assets and
artifacts carrying the content hashes, a hash-keyed cache policy, and sharded transfers.

Blocks are importable from the package root, as Prefect's collection registry expects.
"""

from prefect_freight.blocks import FreightRemote
from prefect_freight.caching import DataHash

__version__ = "0.1.0"

__all__ = ["DataHash", "FreightRemote", "__version__"]
