"""`Repo(path, config=...)`: an in-memory overlay in DVC's shape, above every config level.

Validated like the files (errors name `(config overlay)`), merged option by option, its
relative paths resolved against the repository root, and never written to any file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from freight import Repo
from freight.cli import main
from freight.config import load_config, read_level, write_level
from freight.errors import ConfigError
from storage_servers import Server, make_bucket
from workspaces import clone, workspace

FILES = {"data/a.txt": b"a\n", "data/sub/b.txt": b"b\n", "solo.bin": b"solo"}


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DVC_GLOBAL_CONFIG_DIR", str(tmp_path / "global"))
    monkeypatch.setenv("DVC_SYSTEM_CONFIG_DIR", str(tmp_path / "system"))
    return workspace(tmp_path / "src", FILES)


def _read(root: Path) -> dict[str, bytes]:
    return {rel: (root / rel).read_bytes() for rel in FILES if (root / rel).exists()}


def _configs(root: Path) -> str:
    dvc = root / ".dvc"
    return "".join(p.read_text() for p in (dvc / "config", dvc / "config.local") if p.exists())


def test_overlay_only_local_remote_pushes_and_pulls(root: Path, tmp_path: Path) -> None:
    before = _configs(root)
    overlay = {"core": {"remote": "shelf"}, "remote": {"shelf": {"url": "../shelf", "jobs": 2}}}
    with Repo(root, config=overlay) as repo:
        assert repo.config.remote().url == str(tmp_path / "shelf")  # against the root
        repo.add(["data", "solo.bin"])
        pushed = repo.push()
        assert pushed.ok and pushed.remote == "shelf" and pushed.transferred == 4
        assert repo.status(cloud=True).clean
    assert (tmp_path / "shelf/files/md5").is_dir()
    assert _configs(root) == before

    dest = clone(root, tmp_path / "dest")
    with Repo(dest, config={"remote": {"shelf": {"url": tmp_path / "shelf"}}}) as repo:
        assert repo.pull(remote="shelf").ok
    assert _read(dest) == FILES
    assert "shelf" not in _configs(dest)


@pytest.mark.parametrize("extra", [{}, {"acl": "private"}], ids=["obstore", "s3fs"])
def test_overlay_only_s3_remote_pushes_and_pulls(
    root: Path, tmp_path: Path, moto_s3: Server, extra: dict[str, str]
) -> None:
    bucket = make_bucket(moto_s3)
    options: dict[str, Any] = {"url": f"s3://{bucket}/store", **moto_s3.dvc_options, **extra}
    overlay = {"core": {"remote": "vault"}, "remote": {"vault": options}}
    with Repo(root, config=overlay) as repo:
        repo.add(["data", "solo.bin"])
        changes = repo.status(cloud=True).changes
        assert set(changes) >= {"data/a.txt", "solo.bin"} and set(changes.values()) == {"new"}
        assert repo.push().transferred == 4
        assert repo.status(cloud=True).clean
    dest = clone(root, tmp_path / "dest")
    with Repo(dest, config=overlay) as repo:
        pulled = repo.pull()
        assert pulled.ok and pulled.remote == "vault"
    assert _read(dest) == FILES
    assert "vault" not in _configs(root) + _configs(dest)


def test_overlay_overrides_option_by_option(root: Path, tmp_path: Path) -> None:
    (root / ".dvc/config").write_text(
        "[core]\n    no_scm = true\n    remote = r\n"
        "['remote \"r\"']\n    url = s3://bucket/path\n    jobs = 2\n    region = eu-west-1\n"
    )
    overlay = {
        "core": {"checksum_jobs": 3, "autostage": True},
        'remote "R"': {"jobs": "5", "ssl_verify": False, "verify": True},
        "remote": {"r": {"read_timeout": 7}, "extra": {"url": "gs://other"}},
    }
    config = load_config(root / ".dvc", overlay=overlay)
    remote = config.remote()
    assert (remote.name, remote.url, remote.jobs) == ("r", "s3://bucket/path", 5)
    assert remote.options == {
        "jobs": 5,
        "region": "eu-west-1",
        "ssl_verify": False,
        "verify": True,
        "read_timeout": 7,
    }
    assert (config.checksum_jobs, config.autostage, config.no_scm) == (3, True, True)
    assert set(config.remotes) == {"r", "extra"}
    assert load_config(root / ".dvc").remote().jobs == 2  # the files are untouched


def test_overlay_paths_resolve_against_the_repository_root(root: Path) -> None:
    overlay = {
        "cache": {"dir": "elsewhere/cache"},
        "remote": {
            "near": {"url": Path("store")},
            "home": {"url": "~/store"},
            "abs": {"url": "/srv/store"},
            "s3": {"url": "s3://b/p", "credentialpath": "creds/aws", "configpath": "/etc/aws"},
        },
    }
    config = load_config(root / ".dvc", overlay=overlay)
    assert config.cache_dir == root / "elsewhere/cache"
    assert config.remote("near").url == str(root / "store")
    assert config.remote("home").url == str(Path.home() / "store")
    assert config.remote("abs").url == "/srv/store"
    s3 = config.remote("s3")
    assert (s3.url, s3.options["credentialpath"]) == ("s3://b/p", str(root / "creds/aws"))
    assert s3.options["configpath"] == "/etc/aws"


OVERLAY_ERRORS: list[tuple[Any, str]] = [
    ({"core": {"nope": 1}}, "extra keys not allowed @ data['core']['nope'] (config overlay)"),
    (
        {"remote": {"p": {"url": "s3://b/p", "foo": "x"}}},
        "extra keys not allowed @ data['remote']['p']['foo'] (config overlay)",
    ),
    (
        {"remote": {"p": {"url": "s3://b/p", "gdrive_trash_only": True}}},
        "extra keys not allowed @ data['remote']['p']['gdrive_trash_only'] (config overlay)",
    ),
    ({"core": {"no_scm": "maybe"}}, "expected boolean value for data['core']['no_scm']"),
    ({"core": {"no_scm": 1}}, "expected boolean value for data['core']['no_scm']"),
    ({"remote": {"p": {"jobs": 2}}}, "expected 'url' for dictionary value @ data['remote']['p']"),
    ({"remote": {"p": {"url": "s3://b", "jobs": 0}}}, "value must be at least 1 for"),
    ({"remote": {"p": {"url": "s3://b", "jobs": True}}}, "expected int for"),
    ({"remote": {"p": {"url": "s3://b", "jobs": "many"}}}, "expected int for"),
    ({"remote": {"p": {"url": 5}}}, "expected str for data['remote']['p']['url']"),
    ({"remote": {"p": {"url": "s3://b", "region": None}}}, "expected str for"),
    ({"remote": {"p": {"url": "foo://h/x"}}}, "Unsupported URL type foo://"),
    ({"remote": {"p": {"url": "http://h", "auth": "kerberos"}}}, "expected one of basic, digest"),
    ({"cache": {"type": "teleport"}}, "unsupported cache type ['teleport']"),
    ({"cache": {"shared": "world"}}, "expected one of group for data['cache']['shared']"),
    ({"nosection": {"x": 1}}, "extra keys not allowed @ data['nosection'] (config overlay)"),
    ({"remote": "s3://b"}, "expected a dictionary for dictionary value @ data['remote']"),
    ({"core": ["remote"]}, "expected a dictionary for dictionary value @ data['core']"),
    (
        {"remote": {"p": "s3://b"}},
        "expected a dictionary for dictionary value @ data['remote']['p']",
    ),
    (["core"], "expected a dictionary (config overlay)"),
    ({1: {}}, "expected str for dictionary key @ data (config overlay)"),
]


@pytest.mark.parametrize(("overlay", "message"), OVERLAY_ERRORS)
def test_overlay_validation_errors(root: Path, overlay: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        Repo(root, config=overlay)
    text = str(info.value)
    assert text.startswith("config file error: ") and "\n" not in text
    assert text.endswith("(config overlay)"), text


@pytest.mark.parametrize(
    ("file_text", "overlay"),
    [
        ("[core]\n    nope = 1\n", {"core": {"nope": "1"}}),
        ("[core]\n    no_scm = maybe\n", {"core": {"no_scm": "maybe"}}),
        (
            "['remote \"p\"']\n    url = s3://b\n    jobs = 0\n",
            {"remote": {"p": {"url": "s3://b", "jobs": "0"}}},
        ),
        ("['remote \"p\"']\n    jobs = 2\n", {"remote": {"p": {"jobs": "2"}}}),
        (
            "['remote \"p\"']\n    url = hdfs://h/p\n    verify = true\n",
            {"remote": {"p": {"url": "hdfs://h/p", "verify": "true"}}},
        ),
        ("['remote \"p\"']\n    url = nope://h/p\n", {"remote": {"p": {"url": "nope://h/p"}}}),
        (
            "[hydra]\n    config_dir = a\n    config_module = b\n",
            {"hydra": {"config_dir": "a", "config_module": "b"}},
        ),
    ],
)
def test_overlay_errors_read_as_the_files_errors(
    root: Path, file_text: str, overlay: dict[str, Any]
) -> None:
    with pytest.raises(ConfigError) as from_overlay:
        Repo(root, config=overlay)
    (root / ".dvc/config").write_text(file_text)
    with pytest.raises(ConfigError) as from_file:
        Repo(root)
    expected = str(from_file.value).replace(str(root / ".dvc/config"), "config overlay")
    assert str(from_overlay.value) == expected


def test_errors_in_files_still_name_the_file(root: Path) -> None:
    (root / ".dvc/config.local").write_text("['remote \"r\"']\n    jobs = x\n")
    with pytest.raises(ConfigError, match=re.escape(f"({root / '.dvc/config.local'})")):
        Repo(root, config={"remote": {"r": {"url": "s3://b/p"}}})


def test_overlay_is_never_written(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    overlay = {
        "core": {"remote": "vault", "autostage": True},
        "remote": {"vault": {"url": "s3://b/p", "secret_access_key": "overlay-only-value"}},
    }
    repo = Repo(root, config=overlay)
    monkeypatch.chdir(root)
    assert main(["remote", "add", "other", "s3://bucket/other"]) == 0
    assert main(["remote", "modify", "other", "jobs", "3"]) == 0
    assert main(["remote", "modify", "--local", "other", "secret_access_key", "x"]) == 0
    assert main(["config", "cache.type", "copy"]) == 0
    assert main(["remote", "default", "other"]) == 0
    # the CLI sees the files only: the overlay's remote does not exist for it
    assert main(["remote", "modify", "vault", "jobs", "3"]) == 251
    capsys.readouterr()
    assert main(["remote", "list"]) == 0
    assert "vault" not in capsys.readouterr().out
    text = _configs(root)
    assert "vault" not in text and "overlay-only" not in text and "autostage" not in text
    assert repo.config.remote().name == "vault"  # the open repo keeps its overlay
    repo.close()


def test_writes_are_validated_from_the_files_alone(root: Path) -> None:
    """A level file must be valid without the overlay: the next process may not have it."""
    Repo(root, config={"remote": {"vault": {"url": "s3://b/p"}}}).close()
    with pytest.raises(ConfigError, match=r"expected 'url' .*\['vault'\]"):
        write_level("repo", root / ".dvc", {'remote "vault"': {"jobs": "3"}})
    assert read_level("repo", root / ".dvc") == {"core": {"no_scm": "True"}}


def test_every_remote_type_dvc_accepts_loads(root: Path) -> None:
    overlay = {
        "core": {"remote": "gd"},
        "remote": {
            "gd": {"url": "gdrive://root/x", "gdrive_acknowledge_abuse": True},
            "hd": {"url": "hdfs://h/x", "kerb_ticket": "/tmp/t", "replication": 3},
            "wh": {"url": "webhdfs://h/x", "kerberos": True, "token": "t", "use_https": True},
            "ali": {"url": "oss://b/x", "oss_key_secret": "s", "oss_endpoint": "e"},
            "ref": {"url": "remote://gd/sub", "anything": ["goes"]},
        },
    }
    with Repo(root, config=overlay) as repo:
        repo.add(["solo.bin"])
        assert repo.status().clean
        for name, scheme in (("gd", "gdrive"), ("hd", "hdfs"), ("ref", "remote")):
            with pytest.raises(ConfigError, match=f"remote '{name}'.*{scheme}://") as info:
                repo.push(remote=name)
            assert "\n" not in str(info.value)
        with pytest.raises(ConfigError, match="gdrive://"):
            repo.status(cloud=True)
        with pytest.raises(ConfigError, match="webhdfs://"):
            repo.gc(cloud=True, remote="wh")


def test_reprs_hide_secrets(root: Path) -> None:
    overlay = {
        "remote": {
            "s3": {"url": "s3://b/p", "secret_access_key": "hidden-1", "region": "r1"},
            "web": {"url": "https://u:hidden-2@host/p", "password": "hidden-3"},
        },
        "db": {"d": {"url": "postgresql://u:hidden-4@h/db", "password": "hidden-5"}},
    }
    with Repo(root, config=overlay) as repo:
        shown = repr(repo.config) + str(repo.config) + repr(dict(repo.config.remotes))
        shown += repr(repo.config.remote("s3")) + str(repo.config.remote("web"))
    assert "hidden" not in shown
    assert "'region': 'r1'" in shown and "'secret_access_key': '***'" in shown
    assert "https://u:***@host/p" in shown
