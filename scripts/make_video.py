#!/usr/bin/env python3
"""A sample video for the board's media region, made with PyAV (no ffmpeg binary, no numpy).

    python scripts/make_video.py OUT.mp4|OUT.webm [--size 1280x720] [--seconds 10] [--fps 30] [--codec C]
                                 [--no-sound]

The picture changes colour every `--seconds`/8 and carries moving noise, so every frame differs, as
film does; the sound is a 440 Hz tone. Codecs: h264 (libx264), mpeg4 or vp8/vp9 (libvpx), all in the
PyAV wheel; .mp4 gets AAC sound, .webm Opus. tests/test_display_video.py and scripts/bench_display.py
use `make_clip`; an office can use it to try a board before it has films of its own.
"""

from __future__ import annotations

import argparse
import math
import struct
import sys
from fractions import Fraction
from pathlib import Path

COLOURS = [(220, 30, 30), (30, 200, 40), (40, 60, 230), (240, 220, 20), (240, 240, 240), (200, 40, 200),
           (20, 200, 200), (250, 140, 0)]
ENCODERS = {"h264": "libx264", "mpeg4": "mpeg4", "vp8": "libvpx", "vp9": "libvpx-vp9"}


def colour_at(t: float, seconds: float) -> tuple[int, int, int]:
    """The colour the clip shows at time t: one of COLOURS per eighth of its length."""
    return COLOURS[min(len(COLOURS) - 1, int(t / seconds * len(COLOURS)))]


def make_clip(out: Path, size: tuple[int, int] = (1280, 720), seconds: float = 10.0, fps: int = 30,
              codec: str = "h264", sound: bool = True, noise: bool = True) -> Path:
    import av
    from PIL import Image, ImageDraw

    w, h = size
    webm = out.suffix.lower() == ".webm"
    with av.open(str(out), "w", format="webm" if webm else "mp4") as c:
        v = c.add_stream(ENCODERS.get(codec, codec), rate=fps)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        if codec == "h264":
            v.options = {"preset": "veryfast"}
        a = None
        if sound:
            a = c.add_stream("libopus" if webm else "aac", rate=48000 if webm else 44100)
            a.layout = "mono"
        grain = Image.effect_noise((w, h), 40).convert("RGB") if noise else None
        for i in range(int(seconds * fps)):
            t = i / fps
            img = Image.new("RGB", (w, h), colour_at(t, seconds))
            if grain is not None:  # moving grain and a moving disc: every frame differs, as film does
                img = Image.blend(img, grain.transform(grain.size, Image.Transform.AFFINE,
                                                       (1, 0, (i * 7) % w, 0, 1, (i * 3) % h)), 0.25)
                d = ImageDraw.Draw(img)
                x = int((i * 9) % max(1, w - h // 4))
                d.ellipse((x, h // 3, x + h // 4, h // 3 + h // 4), fill=(255, 255, 255))
            frame = av.VideoFrame.from_image(img)
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for p in v.encode(frame):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
        if a is not None:
            rate = a.codec_context.sample_rate
            n = a.codec_context.frame_size or 1024
            for pos in range(0, int(seconds * rate), n):
                f = av.AudioFrame(format="s16", layout="mono", samples=n)
                f.planes[0].update(struct.pack(f"<{n}h", *(int(9000 * math.sin(2 * math.pi * 440 * (pos + k) / rate))
                                                          for k in range(n))))
                f.sample_rate, f.pts, f.time_base = rate, pos, Fraction(1, rate)
                for p in a.encode(f):
                    c.mux(p)
            for p in a.encode():
                c.mux(p)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--size", default="1280x720")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--codec", choices=sorted(ENCODERS), default=None,
                   help="h264 for .mp4, vp8 for .webm by default")
    p.add_argument("--no-sound", action="store_true")
    args = p.parse_args(argv)
    try:
        w, h = (int(x) for x in args.size.lower().split("x"))
    except ValueError:
        print(f"make_video: --size {args.size}: use WIDTHxHEIGHT", file=sys.stderr)
        return 1
    if args.out.suffix.lower() not in (".mp4", ".webm"):
        print("make_video: OUT must end in .mp4 or .webm", file=sys.stderr)
        return 1
    codec = args.codec or ("vp8" if args.out.suffix.lower() == ".webm" else "h264")
    make_clip(args.out, (w, h), args.seconds, args.fps, codec, not args.no_sound)
    print(f"make_video: wrote {args.out} ({w}x{h}, {args.seconds:g} s, {codec})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
