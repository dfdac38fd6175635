from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from freight.errors import MetafileError
from freight.metafiles import dump, entry_for, read_dvcfile, write_dvcfile
from freight.model import Output
from freight.pipeline import read_lock


def _out(path: str, oid: str, size: int, **kw: object) -> Output:
    return Output(path=path, metafile=path + ".dvc", oid=oid, size=size, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "out"),
    [
        ("foo.txt.dvc", _out("foo.txt", "b1946ac92492d2347c6235b4d2611184", 6)),
        ("data.dvc", _out("data", "8714fefa0222e8235e08ac325e60105d.dir", 19, nfiles=7)),
        ("run.sh.dvc", _out("run.sh", "46bbbe8aa98cc0714426e948474eaaf4", 18, isexec=True)),
        ("empty_dir.dvc", _out("empty_dir", "d751713988987e9331980363e24189ce.dir", 0, nfiles=0)),
    ],
)
def test_new_files_are_byte_identical_to_dvc(fixtures: Path, name: str, out: Output) -> None:
    expected = (fixtures / "dvc3" / "repo" / name).read_bytes()
    assert dump({"outs": [entry_for(out, out.path)]}) == expected


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("sp ace ", "- path: 'sp ace '"),
        ("0123", "- path: '0123'"),
        ("#h", "- path: '#h'"),
        ("a: b.txt", "- path: 'a: b.txt'"),
        ("'q", '- path: "\'q"'),
        ("yes", "- path: yes"),
        ("-dash", "- path: -dash"),
        ("ünï.txt", "- path: ünï.txt"),
    ],
)
def test_yaml_quoting_matches_dvc(path: str, line: str) -> None:
    assert line in dump({"outs": [{"path": path}]}).decode()


def test_long_paths_fold_like_dvc() -> None:
    text = dump({"outs": [{"path": "x" * 90}]}).decode()
    assert text == "outs:\n- path: \n    " + "x" * 90 + "\n"


def test_read_yaml_12_keeps_yes_a_string(tmp_path: Path) -> None:
    (tmp_path / "yes.dvc").write_text(
        "outs:\n- md5: d41d8cd98f00b204e9800998ecf8427e\n  size: 0\n  hash: md5\n  path: yes\n"
    )
    (out,) = read_dvcfile(tmp_path, "yes.dvc")
    assert out.path == "yes" and not out.legacy and out.size == 0


def test_update_keeps_order_comments_and_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "one.dvc"
    path.write_text(
        "# top comment\nouts:\n- path: one  # inline\n  remote: r\n  desc: hello\n"
        "  md5: b1946ac92492d2347c6235b4d2611184\n  size: 6\n  meta: {owner: me}\n"
    )
    new = _out("one", "60b725f10c9c85c70d97880dfe8191b3", 2)
    write_dvcfile(path, entry_for(new, "one"))
    assert path.read_text() == (
        "# top comment\nouts:\n- path: one  # inline\n  remote: r\n  desc: hello\n"
        "  md5: 60b725f10c9c85c70d97880dfe8191b3\n  size: 2\n  meta: {owner: me}\n"
        "  hash: md5\n"
    )


def test_legacy_entry_updated_appends_hash_after_path(fixtures: Path, tmp_path: Path) -> None:
    path = tmp_path / "ld.dvc"
    path.write_bytes((fixtures / "dvc2" / "repo" / "ld.dvc").read_bytes())
    (old,) = read_dvcfile(tmp_path, "ld.dvc")
    assert old.legacy
    expected = (fixtures / "dvc2-updated-by-dvc3" / "ld.dvc").read_text()
    new_oid = expected.split("md5: ")[1].split("\n")[0]
    size = int(expected.split("size: ")[1].split("\n")[0])
    write_dvcfile(path, entry_for(_out("ld", new_oid, size, nfiles=2), "ld"))
    assert path.read_text() == expected


