"""`init`, `add`, `checkout` and `status`: thin adapters from argparse to `freight.Repo`."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any, TypedDict

from ..callbacks import Callback

if TYPE_CHECKING:  # each command imports what it needs when it runs: see `freight.cli`
    from ..results import CheckoutResult, CloudStatusResult, StatusResult, TransferResult


class TqdmCallback(Callback):
    """A tqdm progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self._unit = unit
        self._bar: Any = None

    def call(self, *args: Any, **kwargs: Any) -> None:
        if self._bar is None:
            from tqdm import tqdm  # only interactive runs pay for importing tqdm

            self._bar = tqdm(unit=self._unit, leave=False, file=sys.stderr)
        self._bar.total = self.size
        self._bar.n = self.value
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _progress(unit: str, quiet: bool = False) -> Callback:
    """A progress bar when stderr is a terminal, else a silent callback."""
    return TqdmCallback(unit) if sys.stderr.isatty() and not quiet else Callback()


def _targets(targets: list[str]) -> list[str]:
    """Targets as the user meant them: relative to the current directory."""
    return [os.path.abspath(t) for t in targets]


def cmd_init(args: argparse.Namespace) -> int:
    from ..repo import Repo

    Repo.init(".", no_scm=args.no_scm, force=args.force).close()
    if not args.quiet:
        print("Initialized DVC repository.\n")
        print("You can now commit the changes to git.")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    import shlex

    from ..repo import Repo

    with Repo() as repo:
        result = repo.add(_targets(args.targets), callback=_progress("file"))
        tracked = repo.scm_root is not None
    if tracked and result.written and not args.quiet:
        files = " ".join(shlex.quote(p) for p in sorted(result.written))
        print(f"\nTo track the changes with git, run:\n\n\tgit add {files}")
        print("\nTo enable auto staging, run:\n\n\tfreight config core.autostage true")
    return 0


def print_checkout(result: CheckoutResult, summary: bool) -> None:
    if summary:
        print(checkout_summary(result) or "No changes.")
        return
    for mark, paths in (("M", result.modified), ("A", result.added), ("D", result.deleted)):
        for path in sorted(paths, key=lambda p: (not p.endswith("/"), p)):
            print(f"{mark}\t{path}")


def checkout_summary(result: CheckoutResult) -> str:
    parts = []
    for count, word in (
        (result.files_modified, "modified"),
        (result.files_added, "added"),
        (result.files_deleted, "deleted"),
    ):
        if count:
            parts.append(f"{count} file{'s' if count != 1 else ''} {word}")
    if len(parts) > 1:
        return ", ".join(parts[:-1]) + " and " + parts[-1]
    return parts[0] if parts else ""


def cmd_checkout(args: argparse.Namespace) -> int:
    from ..repo import Repo

    with Repo() as repo:
        result = repo.checkout(
            _targets(args.targets) or None,
            force=args.force,
            relink=args.relink,
            allow_missing=args.allow_missing,
            callback=_progress("file"),
        )
    if not args.quiet:
        print_checkout(result, args.summary)
        if args.relink and result.ok:
            print("Relinked successfully")
    result.raise_for_failures()
    return 0


UP_TO_DATE = "Everything is up to date."


def _files(n: int, verb: str) -> str:
    return f"{n} file{'s' if n != 1 else ''} {verb}"


def _report_missing(result: TransferResult) -> None:
    unversioned = [m for m in result.missing if "cloud version information" in m.message]
    lost = [m for m in result.missing if m not in unversioned]
    if unversioned:
        lines = "\n".join(m.path for m in unversioned)
        print(
            "WARNING: Some files are missing cloud version information and will not be "
            f"fetched from the remote:\n{lines}",
            file=sys.stderr,
        )
    if lost:
        lines = "\n".join(f"name: {m.path}, md5: {m.oid}" for m in lost)
        print(
            "WARNING: Some of the cache files do not exist neither locally nor on remote. "
            f"Missing cache files:\n{lines}",
            file=sys.stderr,
        )


