"""`config` and `remote`: DVC's config commands (spec §7.6), same flags, output and codes.

Relative local paths given on the command line are taken from the current directory and
stored relative to the config file they go into, as DVC does. Secret values are never
printed (`***`).
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, NotARepoError, redact_url

if TYPE_CHECKING:  # each command imports what it needs when it runs: see `freight.cli`
    from pathlib import Path


def _dvc_dir(required: bool) -> Path | None:
    from ..layout import DVC_DIR, find_root

    try:
        return find_root() / DVC_DIR
    except NotARepoError:
        if required:
            raise
        return None


def _level(args: argparse.Namespace) -> str:
    return args.level or "repo"


def _store_path(value: str, level: str, dvc_dir: Path | None) -> str:
    """A CLI path (relative to cwd) as DVC stores it: relative to the config's directory."""
    from pathlib import Path

    from .. import config as cfg

    if cfg._URL.match(value) or os.path.isabs(value):
        return value
    base = cfg.config_path(level, dvc_dir).parent
    return Path(os.path.relpath(os.path.abspath(value), base.absolute())).as_posix()


def _parse_name(name: str) -> tuple[str, str]:
    """`core.remote` -> ("core", "remote"); `remote.r.url` -> ('remote "r"', "url")."""
    parts = name.lower().split(".")
    if len(parts) == 2 and all(parts):
        return parts[0], parts[1]
    if len(parts) == 3 and parts[0] in ("remote", "machine", "db") and all(parts):
        return f'{parts[0]} "{parts[1]}"', parts[2]
    raise ConfigError(f"invalid config name '{name}'")


def _dotted(section: str, key: str) -> str:
    from .. import config as cfg

    match = cfg._NAMED.match(section)
    return f"{match.group(1)}.{match.group(2)}.{key}" if match else f"{section}.{key}"


def cmd_config(args: argparse.Namespace) -> int:
    from .. import config as cfg

    dvc_dir = _dvc_dir(required=args.level in (None, "repo", "local"))
    if args.list:
        return _list(args, dvc_dir)
    if not args.name:
        raise ConfigError("name argument is required")
    section, key = _parse_name(args.name)
    if args.unset or args.value is None:
        levels = [args.level] if args.level else list(cfg.LEVELS)
        if not args.unset:
            merged: dict[str, Any] = {}
            for level in levels:
                if dvc_dir is None and level in ("repo", "local"):
                    continue
                merged.update(cfg.read_level(level, dvc_dir).get(section, {}))
            if key not in merged:
                raise ConfigError(f"option '{args.name}' doesn't exist")
            print(cfg.redact(key, merged[key]))
            return 0
    level = _level(args)
    data = cfg.read_level(level, dvc_dir)
    if args.unset:
        if key not in data.get(section, {}):
            raise ConfigError(f"option '{args.name}' doesn't exist")
        del data[section][key]
    else:
        value = args.value
        if key in cfg.PATH_OPTIONS and (section == "cache" or key != "dir"):
            value = _store_path(value, level, dvc_dir)
        data.setdefault(section, {})[key] = value
    cfg.write_level(level, dvc_dir, data)
    return 0


def _list(args: argparse.Namespace, dvc_dir: Path | None) -> int:
    from .. import config as cfg

    levels = (
        [args.level]
        if args.level
        else [lv for lv in cfg.LEVELS if dvc_dir is not None or lv in ("system", "global")]
    )
    for level in levels:
        path = cfg.config_path(level, dvc_dir)
        for section, values in cfg.resolved(level, dvc_dir).items():
            for key, value in values.items():
                line = f"{_dotted(section, key)}={cfg.redact(key, value)}"
                origin = os.path.relpath(path) if args.show_origin else None
                print(f"{origin}\t{line}" if origin else line)
    return 0


def cmd_remote_add(args: argparse.Namespace) -> int:
    from .. import config as cfg

    level = _level(args)
    dvc_dir = _dvc_dir(required=level in ("repo", "local"))
    name = args.name.lower()
    section = f'remote "{name}"'
    data = cfg.read_level(level, dvc_dir)
    if section in data and not args.force:
        raise ConfigError(
            f"config file error: remote '{name}' already exists. Use `-f|--force` to overwrite it."
        )
    data[section] = {"url": _store_path(args.url, level, dvc_dir)}
    if args.default:
        print(f"Setting '{name}' as a default remote.")
        data.setdefault("core", {})["remote"] = name
    cfg.write_level(level, dvc_dir, data)
    return 0


def _existing(name: str, level: str, dvc_dir: Path | None) -> None:
    from .. import config as cfg

    if name not in cfg.load_config(dvc_dir, upto=level).remotes:
        raise ConfigError(f"config file error: remote '{name}' doesn't exist.")


def cmd_remote_modify(args: argparse.Namespace) -> int:
    from .. import config as cfg

    level = _level(args)
    dvc_dir = _dvc_dir(required=level in ("repo", "local"))
    name = args.name.lower()
    _existing(name, level, dvc_dir)
    data = cfg.read_level(level, dvc_dir)
    section = data.setdefault(f'remote "{name}"', {})
    option = args.option.lower()
    if args.unset:
        section.pop(option, None)
    else:
        if args.value is None:
            raise ConfigError("value argument is required")
        value = args.value
        if option in cfg.PATH_OPTIONS:
            value = _store_path(value, level, dvc_dir)
        section[option] = value
    cfg.write_level(level, dvc_dir, data)
    return 0