def test_lock_outputs_and_flags(fixtures: Path, tmp_path: Path) -> None:
    repo = fixtures / "dvc3" / "repo"
    outs = read_lock(repo, "dvc.lock")
    assert [(o.path, o.stage) for o in outs] == [
        ("out.txt", "copy"),
        ("gen_x.txt", "gen@x"),
        ("gen_y.txt", "gen@y"),
    ]
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  train:\n    cmd: x\n    wdir: sub\n    outs:\n    - model.bin:\n"
        "        push: false\n    metrics:\n    - m.json:\n        cache: false\n"
    )
    (tmp_path / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  train:\n    cmd: x\n    outs:\n    - path: model.bin\n"
        "      hash: md5\n      md5: b1946ac92492d2347c6235b4d2611184\n      size: 6\n"
        "    - path: m.json\n      md5: b1946ac92492d2347c6235b4d2611184\n      size: 6\n"
    )
    model, metric = read_lock(tmp_path, "dvc.lock")
    assert (model.path, model.push, model.cache, model.legacy) == (
        "sub/model.bin",
        False,
        True,
        False,
    )
    assert (metric.path, metric.cache, metric.legacy) == ("sub/m.json", False, True)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("outs:\n- path: [unclosed\n", "malformed YAML: line"),
        ("- just a list\n", "not a mapping"),
        ("outs:\n- md5: abc\n", "without a path"),
        ("outs:\n- path: ../../etc/passwd\n", "outside the repository"),
        ("outs:\n- path: a\n  size: big\n", "size of 'a' is not an integer"),
    ],
)
def test_bad_metafiles_name_the_file_and_problem(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "bad.dvc").write_text(text)
    with pytest.raises(MetafileError, match=problem) as info:
        read_dvcfile(tmp_path, "bad.dvc")
    assert str(info.value).startswith("bad.dvc: ")
    assert "\n" not in str(info.value)


# --- reading YAML fast: blockyaml must read exactly what libyaml reads, or step aside ---

TRICKY = [
    "",
    "\n\n",
    "outs:\n- md5: abc\n  size: 6\n  hash: md5\n  path: foo.txt\n",
    "schema: '2.0'\nstages:\n  a@b:\n    cmd: x\n",
    "a: yes\nb: no\nc: on\nd: true\ne: False\nf: ~\ng: null\nh:\n",
    "a: 0123\nb: 0o17\nc: 0x1F\nd: -5\ne: +5\nf: 1.5\ng: .5\nh: 1e5\ni: -.inf\nj: .nan\n",
    "a: 1_000\nb: 1.\nc: 12e4x\nd: 0b11\ne: 1:30\nf: 2026-01-01\n",
    "path: 'sp ace '\nq: \"'q\"\nr: 'it''s'\ns: -dash\nt: a: b\n",
    "path: s3://bucket/key\nx: dvc.yaml:train\ny: a[1].txt\nz: {a: 1}\n",
    "outs:\n- path: \n    " + "x" * 90 + "\n",
    "cmd: python train.py --a 1\n  --b 2\n  --c\nnext: 1\n",
    "cmd: a\n\n  b\n",
    "a:\n- 1\n- - 2\n",
    "a:\n  - x\n  -\n    y: 1\n  - z: 2\n    w: 3\nb: 4\n",
    "a:\n- x\nb:\n  c:\n  d: 1\n",
    "a: 1\n  b: 2\n",
    "a: 1\n b: 2\n",
    "- a\n- b\n",
    "just text\n",
    "a: &x 1\nb: *x\n",
    "a: !!str 1\n",
    "a: |\n  text\n",
    "a: 1 # comment\n",
    "a: 1\r\nb: 2\r\n",
    "a:\tb\n",
    "---\na: 1\n",
    "a: 1\n...\n",
    "'quoted key': 1\n\"dq\": 2\n'a''b': 3\n",
    "1: one\ntrue: yes\nnull: x\n",
    "a: 1\na: 2\n",
    "k: 'unterminated\n",
    "k: 'multi\n  line'\n",
    "- x\n  - y\n",
    "a:\n    b: 1\n  c: 2\n",
    "<<: 1\n= : 2\n",
    'a: "x\\ty"\n',
    "? a\n: b\n",
    "a: [1, 2]\nb: []\nc: {}\n",
    "ünï: ç\n😀: x\n",
    "a:  spaced   value  \n",
    "a: -\n",
    "a: - b\n",
    "-\n  a: 1\n",
    "- \n- x\n",
]


def _libyaml(text: str) -> object:
    import yaml
    from freight.libyaml import Loader

    return yaml.load(text, Loader=Loader)


def _agrees(text: str) -> bool:
    """True if blockyaml read `text`; asserts it read what libyaml reads."""
    from freight import blockyaml

    try:
        ours = blockyaml.parse(text)
    except blockyaml.Unsupported:
        return False
    theirs = _libyaml(text)  # raises where the text is not YAML: blockyaml must not accept it
    assert repr(ours) == repr(theirs), text
    return True


