"""Airflow assets for freight datasets (`freight://` URIs)."""

from __future__ import annotations

from freight_provider.assets.freight import create_asset, normalized

__all__ = ["create_asset", "normalized"]
