"""The TV board as a web page (issue #4): `/board?token=DISPLAY_TOKEN` for smart TVs and browsers.

The page is the pygame board's twin (docs/display.md): fed by the same Socket.IO events, applied by
`seq` the same way, and speaking calls with the same WAV clips. What to say stays in one place,
`server/wire/speech.py`: the page asks `/board/speech` for the clip list of each call and
plays `/board/clips/<name>.wav` in that order. Both routes are open: a clip list and a recorded
word say nothing about anybody, and an <audio> or Web Audio fetch on a TV cannot always send a header.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request, send_file

from .context import current_hub
from .wire.speech import CLIPS, LANGUAGES, ZH_PHRASES, Token, announcement, clip_names, default_clip_dir

board = Blueprint("board", __name__)

BOARD_ROLES = ("display", "admin")
MAX_FIELD = 16  # ticket numbers and counter ids are short; anything longer is not a call
_FIELD = re.compile(rf"[0-9A-Za-z-]{{1,{MAX_FIELD}}}")
_CLIP_CACHE_S = 3600


def _error(status: int, code: str, message: str) -> Response:
    resp = jsonify({"error": {"code": code, "message": message}})
    resp.status_code = status
    return resp


def _no_store(resp: Response) -> Response:
    # The page carries the board's token: never cached, never sent on as a Referer.
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def languages_arg(raw: str | None) -> tuple[str, ...] | None:
    """`zh,en` (default), `en,zh`, `zh`, `en` or `none`; None if it is none of these."""
    if raw is None or raw == "":
        return LANGUAGES
    if raw == "none":
        return ()
    langs = tuple(part.strip() for part in raw.split(","))
    if not langs or any(lang not in LANGUAGES for lang in langs) or len(set(langs)) != len(langs):
        return None
    return langs


@board.get("/board")
def board_page() -> Response:
    h = current_hub()
    token = request.args.get("token", "")
    dev = h.device_for_token(token) if token else None
    office = h.office.name
    if dev is None:
        reason = "missing" if not token else "invalid"
        resp = Response(render_template("board.html", office=office, error=reason), status=401)
        return _no_store(resp)
    if dev.role not in BOARD_ROLES:
        resp = Response(render_template("board.html", office=office, error="role", role=dev.role), status=403)
        return _no_store(resp)
    langs = languages_arg(request.args.get("languages"))
    phrase = request.args.get("zh_phrase") or "qing"
    config: dict[str, Any] = {
        "token": token,
        "languages": ",".join(langs) if langs is not None else ",".join(LANGUAGES),
        "zhPhrase": phrase if phrase in ZH_PHRASES else "qing",
        "sound": request.args.get("sound", "on") != "off" and langs != (),
        "volume": _volume(request.args.get("volume")),
        # A video's sound (board-media.js), as the pygame board's --video-volume: silent while a call is spoken.
        "videoVolume": _volume(request.args.get("video_volume"), 50),
    }
    resp = Response(render_template("board.html", office=office, error=None, config=config), status=200)
    return _no_store(resp)


def _volume(raw: str | None, default: int = 80) -> float:
    try:
        return max(0.0, min(1.0, int(raw or str(default)) / 100))
    except ValueError:
        return default / 100


@board.get("/board/speech")
def speech() -> Response:
    """The clips that say one call, in order: `server.wire.speech.announcement()`, as JSON.

    `tokens` interleaves clip names and pauses in seconds (numbers), exactly as the pygame board
    splices them; `clips` is the names alone.
    """
    number = request.args.get("number", "")
    counter = request.args.get("counter", "")
    for field, value in (("number", number), ("counter", counter)):
        if not value:
            return _error(400, "missing_field", f"Give ?{field}=…, e.g. ?number=A023&counter=3. 缺少 {field}。")
        if not _FIELD.fullmatch(value):
            return _error(400, "invalid_field", f"{field} must be 1 to {MAX_FIELD} letters, digits or dashes. "
                                                f"{field} 格式錯誤。")
    langs = languages_arg(request.args.get("languages"))
    if langs is None:
        return _error(400, "invalid_field", "languages must be zh,en, en,zh, zh, en or none. 語言設定錯誤。")
    phrase = request.args.get("zh_phrase") or "qing"
    if phrase not in ZH_PHRASES:
        return _error(400, "invalid_field", f"zh_phrase must be one of {', '.join(ZH_PHRASES)}. 中文語句設定錯誤。")
    tokens: list[Token] = announcement(number, counter, langs, phrase) if langs else []
    resp = jsonify({"tokens": tokens, "clips": clip_names(tokens)})
    resp.headers["Cache-Control"] = f"public, max-age={_CLIP_CACHE_S}"
    return resp


def clip_dir() -> Path:
    """$JIAOHAO_CLIPS, else ~/.local/share/jiaohao/clips: the directory the pygame board reads."""
    configured = current_app.config.get("JIAOHAO_CLIPS")
    return Path(configured) if configured else default_clip_dir()


@board.get("/board/clips/<name>.wav")
def clip(name: str) -> Response:
    if name not in CLIPS:
        return _error(404, "not_found", f"There is no clip called '{name}'; the names are listed in "
                                        "docs/display.md. 沒有這個語音檔。")
    path = clip_dir() / f"{name}.wav"
    if not path.is_file():
        # The directory itself is not named: this route needs no token.
        return _error(404, "not_found", f"Clip '{name}.wav' is not in the hub's clip directory; record it or run "
                                        "scripts/make_clips.py there. 語音檔不存在。")
    return send_file(path, mimetype="audio/wav", max_age=_CLIP_CACHE_S, conditional=True)