@pytest.mark.parametrize("text", TRICKY)
def test_blockyaml_reads_what_libyaml_reads_or_steps_aside(text: str) -> None:
    try:
        _libyaml(text)
    except Exception:  # not YAML: blockyaml must step aside so libyaml reports it
        from freight import blockyaml

        with pytest.raises(blockyaml.Unsupported):
            blockyaml.parse(text)
        return
    _agrees(text)


def test_blockyaml_reads_every_file_dvc_wrote(fixtures: Path) -> None:
    """The fast path serves DVC's own files (else the catalog would be slow)."""
    spec = fixtures.parent.parent.parent.parent / "shared" / "spec" / "fixtures"
    names = [*fixtures.rglob("*.dvc"), *fixtures.rglob("dvc.lock"), *fixtures.rglob("dvc.yaml")]
    names += [*spec.rglob("*.dvc"), *spec.rglob("dvc.lock"), *spec.rglob("dvc.yaml")]
    assert names
    for path in names:
        assert _agrees(path.read_text(encoding="utf-8")), path


def test_blockyaml_agrees_on_random_documents() -> None:
    """Seeded random documents in and around DVC's subset of YAML."""
    import random

    rng = random.Random(20261201)
    scalars = [
        "md5", "0123", "1.5", "-1", "true", "yes", "~", "", "'q'", "'a''b'", '"dq"', "-x",
        "a b", "s3://b/k", "a:b", "1e3", "0x1f", ".inf", "x.", "[1]", "{}", "@a", "`a",
        "a: b", "- a", "é", "'open", "'2.0'", "null", "b1946ac92492d2347c6235b4d2611184",
    ]  # fmt: skip
    keys = ["path", "md5", "1", "a@b", "'k k'", "true", "x-y", "-k", "size"]

    def node(depth: int, indent: int) -> list[str]:
        kind = rng.random()
        pad = " " * indent
        if depth > 2 or kind < 0.3:
            return [rng.choice(scalars)]
        lines: list[str] = []
        if kind < 0.6:
            for _ in range(rng.randint(1, 3)):
                child = node(depth + 1, indent + 2)
                if len(child) == 1 and rng.random() < 0.8:
                    lines.append(f"{pad}- {child[0]}".rstrip())
                else:
                    first, *rest = child if len(child) > 1 else ["", *child]
                    lines.append(f"{pad}-" + (f" {first.strip()}" if first.strip() else ""))
                    lines.extend(rest)
            return ["", *lines]
        for _ in range(rng.randint(1, 3)):
            child = node(depth + 1, indent + rng.choice([0, 2, 2, 4]))
            key = rng.choice(keys)
            if len(child) == 1:
                lines.append(f"{pad}{key}: {child[0]}".rstrip())
            else:
                lines.append(f"{pad}{key}:")
                lines.extend(child[1:])
        return ["", *lines]

    read = 0
    for _ in range(3000):
        doc = node(0, 0)
        text = "\n".join(doc[1:] if len(doc) > 1 else [f"k: {doc[0]}"]) + "\n"
        try:
            _libyaml(text)
        except Exception:
            from freight import blockyaml

            with pytest.raises(blockyaml.Unsupported):
                blockyaml.parse(text)
            continue
        read += _agrees(text)
    assert read > 300  # the generator does reach the fast path


# --- pipelines: outputs from dvc.yaml, hashes from dvc.lock (spec §3.4) ---

MD5 = "b1946ac92492d2347c6235b4d2611184"


def _lock(*stages: tuple[str, list[str]], legacy: bool = False) -> str:
    hashed = "" if legacy else "      hash: md5\n"
    text = "schema: '2.0'\nstages:\n"
    for name, outs in stages:
        text += f"  {name}:\n    cmd: x\n    outs:\n"
        text += "".join(f"    - path: {o}\n{hashed}      md5: {MD5}\n      size: 6\n" for o in outs)
    return text


def _pipeline(
    root: Path, dvc_yaml: str, lock: str | None = None, files: dict[str, str] | None = None
) -> list[Output]:
    from freight.pipeline import read_pipeline

    (root / "dvc.yaml").write_text(dvc_yaml)
    if lock is not None:
        (root / "dvc.lock").write_text(lock)
    for name, text in (files or {}).items():
        (root / name).write_text(text)
    return list(read_pipeline(root, "dvc.yaml").outputs)


