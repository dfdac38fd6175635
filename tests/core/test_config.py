"""Config levels, precedence, validation, path resolution and DVC's file format."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from freight.cli import main
from freight.config import load_config, read_level, serialize, write_level
from freight.errors import ConfigError, RemoteNotFoundError


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / ".dvc").mkdir(parents=True)
    (root / ".dvc/config").write_text("")
    monkeypatch.setenv("DVC_GLOBAL_CONFIG_DIR", str(tmp_path / "global"))
    monkeypatch.setenv("DVC_SYSTEM_CONFIG_DIR", str(tmp_path / "system"))
    monkeypatch.chdir(root)
    return root


def cli(*args: str) -> int:
    return main(list(args))


def test_levels_merge_option_by_option(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "system").mkdir()
    (tmp_path / "system/config").write_text("[core]\n    checksum_jobs = 2\n")
    (tmp_path / "global").mkdir()
    (tmp_path / "global/config").write_text("['remote \"S\"']\n    url = s3://b/p\n")
    (repo / ".dvc/config").write_text(
        "[core]\n    remote = s\n['remote \"s\"']\n    region = eu-west-1\n"
    )
    (repo / ".dvc/config.local").write_text(
        "['remote \"s\"']\n    secret_access_key = k\n    jobs = 3\n"
    )
    config = load_config(repo / ".dvc")
    remote = config.remote()
    assert (remote.name, remote.url, remote.jobs) == ("s", "s3://b/p", 3)
    assert remote.options["region"] == "eu-west-1"
    assert remote.options["secret_access_key"] == "k"
    assert config.checksum_jobs == 2
    assert load_config(repo / ".dvc", upto="repo").remote().jobs is None


def test_relative_paths_resolve_against_their_file(repo: Path) -> None:
    (repo / ".dvc/config").write_text(
        "[cache]\n    dir = ../../other\n['remote \"r\"']\n    url = ../../remote\n"
    )
    config = load_config(repo / ".dvc")
    assert config.cache_dir == repo.parent / "other"
    assert config.remote("r").url == str(repo.parent / "remote")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[core]\n    nope = 1\n", r"extra keys not allowed @ data\['core'\]\['nope'\]"),
        ("['remote \"b\"']\n    url = s3://x\n    foo = 1\n", r"\['remote'\]\['b'\]\['foo'\]"),
        ("['remote \"b\"']\n    url = x\n    jobs = 0\n", "value must be at least 1"),
        ("['remote \"b\"']\n    jobs = 2\n", "expected 'url'"),
        ("[nosection]\n    x = 1\n", r"extra keys not allowed @ data\['nosection'\]"),
        ("[core]\n    no_scm = maybe\n", "expected boolean"),
        (
            "['remote \"b\"']\n    url = s3://x\n    worktree = true\n    version_aware = false\n",
            "worktree remotes require version_aware",
        ),
    ],
)
def test_invalid_config_names_file_and_problem(repo: Path, text: str, problem: str) -> None:
    (repo / ".dvc/config").write_text(text)
    with pytest.raises(ConfigError, match=problem) as info:
        load_config(repo / ".dvc")
    assert str(repo / ".dvc/config") in str(info.value)


def test_bad_cache_type(repo: Path) -> None:
    (repo / ".dvc/config").write_text("[cache]\n    type = hardlink,teleport\n")
    with pytest.raises(ConfigError, match="unsupported cache type"):
        _ = load_config(repo / ".dvc").cache_type


def test_no_remote_messages(repo: Path) -> None:
    with pytest.raises(RemoteNotFoundError, match="Create a default remote"):
        load_config(repo / ".dvc").remote()
    (repo / ".dvc/config").write_text("['remote \"a\"']\n    url = /x\n")
    with pytest.raises(RemoteNotFoundError, match="Setup default remote"):
        load_config(repo / ".dvc").remote()
    with pytest.raises(RemoteNotFoundError, match="remote 'zz' doesn't exist"):
        load_config(repo / ".dvc").remote("zz")


def test_serialise_matches_dvc_layout() -> None:
    data = {
        'remote "s"': {"url": "s3://b", "jobs": "8"},
        "cache": {"type": "hardlink,symlink"},
        "core": {"remote": "s"},
    }
    assert serialize(data) == (
        b'[core]\n    remote = s\n[cache]\n    type = "hardlink,symlink"\n'
        b"['remote \"s\"']\n    url = s3://b\n    jobs = 8\n"
    )
    assert serialize({}) == b""


def test_invalid_write_leaves_file_untouched(repo: Path) -> None:
    (repo / ".dvc/config").write_text("[core]\n    remote = a\n")
    with pytest.raises(ConfigError):
        write_level("repo", repo / ".dvc", {"core": {"bogus": "1"}})
    assert (repo / ".dvc/config").read_text() == "[core]\n    remote = a\n"


def test_remote_commands(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("remote", "add", "-d", "store", "../remote") == 0
    assert cli("remote", "add", "s3r", "s3://bucket/path") == 0
    assert cli("remote", "modify", "s3r", "endpointurl", "http://x") == 0
    assert cli("remote", "modify", "--local", "s3r", "secret_access_key", "SECRET") == 0
    assert cli("remote", "modify", "s3r", "jobs", "8") == 0
    assert cli("config", "cache.type", "hardlink,symlink") == 0
    assert (repo / ".dvc/config").read_text() == (
        '[core]\n    remote = store\n[cache]\n    type = "hardlink,symlink"\n'
        "['remote \"store\"']\n    url = ../../remote\n"
        "['remote \"s3r\"']\n    url = s3://bucket/path\n    endpointurl = http://x\n"
        "    jobs = 8\n"
    )
    capsys.readouterr()
    cli("remote", "list")
    assert capsys.readouterr().out == (
        f"store\t{repo.parent / 'remote'}\t(default)\ns3r\ts3://bucket/path\n"
    )
    cli("config", "-l", "--local")
    assert capsys.readouterr().out == "remote.s3r.secret_access_key=***\n"
    assert cli("remote", "add", "store", "x") == 251
    assert cli("remote", "modify", "nope", "url", "x") == 251
    assert cli("remote", "modify", "s3r", "foo", "bar") == 251
    assert cli("remote", "rename", "s3r", "s3b") == 0
    assert read_level("local", repo / ".dvc") == {'remote "s3b"': {"secret_access_key": "SECRET"}}
    assert cli("remote", "remove", "store") == 0
    assert "remote" not in read_level("repo", repo / ".dvc").get("core", {})
    assert cli("remote", "default") == 1


def test_paths_from_a_subdirectory(repo: Path) -> None:
    (repo / "sub").mkdir()
    os.chdir(repo / "sub")
    assert cli("remote", "add", "r", "../../remote2") == 0
    assert cli("config", "cache.dir", "../other") == 0
    data = read_level("repo", repo / ".dvc")
    assert data['remote "r"']["url"] == "../../remote2"
    assert data["cache"]["dir"] == "../other"
