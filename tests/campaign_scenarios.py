"""The reliability campaign of issue 13: real processes, real faults, checks from outside.

One implementation for two callers: `benchmarks/campaign.py` runs many seeded cases and
prints the table; `tests/core/test_campaign.py` runs few cases with a fixed seed and fails
when freight loses data. A scenario is a function `(rng, cases, workdir, env) -> Row`,
registered in `SCENARIOS`; new rows (network faults, fuzzing, a full disk) register there.

Every command is a child process (`python -m freight ...` or the real `dvc`), killed with
SIGKILL (its whole process group) at a seeded random point: after a random delay, or once a
directory it writes (cache, remote, workspace) holds a random number of entries. Nothing is
read through the tool under test: objects are hashed by this module, `.dvc` files compared
to the bytes the tool wrote in an uninterrupted run. "Bytes lost" counts the bytes of
objects or workspace files whose content ended up wrong (anywhere, at any check), missing
after the tool reported success, or destroyed where they were the only copy (the
workspace for `add`, the cache for `push`, the remote for `fetch`...). A rerun that fails
fails the case without counting as loss: the data is still where it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml
from storage_servers import Server

RUN_TIMEOUT = 300.0  # seconds for any one command
POLL = 0.002  # seconds between looks at a run about to be killed
OUTPUTS = ("data", "big.bin")  # what the kill scenarios track: a directory and a file
SHARDS = 4
TMP = ".tmp"


# -- results ---------------------------------------------------------------------------------


@dataclass
class Case:
    """One tried case: what went wrong and which bytes were lost (keyed by place and name,
    so a file found wrong twice counts once)."""

    name: str
    failures: list[str] = field(default_factory=list)
    lost: dict[str, int] = field(default_factory=dict)
    killed: bool = False

    def fail(self, what: str) -> None:
        self.failures.append(what)

    def lose(self, place: str, key: str, size: int) -> None:
        self.lost[f"{place}:{key}"] = size

    @property
    def ok(self) -> bool:
        return not self.failures and not self.lost


@dataclass
class Row:
    """A scenario's figures for one tool; `notes` say what failed, case by case."""

    scenario: str
    tool: str
    tried: int = 0
    passed: int = 0
    bytes_lost: int = 0
    killed: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def add(self, case: Case) -> None:
        self.tried += 1
        self.killed += case.killed
        self.bytes_lost += sum(case.lost.values())
        if case.ok:
            self.passed += 1
            return
        detail = "; ".join(case.failures[:4]) or "data lost"
        if len(case.failures) > 4:
            detail += f"; and {len(case.failures) - 4} more"
        lost = sum(case.lost.values())
        self.notes.append(f"{case.name}: {detail}" + (f" [{lost} bytes lost]" if lost else ""))


# -- tools, environment, remotes -------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    """A command line: freight as `python -m freight`, or the real `dvc` executable."""

    name: str
    argv: tuple[str, ...]

    def __call__(self, *args: str) -> list[str]:
        return [*self.argv, *args]


FREIGHT = Tool("freight", (sys.executable, "-m", "freight"))


class Remote(Protocol):
    """A remote as the checks see it: its config, and what it holds (read directly)."""

    url: str
    options: Mapping[str, str]

    def objects(self) -> dict[str, bytes]: ...

    def fill_from(self, other: Remote) -> None: ...

    def snapshot(self) -> dict[str, str]: ...


def read_objects(root: Path) -> dict[str, bytes]:
    """Every object (not a temporary) under `root/files/md5/xx/` of a cache or local remote."""
    found: dict[str, bytes] = {}
    base = root / "files" / "md5"
    with contextlib.suppress(FileNotFoundError):
        for prefix in os.listdir(base):
            with contextlib.suppress(NotADirectoryError):
                for name in os.listdir(base / prefix):
                    if not name.startswith(".") and (base / prefix / name).is_file():
                        found[f"files/md5/{prefix}/{name}"] = (base / prefix / name).read_bytes()
    return found


def temporaries(root: Path) -> list[str]:
    """Leftover temporaries (freight's `.freight-*.tmp`, DVC's `.*.tmp`) below `root`."""
    return sorted(
        os.path.relpath(os.path.join(d, n), root)
        for d, _dirs, names in os.walk(root)
        for n in names
        if n.startswith(".") and n.endswith(TMP)
    )


@dataclass
class LocalRemote:
    path: Path
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return str(self.path)

    def objects(self) -> dict[str, bytes]:
        return read_objects(self.path)

    def fill_from(self, other: Remote) -> None:
        assert isinstance(other, LocalRemote)
        shutil.copytree(other.path, self.path, symlinks=True)

    def snapshot(self) -> dict[str, str]:
        return tree_snapshot(self.path)


@dataclass
class S3Remote:
    """A prefix of a bucket on the S3 test server, read with boto3 (list, then get)."""

    server: Server
    bucket: str
    prefix: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    @property
    def options(self) -> Mapping[str, str]:
        return {
            "endpointurl": self.server.endpoint,
            "access_key_id": "testing",
            "secret_access_key": "testing",
            "region": "us-east-1",
        }

    def _client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.server.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )

    def _keys(self, client: Any) -> dict[str, str]:
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + "/"
        )
        return {
            o["Key"][len(self.prefix) + 1 :]: o["ETag"]
            for page in pages
            for o in page.get("Contents", [])
        }

    def objects(self) -> dict[str, bytes]:
        client = self._client()
        keys = [k for k in self._keys(client) if k.startswith("files/md5/")]

        def get(key: str) -> bytes:
            body = client.get_object(Bucket=self.bucket, Key=f"{self.prefix}/{key}")["Body"]
            return bytes(body.read())

        with ThreadPoolExecutor(8) as pool:
            return dict(zip(keys, pool.map(get, keys), strict=True))

    def fill_from(self, other: Remote) -> None:
        assert isinstance(other, S3Remote)
        client = self._client()

        def copy(key: str) -> None:
            client.copy_object(
                Bucket=self.bucket,
                Key=f"{self.prefix}/{key}",
                CopySource={"Bucket": other.bucket, "Key": f"{other.prefix}/{key}"},
            )

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(copy, other._keys(client)))

    def snapshot(self) -> dict[str, str]:
        return self._keys(self._client())