def _transfer_failed(result: TransferResult, action: str) -> int:
    for failure in result.failed:
        print(
            f"ERROR: failed to transfer '{failure.oid}' ({failure.path}): {failure.message}",
            file=sys.stderr,
        )
    verb = "upload" if result.direction == "push" else "download"
    n = len(result.failed)
    print(
        f"ERROR: failed to {action} data {'to' if action == 'push' else 'from'} the cloud"
        f" - {_files(n, 'failed to ' + verb)}",
        file=sys.stderr,
    )
    return 1


class _History(TypedDict):
    all_branches: bool
    all_tags: bool
    all_commits: bool


class _ScopeFlags(_History):
    recursive: bool
    with_deps: bool


def _history(args: argparse.Namespace) -> _History:
    """The `Repo` keyword arguments for the history flags (-a/-T/-A) of `args`."""
    return _History(
        all_branches=args.all_branches, all_tags=args.all_tags, all_commits=args.all_commits
    )


def _scope(args: argparse.Namespace) -> _ScopeFlags:
    """The `Repo` keyword arguments for the scope flags of `args`."""
    return _ScopeFlags(**_history(args), recursive=args.recursive, with_deps=args.with_deps)


def _report(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(text)


def cmd_transfer(args: argparse.Namespace) -> int:
    """`push` or `fetch` (args.verb)."""
    from ..repo import Repo

    with Repo() as repo:
        run = repo.push if args.verb == "push" else repo.fetch
        result = run(
            _targets(args.targets) or None,
            remote=args.remote,
            jobs=args.jobs,
            **_scope(args),
            callback=_progress("file", args.quiet),
        )
    _report_missing(result)
    if result.failed:
        return _transfer_failed(result, args.verb)
    done = f"{args.verb}ed" if args.verb == "push" else "fetched"
    _report(args, _files(result.transferred, done) if result.transferred else UP_TO_DATE)
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    from ..repo import Repo

    with Repo() as repo:
        result = repo.pull(
            _targets(args.targets) or None,
            remote=args.remote,
            jobs=args.jobs,
            force=args.force,
            allow_missing=args.allow_missing,
            **_scope(args),
            callback=_progress("file", args.quiet),
        )
    _report_missing(result)
    checkout = result.checkout
    if checkout is not None and not args.quiet:
        print_checkout(checkout, summary=False)
    if result.failed:
        return _transfer_failed(result, "pull")
    if checkout is not None and not checkout.ok:
        names = "\n".join(sorted({f.path for f in checkout.failed}))
        print(
            "ERROR: failed to pull data from the cloud - Checkout failed for following "
            f"targets:\n{names}\nIs your cache up to date?",
            file=sys.stderr,
        )
        return 1
    parts = [_files(result.transferred, "fetched")] if result.transferred else []
    if checkout is not None and checkout_summary(checkout):
        parts.extend(checkout_summary(checkout).replace(" and ", ", ").split(", "))
    if not parts:
        _report(args, UP_TO_DATE)
    else:
        _report(args, ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0])
    return 0


def cmd_import_url(args: argparse.Namespace) -> int:
    from ..repo import Repo

    config = {}
    for item in args.fs_config or []:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"ERROR: --fs-config expects NAME=VALUE, got '{item}'", file=sys.stderr)
            return 254
        config[key] = value
    with Repo() as repo:
        result = repo.import_url(
            args.url,
            os.path.abspath(args.out) if args.out else None,
            version_aware=args.version_aware,
            fs_config=config,
            force=args.force,
            jobs=args.jobs,
            callback=_progress("file", args.quiet),
        )
    if result.failed:
        return _transfer_failed(result, "import")
    if result.checkout is not None:
        result.checkout.raise_for_failures()
    ref = result.outputs[0]
    _report(args, f"Importing '{args.url}' -> '{ref.path}'")
    return 0


