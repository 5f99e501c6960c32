"""Spoken calls: the clip sequence (pure), the placeholder clips, and ordered playback through SDL's disk driver."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import threading
import wave
from datetime import date
from pathlib import Path

import pytest

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from conftest import ROOT  # noqa: E402

from display.announcer import Announcer, Played  # noqa: E402
from display.roc import en_date, roc_date, roc_date_weekday  # noqa: E402
from display.state import Call  # noqa: E402
from server.wire.speech import CLIPS, GAP_WORD, clip_names, sentence, sequence  # noqa: E402
from server.wire.text import Text  # noqa: E402


def a_call(number: str, counter: str, seq: int = 1) -> Call:
    return Call(seq=seq, number=number, ticket_id=f"t{seq}", counter_id=counter,
                counter_name=Text(f"{counter}號櫃台", f"Counter {counter}"))


def words(tokens: list) -> list[str]:
    return clip_names(tokens)


# -- ROC dates -------------------------------------------------------------------------------------


def test_roc_dates() -> None:
    assert roc_date(date(2026, 11, 22)) == "民國115年11月22日"
    assert roc_date_weekday(date(2026, 11, 23)) == "民國115年11月23日（星期一）"
    assert roc_date(date(1912, 1, 1)) == "民國1年1月1日"
    assert roc_date(date(1911, 12, 31)) == "民國前1年12月31日"
    assert en_date(date(2026, 11, 22)) == "Sun 22 Nov 2026"


# -- sequencing (pure) -----------------------------------------------------------------------------


def test_mandarin_taiwan_idiom() -> None:
    # 「A023號來賓，請到3號櫃台」
    assert words(sentence("A023", "3", "zh", "laibin")) == [
        "letter_A", "zh_0", "zh_2", "zh_3", "zh_hao", "zh_laibin", "zh_qing", "zh_dao", "zh_3", "zh_hao", "zh_guitai"]


def test_mandarin_short_form() -> None:
    # 「請 A023 號 到 3 號櫃台」
    assert words(sentence("A023", "3", "zh", "qing")) == [
        "zh_qing", "letter_A", "zh_0", "zh_2", "zh_3", "zh_hao", "zh_dao", "zh_3", "zh_hao", "zh_guitai"]


def test_english() -> None:
    assert words(sentence("A023", "3", "en")) == [
        "en_number", "letter_A", "en_0", "en_2", "en_3", "en_please_proceed_to_counter", "en_3"]


@pytest.mark.parametrize(("counter", "zh", "en"), [
    ("10", ["zh_10"], ["en_10"]),
    ("16", ["zh_10", "zh_6"], ["en_16"]),
    ("20", ["zh_2", "zh_10"], ["en_20"]),
    ("21", ["zh_2", "zh_10", "zh_1"], ["en_20", "en_1"]),
    ("105", ["zh_1", "zh_0", "zh_5"], ["en_1", "en_0", "en_5"]),
    ("B2", ["letter_B", "zh_2"], ["letter_B", "en_2"]),
])
def test_counter_numbers_are_said_as_people_say_them(counter: str, zh: list[str], en: list[str]) -> None:
    assert words(sentence("1", counter, "zh"))[-(len(zh) + 2):-2] == zh
    assert words(sentence("1", counter, "en"))[-len(en):] == en


def test_a_whole_call_is_chime_then_each_language_in_order() -> None:
    seq = sequence(a_call("B007", "12"), ("zh", "en"))
    names = words(seq)
    assert names[0] == "chime"
    assert names.index("zh_guitai") < names.index("en_number")
    assert words(sequence(a_call("B007", "12"), ("en",)))[1] == "en_number"
    assert words(sequence(a_call("B007", "12"), ())) == ["chime"]
    # Words are separated by short silences, never glued together.
    zh = sentence("B007", "12", "zh")
    assert all(isinstance(zh[i + 1], float) for i in range(len(zh) - 1) if isinstance(zh[i], str))
    assert GAP_WORD in zh


def test_every_clip_any_number_needs_is_in_the_catalogue() -> None:
    numbers = [f"{p}{n:03d}" for p in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" for n in (0, 123, 456, 789)] + ["1", "x-9"]
    for n in numbers:
        for counter in ("1", "9", "10", "19", "20", "99", "100", "Q"):
            for phrase in ("laibin", "qing"):
                assert set(words(sequence(a_call(n, counter), ("zh", "en"), phrase))) <= set(CLIPS)


def test_unknown_options_are_refused() -> None:
    with pytest.raises(ValueError):
        sentence("A1", "1", "fr")
    with pytest.raises(ValueError):
        Announcer(Path("."), languages=("tw",))


# -- placeholder clips and playback ----------------------------------------------------------------


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        # scripts/test installs both, so in CI their absence is a broken set-up, not a reason to skip.
        if os.environ.get("CI"):
            pytest.fail("espeak-ng and sox are missing although scripts/test installs them")
        pytest.skip("espeak-ng and sox are not installed here (scripts/test installs them)")
    out = tmp_path_factory.mktemp("clips")
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_clips.py"), "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return out


def test_make_clips_writes_every_clip_in_one_format(clips: Path) -> None:
    assert sorted(p.stem for p in clips.glob("*.wav")) == sorted(CLIPS)
    for name in ("chime", "zh_hao", "en_number", "letter_A"):
        with wave.open(str(clips / f"{name}.wav")) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)
            assert 0.05 < w.getnframes() / w.getframerate() < 3.0  # trimmed, not empty


def test_make_clips_keeps_recorded_clips(clips: Path, tmp_path: Path) -> None:
    recorded = tmp_path / "zh_hao.wav"
    shutil.copy(clips / "chime.wav", recorded)  # stands in for a studio recording
    before = recorded.read_bytes()
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_clips.py"), "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "kept 1 existing" in r.stdout
    assert recorded.read_bytes() == before


def _disk_audio(monkeypatch: pytest.MonkeyPatch, out: Path) -> None:
    # SDL's disk driver writes the mixed sound to a file, faster than real time: no sound card needed.
    monkeypatch.setenv("SDL_AUDIODRIVER", "disk")
    monkeypatch.setenv("SDL_DISKAUDIOFILE", str(out))
    monkeypatch.setenv("SDL_DISKAUDIODELAY", "0")


def test_calls_arriving_together_are_spoken_one_at_a_time_in_order(
        clips: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pygame

    raw = tmp_path / "out.raw"
    _disk_audio(monkeypatch, raw)
    lock = threading.Lock()
    playing = 0
    overlaps: list[int] = []
    played: list[Played] = []

    def on_played(p: Played) -> None:
        nonlocal playing
        with lock:
            played.append(p)

    announcer = Announcer(clips, ("zh", "en"), volume=0.5, on_played=on_played)
    real_speak = announcer._speak

    def speak(call: Call) -> Played:  # counts how many are speaking at once
        nonlocal playing
        with lock:
            playing += 1
            overlaps.append(playing)
        try:
            return real_speak(call)
        finally:
            with lock:
                playing -= 1

    announcer._speak = speak  # type: ignore[method-assign]
    try:
        announcer.start()
        assert announcer.sound
        for i, (n, c) in enumerate([("A001", "3"), ("B002", "12"), ("A003", "16"), ("A001", "3")], start=1):
            announcer.announce(a_call(n, c, seq=i))
        assert announcer.wait_idle(60)
    finally:
        announcer.close()
        pygame.mixer.quit()
    assert [(p.seq, p.number) for p in played] == [(1, "A001"), (2, "B002"), (3, "A003"), (4, "A001")]
    assert max(overlaps) == 1
    assert all(p.missing == [] and p.seconds > 2 for p in played)
    data = raw.read_bytes()
    assert len(data) > 22050 * 2 * 4 and data.count(0) < len(data) * 0.9  # sound, not silence


def test_missing_clips_are_logged_and_the_call_still_goes_through(
        clips: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import pygame

    partial = tmp_path / "partial"
    partial.mkdir()
    for p in clips.glob("*.wav"):
        if p.stem != "zh_dao":
            shutil.copy(p, partial / p.name)
    _disk_audio(monkeypatch, tmp_path / "out.raw")
    played: list[Played] = []
    announcer = Announcer(partial, ("zh",), on_played=played.append)
    caplog.set_level(logging.WARNING, "jiaohao.display.announcer")
    try:
        announcer.start()
        announcer.announce(a_call("A023", "3"))
        announcer.announce(a_call("A024", "3", seq=2))
        assert announcer.wait_idle(60)
    finally:
        announcer.close()
        pygame.mixer.quit()
    assert [p.number for p in played] == ["A023", "A024"]
    assert played[0].missing == ["zh_dao"] and played[0].seconds > 1
    warnings = [r.getMessage() for r in caplog.records if "zh_dao" in r.getMessage()]
    assert len(warnings) == 1  # said once, not on every call


def test_without_a_sound_device_calls_pass_silently(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    import pygame

    monkeypatch.setenv("SDL_AUDIODRIVER", "no-such-driver")
    played: list[Played] = []
    announcer = Announcer(tmp_path, on_played=played.append)
    caplog.set_level(logging.WARNING, "jiaohao.display.announcer")
    try:
        announcer.start()
        assert not announcer.sound
        announcer.announce(a_call("A001", "1"))
        assert announcer.wait_idle(10)
    finally:
        announcer.close()
        pygame.mixer.quit()
    assert [p.number for p in played] == ["A001"] and played[0].seconds == 0
    assert any("no sound device" in r.getMessage() for r in caplog.records)


def test_a_sound_device_missing_at_start_is_used_once_it_is_there(
        clips: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import pygame

    monkeypatch.setenv("SDL_AUDIODRIVER", "no-such-driver")  # the TV is still off
    played: list[Played] = []
    announcer = Announcer(clips, ("en",), on_played=played.append)
    caplog.set_level(logging.WARNING, "jiaohao.display.announcer")
    try:
        announcer.start()
        assert not announcer.sound
        announcer.announce(a_call("A001", "1"))
        assert announcer.wait_idle(10)
        raw = tmp_path / "out.raw"
        _disk_audio(monkeypatch, raw)  # now the device is there
        announcer.retry_sound_s = 0.0
        announcer.announce(a_call("A002", "1", seq=2))
        assert announcer.wait_idle(60)
        assert announcer.sound
    finally:
        announcer.close()
        pygame.mixer.quit()
    assert [(p.number, p.seconds > 1) for p in played] == [("A001", False), ("A002", True)]
    data = raw.read_bytes()
    assert len(data) > 22050 and data.count(0) < len(data) * 0.9
    assert any("sound device found" in r.getMessage() for r in caplog.records)


def test_a_missing_sound_device_is_not_retried_on_every_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pygame

    monkeypatch.setenv("SDL_AUDIODRIVER", "no-such-driver")
    announcer = Announcer(tmp_path)
    opened: list[float] = []
    real = announcer._open_mixer

    def counting() -> bool:
        opened.append(1)
        return real()

    announcer._open_mixer = counting  # type: ignore[method-assign]
    try:
        announcer.start()
        for i in range(5):
            announcer.announce(a_call("A001", "1", seq=i + 1))
        assert announcer.wait_idle(10)
    finally:
        announcer.close()
        pygame.mixer.quit()
    assert len(opened) == 1  # at start only: the next try waits retry_sound_s (10 s)


@pytest.mark.parametrize(("choice", "device"), [
    ("hdmi", "sysdefault:CARD=vc4hdmi0"), ("headphones", "sysdefault:CARD=Headphones"),
    ("HDMI1", "sysdefault:CARD=vc4hdmi1"), ("plughw:CARD=Device,DEV=0", "plughw:CARD=Device,DEV=0"),
    ("auto", None), ("", None), ("speakers", None)])
def test_the_display_role_chooses_hdmi_or_headphones(choice: str, device: str | None) -> None:
    from display.app import _audio_env

    env = {"JIAOHAO_AUDIO": choice}
    assert _audio_env(env) == device
    assert env.get("AUDIODEV") == device