def cmd_remote_default(args: argparse.Namespace) -> int:
    from .. import config as cfg

    level = _level(args)
    dvc_dir = _dvc_dir(required=level in ("repo", "local"))
    data = cfg.read_level(level, dvc_dir)
    if args.unset:
        data.get("core", {}).pop("remote", None)
    elif args.name is None:
        name = cfg.load_config(dvc_dir).core_remote
        if name is None:
            print("No default remote set")
            return 1
        print(name)
        return 0
    else:
        _existing(args.name.lower(), level, dvc_dir)
        data.setdefault("core", {})["remote"] = args.name.lower()
    cfg.write_level(level, dvc_dir, data)
    return 0


def cmd_remote_list(args: argparse.Namespace) -> int:
    from .. import config as cfg

    dvc_dir = _dvc_dir(required=args.level in (None, "repo", "local"))
    config = cfg.load_config(dvc_dir, upto=args.level or "local")
    for name, remote in config.remotes.items():
        mark = "\t(default)" if name == config.core_remote else ""
        print(f"{name}\t{redact_url(remote.url)}{mark}")
    return 0


def _other_levels(dvc_dir: Path | None) -> list[str]:
    from .. import config as cfg

    return [lv for lv in cfg.LEVELS if dvc_dir is not None or lv in ("system", "global")]


def cmd_remote_remove(args: argparse.Namespace) -> int:
    from .. import config as cfg

    level = _level(args)
    dvc_dir = _dvc_dir(required=level in ("repo", "local"))
    name = args.name.lower()
    changes = {level: cfg.read_level(level, dvc_dir)}
    if changes[level].pop(f'remote "{name}"', None) is None:
        raise ConfigError(f"config file error: remote '{name}' doesn't exist.")
    levels = _other_levels(dvc_dir)
    for other in levels[levels.index(level) :]:  # clear defaults pointing at it
        data = changes.get(other) or cfg.read_level(other, dvc_dir)
        if str(data.get("core", {}).get("remote", "")).lower() == name:
            del data["core"]["remote"]
            changes[other] = data
    cfg.write_levels(dvc_dir, changes)
    return 0


def cmd_remote_rename(args: argparse.Namespace) -> int:
    from .. import config as cfg

    level = _level(args)
    dvc_dir = _dvc_dir(required=level in ("repo", "local"))
    old, new = args.name.lower(), args.new.lower()
    if new in cfg.load_config(dvc_dir).remotes:
        raise ConfigError(f"config file error: remote '{new}' already exists.")
    changes = {}
    for other in _other_levels(dvc_dir):  # overrides in other levels follow the rename
        data = cfg.read_level(other, dvc_dir)
        renamed = {(f'remote "{new}"' if s == f'remote "{old}"' else s): v for s, v in data.items()}
        if str(renamed.get("core", {}).get("remote", "")).lower() == old:
            renamed["core"]["remote"] = new
        if renamed != data:
            changes[other] = renamed
    if not any(f'remote "{new}"' in d for d in changes.values()):
        raise ConfigError(f"config file error: remote '{old}' doesn't exist.")
    cfg.write_levels(dvc_dir, changes)
    return 0


def _levels(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    for flag, level, text in (
        ("--global", "global", "use the global config"),
        ("--system", "system", "use the system config"),
        ("--project", "repo", "use the project config (.dvc/config, the default)"),
        ("--local", "local", "use the local config (.dvc/config.local, not committed)"),
    ):
        group.add_argument(flag, dest="level", action="store_const", const=level, help=text)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("config", help="Get, set or unset config options.")
    _levels(p)
    p.add_argument("-u", "--unset", action="store_true", help="unset the option")
    p.add_argument("-l", "--list", action="store_true", help="list all options")
    p.add_argument("--show-origin", action="store_true", help="show the file of each option")
    p.add_argument("name", nargs="?", help="option name: section.option or remote.NAME.option")
    p.add_argument("value", nargs="?", help="option value")
    p.set_defaults(func=cmd_config)

    remote = sub.add_parser("remote", help="Set up remote storage.")
    rsub = remote.add_subparsers(dest="remote_command", metavar="COMMAND", required=True)
    commands = (
        ("add", cmd_remote_add, "Add a remote."),
        ("modify", cmd_remote_modify, "Set or unset an option of a remote."),
        ("default", cmd_remote_default, "Show, set or unset the default remote."),
        ("list", cmd_remote_list, "List remotes."),
        ("remove", cmd_remote_remove, "Remove a remote."),
        ("rename", cmd_remote_rename, "Rename a remote."),
    )
    for name, func, text in commands:
        p = rsub.add_parser(name, help=text)
        _levels(p)
        p.set_defaults(func=func)
        if name == "add":
            p.add_argument("-d", "--default", action="store_true", help="make it the default")
            p.add_argument("-f", "--force", action="store_true", help="overwrite an existing one")
            p.add_argument("name")
            p.add_argument("url")
        elif name == "modify":
            p.add_argument("-u", "--unset", action="store_true", help="unset the option")
            p.add_argument("name")
            p.add_argument("option")
            p.add_argument("value", nargs="?")
        elif name == "default":
            p.add_argument("-u", "--unset", action="store_true", help="unset the default")
            p.add_argument("name", nargs="?")
        elif name == "remove":
            p.add_argument("name")
        elif name == "rename":
            p.add_argument("name")
            p.add_argument("new")
