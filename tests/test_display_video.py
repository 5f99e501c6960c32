"""Video on the pygame board (issue 9): tiny clips made here with PyAV play in the media region, in their
slot of the rotation, beside a call panel they never touch; a slow or broken decoder never holds up a
frame; a video's sound is silent while a call is spoken."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402
from conftest import ROOT  # noqa: E402
from test_display_media import TOKEN, FakeHub, Fixed, png  # noqa: E402
from test_display_render import busy_board  # noqa: E402

from display import media as m  # noqa: E402
from display import video as v  # noqa: E402
from display.announcer import Announcer  # noqa: E402
from display.layout import layout  # noqa: E402
from display.render import HERO_BG, Painter, render  # noqa: E402
from display.state import Call, reduce  # noqa: E402
from server.wire.speech import CLIPS  # noqa: E402
from server.wire.text import Text  # noqa: E402

pytest.importorskip("av", reason="PyAV (the display extra) plays the board's videos")
sys.path.insert(0, str(ROOT / "scripts"))
from make_video import COLOURS, make_clip  # noqa: E402

SIZE = (1280, 720)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """4 s clips, 96x54 at 10 fps, one colour per half second, with a tone: MP4 (MPEG-4 part 2 + AAC) and
    WebM (VP8 + Opus), and an MPEG-TS file that is a good video but not a format the board opens."""
    d = tmp_path_factory.mktemp("clips")
    out = {}
    for name, codec in (("clip.mp4", "mpeg4"), ("clip.webm", "vp8")):
        out[name] = make_clip(d / name, (96, 54), 4.0, 10, codec, sound=True, noise=False).read_bytes()
    import av

    with av.open(str(d / "clip.ts"), "w", format="mpegts") as c:
        s = c.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = 96, 54, "yuv420p"
        from PIL import Image

        for i in range(10):
            for p in s.encode(av.VideoFrame.from_image(Image.new("RGB", (96, 54), COLOURS[i % 8]))):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    out["clip.ts"] = (d / "clip.ts").read_bytes()
    return out


@pytest.fixture
def screen() -> Iterator[pygame.Surface]:
    pygame.display.init()
    yield pygame.display.set_mode(SIZE)
    pygame.display.quit()


def video_hub(clips: dict[str, bytes], *entries: tuple[str, str, str]) -> FakeHub:
    files = {f"/files/{name}": clips[name] for _, _, name in entries if name in clips}
    files["/files/poster.png"] = png(320, 180, (0, 0, 0))
    return FakeHub({"media": [{"id": mid, "kind": kind, "url": f"/files/{name}"} for mid, kind, name in entries]},
                   files)


def nearest_colour(rgb: tuple[int, int, int]) -> int:
    return min(range(len(COLOURS)), key=lambda i: sum((a - b) ** 2 for a, b in zip(COLOURS[i], rgb, strict=True)))


def box_pixels(surface: pygame.Surface, box: Any) -> bytes:
    return pygame.image.tobytes(surface.subsurface(pygame.Rect(*box)), "RGB")


@pytest.mark.parametrize("name", ["clip.mp4", "clip.webm"])
def test_a_video_plays_in_its_region_and_the_call_panel_is_untouched(
        name: str, clips: dict[str, bytes], screen: pygame.Surface) -> None:
    hub = video_hub(clips, ("film", "video", name))
    lib = m.MediaLibrary(hub.url, TOKEN)
    try:
        lib.refresh()
        [item] = lib.showable()
        assert item.kind == "video" and 3.9 < item.duration_s < 4.3  # no duration_s from the hub: its own length
        painter, state = Painter(), busy_board()
        L = layout(*SIZE, len(state.counters), len(state.services), len(state.recent), media=True)
        centre = (L.media.x + L.media.w // 2, L.media.y + L.media.h // 2)
        seen: set[int] = set()
        deadline = time.monotonic() + 20
        while len(seen) < 3 and time.monotonic() < deadline:  # a bound, not a timing assertion
            now = time.time()
            drawn = {d.name: d for d in render(state, now, screen, painter, media=lib)}
            if "media" in drawn:
                assert L.media.contains(drawn["media"].rect)
                seen.add(nearest_colour(tuple(screen.get_at(centre))[:3]))
            time.sleep(1 / 30)
        assert len(seen) >= 3, f"the region showed colours {seen} only"  # pictures change: the film plays
        player = lib.player
        assert player is not None and player.shown >= 3 and player.size[0] <= L.media.w
        # The call panel and the counters are what they are without any media picture in the region.
        video_px = {n: box_pixels(screen, b) for n, b in (("hero", L.hero), ("counter", L.counters[2].box))}
        render(state, now, screen, painter, media=Fixed(None))
        assert video_px == {n: box_pixels(screen, b) for n, b in (("hero", L.hero), ("counter", L.counters[2].box))}
    finally:
        lib.stop()
        hub.close()
    assert player.join(5) and not player.running  # stopping the library stops the player's thread
    assert lib._dir is None  # the downloaded file is gone with its directory


def test_a_slow_decoder_never_holds_up_a_frame(clips: dict[str, bytes], screen: pygame.Surface,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    entered = threading.Event()
    real = v.VideoPlayer._picture

    def stuck(self: v.VideoPlayer, *a: Any) -> bool:  # a decoder far too slow for its clip
        entered.set()
        release.wait(30)
        return real(self, *a)

    monkeypatch.setattr(v.VideoPlayer, "_picture", stuck)
    hub = video_hub(clips, ("film", "video", "clip.mp4"))
    lib = m.MediaLibrary(hub.url, TOKEN)
    try:
        lib.refresh()
        painter, state = Painter(), busy_board()
        L = layout(*SIZE, len(state.counters), len(state.services), len(state.recent), media=True)
        render(state, time.time(), screen, painter, media=lib)
        assert entered.wait(10)  # the player's thread is stuck in its first picture
        call = {"seq": 33, "at": "2026-11-23T09:00:00+08:00", "recall": False,
                "counter": {"id": "7", "name": {"zh-TW": "7號櫃台", "en": "Counter 7"}},
                "ticket": {"id": "t-x", "number": "C777", "service": "general", "lane": "normal"}}
        state, _ = reduce(state, "call", call, now=time.time())
        drawn = {d.name: d for d in render(state, time.time(), screen, painter, media=lib)}
        assert drawn["hero_number"].text == "C777"  # the call is drawn while the decoder is stuck
        assert "media" not in drawn and screen.get_at((L.media.x + 5, L.media.y + 5))[:3] == HERO_BG
        assert lib.player is not None and lib.player.running
    finally:
        release.set()
        lib.stop()
        hub.close()


def test_videos_that_do_not_play_are_skipped_and_the_rotation_goes_on(
        clips: dict[str, bytes], screen: pygame.Surface, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    broken = {**clips, "junk.mp4": b"\0\0\0\x18ftypisom" + os.urandom(3000),
              "half.webm": clips["clip.webm"][:400]}
    hub = video_hub(broken, ("poster", "image", "poster.png"), ("junk", "video", "junk.mp4"),
                    ("ts", "video", "clip.ts"), ("half", "video", "half.webm"), ("film", "video", "clip.mp4"))
    caplog.set_level(logging.WARNING, "jiaohao.display.media")
    lib = m.MediaLibrary(hub.url, TOKEN)
    try:
        lib.refresh()
        assert [i.id for i in lib.showable()] == ["poster", "film"]
        assert "media junk (video, /files/junk.mp4) is not shown: not a video the board can play" in caplog.text
        assert "media ts (video, /files/clip.ts) is not shown: not an MP4 or WebM video (mpegts)" in caplog.text
        assert "media half (video, /files/half.webm) is not shown" in caplog.text
        lib.surface(time.time(), (320, 180))  # the board asks for its size: the poster is scaled at the next read
        fetched = len(hub.auth)
        lib.refresh()
        assert len(hub.auth) == fetched + 1  # only the list again: refused videos are not downloaded again

        # One that probed well but stops playing (a decoder error halfway): it leaves the rotation, said once.
        def explode(self: v.VideoPlayer) -> None:
            raise RuntimeError("decoder exploded")

        monkeypatch.setattr(v.VideoPlayer, "_play", explode)
        items = lib.showable()
        total = sum(i.duration_s for i in items)
        at = (time.time() // total + 1) * total + items[0].duration_s + 0.1  # inside the film's next slot
        assert m.slot(items, at) == 1 and items[1].id == "film"
        lib.surface(at, (320, 180))
        player = lib.player
        assert player is not None and player.join(10)
        assert "media film (video, /files/clip.mp4) is not shown: it stopped playing: decoder exploded" in caplog.text
        assert [i.id for i in lib.showable()] == ["poster"]
        surf = lib.surface(at, (320, 180))
        assert surf is not None and surf.get_size() == (320, 180)  # the poster, in the film's place
    finally:
        lib.stop()
        hub.close()


def test_without_pyav_videos_are_skipped_with_the_reason(clips: dict[str, bytes], caplog: pytest.LogCaptureFixture,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(v, "available", lambda: "PyAV is not installed (test): video is not played on this board")
    hub = video_hub(clips, ("poster", "image", "poster.png"), ("film", "video", "clip.mp4"))
    caplog.set_level(logging.WARNING, "jiaohao.display.media")
    lib = m.MediaLibrary(hub.url, TOKEN)
    try:
        lib.refresh()
        assert [i.id for i in lib.showable()] == ["poster"]
        assert "media film (video, /files/clip.mp4) is not shown: PyAV is not installed" in caplog.text
    finally:
        lib.stop()
        hub.close()


def test_a_clip_shorter_than_its_slot_plays_again_from_its_start(tmp_path: Path) -> None:
    clip = v.probe(make_clip(tmp_path / "short.webm", (64, 36), 1.0, 10, "vp8", sound=False, noise=False))
    now = time.time()
    player = v.VideoPlayer(clip, (64, 36), now, now + 60).start()
    try:
        deadline = time.monotonic() + 20
        colours = []
        while player.shown <= 15 and player.running and time.monotonic() < deadline:  # a bound, not a timing
            surf = player.frame(time.time())
            if surf is not None:
                colours.append(nearest_colour(tuple(surf.get_at((32, 18)))[:3]))
            time.sleep(0.02)
        assert player.error is None and player.shown > 15  # more pictures than one pass has (10)
        firsts = [i for i in range(1, len(colours)) if colours[i] == 0 and colours[i - 1] == 7]
        assert firsts, colours  # the last colour, then the first again: it started over
    finally:
        player.stop()
        assert player.join(5)


def test_a_player_nobody_watches_stops_and_starts_again_when_asked(clips: dict[str, bytes]) -> None:
    hub = video_hub(clips, ("film", "video", "clip.webm"))
    lib = m.MediaLibrary(hub.url, TOKEN)
    try:
        lib.refresh()
        lib.surface(time.time(), (96, 54))  # starts the player (alone in the rotation: round and round)
        first = lib.player
        assert first is not None and first.join(20)  # the board stopped asking (the region went away): it ends
        assert first.error is None
        lib.surface(time.time(), (96, 54))  # the region is back
        assert lib.player is not None and lib.player is not first and lib.player.running
    finally:
        lib.stop()
        hub.close()


def test_a_step_of_the_boards_time_line_does_not_stop_the_film(tmp_path: Path) -> None:
    """The board keeps time by the hub's (server/wire/hubtime.py): its first reading may move the line by
    hours from the Pi's own clock. A playing film follows, neither dropping every picture nor waiting."""
    offset = [0.0]

    def clock() -> float:
        return time.time() + offset[0]

    clip = v.probe(make_clip(tmp_path / "c.webm", (64, 36), 2.0, 10, "vp8", sound=False, noise=False))
    player = v.VideoPlayer(clip, (64, 36), clock(), float("inf"), clock=clock).start()

    def shows(n: int) -> bool:
        deadline = time.monotonic() + 20
        while player.shown < n and player.running and time.monotonic() < deadline:  # a bound, not a timing
            player.frame(clock())
            time.sleep(0.02)
        return player.shown >= n

    try:
        assert shows(3)
        for step in (3600.0, -7200.0):  # the hub's time an hour ahead of the Pi's, then an hour behind
            offset[0] += step
            assert shows(player.shown + 5), (step, player.shown, player.dropped)
            assert player.frame(clock()) is not None
        assert player.error is None
        assert player.dropped < 50  # it went on from where it was, not through an hour of pictures to drop
    finally:
        player.stop()
        assert player.join(5)


