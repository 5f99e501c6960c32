"""`jiaohao kiosk`, `jiaohao kiosk press BUTTON`, `jiaohao kiosk check-in CODE` and `jiaohao kiosk preview`.

Imports are lazy: building the parser imports nothing heavy, `preview` never touches GPIO or the
network, and nothing here imports Flask, nor pygame unless the screen is asked for (--screen or
--screen-snapshot). Every mistake the person can fix raises a FixableError (server/wire/errors.py),
which `jiaohao` prints as one line with exit code 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from server.wire.errors import UsageError

TOKEN_ENV = "JIAOHAO_KIOSK_TOKEN"  # keeps the token out of `ps` on a shared machine


def _say_fail(message: str) -> int:
    print(f"jiaohao kiosk: {message}", file=sys.stderr)
    return 1


def _options(p: argparse.ArgumentParser, sub: bool) -> None:
    # On `press` the same options come after the action (CONTRACT.md); SUPPRESS keeps the values given
    # before it when they are not repeated after it.
    d: dict[str, Any] = {"default": argparse.SUPPRESS} if sub else {"default": None}
    p.add_argument("--config", metavar="FILE", help="the kiosk file (TOML)", **d)
    p.add_argument("--server", metavar="URL", help="the hub, e.g. http://192.168.1.10:8600", **d)
    p.add_argument("--token", metavar="T", help=f"this kiosk's token (or set {TOKEN_ENV})", **d)
    p.add_argument("--printer", metavar="SPEC",
                   help="usb:VID:PID, net:HOST[:PORT], serial:DEVICE[:BAUD], file:PATH or sim:[PATH] "
                        "(default: the kiosk file's printer)", **d)


def _size(value: str) -> tuple[int, int]:
    w, _, h = value.lower().partition("x")
    if not (w.isdigit() and h.isdigit() and 320 <= int(w) <= 7680 and 240 <= int(h) <= 4320):
        raise argparse.ArgumentTypeError(f"must be WIDTHxHEIGHT, e.g. 800x480 (got {value!r})")
    return int(w), int(h)


# The hub's reading of an office file, as the kiosk would get it from the hub: (office file or None
# for the demo office, service id, lane id, number or None) -> (OfficeInfo, a sample Ticket).
# server/cli.py passes it in, so that the kiosk never imports the hub's office reader.
OfficeSample = Callable[[str | None, str, str, str | None], tuple[Any, Any]]


def add_parser(subparsers: Any, office_sample: OfficeSample) -> argparse.ArgumentParser:
    k = subparsers.add_parser(
        "kiosk", help="the ticket kiosk: GPIO buttons, lamps, ESC/POS printer",
        description="The ticket kiosk. Without an action it runs until stopped: buttons issue and print "
                    "tickets, lamps say what is possible. Actions: press BUTTON (one test ticket), "
                    "preview --out FILE (the ticket image, no printer or hub).")
    _options(k, sub=False)
    k.add_argument("--pins", choices=("mock", "auto"), default="auto",
                   help="GPIO: auto (lgpio on a Pi 5, RPi.GPIO on older Pis) or mock (no hardware)")
    k.add_argument("--keys", action="store_true",
                   help="with --pins mock: press buttons by typing their number (1, 2, ...) and Enter")
    k.add_argument("--save-png", metavar="DIR", help="also keep every printed ticket as a PNG in DIR")
    k.add_argument("--screen", action="store_true",
                   help="show the kiosk screen (pygame): services, waiting counts, the number just issued, faults")
    k.add_argument("--screen-size", metavar="WxH", type=_size, default=None,
                   help="the screen's size in a window or off-screen (default 800x480; also 1024x600, 1280x720)")
    k.add_argument("--fullscreen", action="store_true", default=None,
                   help="with --screen: the whole display (default on a console without a desktop)")
    k.add_argument("--screen-snapshot", metavar="FILE.png",
                   help="also write the screen to this PNG whenever it changes; without --screen, off-screen only")
    k.set_defaults(func=_run, kiosk_action=None)
    actions = k.add_subparsers(dest="kiosk_action", metavar="ACTION", parser_class=type(k))

    p = actions.add_parser("press", help="one press of one button, printed, then exit (0 printed, 1 not)")
    p.add_argument("button", metavar="BUTTON", help="a button id from the kiosk file")
    _options(p, sub=True)
    p.set_defaults(func=_press)

    c = actions.add_parser("check-in", help="check in one booking by its code, print its ticket, then exit "
                                            "(0 printed, 1 not)")
    c.add_argument("code", metavar="CODE", help="the booking code (as typed on the keypad or scanned)")
    _options(c, sub=True)
    c.set_defaults(func=_check_in)

    v = actions.add_parser("preview", help="render a sample ticket to a PNG without a printer or hub")
    v.add_argument("--out", metavar="FILE", required=True, help="the PNG to write")
    v.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                   help="the kiosk file (paper width, footer, public URL, buttons)")
    v.add_argument("--office", metavar="FILE", help="office file for names and footer (default: the demo office)")
    v.add_argument("--button", metavar="ID", help="which button's service and lane (default: the first)")
    v.add_argument("--paper", type=int, choices=(58, 80), help="paper width in mm (default: the kiosk file's, or 80)")
    v.add_argument("--number", metavar="N", help="the ticket number shown (default: the service prefix + 023)")
    v.set_defaults(func=_preview, office_sample=office_sample)
    return k


# -- shared setup -------------------------------------------------------------------------------

class _Setup:
    def __init__(self, args: argparse.Namespace, need_printer: bool = True) -> None:
        from .config import load_kiosk
        from .printer import open_printer

        if not args.config:
            raise UsageError("--config FILE (the kiosk file) is required")
        self.config = load_kiosk(args.config)
        self.server = (args.server or "").rstrip("/")
        if not self.server.startswith(("http://", "https://")):
            raise UsageError("--server URL is required and must start with http:// or https:// "
                         "(e.g. http://192.168.1.10:8600)")
        self.token = args.token or os.environ.get(TOKEN_ENV, "")
        if not self.token:
            raise UsageError(f"--token T (this kiosk's token from the office file) is required, or set {TOKEN_ENV}")
        spec = args.printer or self.config.printer
        if not spec:
            raise UsageError("--printer SPEC is required (or printer = \"...\" in the kiosk file's [kiosk] table)")
        self.printer = open_printer(spec)
        from .hub_client import HubClient

        self.hub = HubClient(self.server, self.token)
        _warn_loopback_qr(self.config.public_url or self.server)


def _warn_loopback_qr(base: str) -> None:
    from urllib.parse import urlparse

    host = urlparse(base).hostname or ""
    if host in ("127.0.0.1", "localhost", "::1"):
        print(f"jiaohao kiosk: note: ticket QR codes will point at {base}, which a phone cannot reach; "
              "set public_url in the kiosk file ([kiosk] public_url)", file=sys.stderr)


# -- the three actions --------------------------------------------------------------------------

def _run(args: argparse.Namespace) -> int:
    import logging
    import signal
    from pathlib import Path

    from .app import KioskApp
    from .buttons import pin_factory

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    s = _Setup(args)
    if args.keys and args.pins != "mock":
        raise UsageError("--keys presses mock pins only: add --pins mock")
    if (args.fullscreen or args.screen_size) and not (args.screen or args.screen_snapshot):
        raise UsageError("--fullscreen and --screen-size are for the screen: add --screen")
    if args.screen_snapshot and not Path(args.screen_snapshot).resolve().parent.is_dir():
        raise UsageError(f"--screen-snapshot {args.screen_snapshot}: its folder does not exist")
    factory = pin_factory(args.pins)

    app = KioskApp(s.config, s.hub, s.printer, factory, server_url=s.server, out=sys.stdout,
                   save_png=Path(args.save_png) if args.save_png else None)
    signal.signal(signal.SIGTERM, lambda *_: app.stop())
    if args.keys:
        import threading

        threading.Thread(target=app.press_from_keys, args=(sys.stdin,), name="keys", daemon=True).start()
    print(f"jiaohao kiosk: {len(s.config.buttons)} buttons on {args.pins} pins, printer {s.printer.spec}, "
          f"hub {s.server}. Ctrl-C stops.", flush=True)
    try:
        if args.screen or args.screen_snapshot:
            from .screen import run_screen  # pygame is imported only here
            from .screen_layout import DEFAULT_SIZE

            return run_screen(app, size=args.screen_size or DEFAULT_SIZE, window=args.screen,
                              fullscreen=args.fullscreen, snapshot=Path(args.screen_snapshot)
                              if args.screen_snapshot else None)
        return app.run()
    except KeyboardInterrupt:
        return 0
    finally:
        app.close()


def _press(args: argparse.Namespace) -> int:
    from .controller import Controller

    s = _Setup(args)
    s.config.button(args.button)  # an unknown button is a mistake, said before anything is issued
    c = Controller(s.config, s.hub, s.printer, server_url=s.server, issue_deadline_s=10.0)
    c.refresh()
    result = c.press(args.button, ignore_cooldown=True)
    if c.orphans or c.pending_cancels:
        c.refresh()  # one more try at cancelling what could not be printed
    s.printer.close()
    if result.printed:
        assert result.ticket
        print(f"printed {result.ticket['number']} ({args.button}): {result.message}")
        if c.paper_near_end:
            print("jiaohao kiosk: warning: paper near end / 紙張即將用完", file=sys.stderr)
        return 0
    extra = ""
    if c.pending_cancels:
        extra = f" (ticket {c.pending_cancels[0]['number']} could not be cancelled at the hub: cancel it at a counter)"
    return _say_fail(f"no ticket ({result.outcome}): {result.message.en} / {result.message.zh}{extra}")


def _check_in(args: argparse.Namespace) -> int:
    from .controller import Controller

    s = _Setup(args)
    c = Controller(s.config, s.hub, s.printer, server_url=s.server, issue_deadline_s=10.0)
    c.refresh()
    result = c.check_in(args.code)
    s.printer.close()
    if result.printed:
        assert result.ticket
        print(f"printed {result.ticket['number']} (booking {args.code}): {result.message}")
        return 0
    return _say_fail(f"no ticket ({result.outcome}): {result.message.en} / {result.message.zh}")


def _preview(args: argparse.Namespace) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from .config import PAPER_WIDTHS, load_kiosk
    from .ticket_image import render_ticket, sample_content

    config = load_kiosk(args.config) if getattr(args, "config", None) else None
    if config and args.button:
        button = config.button(args.button)
        service_id, lane_id = button.service, button.lane
    elif config:
        service_id, lane_id = config.buttons[0].service, config.buttons[0].lane
    else:
        service_id, lane_id = "general", "normal"
        if args.button:
            raise UsageError("--button needs --config (the kiosk file that names the buttons)")
    office, ticket = args.office_sample(args.office, service_id, lane_id, args.number)
    paper = args.paper or (config.paper_mm if config else 80)
    base = (config.public_url if config else "") or office.public_url or "http://127.0.0.1:8600"
    content = sample_content(
        office=office.name,
        service=ticket.service_name,  # the neutral name for private services, as the hub sends it
        number=ticket.number,
        lane=ticket.lane_name if ticket.priority else None,
        status_url=f"{base}/s/PREVIEW",
        footer=(config.footer if config else None) or office.ticket_footer,
        issued_at=datetime.now(ZoneInfo(office.timezone or "Asia/Taipei")),
    )
    image = render_ticket(content, PAPER_WIDTHS[paper])
    try:
        image.save(args.out, format="PNG")
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot write {args.out}: {e}") from None
    print(f"wrote {args.out}: {image.width}x{image.height} px, {paper} mm paper")
    return 0