def test_foreach_names_like_dvc(tmp_path: Path) -> None:
    outs = _pipeline(
        tmp_path,
        "stages:\n"
        "  scal:\n    foreach: [a, 1, true]\n    do:\n      cmd: x\n"
        "      outs:\n      - s_${item}\n"
        "  maps:\n    foreach:\n    - {n: p}\n    - {n: q}\n    do:\n      cmd: x\n"
        "      outs:\n      - m_${item.n}\n"
        "  dict:\n    foreach:\n      k1: {v: 1}\n      k2: {v: 2}\n    do:\n      cmd: x\n"
        "      outs:\n      - d_${key}_${item.v}\n"
        "  mat:\n    matrix:\n      x: [1, 2]\n      y: [{z: 1}, b]\n    cmd: x\n"
        "    outs:\n    - x_${item.x}_${key}\n",
    )
    assert [(o.stage, o.path) for o in outs] == [
        ("scal@a", "s_a"),
        ("scal@1", "s_1"),
        ("scal@true", "s_true"),
        ("maps@0", "m_p"),
        ("maps@1", "m_q"),
        ("dict@k1", "d_k1_1"),
        ("dict@k2", "d_k2_2"),
        ("mat@1-y0", "x_1_1-y0"),
        ("mat@1-b", "x_1_1-b"),
        ("mat@2-y0", "x_2_2-y0"),
        ("mat@2-b", "x_2_2-b"),
    ]
    assert all(o.oid is None and not o.legacy for o in outs)  # no lock yet


def test_interpolation_reads_params_and_vars_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    outs = _pipeline(
        tmp_path,
        "vars:\n- conf.json:out\n- {extra: e.txt}\n"
        "stages:\n  s:\n    cmd: x ${opts}\n    wdir: ${where}\n    vars:\n    - local.yaml\n"
        "    outs:\n    - ${name}:\n        cache: ${nocache}\n    - ${out}\n    - ${extra}\n"
        "    - ${list[1]}\n",
        _lock(("s", ["m.json"])),
        {
            "params.yaml": "where: sub\nnocache: false\nlist: [a, b.txt]\nopts: {n: 1, q: 'a b'}\n",
            "conf.json": '{"out": "o.bin", "ignored": 1}',
            "sub/local.yaml": "name: m.json\n",
        },
    )
    assert [(o.path, o.cache, o.oid) for o in outs] == [
        ("sub/m.json", False, MD5),
        ("sub/o.bin", True, None),
        ("sub/e.txt", True, None),
        ("sub/b.txt", True, None),
    ]


@pytest.mark.parametrize(
    ("dvc_yaml", "problem"),
    [
        (
            "stages:\n  s:\n    cmd: x\n    outs:\n    - ${nope}\n",
            "stage 's': cannot resolve '${nope}'",
        ),
        ("stages:\n  s:\n    foreach: ${nope}\n    do: {cmd: x}\n", "cannot resolve"),
        ("stages:\n  s:\n    foreach: 3\n    do: {cmd: x}\n", "cannot iterate over a int"),
        (
            "vars: [missing.yaml]\nstages:\n  s:\n    cmd: x\n    outs:\n    - ${a}\n",
            "does not exist",
        ),
        ("stages:\n  s:\n    cmd: x\n    outs: [../out]\n", "outside the repository"),
        ("stages: [a]\n", "'stages' is not a mapping"),
        ("stages:\n  s:\n    cmd: x\n    outs: out\n", "'outs' is not a list"),
    ],
)
def test_bad_pipelines_name_the_file_and_problem(
    tmp_path: Path, dvc_yaml: str, problem: str
) -> None:
    with pytest.raises(MetafileError, match=re.escape(problem)) as info:
        _pipeline(tmp_path, dvc_yaml)
    assert str(info.value).startswith("dvc.yaml: ")
    assert "\n" not in str(info.value)


def test_lock_entries_dvc_yaml_no_longer_declares_are_ignored(tmp_path: Path) -> None:
    outs = _pipeline(
        tmp_path,
        "stages:\n  kept:\n    cmd: x\n    outs: [a, new]\n",
        _lock(("kept", ["a", "removed"]), ("gone", ["g"])),
    )
    assert [(o.path, o.oid) for o in outs] == [("a", MD5), ("new", None)]


