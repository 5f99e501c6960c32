"""The `jiaohao` command. Each subcommand imports only what it needs, lazily:
`jiaohao display` never imports Flask and `jiaohao kiosk` never imports pygame."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .wire.errors import FixableError, UsageError

DEFAULT_PORT = 8600


def _fail(message: str, command: str | None = None) -> int:
    print(f"jiaohao {command}: {message}" if command else f"jiaohao: {message}", file=sys.stderr)
    return 1


def _serve(args: argparse.Namespace) -> int:
    from .serve import serve

    return serve(args.config, args.db, args.host, args.port)


def _up(args: argparse.Namespace) -> int:
    from .up import up

    return up(args.db, args.port, args.out, history=not args.no_history, headless=args.headless)


def _check(args: argparse.Namespace) -> int:
    from .config import load_arrivals, load_office

    office = load_office(args.config)
    load_arrivals(args.config, office)  # the [simulation] table, if any, is checked too
    print(f"{args.config}: ok: {office.name.zh} / {office.name.en}, {len(office.services)} services, "
          f"{len(office.counters)} counters, {len(office.devices)} devices")
    return 0


def _can_ask() -> bool:
    """Whether getpass can ask without echoing: a terminal, on standard input or the process's own."""
    if sys.stdin.isatty():
        return True
    try:
        open("/dev/tty").close()  # noqa: SIM115 (only whether it opens)
    except OSError:
        return False
    return True