@dataclass
class Env:
    """What scenarios get from outside: the process environment, the real DVC (or None),
    the S3 server (or None), the dataset size, and a memo for what several share."""

    seed: int
    env: dict[str, str]
    dvc: Tool | None = None
    s3: Server | None = None
    nfiles: int = 240
    big: int = 4 << 20
    memo: dict[Any, Any] = field(default_factory=dict)

    def tool(self, name: str) -> Tool:
        if name == "freight":
            return FREIGHT
        if self.dvc is None:
            raise RuntimeError("this scenario needs the real dvc")
        return self.dvc

    def remote(self, kind: str, where: Path, tag: str) -> Remote:
        """A new, empty remote of `kind` ("local" or "s3") for `tag`."""
        if kind == "local":
            return LocalRemote(where / "remote")
        if self.s3 is None:
            raise RuntimeError("this scenario needs the S3 server")
        key = ("bucket", self.s3.endpoint)
        if key not in self.memo:
            bucket = "campaign" + hashlib.md5(f"{self.seed}{time.time()}".encode()).hexdigest()[:8]
            S3Remote(self.s3, bucket, "")._client().create_bucket(Bucket=bucket)
            self.memo[key] = bucket
        return S3Remote(self.s3, self.memo[key], tag)


def scratch_env(root: Path) -> dict[str, str]:
    """A process environment with no user or system config, no analytics, scratch HOME."""
    home = root / "_home"
    home.mkdir(parents=True, exist_ok=True)
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DVC_"))},
        "HOME": str(home),
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(root / "_site"),
        "DVC_GLOBAL_CONFIG_DIR": str(home / "dvc-global"),
        "DVC_SYSTEM_CONFIG_DIR": str(home / "dvc-system"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "GIT_CONFIG_NOSYSTEM": "1",
    }


PREFIX = "import sys; print(sys.prefix)"


