"""The ``billow`` command: ``serve``, ``daily`` (alias ``overdue``), ``pdf render``.

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
            help="run the daily run once: overdue marking and reminders (what falls due)"
            + (" — another name for `billow daily`" if name == "overdue" else ""),
        )
        daily.add_argument("--today", type=_parse_date, default=None, help="YYYY-MM-DD")
        daily.add_argument("--data-dir", default=None)

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
    os.environ["BILLOW_SERVE_STARTED"] = repr(time.time())
    production.serve(args.host, args.port, data_dir, workers=args.workers, quiet=args.quiet)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["pdf"]:  # delegated as a whole, so its own --help and options work
        from functions.pdf.cli import main as pdf_main

        return int(pdf_main(argv[1:]) or 0)
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command in ("daily", "overdue"):
        from infra.server import configure_environment, run_daily_job

        configure_environment(args.data_dir)
        result = run_daily_job(args.today)
        print(json.dumps(result, indent=2, default=str))
        return 1 if result.get("errors") else 0
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