def _user(args: argparse.Namespace) -> int:
    import getpass

    from .store import Store
    from .users import add_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        if not _can_ask():
            raise UsageError("no terminal to ask for the password on; to pipe one in, use --password-stdin; "
                             "nothing was changed")
        try:
            password = getpass.getpass(f"password for {args.name}: ")
            again = getpass.getpass("again: ")
        except EOFError:  # no terminal to ask on (a pipe, a script): say how, not a traceback
            raise UsageError("no password was typed (standard input ended); to pipe one in, use "
                             "--password-stdin; nothing was changed") from None
        if again != password:
            raise UsageError("the two passwords differ; nothing was changed")
    # Not exclusive: adding a clerk must work while the hub runs on the same database.
    store = Store(args.db, exclusive=False)
    try:
        user = add_user(store, args.name, args.role, password)  # UserError: a FixableError, one line
    finally:
        store.close()
    print(f"added {user.role} {user.name} to {args.db}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from .simulate import command

    return command(args)  # SimulationError: a FixableError, one line and exit 1 from main


def _kiosk_office_sample(path: str | None, service: str, lane: str, number: str | None) -> tuple[Any, Any]:
    """The office file read by the hub's reader, in wire shapes, for `jiaohao kiosk preview`."""
    from .config import load_office
    from .protocol import office_info, sample_ticket

    office = load_office(path)
    return office_info(office), sample_ticket(office, service, lane, number)


def _backup(args: argparse.Namespace) -> int:
    from .store.backup import backup

    path = backup(args.db, args.to, args.keep)  # a BackupError is a FixableError: one line, exit 1
    print(f"backed up {args.db} to {path}")
    return 0


def _user_disable(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from .engine.model import Event
    from .store import Store

    # Not exclusive: it works while the hub runs, and the hub checks sessions on every request.
    store = Store(args.db, exclusive=False)
    try:
        now = datetime.now(UTC)
        day = store.meta("business_date") or now.date().isoformat()
        event = Event(kind="user_disabled", at=now, business_date=day, actor="cli", outcome=args.name)
        if not store.set_user(args.name, event, active=False):
            raise UsageError(f"there is no user '{args.name}' in {args.db}")
    finally:
        store.close()
    print(f"disabled {args.name} in {args.db}: logged out everywhere, and cannot log in again")
    return 0


def _not_built(part: str, issue: int) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        return _fail(f"'jiaohao {part}' is not built yet (issue #{issue}); only the hub runs today: jiaohao serve")

    return run


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line and exit code 1, as for every other mistake (CONTRACT.md).
        print(f"{self.prog}: {message}", file=sys.stderr)
        sys.exit(1)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="jiaohao", description="jiaohao 叫號: queue-number kiosk, hub and boards.")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    s = sub.add_parser("serve", help="the hub: HTTP API, Socket.IO, web pages")
    s.add_argument("--config", metavar="FILE", help="office file (default: the built-in demo office)")
    s.add_argument("--db", metavar="FILE", default="jiaohao.db", help="SQLite database (default: ./jiaohao.db)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    s.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})")
    s.set_defaults(func=_serve)

    u = sub.add_parser("up", help="everything on one machine with the demo office and simulated hardware")
    u.add_argument("--db", metavar="FILE", default="jiaohao-demo.db", help="database (default: ./jiaohao-demo.db)")
    u.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"hub port (default: {DEFAULT_PORT})")
    u.add_argument("--out", metavar="DIR", default="out", help="the simulated kiosk's tickets (default: ./out)")
    u.add_argument("--no-history", action="store_true",
                   help="start a new database empty, without two weeks of simulated history for the reports")
    u.add_argument("--headless", action="store_true",
                   help="draw the board to OUT/board.png after every call, even where there is a screen")
    u.set_defaults(func=_up)

    us = sub.add_parser("user", help="staff accounts for the counter console")
    us_sub = us.add_subparsers(dest="user_action", metavar="ACTION", parser_class=_Parser, required=True)
    ua = us_sub.add_parser("add", help="add a clerk, supervisor or admin (asks for the password)")
    ua.add_argument("name", help="login name, e.g. a staff number")
    ua.add_argument("--role", choices=("clerk", "supervisor", "admin"), required=True)
    ua.add_argument("--db", metavar="FILE", default="jiaohao.db", help="the hub's database (default: ./jiaohao.db)")
    ua.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    ua.set_defaults(func=_user)
    ud = us_sub.add_parser("disable", help="disable an account: its sessions end at once")
    ud.add_argument("name", help="login name")
    ud.add_argument("--db", metavar="FILE", default="jiaohao.db", help="the hub's database (default: ./jiaohao.db)")
    ud.set_defaults(func=_user_disable)

    b = sub.add_parser("backup", help="a consistent copy of the hub's database, also while the hub runs")
    b.add_argument("--db", metavar="FILE", required=True, help="the hub's database")
    b.add_argument("--to", metavar="DIR", required=True, help="where the copies go (made if missing)")
    b.add_argument("--keep", metavar="N", type=int, help="keep only the newest N copies in DIR")
    b.set_defaults(func=_backup)

    c = sub.add_parser("check-config", help="check an office file and say what is wrong, if anything")
    c.add_argument("config", metavar="FILE")
    c.set_defaults(func=_check)

    si = sub.add_parser("simulate", help="business days of the office through the real engine on a simulated clock")
    si.add_argument("--config", metavar="FILE", help="office file (default: the built-in demo office)")
    si.add_argument("--date", metavar="YYYY-MM-DD", help="the (first) day (default: the last weekday before today)")
    si.add_argument("--days", type=int, default=1, metavar="N", help="N days: the date, then the weekdays after it")
    si.add_argument("--seed", type=int, default=1, metavar="N", help="the same seed gives the same day (default: 1)")
    si.add_argument("--counters", metavar="LIST", help="open only this many counters per service: general=4,quick=2")
    si.add_argument("--policy", choices=("strict", "interleave"), help="another calling policy than the office file's")
    si.add_argument("--max-wait", type=int, metavar="MINUTES", help="another max_wait_minutes (0 = off)")
    si.add_argument("--db", metavar="FILE", help="write the days into this database (for jiaohao serve, the reports)")
    si.add_argument("--json", action="store_true", help="the figures as JSON (docs/simulate.md)")
    si.set_defaults(func=_simulate)

    from kiosk.cli import add_parser as add_kiosk  # light: the kiosk's own imports wait until it runs

    add_kiosk(sub, office_sample=_kiosk_office_sample)
    from display.cli import add_parser as add_display  # light: pygame waits until the board runs

    add_display(sub)
    from display.signs_cli import add_parser as add_signs  # light: pyserial and Pillow wait until signs run

    add_signs(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.version:
        from . import __version__

        print(f"jiaohao {__version__}")
        return 0
    if not getattr(args, "func", None):
        p.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except FixableError as e:  # every mistake a person can fix, from any subcommand: one line, exit 1
        return _fail(str(e), args.command)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