def find_dvc() -> Tool:
    """The real dvc 3.67.1, from the isolated `uv tool` environment the compat tests use."""
    from conftest import DVC_VERSION, find_uv

    proc = subprocess.run(
        [find_uv(), "tool", "run", "--from", f"dvc[s3]=={DVC_VERSION}", "python", "-c", PREFIX],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return Tool("dvc", (str(Path(proc.stdout.split()[-1]) / "bin" / "dvc"),))


#: a scenario: (its random stream, how many cases, a scratch directory, the environment)
ScenarioFn = Callable[[random.Random, int, Path, Env], Row]


# -- processes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Done:
    code: int
    out: str
    err: str

    def last(self) -> str:
        lines = (self.err or self.out).strip().splitlines()
        return lines[-1][:200] if lines else ""


def run(cmd: list[str], cwd: Path, env: Mapping[str, str], timeout: float = RUN_TIMEOUT) -> Done:
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return Done(-1, "", f"timed out after {timeout:.0f} s")
    return Done(proc.returncode, proc.stdout, proc.stderr)


def spawn(cmd: list[str], cwd: Path, env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start `cmd` in its own process group (a kill reaches all it started), output to `log`."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            cmd, cwd=cwd, env=dict(env), stdout=out, stderr=out, start_new_session=True
        )


def finish(proc: subprocess.Popen[bytes], log: Path, timeout: float = RUN_TIMEOUT) -> Done:
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        kill(proc)
        code = -1
    return Done(code, "", log.read_text(errors="replace") if log.exists() else "")


def kill(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    if sig == signal.SIGKILL:
        proc.wait(60)


def entries(path: Path) -> int:
    try:
        return len(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return 0


@dataclass(frozen=True)
class KillPoint:
    """When to kill: `delay` seconds after the start, or once `watch` holds `count` entries."""

    delay: float | None = None
    watch: Path | None = None
    count: int = 0

    def __str__(self) -> str:
        if self.watch is not None:
            return f"at {self.count} entries in {self.watch.parent.name}/{self.watch.name}"
        return f"after {self.delay:.2f} s"

    def reached(self, started: float) -> bool:
        if self.watch is not None:
            return entries(self.watch) >= self.count
        return time.monotonic() - started >= (self.delay or 0.0)


def kill_at(proc: subprocess.Popen[bytes], point: KillPoint, timeout: float = RUN_TIMEOUT) -> bool:
    """SIGKILL `proc`'s group at `point`; False if it ended first."""
    started = time.monotonic()
    while proc.poll() is None:
        if point.reached(started) or time.monotonic() - started > timeout:
            kill(proc)
            return True
        time.sleep(POLL)
    return False


# -- datasets and templates ------------------------------------------------------------------


def blob(rng: random.Random) -> bytes:
    """Mostly small files, some of hundreds of KiB, a few MiB-sized (kills land mid-copy)."""
    roll = rng.random()
    if roll < 0.85:
        return rng.randbytes(rng.randrange(8192))
    if roll < 0.98:
        return rng.randbytes(rng.randrange(64 << 10, 512 << 10))
    return rng.randbytes(rng.randrange(1 << 20, 2 << 20))


def versions(
    rng: random.Random, nfiles: int, big: int
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Two versions of `data/` and `big.bin`: v2 modifies, deletes and adds files."""
    v1 = {f"data/{i:04}.bin": blob(rng) for i in range(nfiles)}
    v1["data/dup.bin"] = v1["data/0000.bin"]
    v1["data/empty"] = b""
    v1["big.bin"] = rng.randbytes(big)
    v2 = dict(v1)
    names = sorted(k for k in v1 if k.startswith("data/0"))
    for name in rng.sample(names, len(names) // 5):
        v2[name] = blob(rng)
    for name in rng.sample(names, len(names) // 20):
        del v2[name]
    v2.update({f"data/new{i:03}.bin": blob(rng) for i in range(nfiles // 10)})
    v2["big.bin"] = rng.randbytes(big)
    return v1, v2


def object_key(oid: str) -> str:
    return f"files/md5/{oid[:2]}/{oid[2:]}"


def key_oid(key: str) -> str:
    return key.removeprefix("files/md5/").replace("/", "", 1).removesuffix(".dir")


@dataclass
class Version:
    """One version of the tracked data: workspace files, objects, the tool's `.dvc` files."""

    files: dict[str, bytes]
    objects: dict[str, bytes]
    dvcfiles: dict[str, bytes]


def write_tree(root: Path, files: Mapping[str, bytes]) -> None:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def set_workspace(ws: Path, files: Mapping[str, bytes]) -> None:
    """Make the tracked outputs of `ws` hold exactly `files`."""
    shutil.rmtree(ws / "data", ignore_errors=True)
    (ws / "big.bin").unlink(missing_ok=True)
    write_tree(ws, files)


def read_outputs(ws: Path, outputs: Iterable[str] = OUTPUTS) -> dict[str, bytes]:
    """The files of the outputs in `ws` (temporaries included: they are not the data)."""
    found: dict[str, bytes] = {}
    for out in outputs:
        path = ws / out
        if path.is_file():
            found[out] = path.read_bytes()
        for d, _dirs, names in os.walk(path):
            for n in names:
                full = Path(d) / n
                found[full.relative_to(ws).as_posix()] = full.read_bytes()
    return found


def write_config(ws: Path, remote: Remote | None, cache: str = "") -> None:
    """The repository config both tools read: no SCM, a default remote, extra cache lines."""
    lines = ["[core]", "    no_scm = True"]
    if remote is not None:
        lines += ["    remote = store", "['remote \"store\"']", f"    url = {remote.url}"]
        lines += [f"    {k} = {v}" for k, v in remote.options.items()]
    (ws / ".dvc" / "config").write_text("\n".join(lines) + "\n" + cache)


def init(tool: Tool, ws: Path, env: Env) -> None:
    ws.mkdir(parents=True)
    must(run(tool("init", "--no-scm"), ws, env.env), f"{tool.name} init")


def must(done: Done, what: str) -> Done:
    if done.code != 0:
        raise RuntimeError(f"{what} failed ({done.code}): {done.out[-2000:]}{done.err[-2000:]}")
    return done


def version_of(ws: Path, files: dict[str, bytes], outputs: Iterable[str] = OUTPUTS) -> Version:
    """The objects of `files` as the tool stored them in `ws`'s cache, verified here:
    every file's md5, and each `.dir` hashes to its name and lists exactly those files."""
    objects = {object_key(hashlib.md5(data).hexdigest()): data for data in files.values()}
    dvcfiles = {}
    for out in outputs:
        dvcfiles[f"{out}.dvc"] = (ws / f"{out}.dvc").read_bytes()
        (entry,) = yaml.safe_load(dvcfiles[f"{out}.dvc"])["outs"]
        if entry["md5"].endswith(".dir"):
            key = object_key(entry["md5"])
            data = (ws / ".dvc" / "cache" / key).read_bytes()
            listed = {e["relpath"]: e["md5"] for e in json.loads(data)}
            inside = {
                k.removeprefix(out + "/"): hashlib.md5(v).hexdigest()
                for k, v in files.items()
                if k.startswith(out + "/")
            }
            assert hashlib.md5(data).hexdigest() == key_oid(key) and listed == inside, key
            objects[key] = data
    return Version(dict(files), objects, dvcfiles)


@dataclass
class Templates:
    """Repositories made once by the tool itself and copied for every case: `v1` and `v2`
    (workspace, `.dvc` files and cache of each version; v2's cache holds both), `clone`
    (v2's `.dvc` files, empty cache and workspace), and `remote` (both versions pushed)."""

    root: Path
    v1: Version
    v2: Version
    remote: Remote

    def version(self, dvcfile: str, data: bytes | None) -> Version | None:
        for v in (self.v1, self.v2):
            if v.dvcfiles[dvcfile] == data:
                return v
        return None


def templates(tool: Tool, kind: str, workdir: Path, env: Env) -> Templates:
    key = ("templates", tool.name, kind, str(workdir))
    if key not in env.memo:
        env.memo[key] = _build_templates(
            tool, kind, workdir / "templates" / f"{tool.name}-{kind}", env
        )
    made: Templates = env.memo[key]
    return made


def _build_templates(tool: Tool, kind: str, root: Path, env: Env) -> Templates:
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    files1, files2 = versions(random.Random(f"{env.seed}:data"), env.nfiles, env.big)
    remote = env.remote(kind, root, f"{root.name}-template")
    v1ws, v2ws, clone = root / "v1", root / "v2", root / "clone"
    init(tool, v1ws, env)
    write_config(v1ws, remote)
    write_tree(v1ws, files1)
    must(run(tool("add", *OUTPUTS), v1ws, env.env), f"{tool.name} add (v1 template)")
    must(run(tool("push"), v1ws, env.env), f"{tool.name} push (v1 template)")
    shutil.copytree(v1ws, v2ws, symlinks=True)
    set_workspace(v2ws, files2)
    must(run(tool("add", *OUTPUTS), v2ws, env.env), f"{tool.name} add (v2 template)")
    must(run(tool("push"), v2ws, env.env), f"{tool.name} push (v2 template)")
    init(tool, clone, env)
    write_config(clone, remote)
    for name in (f"{out}.dvc" for out in OUTPUTS):
        shutil.copy(v2ws / name, clone / name)
    made = Templates(root, version_of(v1ws, files1), version_of(v2ws, files2), remote)
    both = {**made.v1.objects, **made.v2.objects}
    assert read_objects(v2ws / ".dvc" / "cache") == both, "template cache"
    assert remote.objects() == both, "template remote"
    return made


# -- checks ----------------------------------------------------------------------------------


def check_objects(case: Case, place: str, objects: Mapping[str, bytes]) -> None:
    """Every object under a final name hashes to that name (else it is lost: it is trusted)."""
    bad = [k for k, v in objects.items() if hashlib.md5(v).hexdigest() != key_oid(k)]
    if bad:
        case.fail(f"{place}: {len(bad)} objects do not hash to their names (e.g. {bad[0]})")
    for key in bad:
        case.lose(place, key, len(objects[key]))


def check_contents(
    case: Case,
    place: str,
    have: Mapping[str, bytes],
    want: Mapping[str, bytes],
    *,
    lost: bool,
    exact: bool = False,
) -> None:
    """`have` holds `want` (exactly, with `exact`); what is missing or wrong is lost when
    `lost` (the tool said it succeeded, or this place held the only copy)."""
    missing = sorted(k for k in want if k not in have)
    wrong = sorted(k for k in want if k in have and have[k] != want[k])
    for what, keys in (("missing", missing), ("wrong", wrong)):
        if keys:
            case.fail(f"{place}: {len(keys)} of {len(want)} {what} (e.g. {keys[0]})")
            if lost:
                for key in keys:
                    case.lose(place, key, len(want[key]))
    extra = sorted(set(have) - set(want))
    if exact and extra:
        case.fail(f"{place}: {len(extra)} unexpected (e.g. {extra[0]})")


def check_dvcfiles(case: Case, ws: Path, allowed: Iterable[Version]) -> None:
    """Each `.dvc` file parses and is one of the allowed versions, byte for byte."""
    versions_ = list(allowed)
    for name in (f"{out}.dvc" for out in OUTPUTS):
        try:
            data = (ws / name).read_bytes()
        except FileNotFoundError:
            case.fail(f"{name} is missing")
            continue
        try:
            yaml.safe_load(data)
        except yaml.YAMLError:
            case.fail(f"{name} does not parse")
            continue
        if data not in {v.dvcfiles[name] for v in versions_}:
            case.fail(f"{name} is neither the old nor the new version")


def changed_outputs(status_json: str) -> set[str]:
    """The outputs `status --json` reports as changed (DVC's shape, which freight prints)."""
    changed: set[str] = set()
    for entries_ in json.loads(status_json or "{}").values():
        for item in entries_ if isinstance(entries_, list) else []:
            if isinstance(item, dict):
                changed.update(item.get("changed outs", {}))
    return changed


def check_status_claims(case: Case, tool: Tool, ws: Path, tmpl: Templates, env: Env) -> None:
    """Nothing `status` calls up to date is wrong: each output it does not report changed
    must hold exactly the files of the version its `.dvc` file records."""
    done = run(tool("status", "--json"), ws, env.env)
    if done.code != 0:
        case.fail(f"status failed after the kill ({done.code}): {done.last()}")
        return
    try:
        changed = changed_outputs(done.out.strip().splitlines()[-1] if done.out.strip() else "")
    except (json.JSONDecodeError, AttributeError):
        case.fail(f"status printed no JSON: {done.out[-200:]!r}")
        return
    for out in OUTPUTS:
        dvcfile = ws / f"{out}.dvc"
        version = tmpl.version(f"{out}.dvc", dvcfile.read_bytes() if dvcfile.exists() else None)
        if out in changed or version is None:
            continue
        want = {k: v for k, v in version.files.items() if k == out or k.startswith(out + "/")}
        have = read_outputs(ws, [out])
        if have != want:
            bad = sorted(k for k in set(want) | set(have) if have.get(k) != want.get(k))
            case.fail(f"status calls {out} up to date, but {len(bad)} files differ ({bad[0]})")
            for key in bad:
                if key in want:
                    case.lose("workspace", key, len(want[key]))


def tree_snapshot(root: Path) -> dict[str, str]:
    """Every file below `root` by path: its mode and content digest (or symlink target)."""
    snap: dict[str, str] = {}
    for d, _dirs, names in os.walk(root):
        for n in names:
            full = os.path.join(d, n)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                digest = "->" + os.readlink(full)
            else:
                with open(full, "rb") as stream:
                    digest = hashlib.md5(stream.read()).hexdigest()
            snap[os.path.relpath(full, root)] = f"{stat.S_IMODE(st.st_mode):o}:{digest}"
    return snap


# -- kill -9 scenarios -----------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """What a place must hold once the command completed; `source`: it held the data's only
    copy, so what it lacks is lost whatever the rerun did; `exact`: nothing else (gc)."""

    place: str  # "cache" | "remote" | "workspace"
    want: Mapping[str, bytes]
    source: bool = False
    exact: bool = False


@dataclass(frozen=True)
class Verb:
    """A command under fault: the template it starts from, what it writes (watched for
    count-based kill points), which `.dvc` versions may exist part-way, what it must leave."""

    name: str
    args: tuple[str, ...]
    start: str  # "v1" | "v2" | "clone"
    watch: tuple[str, ...]  # "cache" | "remote" | "data"
    writes_dvcfiles: bool = False

    def expect(self, t: Templates) -> list[Expect]:
        both = {**t.v1.objects, **t.v2.objects}
        v2, ws2 = t.v2.objects, t.v2.files
        return {
            "add": [Expect("workspace", ws2, source=True), Expect("cache", both)],
            "push": [Expect("workspace", ws2), Expect("cache", both, True), Expect("remote", v2)],
            "fetch": [Expect("workspace", {}), Expect("cache", v2), Expect("remote", both, True)],
            "checkout": [Expect("workspace", ws2), Expect("cache", both, True)],
            "pull": [Expect("workspace", ws2), Expect("cache", v2), Expect("remote", both, True)],
            "gc": [
                Expect("workspace", ws2, True),
                Expect("cache", v2, True, exact=True),
                Expect("remote", v2, True, exact=True),
            ],
            "shards": [Expect("workspace", ws2), Expect("cache", both, True), Expect("remote", v2)],
        }[self.name]


VERBS = {
    v.name: v
    for v in (
        Verb("add", ("add", *OUTPUTS), "v1", ("cache",), writes_dvcfiles=True),
        Verb("push", ("push",), "v2", ("remote",)),
        Verb("fetch", ("fetch",), "clone", ("cache",)),
        Verb("checkout", ("checkout",), "v2", ("data",)),
        Verb("pull", ("pull",), "clone", ("cache", "data")),
        Verb("gc", ("gc", "-w", "-c", "-f"), "v2", ()),
        Verb("shards", (), "v2", ("remote",)),
    )
}


@dataclass
class CaseDirs:
    root: Path
    ws: Path
    remote: Remote

    @property
    def cache(self) -> Path:
        return self.ws / ".dvc" / "cache"

    def place(self, name: str) -> dict[str, bytes]:
        if name == "cache":
            return read_objects(self.cache)
        if name == "remote":
            return self.remote.objects()
        return read_outputs(self.ws)

    def watched(self, name: str) -> Path | None:
        if name == "cache":
            return self.cache / "files" / "md5"
        if name == "data":
            return self.ws / "data"
        if isinstance(self.remote, LocalRemote):
            return self.remote.path / "files" / "md5"
        return None  # an object store: kill by delay


def prepare(
    verb: Verb, t: Templates, root: Path, rng: random.Random, env: Env, kind: str
) -> CaseDirs:
    """A case's repository (a copy of a template) and remote (empty, or the template's
    when the verb only reads it, or a copy when it deletes from it)."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    ws = root / "ws"
    shutil.copytree(t.root / verb.start, ws, symlinks=True)
    if verb.name in ("fetch", "pull"):
        remote = t.remote
    else:
        remote = env.remote(kind, root, "-".join(root.parts[-2:]))
        if verb.name == "gc":
            remote.fill_from(t.remote)
    write_config(ws, remote)
    if verb.name == "add":
        set_workspace(ws, t.v2.files)
    elif verb.name == "checkout":  # from an emptied workspace, or from the old version
        set_workspace(ws, {} if rng.random() < 0.5 else t.v1.files)
    return CaseDirs(root, ws, remote)


SHARD_CHILD = """
import json, sys
from freight import Repo
with Repo(sys.argv[1]) as repo:
    repo.push(shard=json.loads(open(sys.argv[2]).read())).raise_for_failures()
"""


class Attempt:
    """One faulted run of a verb: its processes (the first is the one killed), and the
    rerun that must complete afterwards."""

    def __init__(self, verb: Verb, tool: Tool, d: CaseDirs, env: Env, rng: random.Random):
        self.verb, self.tool, self.d, self.env = verb, tool, d, env
        self.log = d.root / "run.log"
        self.others: list[subprocess.Popen[bytes]] = []
        if verb.name != "shards":
            self.proc = spawn(tool(*verb.args), d.ws, env.env, self.log)
            return
        from freight import Repo  # the orchestration API: plan here, shards in children

        with Repo(d.ws) as repo:
            shards = repo.plan("push", shards=SHARDS).shards
        self.shard_files = []
        for n, shard in enumerate(shards):
            self.shard_files.append(d.root / f"shard-{n}.json")
            self.shard_files[-1].write_text(json.dumps(shard))
        self.victim = rng.randrange(len(shards))
        procs = [self._shard(f) for f in self.shard_files]
        self.proc = procs.pop(self.victim)
        self.others = procs

    def _shard(self, shard_file: Path) -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-c", SHARD_CHILD, str(self.d.ws), str(shard_file)]
        return spawn(cmd, self.d.ws, self.env.env, self.log)

    def settle(self) -> Done:
        """Wait for the run's other processes (shards beside the killed one)."""
        codes = [finish(p, self.log).code for p in self.others]
        bad = [c for c in codes if c != 0]
        return Done(bad[0] if bad else 0, "", self.log.read_text(errors="replace"))

    def rerun(self) -> Done:
        if self.verb.name != "shards":
            return run(self.tool(*self.verb.args), self.d.ws, self.env.env)
        again = finish(self._shard(self.shard_files[self.victim]), self.log)
        if again.code != 0:
            return again
        return run(self.tool("push"), self.d.ws, self.env.env)  # the final push: the .dirs


@dataclass(frozen=True)
class Calibration:
    seconds: float
    counts: dict[str, tuple[int, int]]  # watched place -> entries before, after a full run


def calibrate(verb: Verb, tool: Tool, t: Templates, work: Path, env: Env, kind: str) -> Calibration:
    """Run the verb once to the end: how long it takes, how many entries each place gets."""
    d = prepare(verb, t, work / "calibration", random.Random(0), env, kind)
    before = {w: entries(p) for w in verb.watch if (p := d.watched(w)) is not None}
    started = time.monotonic()
    attempt = Attempt(verb, tool, d, env, random.Random(0))
    done = finish(attempt.proc, attempt.log)
    must(attempt.settle(), f"{verb.name} (calibration)")
    seconds = time.monotonic() - started
    must(done, f"{verb.name} (calibration)")
    counts = {w: (n, entries(p)) for w, n in before.items() if (p := d.watched(w)) is not None}
    shutil.rmtree(d.root)
    return Calibration(seconds, counts)


def pick_point(rng: random.Random, d: CaseDirs, verb: Verb, cal: Calibration) -> KillPoint:
    """Half the time once a watched place holds a random number of new entries (the run
    is inside its I/O), otherwise after a random share of a full run's time."""
    growing = [w for w, (a, b) in cal.counts.items() if b > a]
    if growing and rng.random() < 0.5:
        where = rng.choice(growing)
        path = d.watched(where)
        start, end = cal.counts[where]
        return KillPoint(watch=path, count=rng.randint(start + 1, end))
    return KillPoint(delay=rng.uniform(0.0, cal.seconds))


def kill_case(
    name: str,
    verb: Verb,
    tool: Tool,
    t: Templates,
    cal: Calibration,
    rng: random.Random,
    work: Path,
    env: Env,
    kind: str,
) -> Case:
    """Kill the verb at a random point, check, rerun it, check that it completed."""
    d = prepare(verb, t, work, rng, env, kind)
    point = pick_point(rng, d, verb, cal)
    case = Case(f"{name} ({point})")
    attempt = Attempt(verb, tool, d, env, rng)
    case.killed = kill_at(attempt.proc, point)
    beside = attempt.settle()
    if beside.code != 0:
        case.fail(f"a shard beside the killed one failed: {beside.last()}")
    expects = verb.expect(t)
    # part-way: nothing under a final name is partial, `.dvc` files are whole, status is honest
    for place in ("cache", "remote"):
        check_objects(case, place, d.place(place))
    check_dvcfiles(case, d.ws, [t.v1, t.v2] if verb.writes_dvcfiles else [t.v2])
    check_status_claims(case, tool, d.ws, t, env)
    for e in expects:
        if e.source:  # the only copy survives the kill itself
            check_contents(case, e.place, d.place(e.place), e.want, lost=True)
    again = attempt.rerun()
    if again.code != 0:
        locked = " (blocked by the killed run's lock)" if "lock" in again.err.lower() else ""
        case.fail(f"rerun failed ({again.code}){locked}: {again.last()}")
    ok = again.code == 0
    for place in ("cache", "remote"):
        check_objects(case, place, d.place(place))
    check_dvcfiles(case, d.ws, [t.v2])
    for e in expects:
        check_contents(
            case, e.place, d.place(e.place), e.want, lost=ok or e.source, exact=e.exact and ok
        )
    if ok and verb.name == "gc":
        repush_after_gc(case, tool, d, t, env)
    if ok and verb.name in ("checkout", "pull"):
        check_status_clean(case, tool, d.ws, env)
    if case.ok:
        shutil.rmtree(d.root, ignore_errors=True)
    else:
        case.name += f" [kept in {d.root}]"
    return case


def check_status_clean(case: Case, tool: Tool, ws: Path, env: Env) -> None:
    done = run(tool("status", "--json"), ws, env.env)
    lines = done.out.strip().splitlines()
    if done.code != 0 or changed_outputs(lines[-1] if lines else ""):
        case.fail(f"status after the completed rerun is not clean: {done.out[-200:]!r}")


def repush_after_gc(case: Case, tool: Tool, d: CaseDirs, t: Templates, env: Env) -> None:
    """After `gc -c` collected v1, pushing v1 again (its objects back in the cache) must
    restore it on the remote: a record that the remote still holds them would skip them."""
    for key, data in t.v1.objects.items():
        path = d.cache / key
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(0o444)
    for name, data in t.v1.dvcfiles.items():
        (d.ws / name).write_bytes(data)
    done = run(tool("push"), d.ws, env.env)
    if done.code != 0:
        case.fail(f"push of the collected version failed ({done.code}): {done.last()}")
    check_contents(case, "remote", d.remote.objects(), t.v1.objects, lost=done.code == 0)


def kill_scenario(label: str, verb_name: str, tool_name: str, kind: str) -> ScenarioFn:
    """The kill -9 scenario of one verb, tool and remote kind."""
    verb = VERBS[verb_name]

    def scenario(rng: random.Random, cases: int, workdir: Path, env: Env) -> Row:
        tool = env.tool(tool_name)
        row = Row(label, tool.name)
        t = templates(tool, kind, workdir, env)
        work = workdir / f"{tool.name}-{kind}-{verb_name}"
        cal = calibrate(verb, tool, t, work, env, kind)
        for n in range(cases):
            row.add(kill_case(f"case {n}", verb, tool, t, cal, rng, work / f"{n}", env, kind))
        return row

    return scenario


# -- the lock, while its holder lives --------------------------------------------------------


def lock_held(path: Path) -> bool:
    """Whether a process holds a flock on `path` (read from /proc/locks, taking nothing)."""
    try:
        inode = os.stat(path).st_ino
        with open("/proc/locks") as locks:
            return any(
                line.split()[1] == "FLOCK" and line.split()[5].endswith(f":{inode}")
                for line in locks
            )
    except (FileNotFoundError, IndexError):
        return False


LOCK_VERBS = ("add", "push", "fetch", "checkout", "pull", "gc")


def lock_case(
    name: str, tool: Tool, t: Templates, rng: random.Random, work: Path, env: Env, kind: str
) -> Case:
    """Stop a running command while it holds the lock (SIGSTOP: alive, busy); a second
    command must fail clearly ("lock") and change nothing; the first then completes."""
    for _ in range(5):  # a run may end before it is caught holding the lock: try another
        verb = VERBS[rng.choice(LOCK_VERBS)]
        d = prepare(verb, t, work, rng, env, kind)
        lock = d.ws / ".dvc" / "tmp" / "lock"
        attempt = Attempt(verb, tool, d, env, rng)
        while attempt.proc.poll() is None and not lock_held(lock):
            time.sleep(POLL)
        time.sleep(rng.uniform(0.0, 0.05))
        kill(attempt.proc, signal.SIGSTOP)
        if attempt.proc.poll() is None and lock_held(lock):
            break
        kill(attempt.proc, signal.SIGCONT)
        finish(attempt.proc, attempt.log)
    else:
        case = Case(name)
        case.fail("no run was caught holding the lock")
        return case
    second = VERBS[rng.choice(LOCK_VERBS)]
    case = Case(f"{name} ({verb.name} held, {second.name} tried)")
    before = tree_snapshot(d.root), d.remote.snapshot()
    done = run(tool(*second.args), d.ws, env.env)
    after = tree_snapshot(d.root), d.remote.snapshot()
    kill(attempt.proc, signal.SIGCONT)
    if done.code == 0:
        case.fail(f"{second.name} ran while {verb.name} held the lock")
    elif "lock" not in (done.out + done.err).lower() or "Traceback" in done.err:
        case.fail(f"{second.name} failed without a clear lock error: {done.last()}")
    if after != before:
        changed = sorted(
            k for k in set(before[0]) | set(after[0]) if before[0].get(k) != after[0].get(k)
        )
        case.fail(f"the refused {second.name} changed {changed[:3] or 'the remote'}")
    held = finish(attempt.proc, attempt.log)
    if held.code != 0:
        case.fail(f"the held {verb.name} failed once resumed ({held.code}): {held.last()}")
    for place in ("cache", "remote"):
        check_objects(case, place, d.place(place))
    for e in verb.expect(t):
        check_contents(case, e.place, d.place(e.place), e.want, lost=True, exact=e.exact)
    if case.ok:
        shutil.rmtree(d.root, ignore_errors=True)
    return case


def lock_scenario(label: str, tool_name: str) -> ScenarioFn:
    def scenario(rng: random.Random, cases: int, workdir: Path, env: Env) -> Row:
        tool = env.tool(tool_name)
        row = Row(label, tool.name)
        t = templates(tool, "local", workdir, env)
        for n in range(cases):
            work = workdir / f"{tool.name}-lock" / f"{n}"
            row.add(lock_case(f"case {n}", tool, t, rng, work, env, "local"))
        return row

    return scenario


# -- concurrent writers, a shared cache ------------------------------------------------------


def overlapping(rng: random.Random, n: int, pool: int) -> list[dict[str, bytes]]:
    """`n` datasets drawn from one pool of files (same name, same bytes), each with some
    files of its own and a `shared.bin` most of them hold, so writers race on objects."""
    common = [blob(rng) for _ in range(pool)]
    shared = rng.randbytes(1 << 20)
    sets = []
    for i in range(n):
        files = {f"data/p{j:03}.bin": common[j] for j in rng.sample(range(pool), pool * 3 // 5)}
        files |= {f"data/own{i}-{k:02}.bin": blob(rng) for k in range(5)}
        files["shared.bin"] = shared if rng.random() < 0.75 else rng.randbytes(1 << 20)
        sets.append(files)
    return sets


DATASET_OUTPUTS = ("data", "shared.bin")


def run_all(cmds: list[tuple[list[str], Path]], env: Env, log: Path) -> list[Done]:
    """Start every command at once, then wait for all."""
    procs = [
        spawn(cmd, cwd, env.env, log.with_suffix(f".{i}.log")) for i, (cmd, cwd) in enumerate(cmds)
    ]
    return [finish(p, log.with_suffix(f".{i}.log")) for i, p in enumerate(procs)]


def clone_of(src: Path, dest: Path, remote: Remote, cache: str = "") -> Path:
    """A fresh repository with `src`'s `.dvc` files (what `git clone` brings)."""
    from freight import Repo  # writes what `dvc init --no-scm` writes

    dest.mkdir(parents=True)
    Repo.init(dest, no_scm=True).close()
    write_config(dest, remote, cache)
    for name in (f"{out}.dvc" for out in DATASET_OUTPUTS):
        shutil.copy(src / name, dest / name)
    return dest


def writers_case(
    name: str,
    tool: Tool,
    readers: list[Tool],
    rng: random.Random,
    work: Path,
    env: Env,
    kind: str,
    n: int,
) -> Case:
    """`n` repositories push overlapping datasets to one remote at once; then every reader
    tool pulls each dataset into a fresh clone and must get it all, byte for byte."""
    case = Case(name)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    remote = env.remote(kind, work, "-".join(work.parts[-2:]))
    sets = overlapping(rng, n, env.nfiles)
    repos = []
    for i, files in enumerate(sets):
        ws = work / f"w{i}"
        empty_repo(ws)
        write_config(ws, remote)
        write_tree(ws, files)
        repos.append(ws)
    for i, done in enumerate(
        run_all([(tool("add", *DATASET_OUTPUTS), ws) for ws in repos], env, work / "add")
    ):
        must(done, f"add in w{i}")
    want: dict[str, bytes] = {}
    for ws, files in zip(repos, sets, strict=True):
        want |= version_of(ws, files, DATASET_OUTPUTS).objects
    pushed = run_all([(tool("push"), ws) for ws in repos], env, work / "push")
    failed = [i for i, d in enumerate(pushed) if d.code != 0]
    for i in failed:
        case.fail(f"push in w{i} failed ({pushed[i].code}): {pushed[i].last()}")
    held = remote.objects()
    check_objects(case, "remote", held)
    check_contents(case, "remote", held, want, lost=not failed)
    for reader in readers:
        clones = [clone_of(ws, work / f"{reader.name}-c{i}", remote) for i, ws in enumerate(repos)]
        pulled = run_all([(reader("pull"), c) for c in clones], env, work / f"{reader.name}-pull")
        for i, (c, files, done) in enumerate(zip(clones, sets, pulled, strict=True)):
            if done.code != 0:
                case.fail(f"{reader.name} pull of w{i} failed ({done.code}): {done.last()}")
            check_contents(
                case,
                f"{reader.name} clone {i}",
                read_outputs(c, DATASET_OUTPUTS),
                files,
                lost=done.code == 0 and not failed,
                exact=done.code == 0,
            )
    if case.ok:
        shutil.rmtree(work, ignore_errors=True)
    return case


def empty_repo(ws: Path) -> None:
    from freight import Repo

    ws.mkdir(parents=True)
    Repo.init(ws, no_scm=True).close()


def writers_scenario(label: str, tool_name: str, kind: str, n: int = 8) -> ScenarioFn:
    def scenario(rng: random.Random, cases: int, workdir: Path, env: Env) -> Row:
        tool = env.tool(tool_name)
        readers = [FREIGHT] + ([env.dvc] if env.dvc is not None else [])
        row = Row(label, tool.name)
        for c in range(cases):
            work = workdir / f"{tool.name}-{kind}-writers" / f"{c}"
            row.add(writers_case(f"case {c}", tool, readers, rng, work, env, kind, n))
        return row

    return scenario


SHARED_DIR_MODE = 0o2775  # DVC's `cache.shared = group`: setgid, group-writable (spec §5.2)
SHARED_OBJECT_MODE = 0o444


def shared_fetch_case(
    name: str, tool: Tool, rng: random.Random, work: Path, env: Env, n: int
) -> Case:
    """`n` repositories share one cache (`cache.dir`, `cache.shared = group`) and fetch
    overlapping datasets at once: every object intact, all of them there, DVC's modes."""
    from freight import Repo

    case = Case(name)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    remote = env.remote("local", work, "remote")
    sets = overlapping(rng, n, env.nfiles)
    sources = []
    want: dict[str, bytes] = {}
    for i, files in enumerate(sets):  # the data reaches the remote through freight's API
        ws = work / f"src{i}"
        empty_repo(ws)
        write_config(ws, remote)
        write_tree(ws, files)
        with Repo(ws) as repo:
            repo.add(list(DATASET_OUTPUTS))
            repo.push().raise_for_failures()
        want |= version_of(ws, files, DATASET_OUTPUTS).objects
        sources.append(ws)
    cache = work / "shared-cache"
    extra = f"[cache]\n    dir = {cache}\n    shared = group\n"
    clones = [clone_of(ws, work / f"c{i}", remote, extra) for i, ws in enumerate(sources)]
    fetched = run_all([(tool("fetch"), c) for c in clones], env, work / "fetch")
    bad = [i for i, d in enumerate(fetched) if d.code != 0]
    for i in bad:
        case.fail(f"fetch in c{i} failed ({fetched[i].code}): {fetched[i].last()}")
    held = read_objects(cache)
    check_objects(case, "shared cache", held)
    check_contents(case, "shared cache", held, want, lost=not bad, exact=True)
    dirs = [Path(d) for d, _subdirs, _names in os.walk(cache)]
    wrong_dirs = [p for p in dirs if stat.S_IMODE(p.stat().st_mode) != SHARED_DIR_MODE]
    if wrong_dirs:
        mode = stat.S_IMODE(wrong_dirs[0].stat().st_mode)
        case.fail(
            f"{len(wrong_dirs)} of {len(dirs)} shared-cache directories are not "
            f"{SHARED_DIR_MODE:o} (e.g. {wrong_dirs[0].relative_to(work)}: {mode:o})"
        )
    wrong_files = [
        k for k in held if stat.S_IMODE((cache / k).stat().st_mode) != SHARED_OBJECT_MODE
    ]
    if wrong_files:
        case.fail(f"{len(wrong_files)} shared-cache objects are not {SHARED_OBJECT_MODE:o}")
    checked = run_all([(tool("checkout"), c) for c in clones], env, work / "checkout")
    for i, (c, files, done) in enumerate(zip(clones, sets, checked, strict=True)):
        if done.code != 0:
            case.fail(f"checkout in c{i} failed ({done.code}): {done.last()}")
        check_contents(case, f"clone {i}", read_outputs(c, DATASET_OUTPUTS), files, lost=False)
    if case.ok:
        shutil.rmtree(work, ignore_errors=True)
    return case


def shared_fetch_scenario(label: str, tool_name: str, n: int = 6) -> ScenarioFn:
    def scenario(rng: random.Random, cases: int, workdir: Path, env: Env) -> Row:
        tool = env.tool(tool_name)
        row = Row(label, tool.name)
        for c in range(cases):
            work = workdir / f"{tool.name}-shared-cache" / f"{c}"
            row.add(shared_fetch_case(f"case {c}", tool, rng, work, env, n))
        return row

    return scenario


# -- the registry ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """A registered scenario: the table's row label (shared by the tools it compares), the
    tool, whether it needs the S3 server, and `share`, the part of the campaign's case
    count it runs (the heavy ones run fewer)."""

    label: str
    tool: str
    run: ScenarioFn
    s3: bool = False
    share: float = 1.0


SCENARIOS: dict[str, Scenario] = {}


def register(key: str, scenario: Scenario) -> None:
    """Add a row to the campaign (`key`: `<name>/<tool>`, what `--only` selects by)."""
    SCENARIOS[key] = scenario


def _register_all() -> None:
    for kind in ("local", "s3"):
        for verb in VERBS:
            label = f"kill -9 {verb} ({kind})"
            fn = kill_scenario(label, verb, "freight", kind)
            register(f"kill-{verb}-{kind}/freight", Scenario(label, "freight", fn, kind == "s3"))
    for verb in LOCK_VERBS:
        label = f"kill -9 {verb} (local)"
        register(
            f"kill-{verb}-local/dvc",
            Scenario(label, "dvc", kill_scenario(label, verb, "dvc", "local")),
        )
    label = "second command while a live run holds the lock"
    for tool in ("freight", "dvc"):
        register(f"lock/{tool}", Scenario(label, tool, lock_scenario(label, tool), share=0.5))
    for kind in ("local", "s3"):
        label = f"8 concurrent pushes of overlapping data ({kind})"
        for tool in ("freight", "dvc") if kind == "local" else ("freight",):
            fn = writers_scenario(label, tool, kind)
            register(f"writers-{kind}/{tool}", Scenario(label, tool, fn, kind == "s3", share=0.2))
    label = "6 concurrent fetches into one shared cache (local)"
    for tool in ("freight", "dvc"):
        fn = shared_fetch_scenario(label, tool)
        register(f"shared-cache/{tool}", Scenario(label, tool, fn, share=0.2))


_register_all()


def run_scenario(key: str, cases: int, workdir: Path, env: Env) -> Row:
    """Run one registered scenario with its own random stream (from the seed and its key,
    so a row's cases do not depend on which other rows run)."""
    scenario = SCENARIOS[key]
    started = time.monotonic()
    rng = random.Random(f"{env.seed}:{key}")
    try:
        row = scenario.run(rng, cases, workdir, env)
    except Exception as exc:  # a scenario that cannot run is reported, never hidden
        row = Row(scenario.label, scenario.tool)
        row.notes.append(f"could not run: {type(exc).__name__}: {str(exc)[:500]}")
    row.seconds = time.monotonic() - started
    return row
