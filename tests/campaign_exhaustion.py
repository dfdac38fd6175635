"""Reliability campaign rows for resource exhaustion (issue 13): a full disk, few file
descriptors, read-only places, for freight and, on the same setup, the real DVC.

Importing this module registers the rows in `campaign_scenarios.SCENARIOS`:

- `disk-full-<verb>` (add, fetch, checkout, pull): the place the verb fills is a tmpfs
  mounted for the case, sized to a seeded share of what the verb needs: the cache (add,
  fetch), the workspace with its `.dvc` directory (checkout: the cache is elsewhere; pull:
  the cache inside);
- `nofile-<verb>` (add, push, fetch, checkout, pull): the command runs with RLIMIT_NOFILE
  lowered to a seeded 6..40 (`NOFILE_LIMITS`);
- `readonly-cache-<verb>` (add, fetch, checkout) and `readonly-remote-push`: that directory
  is a read-only bind mount of itself (root ignores file modes, a read-only mount it does
  not).

Mounting needs root; without it those rows report that they could not run. Every mount is
removed when its case ends, whatever happened.

A case passes when the faulted command either completed correctly or failed cleanly (a
non-zero exit and one error line naming a path, no traceback), and in both cases nothing
under a final name is partial (every object hashes to its name, every workspace file is
whole), no temporary is left, the place holding the data's only copy is intact, and a
rerun with the limit lifted (the tmpfs grown, the mount removed, no rlimit) completes. Bytes
are counted lost as in `campaign_scenarios`: wrong or missing after the tool said it
succeeded, or gone from the only copy.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import re
import resource
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import yaml
from campaign_scenarios import (
    OUTPUTS,
    VERBS,
    Case,
    Done,
    Env,
    LocalRemote,
    Remote,
    Row,
    Scenario,
    ScenarioFn,
    Templates,
    Tool,
    Verb,
    check_contents,
    check_dvcfiles,
    check_objects,
    check_status_clean,
    object_key,
    prepare,
    read_objects,
    read_outputs,
    register,
    run,
    templates,
    temporaries,
    write_config,
)

TIMEOUT = 180.0  # seconds for one faulted command (a tool may stall on a fault)
PAGE = 4096  # tmpfs allocates whole pages
FOOTER = "Having any troubles?"  # DVC's support line after an unexpected error
#: RLIMIT_NOFILE values tried, more of them low (a Python process holds 3 at start)
NOFILE_LIMITS = (6, 7, 8, 9, 10, 12, 16, 20, 24, 32, 40)


# -- mounts ----------------------------------------------------------------------------------


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=60)


def _unmount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True, timeout=60).returncode:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=60)


def _used_kib(path: Path) -> int:
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize // 1024


def _pages_kib(blobs: Mapping[str, bytes]) -> int:
    return sum(-(-len(b) // PAGE) for b in blobs.values()) * PAGE // 1024


@dataclass
class Mounts:
    """The case's mounts, newest last; `close` removes those still there."""

    paths: list[Path] = field(default_factory=list)

    def tmpfs(self, path: Path, kib: int) -> None:
        path.mkdir(parents=True, exist_ok=True)
        _mount("-t", "tmpfs", "-o", f"size={kib}k,mode=0755", "tmpfs", str(path))
        self.paths.append(path)

    def read_only(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        _mount("--bind", str(path), str(path))
        self.paths.append(path)
        _mount("-o", "remount,bind,ro", str(path))

    def drop(self, path: Path) -> None:
        _unmount(path)
        self.paths.remove(path)

    def close(self) -> None:
        while self.paths:
            _unmount(self.paths.pop())


def _resize(path: Path, kib: int) -> None:
    _mount("-o", f"remount,size={kib}k", str(path))


# -- a case ----------------------------------------------------------------------------------


@dataclass
class Dirs:
    """A case's places; unlike `campaign_scenarios.CaseDirs`, the cache may be elsewhere."""

    root: Path
    ws: Path
    cache: Path
    remote: LocalRemote

    def place(self, name: str) -> dict[str, bytes]:
        if name == "cache":
            return read_objects(self.cache)
        if name == "remote":
            return self.remote.objects()
        return read_outputs(self.ws)


@dataclass(frozen=True)
class Fault:
    """What runs out: `kind` "disk" | "nofile" | "readonly", during `verb`; `place` is what
    is read-only ("cache" | "remote")."""

    kind: str
    verb: str
    place: str = ""


@dataclass
class Arranged:
    dirs: Dirs
    detail: str
    nofile: int | None = None
    lift: Callable[[], None] = lambda: None  # free the space, remove the read-only mount


def _copy_onto_tmpfs(src: Path, dest: Path, mounts: Mounts, share: float, need: int) -> str:
    """Mount a tmpfs at `dest` holding a copy of `src`'s tree, with room for `share` of
    `need` KiB more; returns a description."""
    mounts.tmpfs(dest, _used_kib_estimate(src) + need * 3 + (64 << 10))
    if src.exists():
        shutil.copytree(src, dest, symlinks=True, dirs_exist_ok=True)
    used = _used_kib(dest)
    size = used + max(PAGE // 1024, round(need * share))
    _resize(dest, size)
    return f"tmpfs of {size} KiB: {share:.0%} of the {need} KiB it needs"


def _used_kib_estimate(root: Path) -> int:
    total = 0
    for d, _dirs, names in os.walk(root):
        for n in names:
            with_size = os.lstat(os.path.join(d, n)).st_size
            total += -(-with_size // PAGE) * PAGE // 1024
    return total


def arrange(
    fault: Fault, verb: Verb, base: Dirs, t: Templates, rng: random.Random, mounts: Mounts
) -> Arranged:
    """Set the fault up on a prepared case."""
    if fault.kind == "nofile":
        limit = rng.choice(NOFILE_LIMITS)
        return Arranged(base, f"RLIMIT_NOFILE {limit}", nofile=limit)
    if fault.kind == "readonly":
        path = base.cache if fault.place == "cache" else base.remote.path
        mounts.read_only(path)
        return Arranged(base, f"read-only {fault.place}", lift=lambda: mounts.drop(path))
    share = rng.uniform(0.05, 0.9)
    new = {k: v for k, v in t.v2.objects.items() if k not in t.v1.objects}
    if verb.name in ("add", "fetch"):  # the cache on the tmpfs
        held = base.root / "cache-before"
        if base.cache.exists():
            base.cache.rename(held)
        need = _pages_kib(new if verb.name == "add" else t.v2.objects)
        detail = _copy_onto_tmpfs(held, base.cache, mounts, share, need)
        shutil.rmtree(held, ignore_errors=True)
        dirs = base
        mount = base.cache
    else:  # the workspace, .dvc included, on the tmpfs
        mount = base.root / "small"
        ws = mount / "ws"
        need = _pages_kib(t.v2.files)
        if verb.name == "checkout":  # from the cache where it is, outside
            cache = base.cache
            config = f"[cache]\n    dir = {cache}\n"
        else:  # pull: into the cache inside, then the workspace
            cache = ws / ".dvc" / "cache"
            config = ""
            need += _pages_kib(t.v2.objects)
        mounts.tmpfs(mount, _used_kib_estimate(base.ws) + need * 3 + (64 << 10))
        shutil.copytree(base.ws, ws, symlinks=True, ignore=_skip_cache(base.ws))
        write_config(ws, cast(Remote, base.remote), config)  # a Remote, read-only fields
        used = _used_kib(mount)
        size = used + max(4, round(need * share))
        _resize(mount, size)
        detail = f"tmpfs of {size} KiB: {share:.0%} of the {need} KiB it needs"
        dirs = Dirs(base.root, ws, cache, base.remote)
    final = _used_kib(mount) + need * 3 + (64 << 10)
    return Arranged(dirs, detail, lift=lambda: _resize(mount, final))


def _skip_cache(ws: Path) -> Callable[[str, list[str]], list[str]]:
    def ignore(directory: str, names: list[str]) -> list[str]:
        return ["cache"] if Path(directory) == ws / ".dvc" else []

    return ignore


def _without_shell(cmd: list[str]) -> list[str]:
    """`cmd`, run by the Python beside it when it is a script that starts through /bin/sh
    (uv's relocatable entry points do): with few descriptors the shell itself fails ("3:
    Invalid argument") before the tool runs, which would measure the shell, not the tool."""
    script = Path(cmd[0])
    python = script.parent / "python"
    with contextlib.suppress(OSError):
        if script.read_bytes()[:9] == b"#!/bin/sh" and python.exists():
            return [str(python), *cmd]
    return cmd


def run_limited(cmd: list[str], cwd: Path, env: Mapping[str, str], nofile: int | None) -> Done:
    """`run`, with RLIMIT_NOFILE lowered in the child when `nofile` is set."""
    if nofile is None:
        return run(cmd, cwd, env, TIMEOUT)
    cmd = _without_shell(cmd)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    try:
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            preexec_fn=limit,
        )
    except subprocess.TimeoutExpired:
        return Done(-1, "", f"timed out after {TIMEOUT:.0f} s")
    return Done(proc.returncode, proc.stdout, proc.stderr)


# -- checks ----------------------------------------------------------------------------------


def check_clean_error(case: Case, done: Done) -> None:
    """A failed run must say why in one line naming a path, without a traceback."""
    if done.code == -1:
        case.fail(f"the run hung: {done.err}")
        return
    if "Traceback (most recent call last)" in done.err:
        last = done.err.strip().splitlines()[-1][:160]
        case.fail(f"printed a traceback ({last})")
        return
    lines = [line for line in done.err.splitlines() if line.strip() and not line.startswith(FOOTER)]
    if len(lines) != 1:
        first = lines[0][:120] if lines else "nothing"
        case.fail(f"{len(lines)} lines of error output (first: {first})")
    elif not lines[0].startswith("ERROR"):
        case.fail(f"the error line is not an error: {lines[0][:160]}")
    elif "/" not in lines[0]:
        case.fail(f"the error names no file: {lines[0][:160]}")
    elif re.search(r"/\.[^/' ]*\.tmp'", lines[0]):
        case.fail(f"the error names a temporary, not a place: {lines[0][:160]}")


def _is_temporary(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return name.startswith(".") and name.endswith(".tmp")


def check_temporaries(case: Case, d: Dirs, when: str) -> None:
    """No temporary left in the workspace, the cache or the remote (the tool's own
    `.dvc/tmp` is its business)."""
    found = {root / rel for root in (d.ws, d.cache, d.remote.path) for rel in temporaries(root)}
    private = d.ws / ".dvc" / "tmp"
    left = sorted(os.path.relpath(p, d.root) for p in found if not p.is_relative_to(private))
    if left:
        case.fail(f"{len(left)} temporaries left {when} (e.g. {left[0]})")


def check_workspace_whole(case: Case, d: Dirs, t: Templates, *, lost: bool) -> None:
    """Every file in the outputs is whole: the old or the new version of that path."""
    bad = [
        k
        for k, v in read_outputs(d.ws).items()
        if not _is_temporary(k) and v not in (t.v1.files.get(k), t.v2.files.get(k))
    ]
    if bad:
        case.fail(f"workspace: {len(bad)} files neither old nor new (e.g. {bad[0]})")
        for key in bad:
            if lost and key in t.v2.files:
                case.lose("workspace", key, len(t.v2.files[key]))


def check_recorded_objects(case: Case, d: Dirs, t: Templates) -> None:
    """A `.dvc` file the run updated must name objects that are all in the cache."""
    cached = set(read_objects(d.cache))
    for out in OUTPUTS:
        path = d.ws / f"{out}.dvc"
        data = path.read_bytes() if path.exists() else None
        version = t.version(f"{out}.dvc", data)
        if version is None or data is None:
            continue
        (entry,) = yaml.safe_load(data)["outs"]
        keys = {object_key(entry["md5"])}
        keys |= {
            object_key(hashlib.md5(v).hexdigest())
            for k, v in version.files.items()
            if k == out or k.startswith(out + "/")
        }
        missing = sorted(keys - cached)
        if missing:
            case.fail(f"{out}.dvc names {len(missing)} objects the cache lacks ({missing[0]})")


def exhaustion_case(
    name: str, fault: Fault, tool: Tool, t: Templates, rng: random.Random, work: Path, env: Env
) -> Case:
    verb = VERBS[fault.verb]
    prepared = prepare(verb, t, work, rng, env, "local")
    assert isinstance(prepared.remote, LocalRemote)
    base = Dirs(prepared.root, prepared.ws, prepared.cache, prepared.remote)
    case = Case(name)
    mounts = Mounts()
    try:
        setup = arrange(fault, verb, base, t, rng, mounts)
        d = setup.dirs
        case.name += f" ({setup.detail})"
        done = run_limited(tool(*verb.args), d.ws, env.env, setup.nofile)
        expects = verb.expect(t)
        if done.code != 0:
            check_clean_error(case, done)
        for place in ("cache", "remote"):
            check_objects(case, place, d.place(place))
        check_temporaries(case, d, "by the faulted run")
        check_workspace_whole(case, d, t, lost=done.code == 0 or verb.name in ("add", "push"))
        check_dvcfiles(case, d.ws, [t.v1, t.v2] if verb.writes_dvcfiles else [t.v2])
        if verb.writes_dvcfiles:
            check_recorded_objects(case, d, t)
        for e in expects:
            if e.source or done.code == 0:
                check_contents(case, e.place, d.place(e.place), e.want, lost=True)
        ok = done.code == 0
        if not ok:
            setup.lift()
            again = run(tool(*verb.args), d.ws, env.env, TIMEOUT)
            ok = again.code == 0
            if not ok:
                case.fail(f"rerun with the limit lifted failed ({again.code}): {again.last()}")
            for place in ("cache", "remote"):
                check_objects(case, place, d.place(place))
            check_temporaries(case, d, "by the rerun")
            check_dvcfiles(case, d.ws, [t.v2])
            for e in expects:
                check_contents(case, e.place, d.place(e.place), e.want, lost=ok or e.source)
        if ok and verb.name in ("checkout", "pull"):
            check_status_clean(case, tool, d.ws, env)
    except (OSError, subprocess.SubprocessError) as exc:
        case.fail(f"could not set the case up: {type(exc).__name__}: {str(exc)[:200]}")
    finally:
        mounts.close()
    if case.ok:
        shutil.rmtree(work, ignore_errors=True)
    else:
        case.name += f" [kept in {work}; tmpfs contents are gone]"
    return case


def exhaustion_scenario(label: str, fault: Fault, tool_name: str) -> ScenarioFn:
    def scenario(rng: random.Random, cases: int, workdir: Path, env: Env) -> Row:
        tool = env.tool(tool_name)
        if fault.kind != "nofile" and os.geteuid() != 0:
            raise RuntimeError("mounting a tmpfs or a read-only bind mount needs root")
        row = Row(label, tool.name)
        t = templates(tool, "local", workdir, env)
        key = f"{fault.kind}-{fault.place or 'x'}-{fault.verb}"
        for n in range(cases):
            work = workdir / f"{tool.name}-exhaustion" / key / f"{n}"
            row.add(exhaustion_case(f"case {n}", fault, tool, t, rng, work, env))
        return row

    return scenario


# -- the rows --------------------------------------------------------------------------------


def _register_all() -> None:
    rows: list[tuple[str, str, Fault, float]] = []
    for verb in ("add", "fetch", "checkout", "pull"):
        rows.append(
            (f"disk-full-{verb}", f"full disk during {verb} (tmpfs)", Fault("disk", verb), 0.3)
        )
    for verb in ("add", "push", "fetch", "checkout", "pull"):
        label = f"open-file limit during {verb} (RLIMIT_NOFILE 6..40)"
        rows.append((f"nofile-{verb}", label, Fault("nofile", verb), 0.3))
    for verb in ("add", "fetch", "checkout"):
        label = f"read-only cache during {verb}"
        rows.append((f"readonly-cache-{verb}", label, Fault("readonly", verb, "cache"), 0.2))
    push = Fault("readonly", "push", "remote")
    rows.append(("readonly-remote-push", "read-only remote during push", push, 0.2))
    for key, label, fault, share in rows:
        for tool in ("freight", "dvc"):
            fn = exhaustion_scenario(label, fault, tool)
            register(f"{key}/{tool}", Scenario(label, tool, fn, share=share))


_register_all()
