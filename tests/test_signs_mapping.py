"""What each counter's sign shows, from the board reducer's state (display/state.py), and the driver that
sends only what changed."""

from __future__ import annotations

from typing import Any

from display.sign_bus import SignError
from display.sign_mapping import (
    OFFLINE_AFTER_S,
    OFFLINE_TEXT,
    SignsPicture,
    SignView,
    counter_text_json,
    picture,
    sign_text,
    sign_views,
    text_pages,
    with_announcements,
)
from display.signs import SignDriver
from display.state import BoardState, initial, reduce

T0 = 1_800_000_000.0  # epoch seconds; the reducer and the mapping get time only as an argument
IDS = ["3", "4", "16"]


def ticket(number: str, tid: str | None = None, private: bool = False) -> dict[str, Any]:
    return {"id": tid or f"t-{number}", "number": number, "service": "private" if private else "general",
            "lane": "normal", "status": "called", "private": private}


def counter(cid: str, number: str | None = None, open_: bool = True, private: bool = False) -> dict[str, Any]:
    return {"id": cid, "name": {"zh-TW": f"{cid}號櫃台", "en": f"Counter {cid}"}, "open": open_,
            "ticket": ticket(number, private=private) if number else None}


def snapshot(seq: int, *counters: dict[str, Any], recent: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"seq": seq, "counters": list(counters) or [counter(c) for c in IDS], "recent_calls": recent or [],
            "services": []}


def call(seq: int, cid: str, number: str, recall: bool = False, private: bool = False) -> dict[str, Any]:
    return {"seq": seq, "counter": {"id": cid, "name": f"Counter {cid}"}, "ticket": ticket(number, private=private),
            "recall": recall, "at": "2027-01-15T09:00:00+08:00"}


class Signs:
    """Events through the reducer, then the mapping against the board the signs showed last."""

    def __init__(self, first: dict[str, Any] | None = None) -> None:
        self.board: BoardState = initial(T0)
        self.now = T0
        self.shown: SignsPicture = picture(self.board, IDS, T0)
        self.board, _ = reduce(self.board, "link_up", {}, now=T0)
        self.views = self.feed("state", first or snapshot(0))

    def feed(self, name: str, data: Any) -> dict[str, SignView]:
        self.board, _ = reduce(self.board, name, data, now=self.now)
        self.shown = picture(self.board, IDS, self.now, self.shown)
        self.views = dict(self.shown.views)
        return self.views

    def texts(self) -> dict[str, str]:
        return {cid: v.text for cid, v in self.views.items()}


def test_a_new_call_shows_its_number_and_blinks_that_sign_only() -> None:
    s = Signs()
    assert s.texts() == {"3": "", "4": "", "16": ""}
    v = s.feed("call", call(1, "3", "A001"))
    assert v["3"] == SignView("A001", blink=True)
    assert v["4"] == SignView("") and v["16"] == SignView("")
    # The counter event the same `next` causes changes nothing on the sign, and blinks no more.
    v = s.feed("counter", {"seq": 2, "counter": counter("3", "A001")})
    assert v["3"] == SignView("A001", blink=False)


def test_a_recall_blinks_the_same_number_again() -> None:
    s = Signs()
    s.feed("call", call(1, "4", "B007"))
    s.feed("queue", {"seq": 2, "services": []})
    assert s.views["4"] == SignView("B007")
    assert s.feed("call", call(3, "4", "B007", recall=True))["4"] == SignView("B007", blink=True)


def test_next_call_replaces_the_number() -> None:
    s = Signs()
    s.feed("call", call(1, "3", "A001"))
    assert s.feed("call", call(2, "3", "A002"))["3"] == SignView("A002", blink=True)


def test_finish_blanks_the_sign() -> None:
    s = Signs()
    s.feed("call", call(1, "3", "A001"))
    assert s.feed("counter", {"seq": 2, "counter": counter("3", None)})["3"] == SignView("")


def test_a_closed_counter_is_dark_even_with_a_ticket_still_its_own() -> None:
    s = Signs()
    s.feed("call", call(1, "3", "A001"))
    assert s.feed("counter", {"seq": 2, "counter": counter("3", "A001", open_=False)})["3"] == SignView("")
    assert s.feed("counter", {"seq": 3, "counter": counter("3", "A001", open_=True)})["3"] == SignView("A001")


