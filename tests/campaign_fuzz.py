"""Reliability campaign rows for fuzzed input (issue 13), for freight and the real DVC.

Importing this module registers `fuzz/freight` and `fuzz/dvc` in
`campaign_scenarios.SCENARIOS`. Each case is a batch of seeded generated inputs (20 for
freight, 5 for the slower dvc: `INPUTS`), each written into a fresh copy of one repository
(a pushed directory of 70 files and a file, with a local-folder remote), then run through
the tool's commands as child processes:

- `data.dvc`, `dvc.yaml`, `dvc.lock`, `params.yaml`: random YAML-ish tokens or bytes, then
  `status` and `checkout`; `.dvc/config`: the same, then `status`;
- the cached `.dir` of `data/`: a manifest of unsafe entries or bytes, with `data/`
  removed, then `checkout`;
- a listing: odd entries written into the remote and the cache (non-hex, uppercase, `.dir`
  variants, temporaries' names, `..`, spaces, unicode, undecodable bytes, 1000+ character
  keys; files, folders, symlinks out of the repository, dangling links), some real objects
  or prefix folders damaged (a folder, garbage, a symlink out), then `status -c`, `push`,
  `fetch`, `status -c`, `gc -c -w -f`.

The generators draw from the plain lists of `tests/core/test_fuzz.py` (the suite's
hypothesis strategies are built from the same lists). An input passes when every command
ended cleanly: success, or an error without a traceback ("unexpected error", DVC's support
footer) whose every line is a self-contained `ERROR:`/`WARNING:` line naming the file (the
fuzzed file's name; for a listing, a path, never one of freight's temporaries); and nothing
was written, deleted or chmodded but the fuzzed file, the outputs a checkout restores and
object names in the cache and the remote: every odd entry is still there, as it was, and
so is everything outside the repository. "Bytes lost" counts the odd entries and the files
outside that a command deleted or changed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import shutil
import sys
from pathlib import Path
from types import ModuleType

from campaign_scenarios import (
    Case,
    Done,
    Env,
    Row,
    Scenario,
    ScenarioFn,
    Tool,
    must,
    register,
    run,
)

HERE = Path(__file__).resolve().parent
LABEL = "fuzzed metafiles, config, .dir and listings"
INPUTS = {"freight": 20, "dvc": 5}  # generated inputs per campaign case
TIMEOUT = 120.0
FOOTER = "Having any troubles?"  # DVC's support line after an unexpected error
KINDS = (
    ["data.dvc", "dvc.yaml", "dvc.lock", "params.yaml", ".dvc/config", ".dir"]
    + ["listing"] * 4  # the listing inputs are the most varied
)
NFILES = 70  # enough for status -c and push to list the remote's prefixes


def _inputs() -> ModuleType:
    """`tests/core/test_fuzz.py`, for its lists and helpers (not on the import path)."""
    name = "freight_test_fuzz"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / "core" / "test_fuzz.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


# -- generated inputs --------------------------------------------------------------------------


def _blob(rng: random.Random, fz: ModuleType) -> bytes:
    if rng.random() < 0.5:
        tokens = fz.METAFILE_TOKENS
        text = "".join(rng.choice(tokens) for _ in range(rng.randint(0, 40)))
        return text.encode("utf-8", "surrogatepass")
    return rng.randbytes(rng.randint(0, 200))


def _manifest(rng: random.Random, fz: ModuleType) -> bytes:
    if rng.random() < 0.5:
        return _blob(rng, fz)
    items = [
        {"md5": rng.choice(fz.DIR_MD5S), "relpath": rng.choice(fz.DIR_RELPATHS)}
        for _ in range(rng.randint(0, 4))
    ]
    return json.dumps(items).encode()


def _text(rng: random.Random) -> str:
    """A short name of ASCII and other BMP characters (no `/`, no surrogates)."""
    text = "".join(
        chr(rng.randint(0x20, 0x7E)) if rng.random() < 0.6 else chr(rng.randint(0xA0, 0xD7FF))
        for _ in range(rng.randint(1, 12))
    )
    return text.replace("/", "_")


def _odd_name(rng: random.Random, fz: ModuleType) -> str:
    roll = rng.random()
    if roll < 0.4:
        return str(rng.choice(fz.ODD_NAME_LIST))
    if roll < 0.8:
        size = rng.randint(28, 34)
        return "".join(rng.choice(fz.HEX_ALPHABET) for _ in range(size)) + rng.choice(
            fz.HEX_SUFFIXES
        )
    return _text(rng)


def _odd_prefix(rng: random.Random, fz: ModuleType) -> str:
    if rng.random() < 0.85:
        return str(rng.choice(fz.PREFIX_LIST))
    alphabet = "abcdef0123456789"
    parts = ("".join(rng.choices(alphabet, k=rng.randint(150, 250))) for _ in range(5))
    return "/".join(parts)  # a key of 1000+ characters


# -- one input -------------------------------------------------------------------------------


def _template(workdir: Path, env: Env) -> Path:
    """The repository every input starts from (made once, by freight): `ws/`, `remote/`."""
    key = ("fuzz-template", str(workdir))
    if key not in env.memo:
        root = workdir / "template"
        shutil.rmtree(root, ignore_errors=True)
        ws = root / "ws"
        ws.mkdir(parents=True)
        freight = env.tool("freight")
        must(run(freight("init", "--no-scm"), ws, env.env), "freight init")
        for i in range(NFILES):
            (ws / "data").mkdir(exist_ok=True)
            (ws / "data" / f"f{i:02}").write_bytes(f"{i}\n".encode())
        (ws / "solo.bin").write_bytes(b"solo\n")
        _config(ws)
        must(run(freight("add", "data", "solo.bin"), ws, env.env), "freight add")
        must(run(freight("push"), ws, env.env), "freight push")
        shutil.rmtree(ws / ".dvc" / "tmp", ignore_errors=True)
        env.memo[key] = root
    root: Path = env.memo[key]
    return root


def _config(ws: Path) -> None:
    remote = ws.parent / "remote"
    (ws / ".dvc" / "config").write_text(
        f"[core]\n    no_scm = True\n    remote = r\n['remote \"r\"']\n    url = {remote}\n"
    )


def _object_keys(root: Path) -> list[str]:
    base = root / "files" / "md5"
    return sorted(f"files/md5/{p}/{n}" for p in os.listdir(base) for n in os.listdir(base / p))


class Input:
    """One generated input in its own copy of the template, and what it may change."""

    def __init__(self, kind: str, where: Path, template: Path) -> None:
        self.kind = kind
        self.root = where
        shutil.copytree(template, where, symlinks=True)
        _config(self.ws)
        self.outside = where / "outside"
        (self.outside / "od").mkdir(parents=True)
        (self.outside / "victim").write_bytes(b"not yours\n")
        (self.outside / "od" / ("0" * 30)).write_bytes(b"object-named, outside\n")
        self.odd: dict[str, tuple[str, bytes]] = {}  # case-relative path -> entry
        self.damaged: set[str] = set()
        self.about = kind

    @property
    def ws(self) -> Path:
        return self.root / "ws"

    def area(self, name: str) -> Path:
        return self.root / "remote" if name == "remote" else self.ws / ".dvc" / "cache"

    def rel(self, path: Path) -> str:
        return os.path.relpath(path, self.root)

    def write(self, rng: random.Random, fz: ModuleType) -> None:
        if self.kind == ".dir":
            oid = (self.ws / "data.dvc").read_text().split("md5: ")[1].split("\n")[0]
            path = self.area("cache") / "files" / "md5" / oid[:2] / oid[2:]
            data = _manifest(rng, fz)
            os.chmod(path, 0o644)
            path.write_bytes(data)
            shutil.rmtree(self.ws / "data")
            self.about = f".dir {data[:60]!r}"
        elif self.kind != "listing":
            data = _blob(rng, fz)
            (self.ws / self.kind).write_bytes(data)
            self.about = f"{self.kind} {data[:60]!r}"
        else:
            self._listing(rng, fz)

    def _listing(self, rng: random.Random, fz: ModuleType) -> None:
        keys = _object_keys(self.area("remote"))
        for n, key in enumerate(keys[:6]):  # push has some to upload, fetch some to download
            if not key.endswith(".dir"):
                (self.area("remote" if n % 2 else "cache") / key).unlink()
        real = sorted({k.split("/")[2] for k in keys})
        made = []
        for _ in range(rng.randint(0, 2)):  # damage first: odd entries are never under it
            area, how = rng.choice(["remote", "cache"]), rng.choice(fz.BREAK_LIST)
            key = fz.break_object(self.area(area), rng.choice(keys), how, self.outside)
            self.damaged.add(self.rel(self.area(area) / key))
            made.append(f"{area}:{how}:{key}")
        for _ in range(rng.randint(0, 6)):
            area, kind = rng.choice(["remote", "cache"]), rng.choice(fz.KIND_LIST)
            prefix = _odd_prefix(rng, fz).format(real=rng.choice(real))
            rel = os.path.join(prefix, _odd_name(rng, fz))
            if fz.make_odd(self.area(area), rel, kind, self.outside):
                path = self.area(area) / rel
                self.odd[self.rel(path)] = _entry(path)
                made.append(f"{area}:{kind}:{self.rel(path)[:80]!r}")
        self.about = "listing " + ", ".join(made or ["(nothing odd)"])

    def commands(self) -> list[list[str]]:
        if self.kind == "listing":
            return [
                ["status", "-c"],
                ["push"],
                ["fetch"],
                ["status", "-c"],
                ["gc", "-c", "-w", "-f"],
            ]
        if self.kind == ".dvc/config":
            return [["status"]]
        return [["status"], ["checkout"]]

    def names(self) -> tuple[str, ...]:
        """What an error about this input must name (any one of them)."""
        if self.kind == ".dir":
            return (".dir", "data")
        if self.kind != "listing":
            return (os.path.basename(self.kind),)
        return ("/",)

    def may_change(self, rel: str) -> bool:
        """Whether a command may have changed the case-relative path `rel`."""
        fz = _inputs()
        if rel.startswith(("ws/.dvc/tmp", "ws/.dvc/cache/runs")) or rel in self.damaged:
            return True
        if self.kind == ".dir":
            return rel == "ws/data" or rel.startswith("ws/data/")
        if self.kind != "listing":
            return rel == f"ws/{self.kind}"
        for area in ("remote/", "ws/.dvc/cache/"):
            if rel.startswith(area) and rel not in self.odd:
                return bool(fz.OBJECT_KEY.fullmatch(rel.removeprefix(area)))
        return False


def _entry(path: Path) -> tuple[str, bytes]:
    if path.is_symlink():
        return ("link", os.fsencode(os.readlink(path)))
    if path.is_dir():
        return ("dir", b"")
    return ("file", path.read_bytes())


def _judge(case: Case, inp: Input, args: list[str], done: Done) -> None:
    """Fail `case` unless `done` ended cleanly (see the module's docstring)."""
    what = " ".join(args)
    text = done.out + done.err
    if done.code == -1:
        case.fail(f"{what}: timed out")
    elif "Traceback" in text or "unexpected error" in text or FOOTER in text:
        case.fail(f"{what}: crashed: {done.last()}")
    elif done.code != 0:
        lines = [line for line in done.err.splitlines() if line.strip()]
        errors = "\n".join(line for line in lines if line.startswith("ERROR:"))
        loose, header = [], ""
        for line in lines:  # a warning may list lines below it (DVC's "Missing cache files")
            if line.startswith(("ERROR:", "WARNING:")):
                header = line[:4]
            elif header != "WARN":
                loose.append(line)
        if not errors:
            case.fail(f"{what}: exit {done.code} without an error line")
        elif loose:
            case.fail(f"{what}: a multi-line error ({loose[0][:100]!r})")
        elif not any(name in errors for name in inp.names()) or ".freight-" in errors:
            case.fail(f"{what}: the error names no file: {done.last()}")


def _check(case: Case, inp: Input, before: dict[str, tuple[str, bytes]]) -> None:
    fz = _inputs()
    after = fz.entries(inp.root)
    for rel in sorted({*before, *after}):
        if before.get(rel) == after.get(rel) or inp.may_change(rel):
            continue
        kind, data = before.get(rel, ("", b""))
        gone = "deleted" if rel not in after else "written" if rel not in before else "changed"
        case.fail(f"{rel[:100]!r} {gone}")
        if kind == "file" and (rel in inp.odd or rel.startswith("outside/")):
            case.lose("fuzz", rel, len(data))


def _one(tool: Tool, i: int, rng: random.Random, workdir: Path, env: Env) -> Case:
    fz = _inputs()
    kind = rng.choice(KINDS)
    where = workdir / tool.name / f"{i:04}"
    shutil.rmtree(where, ignore_errors=True)
    inp = Input(kind, where, _template(workdir, env))
    inp.write(rng, fz)
    case = Case(f"input {i} ({inp.about})"[:300])
    before = fz.entries(where)
    for args in inp.commands():
        _judge(case, inp, args, run(tool(*args), inp.ws, env.env, timeout=TIMEOUT))
    _check(case, inp, before)
    if case.ok:
        shutil.rmtree(where, ignore_errors=True)  # a failed input's copy is kept to look at
    return case


def fuzz_scenario(tool_name: str) -> ScenarioFn:
    def scenario(rng: random.Random, cases: int, workdir: Path, env: Env) -> Row:
        tool = env.tool(tool_name)
        row = Row(LABEL, tool_name)
        work = workdir / "fuzz"
        for i in range(cases * INPUTS[tool_name]):
            # input i is the same for both tools (not drawn from the row's own stream)
            row.add(_one(tool, i, random.Random(f"{env.seed}:fuzz:{i}"), work, env))
        return row

    return scenario


for _tool in ("freight", "dvc"):
    register(f"fuzz/{_tool}", Scenario(LABEL, _tool, fuzz_scenario(_tool)))
