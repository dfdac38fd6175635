"""The reliability campaign's network rows (issue 13, "broken networks").

Imported, this module registers one row per fault and S3 client (`net-<fault>-<client>`)
for freight, and the same rows for the real dvc where it meets the same fault through the
same client (s3fs). Each case runs the tool as a child process against the S3 server:

- "reset", "truncate", "stall": the fault-injecting proxy (`faulty_proxy`) sits between
  the tool and the server. The seeded rng picks how often object requests break (`every`),
  the dataset, and the direction (uploads, downloads, both). The case pushes through the
  proxy, then pulls through it into a fresh clone; a run that failed is rerun straight to
  the server and must then complete.
- "refused", "dns": the remote's endpoint is a port where nothing listens, or a host name
  that does not resolve; a push (or a pull of what was pushed) must fail, in bounded time.

Checks are from outside (`campaign_scenarios`): the remote read with boto3 straight from
the server, the cache and the workspace hashed here. Bytes are lost when an object is wrong
anywhere, when a `.dir` reached the remote without all its files, or when the tool reported
success and an object or file is missing. Every faulted command must end in bounded time
(`BOUND`), and fail, if it does, without a traceback. A soft fault (`every` >= 5: a flaky
network) must not fail it; a harsh one (2, 3: a third to half of the requests broken) may,
naming the objects, after its bounded retries; a hard one (1: every request) cannot
succeed. A failure is never loss: the data is still where it was, and the rerun moves it.
"""

from __future__ import annotations

import json
import random
import shutil
import socket
import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from campaign_scenarios import (
    Case,
    Done,
    Env,
    Row,
    S3Remote,
    Scenario,
    ScenarioFn,
    Tool,
    check_contents,
    check_objects,
    init,
    must,
    read_objects,
    read_outputs,
    register,
    run,
    version_of,
    write_tree,
)
from faulty_proxy import faulty_proxy

FAULTS = {
    "reset": "connections reset mid-body",
    "truncate": "responses truncated under a full Content-Length",
    "stall": "answers slower than the client's timeout",
    "refused": "connection refused (nothing listening)",
    "dns": "host name that does not resolve",
}
PROXIED = ("reset", "truncate", "stall")
CLIENTS = ("obstore", "s3fs")
OUTPUT = "data"
TIMEOUT = "2"  # the remote's read_timeout/connect_timeout (seconds) in the stall rows
STALL = 5.0  # seconds a stalled answer waits: past TIMEOUT
BOUND = 120.0  # seconds a faulted command may take to end (then it counts as hung)
EVERY = (1, 2, 3, 5, 7, 10)  # 1: every targeted request broken
SOFT_EVERY = 5  # from this `every` on, a command must not fail
DIRECTIONS: dict[str, Collection[str] | None] = {
    "uploads": ("PUT", "POST"),
    "downloads": ("GET",),
    "both": None,
}


@dataclass(frozen=True)
class Via:
    """A remote as the tools' config sees it: the S3 remote's URL, other options."""

    url: str
    options: Mapping[str, str]


def write_config(ws: Path, remote: Via) -> None:
    """The repository config both tools read (`campaign_scenarios.write_config`'s)."""
    lines = ["[core]", "    no_scm = True", "    remote = store", "['remote \"store\"']"]
    lines += [f"    url = {remote.url}", *(f"    {k} = {v}" for k, v in remote.options.items())]
    (ws / ".dvc" / "config").write_text("\n".join(lines) + "\n")


def client_options(client: str, fault: str) -> dict[str, str]:
    opts = {"acl": "private"} if client == "s3fs" else {}  # obstore cannot express it
    if fault == "stall":
        opts |= {"read_timeout": TIMEOUT, "connect_timeout": TIMEOUT}
    return opts


def via(remote: S3Remote, endpoint: str, client: str, fault: str) -> Via:
    return Via(
        remote.url, {**remote.options, "endpointurl": endpoint, **client_options(client, fault)}
    )


def dataset(rng: random.Random, nfiles: int) -> dict[str, bytes]:
    """Small files (a few empty), so a case is many requests, quickly."""
    n = rng.randint(8, max(8, min(40, nfiles)))
    files = {f"{OUTPUT}/{i:03}.bin": rng.randbytes(rng.randrange(1, 96 << 10)) for i in range(n)}
    files[f"{OUTPUT}/empty"] = b""
    return files