def cmd_update(args: argparse.Namespace) -> int:
    from ..repo import Repo

    with Repo() as repo:
        result = repo.update(
            _targets(args.targets),
            remote=args.remote,
            jobs=args.jobs,
            force=args.force,
            callback=_progress("file", args.quiet),
        )
    if result.failed:
        return _transfer_failed(result, "update")
    checkout = result.checkout
    if checkout is not None and not args.quiet:
        print_checkout(checkout, summary=False)
    if checkout is not None:
        checkout.raise_for_failures()
    return 0


def print_cloud_status(result: CloudStatusResult) -> None:
    if result.clean:
        print(f"Cache and remote '{result.remote}' are in sync.")
        return
    for path, state in result.changes.items():
        print(f"\t{state + ':':<20}{path}")


def cmd_gc(args: argparse.Namespace) -> int:
    from ..repo import Repo

    if not (args.workspace or args.all_branches or args.all_tags or args.all_commits):
        print(
            "ERROR: gc needs a scope: use `-w/--workspace` to keep what the workspace uses "
            "(and -a/-T/-A to keep what Git revisions use too)",
            file=sys.stderr,
        )
        return 254
    if not args.force:
        where = " and from the remote" if args.cloud else ""
        print(
            "WARNING: This will remove all cache except items used in the workspace of the "
            f"current repo{where}.",
            file=sys.stderr,
        )
        answer = input("Are you sure you want to proceed? [y/n]: ") if sys.stdin.isatty() else ""
        if answer.strip().lower() not in ("y", "yes"):
            return 1
    with Repo() as repo:
        result = repo.gc(cloud=args.cloud, remote=args.remote, **_history(args))
    print(
        f"Removed {result.removed_cache} objects from repo cache."
        if result.removed_cache
        else "No unused cache to remove."
    )
    if result.removed_remote is not None:
        print(
            f"Removed {result.removed_remote} objects from remote."
            if result.removed_remote
            else "No unused cache to remove from remote."
        )
    return 0


def print_status(result: StatusResult) -> None:
    if result.clean:
        if not result.outputs:
            print("There are no data or pipelines tracked in this project yet.")
        else:
            print("Data and pipelines are up to date.")
        return
    for group, changes in result.changes.items():
        print(f"{group}:")
        print("\tchanged outs:")
        for path, state in changes.items():
            print(f"\t\t{state + ':':<20}{path}")


