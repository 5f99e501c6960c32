"""`jiaohao signs`: one process drives the LED signs of several counters (docs/signs.md).

It is the board's loop without a screen: the same reconnecting client (display/client.py) feeds the
same reducer (display/state.py), and after every batch of events the pure `picture` says what each
sign shows; the driver sends only what changed. Building the parser imports nothing heavy; the loop
never imports pygame or Flask, and pyserial only when a real port is opened.
"""

from __future__ import annotations

import argparse
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from server.wire.errors import UsageError

TOKEN_ENV = "JIAOHAO_SIGNS_TOKEN"  # keeps the token out of `ps` on a shared machine
TICK_S = 0.25  # how often the signs are brought up to date when no event arrives (the 10 s rule, refresh)


def _fail(message: str) -> int:
    print(f"jiaohao signs: {message}", file=sys.stderr)
    return 1


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    s = subparsers.add_parser(
        "signs", help="LED counter signs: each shows its counter's called number (serial, or simulated to PNG)",
        description="Drives the LED signs above the counters over one serial bus (docs/signs.md), or draws "
                    "them as PNG files with --simulate DIR. After 10 s without the hub every sign shows ----.")
    s.add_argument("--server", metavar="URL", help="the hub, e.g. http://192.168.1.10:8600")
    s.add_argument("--token", metavar="T", help=f"a display token of the office file, or set {TOKEN_ENV}")
    s.add_argument("--config", metavar="FILE", type=Path, help="the signs file (firmware_config/signs.example.toml)")
    s.add_argument("--simulate", metavar="DIR", type=Path,
                   help="no serial port: draw each counter's sign to DIR/counter-ID.png")
    s.add_argument("--port", metavar="DEVICE",
                   help="serial device or pyserial URL instead of the file's port (e.g. /dev/ttyUSB1)")
    s.set_defaults(func=_run)
    return s


@dataclass
class Options:
    server: str
    token: str
    config: Any  # SignsConfig
    simulate: Path | None = None
    port: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)


def _options(args: argparse.Namespace) -> Options:
    from .cli import server_and_token
    from .signs_config import load_signs

    server, token = server_and_token(args, TOKEN_ENV, "a display token from the office file")
    if not args.config:
        raise UsageError("--config FILE (the signs file, see firmware_config/signs.example.toml) is required")
    config = load_signs(args.config)  # SignsConfigError: one line naming the key
    port = args.port or config.port
    if not args.simulate and not port:
        raise UsageError(f"{args.config}: port is required (e.g. port = \"/dev/ttyUSB0\"), "
                         "or give --port DEVICE, or --simulate DIR")
    if args.simulate and args.port:
        raise UsageError("--port and --simulate exclude each other")
    return Options(server=server, token=token, config=config, simulate=args.simulate, port=port)


def _open_signs(opts: Options) -> tuple[list[tuple[str, Any]], Any, str]:
    """(counter id, sign) pairs, the bus to close at the end (or None), and a line saying where they are."""
    from .sign_bus import SerialBus, SerialSign

    cfg = opts.config
    if opts.simulate:
        from .dotmatrix import SimulatedSign

        try:
            opts.simulate.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UsageError(f"--simulate {opts.simulate}: cannot make the directory ({e})") from None
        # One picture per counter: two signs of one counter would only draw the same picture twice.
        signs = [(cid, SimulatedSign(opts.simulate / f"counter-{cid}.png", cfg.chars)) for cid in cfg.counter_ids]
        return signs, None, f"simulating {len(signs)} signs in {opts.simulate}/counter-ID.png"
    bus = SerialBus(opts.port, cfg.baud).open()  # SignError: a wrong device is reported, not retried
    signs = [(s.counter, SerialSign(bus, s.address)) for s in cfg.signs]
    return signs, bus, f"{len(signs)} signs on {opts.port} at {cfg.baud} 8N1"


def run(opts: Options, out: TextIO = sys.stdout) -> int:
    import logging
    import queue
    import time

    from server.wire.sdnotify import notifier

    from .client import HubLink
    from .sign_bus import SignError
    from .sign_mapping import OFFLINE_TEXT, picture, with_announcements
    from .signs import SignDriver
    from .state import Resync, initial, reduce

    log = logging.getLogger("jiaohao.signs")
    try:
        signs, bus, where = _open_signs(opts)
    except SignError as e:  # the port could not be opened: said once, not retried
        return _fail(str(e))
    cfg = opts.config
    # Which signs show the announcements: by the file's `text`; a simulated counter if any of its signs does.
    text = ([cid in cfg.text_counter_ids for cid, _ in signs] if opts.simulate
            else [s.text for s in cfg.signs])
    driver = SignDriver(signs, refresh_s=cfg.refresh_s, text=text)
    any_text = any(text)
    ids = driver.counter_ids
    print(f"jiaohao signs: {where}", file=out, flush=True)

    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    link = HubLink(opts.server, opts.token, events).start()
    board = initial(time.time())
    # Dark at once: whatever a sign still shows from before this process started may be stale.
    shown = picture(board, ids, time.time())  # what the signs show; the next picture's blinks differ from it
    driver.update(shown.views, time.monotonic())
    said_connected = False
    # READY once the signs are dark, then a watchdog ping from every turn of the loop that drives them.
    notify = notifier()
    notify.ready(where)
    try:
        while not opts.stop.is_set():
            try:
                batch = [events.get(timeout=TICK_S)]
            except queue.Empty:
                batch = []
            while len(batch) < 500:  # bounded: a burst never keeps the signs waiting
                try:
                    batch.append(events.get_nowait())
                except queue.Empty:
                    break
            for name, data in batch:
                if name == "token_refused":
                    msg = data.get("message") if isinstance(data, dict) else data
                    if board.seq is None:
                        return _fail(f"the hub at {opts.server} refused the token: {msg}")
                    name, data = "link_error", {"message": f"token refused: {msg}"}
                board, effects = reduce(board, name, data, now=time.time())
                for eff in effects:
                    if isinstance(eff, Resync):
                        log.info("reading the state again: %s", eff.reason)
                        link.resync()
                # Connected: the socket is in the hub's room too, not only GET /state answered (display/app.py).
                if board.seq is not None and board.connected and not said_connected:
                    said_connected = True
                    known = {c.id for c in board.counters}
                    print(f"jiaohao signs: connected to {opts.server} (seq {board.seq})", file=out, flush=True)
                    for cid in ids:
                        if cid not in known:
                            print(f"jiaohao signs: counter {cid!r} is not in the hub's office; its sign stays dark",
                                  file=sys.stderr, flush=True)
            now = time.time()
            shown = picture(board, ids, now, shown)
            driver.update(shown.views, time.monotonic(),
                          with_announcements(shown, board, cfg.chars, now) if any_text else None)
            for cid, view in shown.views.items():
                if view.blink:
                    log.info("counter %s: %s", cid, view.text)
            notify.ping()
        return 0
    finally:
        link.stop()
        driver.show_all(OFFLINE_TEXT)  # a number left standing after we stop would soon be stale
        driver.close()
        if bus is not None:
            bus.close()


def _run(args: argparse.Namespace) -> int:
    import logging
    import signal

    opts = _options(args)  # UsageError, SignsConfigError: one line and exit 1 from `jiaohao`'s main
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for name in ("socketio", "engineio", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, lambda *_: opts.stop.set())
    try:
        return run(opts)
    except KeyboardInterrupt:
        return 0
