"""The spoken-call rule: which clips say a call, in which order, with which pauses. Pure.

A call is a chime, then the sentence in each chosen language, built from short recorded clips
(digits, letters, words) so an office can replace the placeholder voice with studio recordings that
have the same file names (docs/display.md lists them; scripts/make_clips.py makes placeholders).
The pygame board plays these clips (display/announcer.py); the web board asks the hub for the same
list (server/board.py, `/board/speech`).

Zh (default, the Taiwanese office idiom): 「A023號來賓，請到3號櫃台」
Zh (`qing`, the short form):              「請 A023 號 到 3 號櫃台」
En:                                        "Number A023, please proceed to counter 3"
Ticket numbers are read character by character (A, 零, 二, 三); counter numbers below 100 as whole
numbers (十六號櫃台, counter sixteen), since that is how people say them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

Token = str | float  # a clip name, or seconds of silence
LANGUAGES = ("zh", "en")
ZH_PHRASES = ("laibin", "qing")

_ZH_DIGITS = "零一二三四五六七八九"
_EN_SMALL = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
             "fifteen sixteen seventeen eighteen nineteen").split()
_EN_TENS = {20: "twenty", 30: "thirty", 40: "forty", 50: "fifty", 60: "sixty", 70: "seventy", 80: "eighty",
            90: "ninety"}

# Every clip the announcer may ask for: name -> (language of the recording, what it says).
# Names are the contract with recorded clips: <name>.wav in the clip directory.
CLIPS: dict[str, tuple[str, str]] = {
    "chime": ("", "a two-tone chime (ding-dong) before every call"),
    **{f"zh_{d}": ("zh", _ZH_DIGITS[d]) for d in range(10)},
    "zh_10": ("zh", "十"),
    "zh_hao": ("zh", "號"),
    "zh_laibin": ("zh", "來賓"),
    "zh_qing": ("zh", "請"),
    "zh_dao": ("zh", "到"),
    "zh_guitai": ("zh", "櫃台"),
    **{f"en_{n}": ("en", _EN_SMALL[n]) for n in range(20)},
    **{f"en_{n}": ("en", w) for n, w in _EN_TENS.items()},
    "en_number": ("en", "Number"),
    "en_please_proceed_to_counter": ("en", "please proceed to counter"),
    # Letters are said the English way in both languages, as people in Taiwan say ticket prefixes.
    **{f"letter_{c}": ("en", c) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
}

GAP_WORD = 0.06  # between clips: spliced words need a breath to stay intelligible
GAP_PHRASE = 0.25  # at the comma
GAP_LANGUAGE = 0.6  # between the Mandarin and the English sentence
GAP_CHIME = 0.3


def _chars(text: str, lang: str) -> list[Token]:
    out: list[Token] = []
    for ch in text.upper():
        if ch.isdigit() and ch.isascii():
            out.append(f"{lang}_{ch}")
        elif "A" <= ch <= "Z":
            out.append(f"letter_{ch}")
        # anything else (a dash, a space) is not spoken: the screen shows it
    return out


def _counter_zh(cid: str) -> list[Token]:
    if not (cid.isascii() and cid.isdigit()) or int(cid) >= 100:
        return _chars(cid, "zh")
    n = int(cid)
    if n < 10:
        return [f"zh_{n}"]
    tens, ones = divmod(n, 10)
    head: list[Token] = [] if tens == 1 else [f"zh_{tens}"]  # 十六, not 一十六
    return head + ["zh_10"] + ([f"zh_{ones}"] if ones else [])


def _counter_en(cid: str) -> list[Token]:
    if not (cid.isascii() and cid.isdigit()) or int(cid) >= 100:
        return _chars(cid, "en")
    n = int(cid)
    if n < 20:
        return [f"en_{n}"]
    tens, ones = divmod(n, 10)
    return [f"en_{tens * 10}"] + ([f"en_{ones}"] if ones else [])


def _spaced(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    for t in tokens:
        if out and isinstance(t, str) and isinstance(out[-1], str):
            out.append(GAP_WORD)
        out.append(t)
    return out


def sentence(number: str, counter_id: str, lang: str, zh_phrase: str = "qing") -> list[Token]:
    if lang == "zh":
        num, ctr = _chars(number, "zh"), _counter_zh(counter_id)
        if zh_phrase == "qing":
            return _spaced(["zh_qing", *num, "zh_hao", "zh_dao", *ctr, "zh_hao", "zh_guitai"])
        return _spaced([*num, "zh_hao", "zh_laibin"]) + [GAP_PHRASE] + _spaced(
            ["zh_qing", "zh_dao", *ctr, "zh_hao", "zh_guitai"])
    if lang == "en":
        return _spaced(["en_number", *_chars(number, "en")]) + [GAP_PHRASE] + _spaced(
            ["en_please_proceed_to_counter", *_counter_en(counter_id)])
    raise ValueError(f"unknown language {lang!r}; choose from {', '.join(LANGUAGES)}")


class Spoken(Protocol):
    """What the rule needs of a call: its number and the counter it is called to."""

    @property
    def number(self) -> str: ...

    @property
    def counter_id(self) -> str: ...


def announcement(number: str, counter_id: str, languages: Sequence[str] = LANGUAGES,
                 zh_phrase: str = "qing") -> list[Token]:
    """The whole announcement of one call: chime, then each language in the order given."""
    out: list[Token] = ["chime", GAP_CHIME]
    for i, lang in enumerate(languages):
        if i:
            out.append(GAP_LANGUAGE)
        out += sentence(number, counter_id, lang, zh_phrase)
    return out


def sequence(call: Spoken, languages: Sequence[str] = LANGUAGES, zh_phrase: str = "qing") -> list[Token]:
    """`announcement` of a call as the board holds it."""
    return announcement(call.number, call.counter_id, languages, zh_phrase)


def clip_names(tokens: Sequence[Token]) -> list[str]:
    return [t for t in tokens if isinstance(t, str)]


def default_clip_dir() -> Path:
    """$JIAOHAO_CLIPS, else $XDG_DATA_HOME/jiaohao/clips (~/.local/share/jiaohao/clips)."""
    if os.environ.get("JIAOHAO_CLIPS"):
        return Path(os.environ["JIAOHAO_CLIPS"])
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "jiaohao" / "clips"
