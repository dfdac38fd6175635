"""Prefect 3 integration for freight."""

__version__ = "0.1.0"
