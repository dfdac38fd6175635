"""The two asset checks of every output: the remote holds every object, and the workspace
matches the metafile.

Both are specs of the assets' own `multi_asset`, so they run in its step: the remote check
before the pull (a missing object fails the check, naming it, and then the pull), the
workspace check after it. Selecting only checks runs them without pulling anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from dagster_freight.resources import FreightResource

REMOTE_CHECK = "remote_has_every_object"
WORKSPACE_CHECK = "workspace_matches_metafile"
#: cloud-status states meaning "the remote lacks this object"
LACKING = ("new", "missing")


def check_specs(key: dg.AssetKey, path: str, blocking: bool) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            REMOTE_CHECK,
            asset=key,
            blocking=blocking,
            description=f"The remote holds every object of {path} (cloud status).",
        ),
        dg.AssetCheckSpec(
            WORKSPACE_CHECK,
            asset=key,
            blocking=blocking,
            description=f"{path} in the workspace matches what its metafile records (status).",
        ),
    ]


def remote_check(freight: FreightResource, key: dg.AssetKey, path: str) -> dg.AssetCheckResult:
    """Passes when the remote holds every object of `path`; the metadata names the others."""
    result = freight.cloud_status([path])
    lacking = sorted(p for p, state in result.changes.items() if state in LACKING)
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=REMOTE_CHECK,
        passed=not lacking,
        description=f"missing on remote '{result.remote}': {', '.join(lacking)}"
        if lacking
        else None,
        metadata={
            "remote": dg.MetadataValue.text(result.remote),
            "missing": dg.MetadataValue.json(lacking),
            "changes": dg.MetadataValue.json(dict(result.changes)),
        },
    )


def workspace_check(freight: FreightResource, key: dg.AssetKey, path: str) -> dg.AssetCheckResult:
    """Passes when the workspace copy of `path` is what the metafile records."""
    result = freight.status([path])
    changes: Mapping[str, Any] = {g: dict(c) for g, c in result.changes.items()}
    changed = sorted(p for group in changes.values() for p in group)
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=WORKSPACE_CHECK,
        passed=result.clean,
        description=f"differs from its metafile: {', '.join(changed)}" if changed else None,
        metadata={"changes": dg.MetadataValue.json(dict(changes))},
    )