@contextmanager
def refused_endpoint() -> Iterator[str]:
    """A port that is bound but never listened on: every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def check_ended(case: Case, done: Done, what: str, *, may_fail: bool) -> bool:
    """A faulted command ended in time, without a traceback; under a soft fault it must
    not fail. Returns whether it reported success."""
    if done.code == -1:
        case.fail(f"{what} did not end within {BOUND:.0f} s")
    elif done.code != 0 and "Traceback" in done.err:
        case.fail(f"{what} failed with a traceback: {done.last()}")
    elif done.code != 0 and not may_fail:
        case.fail(f"{what} failed under a soft fault ({done.code}): {done.last()}")
    return done.code == 0


def check_remote(case: Case, remote: S3Remote, want: Mapping[str, bytes], *, ok: bool) -> None:
    """Objects whole (names are digests: a whole object is the right one), a `.dir` only
    beside all its files; after a reported success, exactly the objects wanted."""
    held = remote.objects()
    check_objects(case, "remote", held)
    for key, data in held.items():
        if key.endswith(".dir") and key in want:
            members = {f"files/md5/{e['md5'][:2]}/{e['md5'][2:]}" for e in json.loads(data)}
            absent = sorted(members - set(held))
            if absent:
                case.fail(f"remote: {key} is there without {len(absent)} of its files")
                for member in absent:
                    case.lose("remote", member, len(want.get(member, b"")))
    if ok:
        check_contents(case, "remote", held, want, lost=True, exact=True)


def check_pulled(case: Case, ws: Path, files: Mapping[str, bytes], *, ok: bool) -> None:
    """Cache objects whole; the workspace exact after success, never a wrong file."""
    check_objects(case, "cache", read_objects(ws / ".dvc" / "cache"))
    have = read_outputs(ws, [OUTPUT])
    if ok:
        check_contents(case, "workspace", have, files, lost=True, exact=True)
    else:
        check_contents(
            case, "workspace", have, {k: files[k] for k in have if k in files}, lost=True
        )


def clone(tool: Tool, src: Path, dest: Path, remote: Via, env: Env) -> Path:
    init(tool, dest, env)
    write_config(dest, remote)
    shutil.copy(src / f"{OUTPUT}.dvc", dest / f"{OUTPUT}.dvc")
    return dest


def source(
    tool: Tool, ws: Path, remote: Via, files: dict[str, bytes], env: Env
) -> dict[str, bytes]:
    """A repository of `tool` with `files` added; returns the objects they make."""
    init(tool, ws, env)
    write_config(ws, remote)
    write_tree(ws, files)
    must(run(tool("add", OUTPUT), ws, env.env), f"{tool.name} add")
    return version_of(ws, files, [OUTPUT]).objects


def proxied_case(
    name: str, tool: Tool, fault: str, client: str, rng: random.Random, work: Path, env: Env
) -> Case:
    """Push, then pull into a fresh clone, through the proxy; rerun what failed directly."""
    every = rng.choice(EVERY)
    # a truncated upload answer has no body to cut: truncation faults downloads
    direction = "downloads" if fault == "truncate" else rng.choice(sorted(DIRECTIONS))
    files = dataset(rng, env.nfiles)
    may_fail = every < SOFT_EVERY
    case = Case(f"{name} (every {every}, {direction}, {len(files)} files)")
    remote = env.remote("s3", work, "-".join(work.parts[-2:]))
    assert isinstance(remote, S3Remote)
    direct = via(remote, remote.server.endpoint, client, fault)
    src, dest = work / "src", work / "dest"
    with faulty_proxy(
        remote.server.endpoint,
        every,
        fault=fault,
        methods=DIRECTIONS[direction],
        objects_only=True,
        stall=STALL,
    ) as proxy:
        flaky = via(remote, proxy.url, client, fault)
        want = source(tool, src, flaky, files, env)
        pushed = run(tool("push"), src, env.env, timeout=BOUND)
        push_ok = check_ended(case, pushed, "push", may_fail=may_fail and direction != "downloads")
        check_remote(case, remote, want, ok=push_ok)
        if not push_ok:  # the data is still in the cache: a push straight to the server
            write_config(src, direct)
            again = run(tool("push"), src, env.env)
            if again.code != 0:
                case.fail(f"direct push after the faulted one failed: {again.last()}")
            check_remote(case, remote, want, ok=again.code == 0)
        clone(tool, src, dest, flaky, env)
        pulled = run(tool("pull"), dest, env.env, timeout=BOUND)
        pull_ok = check_ended(case, pulled, "pull", may_fail=may_fail and direction != "uploads")
        check_pulled(case, dest, files, ok=pull_ok)
        injected = proxy.failed
    if injected == 0:
        case.fail("no fault was injected")
    if not pull_ok:
        write_config(dest, direct)
        again = run(tool("pull"), dest, env.env)
        if again.code != 0:
            case.fail(f"direct pull after the faulted one failed: {again.last()}")
        check_pulled(case, dest, files, ok=again.code == 0)
    check_objects(case, "remote", remote.objects())
    return case


def unreachable_case(
    name: str, tool: Tool, fault: str, client: str, rng: random.Random, work: Path, env: Env
) -> Case:
    """A push to, or a pull from, an endpoint that cannot be reached: it fails in bounded
    time without a traceback and changes nothing; then the same straight to the server."""
    verb = rng.choice(("push", "pull"))
    files = dataset(rng, env.nfiles)
    case = Case(f"{name} ({verb}, {len(files)} files)")
    remote = env.remote("s3", work, "-".join(work.parts[-2:]))
    assert isinstance(remote, S3Remote)
    direct = via(remote, remote.server.endpoint, client, fault)
    src, dest = work / "src", work / "dest"
    with refused_endpoint() as refused:
        endpoint = refused if fault == "refused" else "http://nonexistent.invalid:9000"
        bad = via(remote, endpoint, client, fault)
        want = source(tool, src, bad if verb == "push" else direct, files, env)
        if verb == "pull":
            must(run(tool("push"), src, env.env), f"{tool.name} push (direct)")
            clone(tool, src, dest, bad, env)
        ws = src if verb == "push" else dest
        started = time.monotonic()
        done = run(tool(verb), ws, env.env, timeout=BOUND)
        took = time.monotonic() - started
    if done.code == 0:
        case.fail(f"{verb} reported success with the remote unreachable")
    check_ended(case, done, verb, may_fail=True)
    if verb == "push":
        check_remote(case, remote, want, ok=done.code == 0)
    else:
        check_pulled(case, dest, files, ok=done.code == 0)
    write_config(ws, direct)
    again = run(tool(verb), ws, env.env)
    if again.code != 0:
        case.fail(f"direct {verb} afterwards failed: {again.last()}")
    if verb == "push":
        check_remote(case, remote, want, ok=again.code == 0)
    else:
        check_pulled(case, dest, files, ok=again.code == 0)
    case.name += f" [failed in {took:.1f} s]"
    return case


def net_scenario(label: str, fault: str, client: str, tool_name: str) -> ScenarioFn:
    one = proxied_case if fault in PROXIED else unreachable_case

    def scenario(rng: random.Random, cases: int, workdir: Path, env: Env) -> Row:
        tool = env.tool(tool_name)
        row = Row(label, tool.name)
        for n in range(cases):
            work = workdir / f"{tool.name}-net-{fault}-{client}" / f"{n}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            case = one(f"case {n}", tool, fault, client, rng, work, env)
            if case.ok:
                shutil.rmtree(work, ignore_errors=True)
            else:
                case.name += f" [kept in {work}]"
            row.add(case)
        return row

    return scenario


def _register() -> None:
    for fault, what in FAULTS.items():
        for client in CLIENTS:
            label = f"network: {what} ({client})"
            tools = ("freight", "dvc") if client == "s3fs" else ("freight",)  # dvc: s3fs
            for tool in tools:
                fn = net_scenario(label, fault, client, tool)
                register(f"net-{fault}-{client}/{tool}", Scenario(label, tool, fn, True, 0.3))


_register()
