"""`FreightSensor`: wait until a remote holds every object of some outputs.

For data that another DAG or team pushes: each poke is one `status(cloud=True)` of the
targets against the remote (downloading, like DVC, only the `.dir` manifests it needs to
list a directory's files), and the sensor is done when no object is `new` (only in the
local cache) or `missing` (nowhere). It works in `poke` and `reschedule` mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import freight
from airflow.sdk import BaseSensorOperator, PokeReturnValue

from freight_provider.hooks.freight import FreightHook
from freight_provider.operators.freight import Targets, summary

if TYPE_CHECKING:
    from airflow.sdk import Context

#: cloud-status states that mean the remote lacks an object
ABSENT = ("new", "missing")


class FreightSensor(BaseSensorOperator):
    """Done when the remote holds every object of `targets`; XCom gets the lineage.

    Args:
        repo_path, targets, remote, freight_conn_id, jobs: as for the operators
            (`repo_path`, `targets` and `remote` are templated).
        **kwargs: BaseSensorOperator's (`mode="reschedule"`, `poke_interval`, `timeout`).
    """

    template_fields: Sequence[str] = ("repo_path", "targets", "remote", "freight_conn_id")

    def __init__(
        self,
        *,
        repo_path: str,
        targets: Targets = None,
        remote: str | None = None,
        freight_conn_id: str | None = None,
        jobs: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.repo_path = repo_path
        self.targets = targets
        self.remote = remote
        self.freight_conn_id = freight_conn_id
        self.jobs = jobs

    def poke(self, context: Context) -> PokeReturnValue:
        hook = FreightHook(self.freight_conn_id) if self.freight_conn_id else None
        name = self.remote or None
        remote = hook.remote_name(name) if hook else name
        targets = [self.targets] if isinstance(self.targets, str) else self.targets or None
        repo = hook.get_repo(self.repo_path, name) if hook else freight.Repo(self.repo_path)
        with repo:
            result = repo.status(targets, cloud=True, remote=remote, jobs=self.jobs)
        absent = sorted(path for path, state in result.changes.items() if state in ABSENT)
        if absent:
            self.log.info(
                "remote '%s' lacks %d objects, e.g. %s", result.remote, len(absent), absent[0]
            )
            return PokeReturnValue(is_done=False)
        return PokeReturnValue(is_done=True, xcom_value=summary(result))
