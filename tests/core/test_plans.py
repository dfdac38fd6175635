"""The pure parts of transfer plans: the split, the fingerprint, shard dicts and their
strict validation, the staleness check; and TransferResult.merge."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from freight import Failure, PlanError, StalePlanError, TransferPlan, TransferResult
from freight.plans import (
    Basis,
    Item,
    build,
    check_count,
    check_fresh,
    fingerprint,
    parse_shard,
    remote_id,
    split,
)


def loads(groups: list[list[int]], sizes: list[int]) -> list[tuple[int, int]]:
    """(objects, bytes) per shard."""
    return [(len(g), sum(sizes[i] for i in g)) for g in groups]


@pytest.mark.parametrize(
    ("sizes", "n", "expected"),
    [
        ([], 3, [(0, 0), (0, 0), (0, 0)]),
        ([5], 1, [(1, 5)]),
        ([5], 3, [(1, 5), (0, 0), (0, 0)]),
        ([4] * 10, 3, [(4, 16), (3, 12), (3, 12)]),
        ([4096] * 8, 4, [(2, 8192)] * 4),
        ([0, 0, 0, 0], 2, [(2, 0), (2, 0)]),
        # one big object fills a shard; the small ones spread over the others
        ([1000, 1, 1, 1, 1, 1, 1], 3, [(1, 1000), (3, 3), (3, 3)]),
        # bytes and counts both even out when they can
        ([8, 8, 4, 4, 4, 4], 2, [(3, 16), (3, 16)]),
        ([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], 2, [(5, 28), (5, 27)]),
    ],
)
def test_split_balances_bytes_and_count(
    sizes: list[int], n: int, expected: list[tuple[int, int]]
) -> None:
    groups = split(sizes, n)
    assert loads(groups, sizes) == expected
    flat = sorted(i for g in groups for i in g)
    assert flat == list(range(len(sizes)))  # every object once, none twice
    assert split(sizes, n) == groups  # deterministic


def test_split_of_many_uniform_objects_is_even() -> None:
    sizes = [4096] * 20_003
    counts = [len(g) for g in split(sizes, 4)]
    assert max(counts) - min(counts) <= 1 and sum(counts) == 20_003


@pytest.mark.parametrize("n", [0, -1, True, 2.0, "2", None, 100_001])
def test_shard_count_must_be_a_positive_int(n: object) -> None:
    with pytest.raises(PlanError, match="shards must be an integer"):
        check_count(n)


def test_fingerprint_is_order_free_and_sees_every_field() -> None:
    rows = [("data", "a" * 32 + ".dir", False, ""), ("solo.bin", "b" * 32, False, "")]
    base = fingerprint(rows)
    assert fingerprint(reversed(rows)) == base
    assert fingerprint([*rows, rows[0]]) == base
    assert len(base) == 32 and int(base, 16) >= 0
    changed = [
        [("data", "c" * 32 + ".dir", False, ""), rows[1]],  # re-added with new data
        [("data", "a" * 32 + ".dir", True, ""), rows[1]],  # legacy hash
        [("data", "a" * 32 + ".dir", False, "sub"), rows[1]],  # granular target
        [("data2", "a" * 32 + ".dir", False, ""), rows[1]],  # moved
        rows[:1],  # an output removed
        [*rows, ("new.bin", "d" * 32, False, "")],  # one added
        [rows[0], ("solo.bin", None, False, "")],  # hash removed
    ]
    assert len({base, *(fingerprint(c) for c in changed)}) == len(changed) + 1


def test_remote_id_names_a_url_without_showing_it() -> None:
    rid = remote_id("/srv/remote")
    assert rid == remote_id("/srv/remote") and len(rid) == 16
    assert rid != remote_id("/srv/remote2")
    assert "srv" not in rid


BASIS = Basis("push", "r", "s3://bucket/store", remote_id("s3://bucket/store"), ("data",), "f" * 32)
OUTPUTS = [("data", False), ("solo.bin", False), ("old", True)]
ITEMS = [
    Item("a" * 32, 10, 0, "x/a.txt"),
    Item("b" * 32, 20, 0, "b.txt"),
    Item("c" * 32, 4, 1, ""),
    Item("d" * 32, 7, 2, "d.txt"),
    Item("e" * 32, 0, 0, "empty"),
]


def make_plan(n: int = 2) -> TransferPlan:
    failure = Failure("gone.bin", "9" * 32, "ObjectNotFoundError", "neither here nor there")
    return build(BASIS, OUTPUTS, ITEMS, n, missing=[failure])


def test_plan_shards_are_json_and_round_trip() -> None:
    plan = make_plan(2)
    assert plan.objects == 5 and plan.bytes == 41
    assert plan.shard_objects == (2, 3) and plan.shard_bytes == (24, 17)
    assert (plan.direction, plan.remote, plan.targets) == ("push", "r", ("data",))
    for i, data in enumerate(plan.shards):
        assert json.loads(json.dumps(data)) == data  # plain JSON types already
        assert (data["shard"], data["shards"], data["version"]) == (i, 2, 1)
        for as_given in (data, json.loads(json.dumps(data))):
            shard = parse_shard(as_given, "push")
            assert shard == plan.parts[i]
    whole = plan.to_dict()
    assert json.loads(json.dumps(whole)) == whole
    assert whole["missing"][0]["path"] == "gone.bin" and whole["shard_bytes"] == [
        plan.shard_bytes[0],
        plan.shard_bytes[1],
    ]
    assert "shards=" not in repr(plan) and "items" not in repr(plan.parts[0])


def test_a_shard_lists_only_its_outputs_and_names_its_objects() -> None:
    plan = make_plan(5)
    paths = {o.path for part in plan.parts for o in part.objs()}
    assert paths == {"data/x/a.txt", "data/b.txt", "solo.bin", "old/d.txt", "data/empty"}
    for part in plan.parts:
        used = {part.outputs[i.output] for i in part.items}
        assert set(part.outputs) == used
    legacy = [o for part in plan.parts for o in part.objs() if o.legacy]
    assert [o.oid for o in legacy] == ["d" * 32]


def shard_dict() -> dict[str, Any]:
    return make_plan(1).shards[0]


def mutate(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = shard_dict()
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


DELETE = object()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "not a freight shard: expected a dict, got list"),
        ("{}", "not a freight shard: expected a dict, got str"),
        ({"objects": []}, 'not a freight shard: no "format"'),
        (mutate(("format",), "dvc"), 'not a freight shard: no "format"'),
        (mutate(("version",), 2), "shard format version 2 is not supported"),
        (mutate(("version",), True), "shard format version True is not supported"),
        (mutate(("fingerprint",), DELETE), "malformed shard: missing fingerprint"),
        (mutate(("extra",), 1), "malformed shard: unknown extra"),
        (mutate(("direction",), "pull"), "'direction' must be 'push' or 'fetch'"),
        (mutate(("direction",), "fetch"), "this is a fetch shard: run it with fetch"),
        (mutate(("remote",), ""), "'remote' must be a non-empty string"),
        (mutate(("remote_url",), 5), "'remote_url' must be a string or null"),
        (mutate(("remote_id",), "xyz"), "'remote_id' is not a digest"),
        (mutate(("targets",), "data"), "'targets' must be a list of paths or null"),
        (mutate(("targets",), [""]), "'targets' must be a list of paths or null"),
        (mutate(("fingerprint",), "F" * 32), "'fingerprint' is not a digest"),
        (mutate(("shard",), 1), "'shard' 1 of 'shards' 1 is out of range"),
        (mutate(("shard",), -1), "out of range"),
        (mutate(("shards",), "1"), "out of range"),
        (mutate(("outputs",), {}), "'outputs' must be a list"),
        (mutate(("outputs", 0), ["data"]), "output 0 must be [path, legacy]"),
        (mutate(("outputs", 0, 1), 0), "output 0 must be [path, legacy]"),
        (mutate(("outputs", 1), ["data", False]), "an output is listed twice"),
        (mutate(("objects",), None), "'objects' must be a list"),
        (mutate(("objects", 0), ["a" * 32, 10, 0]), "object 0 must be [md5, size, output, path]"),
        (mutate(("objects", 0, 0), "a" * 32 + ".dir"), "is a .dir"),
        (mutate(("objects", 0, 0), "A" * 32), "object 0 has no md5"),
        (mutate(("objects", 0, 1), -1), "has an invalid size -1"),
        (mutate(("objects", 0, 1), 1.5), "has an invalid size 1.5"),
        (mutate(("objects", 0, 2), 7), "names no listed output: 7"),
        (mutate(("objects", 0, 2), False), "names no listed output: False"),
        (mutate(("objects", 0, 3), None), "has an invalid path None"),
        (mutate(("bytes",), 40), "'bytes' 40 is not the sum"),
    ],
)
def test_malformed_or_foreign_shards_are_refused_in_one_line(data: Any, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_shard(data, "push")
    text = str(caught.value)
    assert message in text and "\n" not in text and len(text) < 200


def test_an_object_listed_twice_is_refused() -> None:
    data = shard_dict()
    data["objects"].append(list(data["objects"][0]))
    data["bytes"] += data["objects"][0][1]
    with pytest.raises(PlanError, match="is listed twice"):
        parse_shard(data, "push")


def test_a_shard_accepts_tuples_as_python_callers_may_build_them() -> None:
    data = shard_dict()
    data["objects"] = tuple(tuple(o) for o in data["objects"])
    data["outputs"] = tuple(tuple(o) for o in data["outputs"])
    assert parse_shard(data, "push") == make_plan(1).parts[0]


def test_check_fresh_refuses_a_changed_remote_or_outputs() -> None:
    shard = parse_shard(shard_dict(), "push")
    check_fresh(shard, remote_id=BASIS.remote_id, fingerprint=BASIS.fingerprint)
    with pytest.raises(StalePlanError, match="remote 'r' is not the one shard 1/1"):
        check_fresh(shard, remote_id=remote_id("s3://other"), fingerprint=BASIS.fingerprint)
    with pytest.raises(StalePlanError, match="the outputs of targets data changed") as caught:
        check_fresh(shard, remote_id=BASIS.remote_id, fingerprint="0" * 32)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, PlanError)


def test_parsing_leaves_the_given_dict_alone() -> None:
    data = shard_dict()
    before = copy.deepcopy(data)
    parse_shard(data, "push")
    assert data == before


def test_merge_sums_shard_results() -> None:
    fail = Failure("data/b.txt", "b" * 32, "RemoteError", "boom")
    parts = [
        TransferResult("push", "r", (), transferred=3, skipped=1, bytes=30),
        TransferResult("push", "r", (), transferred=2, bytes=20, failed=(fail,)),
    ]
    merged = TransferResult.merge(parts)
    assert (merged.direction, merged.remote, merged.transferred, merged.skipped) == (
        "push",
        "r",
        5,
        1,
    )
    assert merged.bytes == 50 and merged.failed == (fail,) and not merged.ok
    with pytest.raises(ValueError, match="without a direction"):
        TransferResult.merge([parts[0], TransferResult("fetch", "r", ())])
    assert TransferResult.merge([], "push").transferred == 0
