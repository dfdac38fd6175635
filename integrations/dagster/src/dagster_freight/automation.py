"""`eager_on_new_data()`: Dagster's eager condition, counting an upstream as updated only
when its data version changed.

Dagster 1.13's `AutomationCondition.eager()` treats every new materialization of a
dependency as an update (it honours data versions only for observations). Pulling an
unchanged dataset again gives the same md5, so with this condition the assets downstream
stay put; a new md5 requests them.
"""

from __future__ import annotations

from typing import Any

import dagster as dg


def eager_on_new_data() -> dg.AutomationCondition[Any]:
    """`eager()`, with `newly_updated` replaced by `data_version_changed`."""
    return (
        dg.AutomationCondition.eager()
        .replace("newly_updated", dg.AutomationCondition.data_version_changed())
        .with_label("eager_on_new_data")
    )