def test_the_slot_says_when_a_video_starts_and_ends() -> None:
    items = [m.MediaItem("a", "image", "/a", 5), m.MediaItem("b", "video", "/b", 10)]
    assert m.slot_span(items, 1500 + 7) == (1, 1505, 1515)
    assert m.slot_span(items, 1500 + 4.9) == (0, 1500, 1505)
    assert v.fit(1920, 1080, (700, 700)) == (700, 392) and v.fit(640, 480, (333, 100)) == (132, 100)


def silent_clips(d: Path) -> Path:
    for name in CLIPS:
        with wave.open(str(d / f"{name}.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(22050)
            w.writeframes(b"\0\0" * 2205)  # 0.1 s each: a call lasts a couple of seconds
    return d


def test_a_videos_sound_is_silent_while_a_call_is_spoken_and_heard_after(
        clips: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out.raw"
    # SDL's disk driver: what the mixer plays goes to a file, no sound card needed.
    monkeypatch.setenv("SDL_AUDIODRIVER", "disk")
    monkeypatch.setenv("SDL_DISKAUDIOFILE", str(out))  # at the pace of a sound card
    sound = v.VideoSound(0.7)
    during: list[float] = []
    written: list[int] = []  # how far the mixer had written when the call was handed over, and when it was said

    def played(p: Any) -> None:
        during.append(pygame.mixer.Channel(v.VideoSound.CHANNEL).get_volume())
        written.append(out.stat().st_size)

    announcer = Announcer(silent_clips(tmp_path), ("zh", "en"), volume=0.8, on_busy=sound.hush, on_played=played)
    hub = video_hub(clips, ("film", "video", "clip.mp4"))
    lib = m.MediaLibrary(hub.url, TOKEN, sound=sound)
    try:
        announcer.start()
        assert announcer.sound
        lib.refresh()
        def heard() -> bool:  # the last half second the mixer wrote is not silence
            tail = out.read_bytes()[-22050:] if out.exists() else b""
            return len(tail) == 22050 and tail.count(0) < len(tail) * 0.5

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not heard():  # a bound, not a timing assertion
            lib.surface(time.time(), (320, 180))
            time.sleep(0.05)
        assert heard()  # the film's tone reached the mixer
        channel = pygame.mixer.Channel(v.VideoSound.CHANNEL)
        assert channel.get_volume() == pytest.approx(0.7, abs=0.01)
        written.append(out.stat().st_size)
        announcer.announce(Call(seq=1, number="A001", ticket_id="t1", counter_id="3",
                                counter_name=Text("3號櫃台", "Counter 3")))
        assert sound.hushed and channel.get_volume() == 0.0  # from the moment the call is handed over
        deadline = time.monotonic() + 30
        while not announcer.wait_idle(0.05) and time.monotonic() < deadline:
            lib.surface(time.time(), (320, 180))  # the board goes on drawing meanwhile
        assert announcer.wait_idle(0)
        assert during == [0.0]  # silent while the call was spoken
        # What the mixer wrote while the call (silent clips here) was spoken: silence, the film muted. A
        # margin of 0.25 s each side for what the mixer had buffered.
        spoken = out.read_bytes()[written[0] + 11025:written[1] - 11025]
        assert len(spoken) > 22050 and spoken.count(0) > len(spoken) * 0.95
        assert not sound.hushed and channel.get_volume() == pytest.approx(0.7, abs=0.01)  # heard again after
        assert lib.player is not None and lib.player.running  # the film went on meanwhile
    finally:
        lib.stop()
        hub.close()
        announcer.close()
        pygame.mixer.quit()


class RecordingSound(v.VideoSound):
    """A VideoSound with no mixer: it records, on the player's own clock, when each piece was handed over."""

    def __init__(self, clock: Any) -> None:
        super().__init__(0.5, clock=clock)
        self.pieces: list[tuple[float, float, float]] = []  # (handed over at, due, seconds long)

    def open(self) -> tuple[int, int] | None:
        return 22050, 1

    def feed(self, owner: object, pcm: bytes, due: float) -> None:
        if self._owner is owner:
            self.pieces.append((self.clock(), due, len(pcm) / 2 / 22050))

    def pump(self, now: float | None = None) -> None:
        pass


@pytest.mark.parametrize("name", ["s.mp4", "s.webm"])
def test_each_piece_of_a_videos_sound_is_handed_over_before_it_is_due(name: str, tmp_path: Path) -> None:
    """Sound is decoded ahead of the pictures: a piece reaches the mixer before its time, never after it
    (the mixer then plays it back to back with the one before, not late and with no gap)."""
    offset = 1000.0  # the player's clock is its own line, not the wall clock's

    def clock() -> float:
        return time.time() + offset

    clip = v.probe(make_clip(tmp_path / name, (64, 36), 3.0, 10, "vp8" if name.endswith("webm") else "mpeg4",
                             sound=True, noise=False))
    sound = RecordingSound(clock)
    start = clock() + 0.5  # its slot starts soon: the player has opened the file by then
    player = v.VideoPlayer(clip, (64, 36), start, start + 2.5, sound=sound, clock=clock).start()
    try:
        deadline = time.monotonic() + 30
        while player.running and time.monotonic() < deadline:  # a bound, not a timing assertion
            player.frame(clock())
            time.sleep(0.02)
        assert player.error is None
    finally:
        player.stop()
        assert player.join(5)
    assert len(sound.pieces) >= 5, sound.pieces  # 2.5 s of sound, in pieces
    late = [(at, due) for at, due, _ in sound.pieces if at > due]
    assert not late, f"{len(late)} of {len(sound.pieces)} pieces handed over after their time: {late[:3]}"
    # Back to back: each piece is due where the one before ends (a gap or an overlap would be heard).
    for (_, due, seconds), (_, nxt, _) in zip(sound.pieces, sound.pieces[1:], strict=False):
        assert nxt == pytest.approx(due + seconds, abs=0.03)


def test_a_call_begun_before_the_first_video_is_not_muted_by_it(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The video's channel is kept from the moment the mixer opens: a call spoken while the first video with
    sound starts is on another channel, which the video's hush (volume 0 on its own channel) leaves alone."""
    monkeypatch.setenv("SDL_AUDIODRIVER", "disk")
    monkeypatch.setenv("SDL_DISKAUDIOFILE", str(tmp_path / "out.raw"))
    clips = tmp_path / "clips"
    clips.mkdir()
    for name in CLIPS:  # 1 s each: the call lasts long enough to start a video meanwhile
        with wave.open(str(clips / f"{name}.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(22050)
            w.writeframes(b"\1\0" * 22050)
    sound = v.VideoSound(0.7)
    announcer = Announcer(clips, ("zh", "en"), volume=0.8, on_busy=sound.hush, reserved=v.VideoSound.RESERVED)
    try:
        announcer.start()
        assert announcer.sound
        announcer.announce(Call(seq=1, number="A001", ticket_id="t1", counter_id="3",
                                counter_name=Text("3號櫃台", "Counter 3")))

        def speaking() -> list[int]:
            return [i for i in range(pygame.mixer.get_num_channels()) if pygame.mixer.Channel(i).get_busy()]

        deadline = time.monotonic() + 10
        while not speaking() and time.monotonic() < deadline:  # a bound, not a timing assertion
            time.sleep(0.01)
        [on] = speaking()
        assert sound.open() is not None  # the first video with sound opens its channel, hushed by the call
        assert announcer.busy  # still speaking
        assert on != v.VideoSound.CHANNEL
        assert pygame.mixer.Channel(on).get_volume() == pytest.approx(0.8, abs=0.01)  # the call is heard on
        assert pygame.mixer.Channel(v.VideoSound.CHANNEL).get_volume() == 0.0  # the video's channel is hushed
    finally:
        announcer.close(0.1)
        pygame.mixer.quit()


def test_a_fetcher_still_downloading_when_the_board_stops_leaves_no_files(
        clips: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """stop() waits a while for the fetcher; one still downloading then must not leave its file, nor make a
    new directory for the next video, in /tmp (up to 64 MiB each)."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the library's directories go, to look
    entered, release = threading.Event(), threading.Event()
    real = m._download

    def slow(*a: Any) -> None:  # the first video's download outlasts stop()'s wait
        if not entered.is_set():
            entered.set()
            release.wait(30)
        real(*a)

    monkeypatch.setattr(m, "_download", slow)
    hub = video_hub(clips, ("one", "video", "clip.mp4"), ("two", "video", "clip.webm"))
    lib = m.MediaLibrary(hub.url, TOKEN).start()
    try:
        assert entered.wait(20)
        lib.stop(timeout=0.1)  # gives up waiting for the fetcher
        release.set()  # the download ends; the fetcher would go on to the next video
        assert lib._thread is not None
        lib._thread.join(20)
        assert not lib._thread.is_alive()
        assert not list(tmp_path.glob("jiaohao-media-*")), list(tmp_path.rglob("*"))
    finally:
        release.set()
        lib.stop()
        hub.close()
