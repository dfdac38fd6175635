"""Start-up cost (issue 14): what `import freight` and the command line load, checked by
module name in a fresh interpreter, not by timing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import freight
import pytest

#: libraries only some commands need: YAML beyond blockyaml's subset, config files,
#: remotes, progress bars, metafile writes
HEAVY = ("yaml", "configobj", "fsspec", "obstore", "tqdm", "ruamel")


def _loaded(code: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> set[str]:
    """The top-level packages of HEAVY and the freight modules that `code` left loaded."""
    probe = (
        "import sys\n"
        f"{code}\n"
        "print(' '.join(sorted(m for m in sys.modules"
        f" if m.split('.')[0] in {HEAVY!r} or m.startswith('freight.'))))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.splitlines()[-1].split())


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in HEAVY}


def test_import_freight_loads_no_submodule() -> None:
    assert _loaded("import freight") == set()


def test_repo_loads_no_heavy_library() -> None:
    loaded = _loaded("import freight; freight.Repo")
    assert _heavy(loaded) == set()
    for verb_only in ("freight.transfer", "freight.sync", "freight.gc", "freight.sharding"):
        assert verb_only not in loaded


@pytest.mark.parametrize("argv", [["--version"], ["-V"]])
def test_version_builds_no_parser(argv: list[str]) -> None:
    loaded = _loaded(f"from freight.cli import main; assert main({argv!r}) == 0")
    assert loaded == {"freight.cli"}


def test_help_loads_only_the_cli() -> None:
    code = (
        "from freight.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0\n"
    )
    loaded = _loaded(code)
    assert {m for m in loaded if not m.startswith("freight.cli")} <= {
        "freight.callbacks",
        "freight.errors",
    }


def test_status_loads_no_remote_yaml_or_progress_library(
    tmp_path: Path, freight_env: dict[str, str]
) -> None:
    freight.Repo.init(tmp_path, no_scm=True).close()
    (tmp_path / "data.txt").write_text("hello\n")
    with freight.Repo(tmp_path) as repo:
        repo.add([tmp_path / "data.txt"])
    code = "from freight.cli import main; assert main(['status']) == 0"
    loaded = _loaded(code, cwd=tmp_path, env=freight_env)
    assert "freight.repo" in loaded
    assert _heavy(loaded) <= {"configobj", "configobj._version"}


def test_names_resolve_and_are_listed() -> None:
    namespace: dict[str, object] = {}
    exec("from freight import *", namespace)
    assert set(freight.__all__) <= set(namespace)
    assert set(freight.__all__) <= set(dir(freight))
    with pytest.raises(AttributeError):
        freight.NoSuchName  # noqa: B018