def test_a_private_service_still_shows_its_number() -> None:
    s = Signs()
    assert s.feed("call", call(1, "16", "P001", private=True))["16"] == SignView("P001", blink=True)
    assert counter_text_json(counter("16", "P001", private=True)) == "P001"


def test_the_first_snapshot_shows_numbers_without_blinking() -> None:
    s = Signs(snapshot(40, counter("3", "A012"), counter("4", None), counter("16", "P002"),
                       recent=[call(40, "3", "A012"), call(39, "16", "P002")]))
    assert s.views == {"3": SignView("A012"), "4": SignView(""), "16": SignView("P002")}


def test_a_counter_unknown_to_the_hub_stays_dark() -> None:
    s = Signs(snapshot(0, counter("3")))
    assert s.feed("call", call(1, "3", "A001"))["16"] == SignView("")


def test_a_gap_is_resynced_and_calls_it_revealed_blink() -> None:
    s = Signs()
    s.feed("call", call(1, "3", "A001"))
    v = s.feed("call", call(5, "4", "A003"))  # 2..4 missed: held back until the snapshot
    assert v["3"] == SignView("A001") and v["4"] == SignView("")
    v = s.feed("state", snapshot(5, counter("3", "A002"), counter("4", "A003"), counter("16"),
                                 recent=[call(5, "4", "A003"), call(3, "3", "A002"), call(1, "3", "A001")]))
    assert v["3"] == SignView("A002", blink=True) and v["4"] == SignView("A003", blink=True)


def test_ten_seconds_without_the_hub_shows_dashes_never_a_stale_number() -> None:
    s = Signs()
    s.feed("call", call(1, "3", "A001"))
    s.feed("link_down", {})
    s.now = T0 + OFFLINE_AFTER_S - 0.5
    assert sign_views(s.board, IDS, s.now)["3"] == SignView("A001")  # a blip is not an outage
    s.now = T0 + OFFLINE_AFTER_S
    dashes = {cid: SignView(OFFLINE_TEXT) for cid in IDS}
    assert s.feed("link_error", {"message": "refused"}) == dashes
    # The link is back but the board's numbers are still an outage old: dashes until the snapshot is in.
    assert s.feed("link_up", {}) == dashes
    assert s.feed("call", call(3, "3", "A004")) == dashes  # held back by the reducer until the snapshot
    # The snapshot decides; a number called during the outage blinks, one shown before it does not.
    v = s.feed("state", snapshot(3, counter("3", "A004"), counter("4", "A002"), counter("16"),
                                 recent=[call(3, "3", "A004"), call(2, "4", "A002"), call(1, "3", "A001")]))
    assert v == {"3": SignView("A004", True), "4": SignView("A002", True), "16": SignView("")}


def test_before_the_first_snapshot_signs_are_dark_then_dashes() -> None:
    board = initial(T0)
    assert sign_views(board, IDS, T0 + 1) == {cid: SignView("") for cid in IDS}
    assert sign_views(board, IDS, T0 + OFFLINE_AFTER_S) == {cid: SignView(OFFLINE_TEXT) for cid in IDS}


def test_sign_text_keeps_to_the_signs_font() -> None:
    assert sign_text("a023") == "A023"
    assert sign_text("A0_3") == "A0-3"
    assert sign_text("X" * 40) == "X" * 16


# -- the driver ------------------------------------------------------------------------------------


class FakeSign:
    def __init__(self) -> None:
        self.shown: list[tuple[str, bool]] = []
        self.fail = False

    def show(self, text: str, blink: bool = False) -> None:
        if self.fail:
            raise SignError("bus down")
        self.shown.append((text, blink))

    def close(self) -> None:
        pass


def test_driver_sends_changes_blinks_and_a_periodic_refresh_only() -> None:
    a, b = FakeSign(), FakeSign()
    d = SignDriver([("3", a), ("4", b)], refresh_s=20)
    d.update({"3": SignView(""), "4": SignView("")}, 0)
    assert a.shown == [("", False)] and b.shown == [("", False)]  # first update: everyone, to start dark
    d.update({"3": SignView(""), "4": SignView("")}, 1)
    assert len(a.shown) == 1
    d.update({"3": SignView("A001", True), "4": SignView("")}, 2)
    d.update({"3": SignView("A001"), "4": SignView("")}, 3)
    d.update({"3": SignView("A001", True), "4": SignView("")}, 4)  # a recall: the same text, blinking
    assert a.shown == [("", False), ("A001", True), ("A001", True)] and len(b.shown) == 1
    d.update({"3": SignView("A001"), "4": SignView("")}, 20)
    assert a.shown[-1] == ("A001", False) and b.shown[-1] == ("", False)


