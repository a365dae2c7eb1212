"""The ``billow`` command: ``serve``, ``daily`` (alias ``overdue``), ``migrate``, ``pdf render``,
``backup``, ``restore``, ``verify-backup``, ``export``, ``import``.

Every command that touches data takes the same ``--data-dir`` (default ``.billow``), so
``billow daily --data-dir D`` works on the store ``billow serve --data-dir D`` serves, even
while it runs (SQLite serialises the writers; the daily run's lease keeps two runs apart).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="billow", description="Billow invoicing")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the local server (app, API, overdue job)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    serve.add_argument("--data-dir", default=None, help="default: $BILLOW_DATA_DIR or .billow")
    serve.add_argument("--quiet", action="store_true", help="do not log each request")
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default: $BILLOW_WORKERS or one per CPU)",
    )
    serve.add_argument(
        "--server",
        choices=("uvicorn", "stdlib"),
        default="uvicorn",
        help="uvicorn (default), or the old standard-library server (one process; for comparison)",
    )

    for name in ("daily", "overdue"):
        daily = sub.add_parser(
            name,
            help="run the daily run once: overdue, reminders, recurring invoices (what falls due)"
            + (" — another name for `billow daily`" if name == "overdue" else ""),
        )
        daily.add_argument("--today", type=_parse_date, default=None, help="YYYY-MM-DD")
        daily.add_argument("--data-dir", default=None)

    backup = sub.add_parser(
        "backup", help="back up the embedded store (database snapshot, files, checksums)"
    )
    backup.add_argument("dir", help="a new folder for the backup")
    backup.add_argument("--data-dir", default=None)
    verify = sub.add_parser("verify-backup", help="check a backup against its manifest")
    verify.add_argument("dir")
    restore = sub.add_parser("restore", help="restore a backup into a data folder")
    restore.add_argument("backup", help="the backup folder")
    restore.add_argument("--data-dir", required=True, help="the folder to restore into")
    restore.add_argument(
        "--force",
        action="store_true",
        help="restore into a non-empty folder (its content is moved aside, not deleted)",
    )
    export = sub.add_parser("export", help="one account's data as an archive (.tar, .zip)")
    export.add_argument("--account", required=True, metavar="EMAIL")
    export.add_argument("archive", help="OUT.tar, OUT.tar.gz or OUT.zip")
    export.add_argument("--data-dir", default=None)
    imp = sub.add_parser("import", help="import an account archive into this store")
    imp.add_argument("archive")
    imp.add_argument("--data-dir", default=None)

    migrate = sub.add_parser(
        "migrate",
        help="upgrade the store in place: build the declared indexes and aggregates a store "
        "written by an older version lacks (also run by `billow serve` at start)",
    )
    migrate.add_argument("--data-dir", default=None)
    migrate.add_argument(
        "--store-url", default=None, help="another store (sqlite:///… or dynamodb://…)"
    )
    migrate.add_argument("--rebuild", action="store_true", help="rebuild every index from records")

    pdf = sub.add_parser("pdf", help="PDF tools (see `billow pdf render --help`)")
    pdf.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _serve(args: argparse.Namespace) -> int:
    import os
    import time

    from infra.server import configure_environment

    if args.server == "stdlib":
        from infra.server import serve

        serve(args.host, args.port, args.data_dir, quiet=args.quiet)
        return 0
    from infra import production

    data_dir = configure_environment(args.data_dir)
    _migrate(None, rebuild=False)  # once, before the workers open the store
    os.environ["BILLOW_SERVE_STARTED"] = repr(time.time())
    production.serve(args.host, args.port, data_dir, workers=args.workers, quiet=args.quiet)
    return 0


def _migrate(store_url: str | None, *, rebuild: bool) -> dict:
    """Upgrade the store in place (see ``Store.migrate``); prints what was built."""
    from storage_adapter import open_store

    store = open_store(store_url)
    try:
        done = dict(getattr(store, "migrated", {}))  # SQLite upgrades when it opens
        done.update(store.migrate(force=rebuild))
        result = {"migrated": done}
    finally:
        store.close()
    if result["migrated"]:
        print(f"billow migrate: {json.dumps(result['migrated'])}", file=sys.stderr)
    return result


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["pdf"]:  # delegated as a whole, so its own --help and options work
        from functions.pdf.cli import main as pdf_main

        return int(pdf_main(argv[1:]) or 0)
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "migrate":
        from infra.server import configure_environment

        if not args.store_url:
            configure_environment(args.data_dir)
        print(json.dumps(_migrate(args.store_url, rebuild=args.rebuild), indent=2))
        return 0
    if args.command in ("daily", "overdue"):
        from infra.server import configure_environment, run_daily_job

        configure_environment(args.data_dir)
        result = run_daily_job(args.today)
        print(json.dumps(result, indent=2, default=str))
        return 1 if result.get("errors") else 0
    return _data_command(args)


def _data_command(args: argparse.Namespace) -> int:
    """backup, verify-backup, restore, export, import: a clear message and exit code 1 on a
    refusal, never a traceback."""
    import os
    from pathlib import Path

    from infra.backup import BackupError
    from infra.portability import PortabilityError
    from infra.server import configure_environment

    try:
        if args.command == "verify-backup":
            from infra.backup import verify

            result = verify(Path(args.dir))
        elif args.command == "restore":
            from infra.backup import restore

            result = restore(Path(args.backup), Path(args.data_dir).resolve(), force=args.force)
        elif args.command == "backup":
            from infra.backup import backup, sqlite_path

            configure_environment(args.data_dir)
            db = sqlite_path(os.environ["BILLOW_STORE_URL"])
            manifest = backup(db, Path(args.dir).resolve())
            result = {"backup": str(Path(args.dir).resolve()), "files": len(manifest["files"])}
        elif args.command in ("export", "import"):
            from functions.api import runtime
            from infra.portability import export_account, import_account

            configure_environment(args.data_dir)
            store = runtime.get_store()
            if args.command == "export":
                manifest = export_account(store, args.account, Path(args.archive))
                result = {"archive": args.archive, **manifest["counts"]}
            else:
                result = import_account(store, Path(args.archive))
        else:
            return 2
    except (BackupError, PortabilityError) as exc:
        print(f"billow {args.command}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
