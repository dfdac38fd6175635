"""Pure planning: what to move, in which order, and the list-or-query choice."""

from __future__ import annotations

from freight.inventory import Strategy, choose_strategy
from freight.transfer import Dir, Obj, Wanted, plan_fetch, plan_push

A, B, C = Obj("a" * 32, path="d/a"), Obj("b" * 32, path="d/b"), Obj("c" * 32, path="c")
TREE = Obj("d" * 32 + ".dir", path="d")
DIR = Dir(TREE, (A, B), frozenset({A.key, B.key}))


def keys(*objs: Obj) -> set[str]:
    return {o.key for o in objs}


def test_push_uploads_files_then_the_dir() -> None:
    plan = plan_push(Wanted((C,), (DIR,)), keys(A, B, C, TREE), set())
    assert plan.files == (A, B, C)
    assert [d.tree for d in plan.dirs] == [TREE]
    assert plan.missing == ()


def test_push_skips_what_the_remote_has_and_reports_missing() -> None:
    plan = plan_push(Wanted((C,), (DIR,)), keys(A, TREE), keys(C))
    assert plan.files == (A,)
    assert plan.missing == (B,)
    assert [d.tree for d in plan.dirs] == [TREE]  # held back at run time: B never lands


def test_dir_already_on_remote_is_not_planned() -> None:
    plan = plan_push(Wanted((), (DIR,)), keys(A, B, TREE), keys(A, B, TREE))
    assert plan.files == () and plan.dirs == ()


def test_legacy_objects_use_the_legacy_layout() -> None:
    assert Obj("ab" + "0" * 30, legacy=True).key == "ab/" + "0" * 30
    assert Obj("ab" + "0" * 30).key == "files/md5/ab/" + "0" * 30


def test_fetch_plan() -> None:
    todo, missing = plan_fetch([A, B, C], local=keys(A), remote=keys(B))
    assert todo == [B] and missing == [C]


def test_choose_strategy() -> None:
    assert choose_strategy(10, 1_000_000, can_list=True, jobs=16) is Strategy.QUERY
    assert choose_strategy(100_000, 50_000, can_list=True, jobs=16) is Strategy.LIST
    assert choose_strategy(100_000, 0, can_list=False, jobs=16) is Strategy.QUERY
    assert choose_strategy(0, 0, can_list=True, jobs=16) is Strategy.QUERY


def test_members_are_the_objects_their_constructor_makes() -> None:
    """`members` builds objects through the slots' setters: the same in every field,
    in equality, hash and order as `Obj(...)`, new layout and legacy alike."""
    from freight.transfer import _member

    for oid, legacy in (("ab" * 16, False), ("cd" * 16, True), ("ef" * 16 + ".dir", False)):
        made, built = _member(oid, legacy, "d/x"), Obj(oid, legacy, "d/x")
        fields = ("oid", "legacy", "path", "key")
        assert [getattr(made, f) for f in fields] == [getattr(built, f) for f in fields]
        assert made == built and hash(made) == hash(built) and not made < built
        assert repr(made) == repr(built)
    assert _member("ab" * 16, False, "a") == Obj("ab" * 16, False, "other path")
    assert _member("ab" * 16, True, "a") != Obj("ab" * 16, False, "a")