def test_lock_without_dvc_yaml_declares_nothing(tmp_path: Path) -> None:
    from freight.collect import find_outputs
    from freight.pipeline import read_lock

    (tmp_path / "dvc.lock").write_text(_lock(("s", ["a"])))
    assert read_lock(tmp_path, "dvc.lock") == []
    assert find_outputs(tmp_path) == []


def test_dvc1_and_dvc2_locks_load(tmp_path: Path) -> None:
    dvc_yaml = "stages:\n  s:\n    cmd: x\n    outs: [a]\n"
    (out,) = _pipeline(tmp_path, dvc_yaml, f"s:\n  cmd: x\n  outs:\n  - path: a\n    md5: {MD5}\n")
    assert (out.oid, out.legacy, out.size) == (MD5, True, None)
    (out,) = _pipeline(tmp_path, dvc_yaml, _lock(("s", ["a"]), legacy=True))
    assert (out.oid, out.legacy, out.size) == (MD5, True, 6)
    with pytest.raises(MetafileError, match=r"unknown schema '3\.0'"):
        _pipeline(tmp_path, dvc_yaml, "schema: '3.0'\nstages: {}\n")


def test_dvc0_stage_file_loads_with_its_stage(tmp_path: Path) -> None:
    from freight.metafiles import load_dvcfile, load_yaml

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/train.dvc").write_text(
        "md5: fd75c91bb60baf9bf36e4f64f0c1c7e0\ncmd: python train.py\nwdir: ..\nlocked: true\n"
        f"deps:\n- md5: {MD5}\n  path: data.csv\n- path: https://example.com/x\n"
        f"outs:\n- md5: {MD5}\n  path: model.pkl\n  cache: false\n  metric: true\n"
        "  persist: false\n"
    )
    outs, stage = load_dvcfile(load_yaml(tmp_path / "sub/train.dvc", "x"), "sub/train.dvc")
    (out,) = outs
    assert (out.path, out.legacy, out.cache, out.deps) == (
        "model.pkl",
        True,
        False,
        ("data.csv", "https://example.com/x"),
    )
    assert stage is not None
    assert (stage.address, stage.wdir, stage.cmd, stage.frozen, stage.outs) == (
        "sub/train.dvc",
        ".",
        "python train.py",
        True,
        ("model.pkl",),
    )


def test_annotations_come_from_dvc_files_and_dvc_yaml(tmp_path: Path) -> None:
    (tmp_path / "d.dvc").write_text(
        f"outs:\n- md5: {MD5}\n  size: 6\n  hash: md5\n  path: d\n  desc: data\n"
        "  type: dataset\n  labels: [raw, v1]\n  meta: {rows: 3, by: [me]}\n  remote: r2\n"
    )
    (out,) = read_dvcfile(tmp_path, "d.dvc")
    assert (out.desc, out.type, out.labels, out.meta_value, out.remote) == (
        "data",
        "dataset",
        ("raw", "v1"),
        {"rows": 3, "by": ["me"]},
        "r2",
    )
    assert len({out, out}) == 1  # still hashable
    (plot,) = _pipeline(
        tmp_path,
        "stages:\n  s:\n    cmd: x\n    plots:\n    - p.csv:\n        x: step\n"
        "        desc: loss\n        push: false\n",
    )
    assert (plot.desc, plot.push, plot.meta) == ("loss", False, None)


def test_lock_versions_are_recorded_under_wdir(tmp_path: Path) -> None:
    """`record_versions` finds lock entries through the resolved stages (wdir, foreach)."""
    from freight.metafiles import record_versions
    from freight.model import Version

    outs = _pipeline(
        tmp_path,
        "stages:\n  g:\n    foreach: [a]\n    do:\n      cmd: x\n      wdir: w\n"
        "      outs:\n      - o_${item}\n",
        _lock(("g@a", ["o_a"]), ("orphan", ["o_a"])),
    )
    (out,) = outs
    assert out.path == "w/o_a"
    versioned = dataclasses.replace(out, version=Version("r", "v1", "e"))
    record_versions(tmp_path, "dvc.lock", [versioned])
    text = (tmp_path / "dvc.lock").read_text()
    assert text.count("version_id: v1") == 1
    assert text.index("version_id") < text.index("orphan")
