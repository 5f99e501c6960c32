"""What the kiosk screen shows (issue #3): `build_model(controller)` -> `ScreenModel`, from the controller's state.

Pure data: no pygame, no layout. Equal models draw equal pictures, so the screen redraws on change only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from display.roc import clock, roc_date_weekday
from server.wire.text import Text

from .controller import Controller, Lamp, Message

# The hub does not send lane names to kiosks (GET /services has none); a ticket does, once issued.
LANE_MARKS = {"elderly": Text("樂齡", "Seniors 65+"), "disability": Text("愛心", "Accessibility priority")}
PRIORITY_MARK = Text("優先", "Priority")

STATUS = {
    "ready": Text("請按", "Press"),
    "printing": Text("列印中", "Printing"),
    "busy": Text("請稍候", "Please wait"),
    "closed": Text("暫停服務", "Closed"),
    "unavailable": Text("暫停取號", "Not now"),
}
NO_DATA = Text("—", "—")


@dataclass(frozen=True)
class ButtonView:
    id: str
    key: int  # 1, 2, ...: the button's place on the panel (and its --keys number)
    name: Text  # the service's shown name (private services: the neutral one, as the hub sends it)
    lane: Text | None  # the priority lane's mark (樂齡, 愛心), None for the normal lane
    waiting: int | None  # people waiting for the service; None while the hub has not said
    wait: Text  # 約 5–10 分 / ~5–10 min, 免等候 / No wait, 暫停服務 / Closed, —
    lamp: Lamp
    state: str  # ready | printing | busy | closed | unavailable (a key of STATUS)

    @property
    def lit(self) -> bool:
        return self.lamp != Lamp.OFF

    @property
    def status(self) -> Text:
        return STATUS[self.state]


@dataclass(frozen=True)
class IssuedView:
    number: str
    service: Text
    lane: Text | None
    ahead: int | None
    wait: Text | None


@dataclass(frozen=True)
class ScreenModel:
    office: Text | None
    buttons: tuple[ButtonView, ...]
    banner: Message  # the press's outcome, or the standing fault, or "press a button"
    fault: bool  # nothing can be printed now (the fault lamp is on)
    issued: IssuedView | None  # the number just printed, for RESULT_SHOWN_S after the press
    keypad: str | None = None  # the booking code typed so far while the keypad is shown (issue 11)
    # The hub's time, to the minute (so that the screen redraws once a minute): "09:41" and its 民國 date.
    # None while the hub has not said it, or does not know it (clock_behind): no time is shown then.
    time: str | None = None
    date: str | None = None


def _text(value: Any) -> Text | None:
    if isinstance(value, dict) and value.get("zh-TW") and value.get("en"):
        return Text(str(value["zh-TW"]), str(value["en"]))
    return None


def lane_mark(lane: str) -> Text | None:
    if lane == "normal":
        return None
    return LANE_MARKS.get(lane, PRIORITY_MARK)


def wait_words(range_s: Any, wait_s: Any) -> Text | None:
    """An estimate in whole minutes, as a range when the hub gives one."""
    if isinstance(range_s, list | tuple) and len(range_s) == 2:
        low, high = range_s
    elif isinstance(wait_s, int | float):
        low = high = wait_s
    else:
        return None
    lo, hi = math.floor(low / 60), max(1, math.ceil(high / 60))
    if lo <= 0:
        return Text(f"{hi} 分鐘內", f"under {hi} min")
    if lo >= hi:
        return Text(f"約 {hi} 分", f"~{hi} min")
    return Text(f"約 {lo}–{hi} 分", f"~{lo}–{hi} min")


def service_wait(svc: dict[str, Any] | None) -> Text:
    if svc is None:
        return NO_DATA
    if not svc.get("open"):
        return STATUS["closed"]
    if not svc.get("waiting"):
        return Text("免等候", "No wait")
    return wait_words(svc.get("estimated_wait_range_s"), svc.get("estimated_wait_s")) or NO_DATA


def hub_clock(c: Controller) -> tuple[str | None, str | None]:
    """("09:41", "民國115年11月22日（星期日）") of the hub's time in the office's zone, or (None, None).

    Never this Pi's own clock: it may be hours or days off (no real-time clock, no NTP yet).
    """
    now = c.hub_time.now()
    if now is None:
        return None, None
    try:
        zone = ZoneInfo(c.timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("Asia/Taipei")
    t = datetime.fromtimestamp(now, zone)
    return clock(t), roc_date_weekday(t.date())


def build_model(c: Controller) -> ScreenModel:
    """What the screen shows now; equal models draw equal pictures, so the screen redraws on change only."""
    lamps, fault_lamp = c.lamps()
    message, standing, shown = c.message(), c.standing_message(), c.shown_result()
    services = c.services if c.hub_ok else {}  # stale counts from before an outage would mislead
    busy = Lamp.BLINK in lamps.values()
    buttons = []
    for i, b in enumerate(c.config.buttons, 1):
        svc = services.get(b.service)
        lamp = lamps.get(b.id, Lamp.OFF)
        if lamp == Lamp.BLINK:
            state = "printing"
        elif lamp == Lamp.ON:
            state = "ready"
        elif svc is not None and not svc.get("open"):
            state = "closed"
        elif busy:
            state = "busy"
        else:
            state = "unavailable"
        buttons.append(ButtonView(
            id=b.id, key=i, name=(_text(svc.get("name")) if svc else None) or Text(b.service, b.service),
            lane=lane_mark(b.lane), waiting=int(svc.get("waiting") or 0) if svc else None,
            wait=service_wait(svc), lamp=lamp, state=state))
    # A fault outranks "take your ticket": the ticket is out, the next person must know.
    banner = message if message.level == "error" or standing.level != "error" else standing
    issued = None
    if shown is not None and shown.printed and shown.ticket:
        t = shown.ticket
        svc = services.get(t.get("service", ""))
        name = _text(t.get("service_name")) or (_text(svc.get("name")) if svc else None) or NO_DATA
        issued = IssuedView(
            number=str(t["number"]), service=name,
            lane=(_text(t.get("lane_name")) or lane_mark(str(t.get("lane", "")))) if t.get("priority") else None,
            ahead=t.get("ahead") if isinstance(t.get("ahead"), int) else None,
            wait=wait_words(t.get("estimated_wait_range_s"), t.get("estimated_wait_s")))
    keypad = None if issued else c.keypad_entry()  # the number just printed first, then the keypad again
    hhmm, date = hub_clock(c)
    return ScreenModel(office=c.office, buttons=tuple(buttons), banner=banner,
                       fault=fault_lamp == Lamp.ON, issued=issued, keypad=keypad, time=hhmm, date=date)
