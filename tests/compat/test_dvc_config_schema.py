"""freight loads every config the real DVC 3.67.1 loads, and refuses what DVC refuses.

Remotes freight cannot transfer to (gdrive, hdfs, webhdfs, oss, `remote://`) must not stop
`status`; only using one fails, in one line naming the scheme. The schema itself is checked
option by option: DVC's own validator (run in DVC's isolated environment) and freight's
judge the same probes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from freight import config_schema as schema
from freight.config import validate
from freight.errors import ConfigError

pytestmark = pytest.mark.dvc

FREIGHT = [sys.executable, "-m", "freight"]

CONFIG = """\
[core]
    no_scm = true
    remote = gd
    experiments = true
    check_update = false
[cache]
    slow_link_warning = false
    verify = true
['remote "gd"']
    url = gdrive://0AIac4JZqHhKmUk9PDA/dvcstore
    gdrive_acknowledge_abuse = true
    gdrive_use_service_account = True
    gdrive_client_id = someid
    gdrive_client_secret = not-shown-gdrive
    gdrive_trash_only = false
    gdrive_user_credentials_file = creds.json
['remote "hd"']
    url = hdfs://someone@namenode:8020/store
    user = someone
    kerb_ticket = /tmp/krb5cc_1000
['remote "wh"']
    url = webhdfs://namenode:9870/store
    kerberos = true
    kerberos_principal = someone@EXAMPLE.COM
    token = not-shown-webhdfs
    use_https = true
    ssl_verify = /etc/ssl/ca.pem
    password = not-shown-webhdfs-password
['remote "ali"']
    url = oss://bucket/store
    oss_key_id = keyid
    oss_key_secret = not-shown-oss
    oss_endpoint = oss-cn-hangzhou.aliyuncs.com
    verify = false
['remote "sub"']
    url = remote://ali/sub
    anything = goes
"""


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def test_remotes_freight_cannot_use_do_not_stop_other_commands(
    tmp_path: Path, dvc_bin: str, freight_env: dict[str, str]
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    assert run([dvc_bin, "init", "--no-scm", "-q"], root, freight_env).returncode == 0
    (root / ".dvc/config").write_text(CONFIG)
    (root / "data.txt").write_text("data\n")

    dvc_status = run([dvc_bin, "status"], root, freight_env)
    assert dvc_status.returncode == 0, dvc_status.stderr
    added = run([*FREIGHT, "add", "data.txt"], root, freight_env)
    assert added.returncode == 0, added.stderr
    for cmd in ([dvc_bin, "status"], [*FREIGHT, "status"], [*FREIGHT, "remote", "list"]):
        proc = run(cmd, root, freight_env)
        assert proc.returncode == 0, f"{cmd}: {proc.stderr}"
    listing = run([*FREIGHT, "config", "-l"], root, freight_env)
    assert listing.returncode == 0 and "not-shown" not in listing.stdout + listing.stderr

    for name, scheme in (("gd", "gdrive"), ("hd", "hdfs"), ("wh", "webhdfs"), ("ali", "oss")):
        for verb in (["push", "-r", name], ["fetch", "-r", name], ["status", "-c", "-r", name]):
            proc = run([*FREIGHT, *verb], root, freight_env)
            assert proc.returncode != 0, verb
            assert proc.stdout == ""
            lines = proc.stderr.splitlines()
            assert len(lines) == 1, proc.stderr
            assert f"remote '{name}'" in lines[0] and f"{scheme}://" in lines[0], lines[0]
            assert "Traceback" not in proc.stderr and "not-shown" not in proc.stderr
    proc = run([*FREIGHT, "push"], root, freight_env)  # the default remote is gdrive
    assert proc.returncode != 0 and "gdrive://" in proc.stderr


# --- the schema, probe by probe -------------------------------------------------------

DVC_PROBE = """
import json, sys
from voluptuous import Invalid, Schema
from dvc.config_schema import SCHEMA

schema = Schema(SCHEMA)
verdicts = []
for data in json.load(sys.stdin):
    try:
        schema(data)
        verdicts.append(True)
    except Invalid:
        verdicts.append(False)
