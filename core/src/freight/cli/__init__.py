"""The `freight` command line: DVC's commands, flags and output, over `freight.Repo`.

This is the only module that prints or draws progress bars. Errors derived from
`FreightError` are printed as one `ERROR: ...` line (no traceback) and turned into DVC's
exit codes.

Start-up is kept short: building the parser imports only argparse and the command modules,
whose handlers import `freight.Repo` (YAML, config, transfers) when they run, and
`--version` answers before any parser is built.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    from . import config_cmds, data_cmds

    parser = argparse.ArgumentParser(
        prog="freight",
        description="Move DVC-versioned data between a workspace and remote storage.",
    )
    parser.add_argument("-V", "--version", action="store_true", help="show the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    data_cmds.register(sub)
    config_cmds.register(sub)
    return parser


def _print_version() -> int:
    from .. import __version__

    print(__version__)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv in (["--version"], ["-V"]):
        return _print_version()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        return _print_version()
    if not getattr(args, "func", None):
        parser.print_help()
        return 254

    from ..errors import ConfigError, DiskError, FreightError

    try:
        return int(args.func(args))
    except FreightError as exc:
        prefix = "configuration error - " if isinstance(exc, ConfigError) else ""
        print(f"ERROR: {prefix}{exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ERROR: interrupted by the user", file=sys.stderr)
        return 252
    except BrokenPipeError:
        return 0
    except OSError as exc:  # outside a verb (verbs raise DiskError): still one line
        err = DiskError.of(exc)
        print(f"ERROR: {err}", file=sys.stderr)
        return err.exit_code
