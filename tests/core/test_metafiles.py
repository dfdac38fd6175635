from __future__ import annotations

from pathlib import Path

import pytest
from freight.errors import MetafileError
from freight.metafiles import dump, entry_for, read_dvcfile, read_lock, write_dvcfile
from freight.model import Output


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
