#!/usr/bin/env python3
"""Placeholder voice clips for the board's spoken calls, made with espeak-ng and sox.

    python scripts/make_clips.py [--out DIR] [--force]

Writes one WAV per name in server.wire.speech.CLIPS (22,050 Hz, mono, 16 bit) into DIR (default:
$JIAOHAO_CLIPS or ~/.local/share/jiaohao/clips). Mandarin uses espeak-ng's `cmn-latn-pinyin` voice:
the plain `cmn` voice of espeak-ng 1.51 reads the pinyin in English. The result is robotic; an office
replaces it with studio recordings under the same names (docs/display.md). Existing files are kept
unless --force, so recorded clips are never overwritten by accident.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.wire.speech import CLIPS, default_clip_dir  # noqa: E402

VOICES = {"zh": "cmn-latn-pinyin", "en": "en-us"}
RATE = "22050"
# sox: resample to one format, then cut leading and trailing silence (trimmed clips splice tightly).
TRIM = ["rate", RATE, "channels", "1", "silence", "1", "0.01", "1%", "reverse", "silence", "1", "0.01", "1%",
        "reverse"]


def _run(cmd: list[str]) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.strip()}")


def make_chime(out: Path) -> None:
    # Ding-dong: G5 then E5, each fading out, as on a station platform.
    _run(["sox", "-n", "-r", RATE, "-c", "1", "-b", "16", str(out),
          "synth", "0.45", "sine", "784", "fade", "h", "0.01", "0.45", "0.35", "vol", "0.5", ":",
          "synth", "0.7", "sine", "659", "fade", "h", "0.01", "0.7", "0.6", "vol", "0.5"])


def make_clip(name: str, lang: str, text: str, out: Path, tmp: Path) -> None:
    raw = tmp / f"{name}.raw.wav"
    _run(["espeak-ng", "-v", VOICES[lang], "-s", "140", "-w", str(raw), text])
    _run(["sox", str(raw), "-b", "16", str(out), *TRIM])


def make_clips(out_dir: Path, force: bool = False) -> list[str]:
    """Writes the clips that are missing (or all with force); returns the names written."""
    missing = [tool for tool in ("espeak-ng", "sox") if not shutil.which(tool)]
    if missing:
        raise RuntimeError(f"{' and '.join(missing)} not found: sudo apt install espeak-ng sox")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as t:
        for name, (lang, text) in CLIPS.items():
            out = out_dir / f"{name}.wav"
            if out.exists() and not force:
                continue
            if name == "chime":
                make_chime(out)
            else:
                make_clip(name, lang, text, out, Path(t))
            written.append(name)
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=None, help="clip directory (default: %(default)s → "
                   f"{default_clip_dir()})")
    p.add_argument("--force", action="store_true", help="overwrite existing clips (recorded ones too)")
    args = p.parse_args(argv)
    out = args.out or default_clip_dir()
    try:
        written = make_clips(out, args.force)
    except (RuntimeError, OSError) as e:
        print(f"make_clips: {e}", file=sys.stderr)
        return 1
    kept = len(CLIPS) - len(written)
    print(f"make_clips: wrote {len(written)} clips to {out}" + (f", kept {kept} existing" if kept else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
