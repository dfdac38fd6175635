"""Apache Airflow 3 provider for freight (distribution `airflow-provider-freight`).

Kept import-light: Airflow's ProvidersManager imports this package in every process.
The hook, operators, sensor and assets live in their own modules.
"""

from __future__ import annotations

__version__ = "0.1.0"