def test_driver_tries_a_failed_sign_again_and_others_are_not_held_up() -> None:
    a, b = FakeSign(), FakeSign()
    d = SignDriver([("3", a), ("4", b)])
    a.fail = True
    d.update({"3": SignView("A001"), "4": SignView("A002")}, 0)
    assert b.shown == [("A002", False)]
    a.fail = False
    d.update({"3": SignView("A001"), "4": SignView("A002")}, 1)
    assert a.shown == [("A001", False)] and b.shown == [("A002", False)]


def test_two_signs_of_one_counter_show_the_same() -> None:
    a, b = FakeSign(), FakeSign()
    d = SignDriver([("3", a), ("3", b)])
    assert d.counter_ids == ["3"]
    d.update({"3": SignView("A009", True)}, 0)
    assert a.shown == b.shown == [("A009", True)]
    d.show_all(OFFLINE_TEXT)
    assert a.shown[-1] == b.shown[-1] == (OFFLINE_TEXT, False)


# -- text signs (issue 9): the announcements while the counter is idle; a number always wins ----------


def ann(en: str, active: bool = True) -> dict[str, Any]:
    return {"id": en, "text": {"zh-TW": "宣導", "en": en}, "starts_at": None, "ends_at": None, "active": active}


def test_text_pages_fit_the_sign_and_keep_to_its_font() -> None:
    assert text_pages("Beware of fraud calls!", 8) == ["BEWARE", "OF FRAUD", "CALLS"]
    assert text_pages("Registration", 4) == ["REGI", "STRA", "TION"]  # longer than the sign: cut
    assert text_pages("防詐騙 ...", 8) == []  # nothing the sign's font has
    for page in text_pages("New rules from 1/12: bring your ID card, please.", 6):
        assert 0 < len(page) <= 6 and set(page) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -")


def test_an_idle_text_sign_shows_the_announcements_and_a_call_wins() -> None:
    s = Signs(snapshot(0, counter("3"), counter("4", "A002"), counter("16", open_=False)))
    s.feed("announcements", {"announcements": [ann("Fraud alert"), ann("Hidden", active=False)]})
    texts = [with_announcements(s.shown, s.board, 8, T0 + k * 2.5) for k in range(4)]
    assert [t["3"].text for t in texts] == ["FRAUD", "ALERT", "", "FRAUD"]  # paged, a pause, again
    assert all(t["4"] == SignView("A002") for t in texts)  # the counter's number wins
    assert texts[1]["16"].text == "ALERT"  # a closed counter's sign is idle too
    views = s.feed("call", call(1, "3", "A003"))
    shown = with_announcements(s.shown, s.board, 8, T0 + 2.5)
    assert shown["3"] == views["3"] == SignView("A003", True)  # the call blinks, no announcement
    s.feed("announcements", {"announcements": []})
    assert with_announcements(s.shown, s.board, 8, T0)["16"].text == ""


def test_offline_dashes_win_over_the_announcements() -> None:
    s = Signs(snapshot(0, counter("3"), counter("4"), counter("16")))
    s.feed("announcements", {"announcements": [ann("Fraud alert")]})
    s.feed("link_down", {})
    s.now = T0 + OFFLINE_AFTER_S + 1
    s.feed("link_error", {"message": "x"})
    assert set(v.text for v in with_announcements(s.shown, s.board, 8, s.now).values()) == {OFFLINE_TEXT}


def test_the_driver_gives_text_signs_their_own_views() -> None:
    a, b = FakeSign(), FakeSign()
    d = SignDriver([("3", a), ("3", b)], text=[True, False])
    d.update({"3": SignView("")}, 0, {"3": SignView("FRAUD")})
    assert a.shown == [("FRAUD", False)] and b.shown == [("", False)]
    d.update({"3": SignView("A001", True)}, 1, {"3": SignView("A001", True)})
    assert a.shown[-1] == b.shown[-1] == ("A001", True)
