"""The reliability campaign's deterministic part: every freight row, a fixed seed, few cases.

The long randomised campaign is `benchmarks/campaign.py --seed N`; this runs the same
scenarios (one implementation, `campaign_scenarios`) on small datasets and fails on any
lost byte or failed case, so a regression in crash consistency fails the test command.
The concurrent-writers rows read the remote back with the real dvc as well as freight.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from campaign_scenarios import FREIGHT, SCENARIOS, Env, Tool, run_scenario, scratch_env
from storage_servers import Server

SEED = 20261202
CASES = 2
#: the freight rows, local ones first; the dvc rows only measure dvc (the script runs them)
ROWS = sorted(
    (k for k, s in SCENARIOS.items() if s.tool == FREIGHT.name), key=lambda k: (SCENARIOS[k].s3, k)
)


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory, dvc_bin: str) -> tuple[Path, Env]:
    work = tmp_path_factory.mktemp("campaign")
    env = Env(SEED, scratch_env(work), dvc=Tool("dvc", (dvc_bin,)), nfiles=40)
    return work, env


@pytest.mark.timeout(600)
@pytest.mark.parametrize("key", ROWS)
def test_campaign_row_loses_nothing(
    key: str, campaign: tuple[Path, Env], request: pytest.FixtureRequest
) -> None:
    work, env = campaign
    if SCENARIOS[key].s3 and env.s3 is None:
        server: Server = request.getfixturevalue("seaweedfs_s3")
        env.s3 = server
    cases = max(1, round(CASES * SCENARIOS[key].share))  # as the script scales them
    row = run_scenario(key, cases, work / key.replace("/", "-"), env)
    assert row.tried >= 1
    assert row.notes == [], "\n".join(row.notes)
    assert (row.passed, row.bytes_lost) == (row.tried, 0)