print(json.dumps(verdicts))
"""

URLS = {
    "": "/tmp/store",
    "file": "file:///tmp/store",
    "nohost": "hdfs:///store",  # no host: DVC validates it as a local path
    "s3": "s3://bucket/store",
    "gs": "gs://bucket/store",
    "ssh": "ssh://host/store",
    "hdfs": "hdfs://host/store",
    "webhdfs": "webhdfs://host/store",
    "azure": "azure://container/store",
    "oss": "oss://bucket/store",
    "gdrive": "gdrive://root/store",
    "http": "http://host/store",
    "https": "https://host/store",
    "webdav": "webdav://host/store",
    "webdavs": "webdavs://host/store",
    "remote": "remote://other/store",
    "unknown": "foo://host/store",
}
PROBES = [
    "true",
    "FALSE",
    "7",
    "0",
    "-1",
    "101",
    "1.5",
    "",
    "text",
    "group",
    "Basic",
    "hardlink,copy",
    "teleport",
    "aws",
    "us-east",
    "nargs",
    "store_true",
]
#: DVC types these as Python bool/int, so no config file can set them; freight coerces
STRICT_IN_DVC = {"cache_regions", "replication"}


def _remote_options() -> list[str]:
    names = {"bogus"}
    for options in schema.REMOTE_SCHEMAS.values():
        names.update(options or {})
    return sorted(names - {"url"})


def _section_options() -> dict[str, list[str]]:
    plain = {name: sorted({*options, "bogus"}) for name, options in schema.SECTIONS.items()}
    return {
        **plain,
        "nosection": ["x"],
        'machine "m"': sorted({*schema.MACHINE, "bogus"}),
        'db "d"': sorted({*schema.DB, "bogus"}),
    }


def _cases() -> list[tuple[str, dict[str, dict[str, Any]]]]:
    """(description, freight-shaped data): every option of every section with every probe."""
    cases: list[tuple[str, dict[str, dict[str, Any]]]] = []
    for kind, url in URLS.items():
        cases.append((f"{kind}: url only", {'remote "r"': {"url": url}}))
        for option in _remote_options():
            if option in STRICT_IN_DVC:
                continue
            for probe in PROBES:
                data = {'remote "r"': {"url": url, option: probe}}
                cases.append((f"{kind} remote: {option}={probe!r}", data))
    cases.append(("remote without url", {'remote "r"': {"jobs": "2"}}))
    for section, options in _section_options().items():
        for option in options:
            for probe in PROBES:
                cases.append((f"[{section}] {option}={probe!r}", {section: {option: probe}}))
    cases.append(("hydra: both sources", {"hydra": {"config_dir": "a", "config_module": "b"}}))
    return cases


def _dvc_shape(data: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for section, values in data.items():
        kind, _, name = section.partition(' "')
        if name:
            out.setdefault(kind, {})[name.rstrip('"')] = values
        else:
            out[section] = values
    return out


def _freight_accepts(data: dict[str, dict[str, Any]]) -> bool:
    try:
        validate(data, "probe")
    except ConfigError:
        return False
    return True


def test_schema_agrees_with_dvc_option_by_option(dvc_bin: str) -> None:
    cases = _cases()
    python = str(Path(dvc_bin).parent / "python")
    proc = subprocess.run(
        [python, "-c", DVC_PROBE],
        input=json.dumps([_dvc_shape(data) for _, data in cases]),
        capture_output=True,
        text=True,
        check=True,
    )
    verdicts = json.loads(proc.stdout)
    disagree = [
        f"{what}: dvc {'accepts' if dvc else 'refuses'}, freight does not"
        for (what, data), dvc in zip(cases, verdicts, strict=True)
        if _freight_accepts(data) != dvc
    ]
    assert not disagree, "\n".join(disagree[:40])
    assert sum(verdicts) > 1000 and verdicts.count(False) > 1000  # the probes mean something


def test_options_dvc_types_strictly_are_coerced_by_freight() -> None:
    typed = validate(
        {
            'remote "s"': {"url": "s3://b/p", "cache_regions": "true"},
            'remote "h"': {"url": "hdfs://host/p", "replication": "3"},
        },
        "probe",
    )
    assert typed['remote "s"']["cache_regions"] is True
    assert typed['remote "h"']["replication"] == 3
