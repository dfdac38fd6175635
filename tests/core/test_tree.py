from __future__ import annotations

import json
from pathlib import Path

import pytest
from freight.errors import MetafileError
from freight.tree import Tree, TreeEntry, digest, oid_of, parse
from hypothesis import given, settings
from hypothesis import strategies as st

FIXTURE_DIR = "dvc3/cache-objects/files/md5/87/14fefa0222e8235e08ac325e60105d.dir"


def test_serialisation_is_byte_identical_to_dvc(fixtures: Path) -> None:
    data = (fixtures / FIXTURE_DIR).read_bytes()
    tree = parse(data, "fixture")
    assert tree.serialize() == data
    assert tree.oid() == "8714fefa0222e8235e08ac325e60105d.dir"


def test_empty_tree() -> None:
    assert Tree.build([]).serialize() == b"[]"
    assert Tree.build([]).oid() == "d751713988987e9331980363e24189ce.dir"


def test_sorting_is_by_whole_relpath_string() -> None:
    names = ["a/b", "a.txt", "_x", "A", "a-b/c", "a b"]
    tree = Tree.build(TreeEntry(n, "d41d8cd98f00b204e9800998ecf8427e") for n in names)
    assert [e.relpath for e in tree.entries] == ["A", "_x", "a b", "a-b/c", "a.txt", "a/b"]


def test_non_ascii_is_escaped_like_json_dumps() -> None:
    tree = Tree.build([TreeEntry("ünï/😀", "0" * 32), TreeEntry("new\nline", "1" * 32)])
    data = tree.serialize()
    assert b"\\u00fcn\\u00ef/\\ud83d\\ude00" in data
    assert b'"new\\nline"' in data
    assert digest(data) == tree.oid()


_NAMES = st.text(st.characters(codec="utf-8"), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_NAMES, st.text(max_size=34), max_size=8))
def test_serialisation_is_json_dumps_for_any_text(hashes: dict[str, str]) -> None:
    """The bytes are written directly, not through the JSON encoder: they must stay
    exactly what `json.dumps(..., sort_keys=True)` gives, quotes, controls, DEL, astral
    characters and all, and `oid_of` (no Tree built) must agree with `Tree.oid`."""
    tree = Tree.build(TreeEntry(r, m) for r, m in hashes.items())
    items = [{"relpath": r, "md5": m} for r, m in sorted(hashes.items())]
    expected = json.dumps(items, sort_keys=True).encode()
    assert tree.serialize() == expected
    assert oid_of(hashes) == tree.oid() == digest(expected)


@pytest.mark.parametrize(
    "relpath",
    ["../evil.txt", "a/../../x", "/tmp/abs", "a//b", "", "./a", "a/."],
)
def test_unsafe_relpaths_are_rejected(relpath: str) -> None:
    data = json.dumps([{"md5": "0" * 32, "relpath": relpath}]).encode()
    with pytest.raises(MetafileError, match=r"x\.dir"):
        parse(data, "x.dir")


@pytest.mark.parametrize(
    "data",
    [
        b"{}",
        b"not json",
        b'[{"relpath": "a"}]',
        b'[{"md5": "0", "relpath": "a"}, {"md5": "1", "relpath": "a"}]',
        b'[{"md5": "0", "relpath": "a"}, {"md5": "1", "relpath": "a/b/c"}]',
    ],
)
def test_corrupt_manifests_are_rejected(data: bytes) -> None:
    with pytest.raises(MetafileError):
        parse(data, "bad.dir")


def test_extra_keys_in_entries_are_accepted() -> None:
    data = b'[{"md5": "' + b"0" * 32 + b'", "relpath": "a", "size": 3, "isexec": true}]'
    assert parse(data, "x").entries == (TreeEntry("a", "0" * 32),)


_PARTS = st.sampled_from(["a", "b", ".", "..", "", "x\n", "\n", "c.txt", "\x00", " "])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(_PARTS, min_size=1, max_size=4).map("/".join), max_size=6))
def test_the_fast_check_agrees_with_the_exact_one(relpaths: list[str]) -> None:
    """`parse` checks all relpaths on one joined string; the entry-by-entry check is the
    reference: both accept the same manifests (the same tree) and refuse the same."""
    from freight.tree import _parse_slowly

    items = [{"md5": "d41d8cd98f00b204e9800998ecf8427e", "relpath": r} for r in relpaths]
    data = json.dumps(items).encode()
    try:
        expected: Tree | str = _parse_slowly(items, "x")
    except MetafileError as exc:
        expected = str(exc)
    try:
        got: Tree | str = parse(data, "x")
    except MetafileError as exc:
        got = str(exc)
    assert type(got) is type(expected)
    if isinstance(expected, Tree):
        assert got == expected


@pytest.mark.parametrize(
    ("relpaths", "clash"),
    [
        (["a", "a/b"], "a"),
        (["x/a", "x/a/b/c/d"], "x/a"),
        (["a/b/c", "a/b", "z"], "a/b"),
        (["a/b", "b/c", "b/c/d/e", "b"], "b"),
    ],
)
def test_a_path_that_is_both_a_file_and_a_directory_is_refused(
    relpaths: list[str], clash: str
) -> None:
    items = [{"md5": "d41d8cd98f00b204e9800998ecf8427e", "relpath": r} for r in relpaths]
    with pytest.raises(MetafileError, match=f"relpath '{clash}' is both a file and a directory"):
        parse(json.dumps(items).encode(), "x")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["a", "b", "a-b", "c"]), min_size=1, max_size=5)))
def test_ancestors_are_every_proper_parent(paths: list[list[str]]) -> None:
    from freight.tree import _ancestors

    relpaths = ["/".join(p) for p in paths]
    expected = {"/".join(p[:i]) for p in paths for i in range(1, len(p))}
    assert _ancestors(relpaths) == expected


def _case_clashes_by_pairs(relpaths: list[str]) -> list[tuple[str, str]]:
    """Every pair of names (paths and their directories) equal after NFC and casefold:
    the reference `case_collisions` must agree with on which names clash."""
    import unicodedata

    names = {"/".join(p.split("/")[:i]) for p in relpaths for i in range(1, p.count("/") + 2)}
    key = {n: unicodedata.normalize("NFC", n).casefold() for n in names}
    return sorted((a, b) for a in names for b in names if a < b and key[a] == key[b])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from(["a", "A", "b", "\u00e9", "e\u0301", "\u00c9", "SS", "\u00df"]),
            min_size=1,
            max_size=3,
        ),
        max_size=8,
    )
)
def test_case_collisions_find_every_clashing_name(paths: list[list[str]]) -> None:
    from freight.tree import case_collisions

    relpaths = ["d/" + "/".join(p) for p in paths]
    found = case_collisions(relpaths)
    clashing = {n for pair in found for n in pair}
    expected = _case_clashes_by_pairs(relpaths)
    assert clashing == {n for pair in expected for n in pair}
    assert set(found) <= set(expected) and found == sorted(found)