def cmd_status(args: argparse.Namespace) -> int:
    import json

    from ..repo import Repo

    if args.cloud or args.remote:
        with Repo() as repo:
            cloud = repo.cloud_status(
                _targets(args.targets) or None, remote=args.remote, jobs=args.jobs, **_scope(args)
            )
        if args.json:
            print(json.dumps(cloud.changes))
        elif not args.quiet:
            print_cloud_status(cloud)
        return 0
    if args.all_branches or args.all_tags or args.all_commits:
        print("ERROR: -a/-T/-A only apply to `status --cloud`", file=sys.stderr)
        return 254
    with Repo() as repo:
        result = repo.status(
            _targets(args.targets) or None, recursive=args.recursive, with_deps=args.with_deps
        )
    if args.json:
        payload = {g: [{"changed outs": c}] for g, c in result.changes.items()}
        print(json.dumps(payload))
    elif args.quiet:
        return 0 if result.clean else 1
    else:
        print_status(result)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    quiet = argparse.ArgumentParser(add_help=False)
    quiet.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    revs = argparse.ArgumentParser(add_help=False)
    for short, name, text in (
        ("-a", "--all-branches", "also the metafiles of every branch tip"),
        ("-T", "--all-tags", "also the metafiles of every tag"),
        ("-A", "--all-commits", "also the metafiles of every commit"),
    ):
        revs.add_argument(short, name, action="store_true", help=text)
    scope = argparse.ArgumentParser(add_help=False, parents=[revs])
    scope.add_argument(
        "-d", "--with-deps", action="store_true", help="also the outputs of upstream stages"
    )
    scope.add_argument(
        "-R",
        "--recursive",
        action="store_true",
        help="a directory target means every metafile in it",
    )

    p = sub.add_parser("init", parents=[quiet], help="Initialize a DVC repository here.")
    p.add_argument("--no-scm", action="store_true", help="initialize without Git")
    p.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="re-initialize an existing repository (the cache is kept)",
    )
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("add", parents=[quiet], help="Track data files or directories.")
    p.add_argument("targets", nargs="+", metavar="TARGET", help="files or directories to track")
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("checkout", parents=[quiet], help="Restore tracked data from the cache.")
    p.add_argument(
        "targets",
        nargs="*",
        metavar="TARGET",
        help=".dvc files, stages, outputs or paths inside tracked directories",
    )
    p.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="overwrite or delete workspace data that is not in the cache",
    )
    p.add_argument("--relink", action="store_true", help="recreate every file from the cache")
    p.add_argument("--summary", action="store_true", help="print counts instead of paths")
    p.add_argument(
        "--allow-missing",
        action="store_true",
        help="do not fail for files whose objects are missing from the cache",
    )
    p.set_defaults(func=cmd_checkout)

    p = sub.add_parser("status", parents=[quiet, scope], help="Show changed outputs.")
    p.add_argument("targets", nargs="*", metavar="TARGET", help="limit to these targets")
    p.add_argument("--json", action="store_true", help="print the status as JSON")
    p.add_argument("-c", "--cloud", action="store_true", help="compare the cache with a remote")
    p.add_argument("-r", "--remote", help="remote to compare with (implies --cloud)")
    p.add_argument("-j", "--jobs", type=int, help="parallel requests to the remote")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "gc", parents=[revs], help="Remove cache (and remote) objects the workspace does not use."
    )
    p.add_argument("-w", "--workspace", action="store_true", help="keep what the workspace uses")
    p.add_argument("-c", "--cloud", action="store_true", help="also remove them from the remote")
    p.add_argument("-r", "--remote", help="remote to collect (with --cloud)")
    p.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_gc)

    p = sub.add_parser(
        "import-url", parents=[quiet], help="Track a cloud object or folder by its version ids."
    )
    p.add_argument("url", help="s3://bucket/path or gs://bucket/path")
    p.add_argument("out", nargs="?", help="where to put it (default: the URL's last part)")
    p.add_argument(
        "--version-aware", action="store_true", help="record version ids (required by freight)"
    )
    p.add_argument("--fs-config", nargs="*", metavar="NAME=VALUE", help="source options")
    p.add_argument("-f", "--force", action="store_true", help="replace an existing output")
    p.add_argument("-j", "--jobs", type=int, help="parallel downloads")
    p.set_defaults(func=cmd_import_url)

    p = sub.add_parser(
        "update",
        parents=[quiet],
        help="Record and fetch an import's or a worktree remote's current data.",
    )
    p.add_argument("targets", nargs="+", metavar="TARGET", help=".dvc files or outputs")
    p.add_argument("-r", "--remote", help="worktree remote (default: core.remote)")
    p.add_argument("-j", "--jobs", type=int, help="parallel transfers (default: per remote)")
    p.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="overwrite or delete workspace data that is not in the cache",
    )
    p.set_defaults(func=cmd_update, verb="update")

    for name, func, text in (
        ("push", cmd_transfer, "Upload tracked data the remote lacks."),
        ("fetch", cmd_transfer, "Download tracked data the cache lacks."),
        ("pull", cmd_pull, "Fetch tracked data and check it out."),
    ):
        p = sub.add_parser(name, parents=[quiet, scope], help=text)
        p.add_argument(
            "targets",
            nargs="*",
            metavar="TARGET",
            help=".dvc files, stages, outputs or paths inside tracked directories",
        )
        p.add_argument("-r", "--remote", help="remote to use (default: core.remote)")
        p.add_argument("-j", "--jobs", type=int, help="parallel transfers (default: per remote)")
        if name == "pull":
            p.add_argument(
                "-f",
                "--force",
                action="store_true",
                help="overwrite or delete workspace data that is not in the cache",
            )
            p.add_argument(
                "--allow-missing",
                action="store_true",
                help="do not fail for files missing from the cache and remote",
            )
        p.set_defaults(func=func, verb=name)
