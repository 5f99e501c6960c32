"""`jiaohao display`: the TV board. Building the parser imports nothing heavy (no pygame, no Flask).

Every mistake the person can fix raises a FixableError (server/wire/errors.py), which `jiaohao`
prints as one line with exit code 1 (CONTRACT.md); an unreachable hub is not a mistake: the board
says so on screen and keeps trying.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from server.wire.errors import UsageError

TOKEN_ENV = "JIAOHAO_DISPLAY_TOKEN"  # keeps the token out of `ps` on a shared machine


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1920x1080") from None
    if not (320 <= w <= 8192 and 240 <= h <= 8192):
        raise argparse.ArgumentTypeError(f"{text}: width and height must be between 320x240 and 8192x8192")
    return w, h


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    d = subparsers.add_parser(
        "display", help="the TV board (pygame): calls shown and spoken, queues, announcements",
        description="The TV board. Full screen on a console without a desktop (KMS/DRM), a window on a "
                    "desktop, or off-screen with --headless. Esc or q quits a window.")
    d.add_argument("--server", metavar="URL", help="the hub, e.g. http://192.168.1.10:8600")
    d.add_argument("--token", metavar="T", help=f"this board's token (role display), or set {TOKEN_ENV}")
    d.add_argument("--headless", action="store_true", help="draw off-screen (no window, no sound)")
    d.add_argument("--snapshot", metavar="FILE.png", type=Path,
                   help="write the board to FILE.png after --after N call events, then exit 0")
    d.add_argument("--after", metavar="N", type=int, default=0,
                   help="call events to wait for before --snapshot (default 0: right after the first state)")
    d.add_argument("--timeout", metavar="S", type=float,
                   help="with --snapshot: give up (exit 1) after S seconds")
    d.add_argument("--size", metavar="WxH", type=_size,
                   help="window or off-screen size (default 1280x720 windowed, 1920x1080 headless); "
                        "taller than wide gives the portrait layout")
    screen = d.add_mutually_exclusive_group()
    screen.add_argument("--fullscreen", dest="fullscreen", action="store_const", const=True, default=None,
                        help="full screen (the default on a console without a desktop)")
    screen.add_argument("--windowed", dest="fullscreen", action="store_const", const=False, help="a window")
    d.add_argument("--rotate", type=int, choices=(0, 90, 180, 270), default=0,
                   help="turn the picture clockwise, for a TV mounted on its side (portrait)")
    d.add_argument("--volume", metavar="0-100", type=int, default=80, help="announcement volume (default 80)")
    d.add_argument("--languages", metavar="LIST", default="zh,en",
                   help="spoken languages in order: zh,en (default), zh, en, or none")
    d.add_argument("--zh-phrase", choices=("laibin", "qing"), default="qing",
                   help="Mandarin sentence: qing 「請A023號到3號櫃台」 (default) or laibin 「A023號來賓，請到3號櫃台」")
    d.add_argument("--clips", metavar="DIR", type=Path,
                   help="voice clip directory (default $JIAOHAO_CLIPS or ~/.local/share/jiaohao/clips)")
    d.add_argument("--no-sound", action="store_true", help="show calls without speaking them (videos silent too)")
    d.add_argument("--video-volume", metavar="0-100", type=int, default=50,
                   help="the sound of the office's videos (default 50; 0: silent); silent while a call is spoken")
    d.add_argument("--no-media", action="store_true",
                   help="do not show the office's images and videos (GET /api/v1/media) beside the calls")
    d.add_argument("--fps", type=int, default=30, help=argparse.SUPPRESS)
    d.set_defaults(func=_run)
    return d


def server_and_token(args: argparse.Namespace, token_env: str, what: str) -> tuple[str, str]:
    """--server and --token (or its environment variable), checked the same way for every client."""
    server = (args.server or "").rstrip("/")
    if not server.startswith(("http://", "https://")):
        raise UsageError("--server URL is required and must start with http:// or https:// "
                         "(e.g. http://192.168.1.10:8600)")
    token = args.token or os.environ.get(token_env, "")
    if not token:
        raise UsageError(f"--token T ({what}) is required, or set {token_env}")
    return server, token


def _options(args: argparse.Namespace) -> Any:
    from .app import Options

    server, token = server_and_token(args, TOKEN_ENV, "this board's token from the office file")
    if args.after < 0:
        raise UsageError("--after N must be 0 or more")
    if (args.after or args.timeout) and not args.snapshot:
        raise UsageError("--after and --timeout go with --snapshot FILE.png")
    if args.snapshot and not args.snapshot.parent.is_dir():
        raise UsageError(f"--snapshot {args.snapshot}: the directory {args.snapshot.parent} does not exist")
    if not 0 <= args.volume <= 100:
        raise UsageError("--volume must be between 0 and 100")
    if not 0 <= args.video_volume <= 100:
        raise UsageError("--video-volume must be between 0 and 100")
    langs = tuple(x.strip() for x in args.languages.split(",") if x.strip())
    if langs == ("none",):
        langs = ()
    bad = [x for x in langs if x not in ("zh", "en")]
    if bad or len(set(langs)) != len(langs):
        raise UsageError(f"--languages {args.languages}: use zh and/or en, comma-separated, or none")
    if args.clips and not args.clips.is_dir():
        raise UsageError(f"--clips {args.clips}: no such directory (make one with scripts/make_clips.py --out DIR)")
    return Options(
        server=server, token=token, headless=args.headless, snapshot=args.snapshot, after=args.after,
        timeout=args.timeout, size=args.size, fullscreen=args.fullscreen, rotate=args.rotate,
        sound=not args.no_sound and not args.headless and bool(langs), volume=args.volume / 100,
        languages=langs, zh_phrase=args.zh_phrase, clip_dir=args.clips, fps=max(1, args.fps),
        media=not args.no_media, video_volume=args.video_volume / 100,
        video_sound=not args.no_sound and not args.headless and args.video_volume > 0,
    )


def _run(args: argparse.Namespace) -> int:
    import logging
    import signal

    opts = _options(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for name in ("socketio", "engineio", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from .app import run

    signal.signal(signal.SIGTERM, lambda *_: opts.stop_flag.append(True))
    try:
        return run(opts)
    except KeyboardInterrupt:
        return 0
