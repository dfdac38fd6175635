"""The logger of the running flow or task, or a plain one outside a run (`task.fn(...)`)."""

from __future__ import annotations

import logging
from typing import Any

from prefect import get_run_logger
from prefect.exceptions import MissingContextError


def run_logger() -> logging.Logger | logging.LoggerAdapter[Any]:
    """Prefect's run logger (its lines reach the API), else `prefect_freight`'s."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("prefect_freight")
