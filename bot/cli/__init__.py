"""The ``papersbot`` command line. Exit codes: 0 success, 2 bad usage or configuration,
1 any other failure.

    papersbot run                      every configured adapter (the console when none is)
    papersbot demo [--once]            offline, on the bundled real snapshot
    papersbot demo --simulate 3d       fast-forward days: watch digests and DMs fire
    papersbot ingest [--date D | --since D | --from-file PATH]
    papersbot search QUERY...          one-shot; each result line shows its arXiv id
    papersbot backup PATH              a consistent copy of the database, even while running
    papersbot export PATH              the store as portable JSON lines (.gz to compress)
    papersbot import PATH [--merge]    load an export into a new database
    papersbot discord-invite           the OAuth2 URL that adds the bot to a server
    papersbot secret-key               a new random key for PAPERSBOT_SECRET_KEY
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import date
from pathlib import Path

from rich.console import Console

from bot.cli.offline import (
    backup_database,
    demo,
    export_database,
    import_database,
    ingest,
    invite,
    search_once,
    simulate_demo,
)
from bot.cli.serve import run
from bot.config import Settings, load_settings
from bot.errors import ConfigError, PapersbotError, UserInputError
from bot.identity import bot_version
from bot.ops.logs import configure_logging
from bot.service.sealing import generate_key

log = logging.getLogger(__name__)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-08-19") from None


DESCRIPTION = (
    "Trending research papers (Hugging Face Daily Papers, arXiv) in Slack, Discord and "
    "the terminal: channel digests, search and DM subscriptions."
)
EPILOG = (
    "Settings come from the environment or a .env file (see .env.example). "
    "Exit codes: 0 success, 2 bad usage or configuration, 1 any other failure. "
    "Run 'papersbot COMMAND --help' for a command's options."
)


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str
) -> argparse.ArgumentParser:
    """A subcommand whose one-line *summary* is both its entry in ``--help`` and the
    description of its own ``--help``."""
    return sub.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="papersbot",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=lambda prog: argparse.HelpFormatter(prog, max_help_position=30),
    )
    parser.add_argument("--version", action="version", version=f"papersbot {bot_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    _command(sub, "run", "start every configured adapter (the console when none is)")
    demo = _command(sub, "demo", "offline demo on a bundled snapshot of real Daily Papers days")
    demo.add_argument("--once", action="store_true", help="print the digest and exit")
    demo.add_argument("--database", help="keep the demo store in this file (default: temp)")
    demo.add_argument(
        "--simulate",
        metavar="SPAN",
        help="fast-forward SPAN (36h, 3d, 2w; at most 14 days) on a simulated clock and "
        "print every scheduled post as it fires",
    )
    demo.add_argument(
        "--script",
        help="with --simulate: commands to run before the fast-forward, separated by ';' "
        "(default: a digest and two subscriptions)",
    )
    ingest = _command(sub, "ingest", "fetch Daily Papers into the store")
    which = ingest.add_mutually_exclusive_group()
    which.add_argument("--date", type=_day, help="one day (YYYY-MM-DD)")
    which.add_argument("--since", type=_day, help="every weekday from this day to today")
    which.add_argument(
        "--from-file",
        type=Path,
        metavar="PATH",
        help="a daily_papers JSON array or {date, items} JSON lines (.gz ok)",
    )
    search = _command(sub, "search", "search the store once and print the results")
    search.add_argument(
        "query", nargs="+", help="query, e.g. diffusion -video since:30d (no quotes needed)"
    )
    search.add_argument("--page", type=int, default=1, help="result page (5 per page)")
    copy = _command(sub, "backup", "copy the database consistently, even while papersbot runs")
    copy.add_argument("path", type=Path, metavar="PATH", help="the new backup file")
    out = _command(sub, "export", "write the store as portable JSON lines, even while it runs")
    out.add_argument("path", type=Path, metavar="PATH", help="the new file (.gz: compressed)")
    into = _command(sub, "import", "load an export into a new database, all or nothing")
    into.add_argument("path", type=Path, metavar="PATH", help="a papersbot export")
    into.add_argument(
        "--merge", action="store_true", help="add to a database that holds only papers"
    )
    invite = _command(sub, "discord-invite", "print the URL that adds the bot to a Discord server")
    invite.add_argument(
        "--application-id", help="the application id (default: read from DISCORD_TOKEN)"
    )
    _command(sub, "secret-key", "print a new key for PAPERSBOT_SECRET_KEY (Slack OAuth)")
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; after ``search`` every word is the query, ``-word`` exclusions
    included (``papersbot search diffusion -video``)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command == "search":
        args.query = [*args.query, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "demo" and args.script is not None and not args.simulate:
        parser.error(
            "demo: --script runs its commands before a fast-forward; add --simulate SPAN "
            '(e.g. papersbot demo --simulate 2d --script "digest on at 9am")'
        )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "secret-key":  # needs no settings: it is how one of them is made
        print(generate_key())
        return 0
    # Wrap for a person at a terminal; keep one line per item for pipes and logs.
    console = Console(soft_wrap=not sys.stdout.isatty())
    try:
        settings = load_settings()
        configure_logging(settings)
        return asyncio.run(_dispatch(args, settings, console))
    except ConfigError as exc:
        Console(stderr=True).print(
            f"[red]configuration error:[/] {exc}", markup=True, highlight=False
        )
        return 2
    except UserInputError as exc:  # bad usage the person can fix: `--simulate 0d`
        Console(stderr=True).print(f"papersbot: {exc}", markup=False, highlight=False)
        return 2
    except PapersbotError as exc:
        Console(stderr=True).print(f"papersbot: {exc}", markup=False, highlight=False)
        return 1
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # a busy port, an unreachable platform API at start-up, ...
        log.debug("start-up failed", exc_info=True)
        Console(stderr=True).print(f"papersbot: {exc}", markup=False, highlight=False)
        return 1
    except Exception:
        log.exception("papersbot stopped on an unexpected error")
        Console(stderr=True).print(
            "papersbot: stopped on an unexpected error (logged above)", markup=False
        )
        return 1


async def _dispatch(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    if args.command == "demo" and args.simulate:
        return await simulate_demo(settings, console, args.simulate, args.script)
    if args.command == "demo":
        return await demo(settings, console, once=args.once, database=args.database)
    if args.command == "run":
        return await run(settings, console)
    if args.command == "ingest":
        return await ingest(settings, console, args)
    if args.command == "backup":
        return await backup_database(settings, console, args.path)
    if args.command == "export":
        return await export_database(settings, console, args.path)
    if args.command == "import":
        return await import_database(settings, console, args.path, merge=args.merge)
    if args.command == "discord-invite":
        return invite(settings, console, "discord", args.application_id)
    return await search_once(settings, console, " ".join(args.query), args.page)
