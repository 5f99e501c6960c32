"""What the kiosk does when a button is pressed, and what its lamps and screen say. No GPIO, no threads.

press -> cooldown -> printer status -> issue at the hub -> print -> (print again once) -> cancel.
check-in CODE -> its shape -> printer status -> check in at the hub -> print -> (print again once); an
appointment ticket that could not be printed is NOT cancelled (the booking is checked in at the hub):
the citizen is told to ask at the counter, where the ticket is known by its number and booking code.
Rules from issue #3: never fail silently, and never hand out a number the hub does not know: a
ticket is printed only after the hub has issued it, and one that could not be printed is cancelled.
Time comes in through `monotonic` so that tests decide when a cooldown has passed.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from PIL import Image

from server.wire.hubtime import HubTime
from server.wire.shapes import OfficeInfo
from server.wire.text import Text

from .config import Button, KioskConfig
from .hub_client import HubClient, HubError, HubRefused, HubUnreachable
from .printer import Printer, PrintError, PrinterStatus
from .ticket_image import TicketContent, content_from_ticket, render_ticket

log = logging.getLogger("jiaohao.kiosk")

RESULT_SHOWN_S = 20.0  # how long the screen keeps saying what happened to the last press
KEYPAD_IDLE_S = 60.0  # the keypad closes (its entry is forgotten) after this long untouched
REFUSED_BLINK_S = 2.0  # a button that cannot be used now blinks this long when pressed
CHECK_IN = "__check_in__"  # `busy` while a booking is checked in
# What a booking code may look like; anything else (a scanner's garbage, a partial read) is "not found"
# without asking the hub. Shared/CONTRACT.md does not fix a shape; both booking sites use short codes.
CODE_RE = re.compile(r"[A-Za-z0-9-]{4,32}")
DEFAULT_LATE_MINUTES = 15  # CONTRACT.md's [appointments] late_minutes default (the ministry's rule)


def valid_code(raw: str) -> str | None:
    """The booking code in `raw` (surrounding spaces dropped), or None when it cannot be one."""
    code = raw.strip()
    return code if CODE_RE.fullmatch(code) else None


class Lamp(StrEnum):
    ON = "on"  # press me
    OFF = "off"  # closed, or the kiosk cannot print now
    BLINK = "blink"  # printing


class Outcome(StrEnum):
    PRINTED = "printed"
    IGNORED = "ignored"  # within the cooldown of the same button: bounce, double press, mashing
    BUSY = "busy"  # another ticket is being printed
    CLOSED = "closed"  # the service has no open counter
    PRINTER_FAULT = "printer_fault"  # checked before issuing: nothing was issued
    HUB_UNREACHABLE = "hub_unreachable"  # nothing printed; an issue the hub may have served is cancelled later
    HUB_REFUSED = "hub_refused"
    CANCELLED = "cancelled"  # issued, printing failed twice, cancelled at the hub
    CANCEL_PENDING = "cancel_pending"  # as above, but the hub could not be told yet: it will be
    CANCEL_FAILED = "cancel_failed"  # as above, and the hub refused the cancel: staff must see to it
    KEYPAD = "keypad"  # the check-in button opened the keypad: nothing issued yet
    NOT_FOUND = "not_found"  # no such booking (404), or input that cannot be a booking code
    TOO_EARLY = "too_early"  # check-in is not open yet: nothing issued
    NOT_TODAY = "not_today"  # a booking for another day
    APPOINTMENTS_ONLY = "appointments_only"  # an ordinary button in a session that takes bookings only
    CHECKED_IN_NOT_PRINTED = "checked_in_not_printed"  # checked in at the hub, printing failed twice


@dataclass(frozen=True)
class Message:
    zh: str
    en: str
    level: str = "info"  # info | warning | error

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"


@dataclass(frozen=True)
class PressResult:
    outcome: Outcome
    message: Message
    ticket: dict[str, Any] | None = None

    @property
    def printed(self) -> bool:
        return self.outcome == Outcome.PRINTED


READY = Message("請按按鈕取號", "Press a button for your number")
PRINTING = Message("列印中，請稍候", "Printing, please wait")
PRINTER_MESSAGES = {
    PrinterStatus.PAPER_OUT: Message("印表機缺紙，暫停取號，請洽服務台",
                                     "The printer is out of paper: no numbers for now. Please ask at the front desk.",
                                     "error"),
    PrinterStatus.OFFLINE: Message("印表機離線或上蓋未關，暫停取號，請洽服務台",
                                   "The printer is offline or its cover is open: no numbers for now. "
                                   "Please ask at the front desk.", "error"),
}
HUB_DOWN = Message("連不上叫號主機，暫停取號，請洽服務台",
                   "The queue server cannot be reached: no numbers for now. Please ask at the front desk.", "error")
NEAR_END = Message("請按按鈕取號（紙張即將用完，請通知服務人員）",
                   "Press a button for your number (paper is running low: please tell the staff)", "warning")
ALL_CLOSED = Message("目前沒有開放的服務", "No service is open now", "warning")
APPOINTMENTS_ONLY = Message("本時段僅受理預約報到，請輸入或掃描預約代碼",
                            "Appointments only now: type or scan your booking code", "warning")
ENTER_CODE = Message("請輸入或掃描預約代碼", "Type or scan your booking code")
NOT_FOUND = Message("查無此預約，請確認預約代碼或洽服務台",
                    "Booking not found: check the code or ask at the front desk", "warning")
NOT_TODAY = Message("此預約不是今天，請確認預約日期或洽服務台",
                    "This booking is not for today: check its date or ask at the front desk", "warning")
CHECK_IN_HUB_DOWN = Message("目前無法報到：連不上叫號主機，請稍後再試或洽服務台",
                            "Cannot check in now: the queue server cannot be reached. Try again soon or ask at "
                            "the front desk.", "error")
_HHMM = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b")


def too_early_message(hub_message: str) -> Message:
    """409 too_early's message says from what time (CONTRACT.md); the screen says it in both languages."""
    m = _HHMM.search(hub_message)
    if not m:
        return Message(f"尚未到報到時間：{hub_message}", f"Too early to check in: {hub_message}", "warning")
    hm = f"{int(m.group(1)):02d}:{m.group(2)}"
    return Message(f"尚未到報到時間，請於 {hm} 起報到", f"Too early: check-in opens at {hm}", "warning")


# The hub answers but refuses changes for now (CONTRACT.md): say why, not "cannot reach the hub".
HOLD_MESSAGES = {
    "clock_behind": Message("暫停取號：主機時間尚未校正，請洽服務台",
                            "No numbers now: the hub's clock is not set yet. Please ask at the front desk.", "error"),
    "storage_unavailable": Message("暫停取號：主機無法儲存資料，請洽服務台",
                                   "No numbers now: the hub cannot store data. Please ask at the front desk.", "error"),
}


class Controller:
    def __init__(
        self,
        config: KioskConfig,
        hub: HubClient,
        printer: Printer,
        *,
        server_url: str,
        monotonic: Callable[[], float] = time.monotonic,
        new_key: Callable[[], str] = lambda: uuid.uuid4().hex,
        render: Callable[[TicketContent, int], Image.Image] = render_ticket,
        issue_deadline_s: float = 15.0,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.config, self.hub, self.printer = config, hub, printer
        self.server_url = server_url.rstrip("/")
        self.monotonic, self.new_key, self.render = monotonic, new_key, render
        self.issue_deadline_s = issue_deadline_s
        self.on_change = on_change
        self._state = threading.Lock()  # guards the fields below; never held during I/O
        self._io = threading.Lock()  # one conversation with the hub and the printer at a time
        self.printer_status: PrinterStatus | None = None
        self.hub_ok = False
        self.hub_problem: str | None = None  # e.g. the hub refuses our token
        # The hub holds changes (its clock, its disk): from its status in every poll (GET /services' `hub`), or
        # from a refused press with a hub that does not say its status; said until the hub takes changes again.
        self.hold: Message | None = None
        self.hub_status: str | None = None  # the hub's own word: ok, clock_behind, storage_unavailable
        # The hub's time (its `server_time` in every poll) carried on by the monotonic clock: what the screen
        # shows as the time, never this Pi's own clock (which may be off: a Pi has no real-time clock).
        self.hub_time = HubTime(monotonic)
        self.office: Text | None = None
        self.timezone = "Asia/Taipei"
        self.hub_public_url = ""
        self.hub_footer: Text | None = None
        self.service_open: dict[str, bool] = {}
        # The hub's last word on each service (GET /services): name, waiting, estimates; for the screen.
        self.services: dict[str, dict[str, Any]] = {}
        self.busy: str | None = None
        self.quiet_until: dict[str, float] = {}
        self.last_result: PressResult | None = None
        self.last_result_at = 0.0
        self.paper_near_end = False
        # What the hub last heard of this kiosk's printer, and when (it is told again every minute,
        # so that a restarted hub learns it too).
        self.reported: tuple[str, float] | None = None
        # Issues whose answer never came: the hub may hold a ticket nobody has. Cancelled when it is back.
        self.orphans: list[tuple[str, str, str]] = []
        # Tickets issued but not printed whose cancel the hub has not confirmed yet.
        self.pending_cancels: list[dict[str, Any]] = []
        self.printed = 0
        # Appointments (issue 11). The hub says when only bookings are served: `appointments_only` at the
        # top of GET /services (the whole kiosk) or on a service entry (that service's buttons).
        self.appointments_only = False
        self.appointments_only_services: set[str] = set()
        self.keypad_available = False  # a touch screen is drawn: the check-in button opens the keypad
        self.keypad: str | None = None  # the code typed so far; None: the keypad is closed
        self.keypad_at = 0.0
        self.refused_until: dict[str, float] = {}  # buttons blinking "not now" after a press

    # -- what the person sees ------------------------------------------------------------------

    @property
    def can_print(self) -> bool:
        return bool(self.printer_status and self.printer_status.can_print and self.hub_ok and self.office
                    and self.hold is None)

    def lamps(self) -> tuple[dict[str, Lamp], Lamp]:
        """Each button's lamp, and the fault lamp (on: cannot print; blinking: needs attention soon)."""
        with self._state:
            out: dict[str, Lamp] = {}
            now = self.monotonic()
            for b in self.config.buttons:
                if self.busy == b.id or (self.busy == CHECK_IN and self.is_check_in(b)):
                    out[b.id] = Lamp.BLINK
                elif now < self.refused_until.get(b.id, float("-inf")):
                    out[b.id] = Lamp.BLINK  # "not this button now": the screen says why
                elif (self.busy or not self.can_print or self.service_open.get(b.service) is False
                      or self._only_check_in(b)):
                    out[b.id] = Lamp.OFF
                else:
                    out[b.id] = Lamp.ON
            if not self.can_print:
                fault = Lamp.ON
            elif self.paper_near_end or self.pending_cancels or self.orphans:
                fault = Lamp.BLINK
            else:
                fault = Lamp.OFF
            return out, fault

    def is_check_in(self, b: Button) -> bool:
        return b.service == self.config.appointment_service

    def _only_check_in(self, b: Button) -> bool:
        """An ordinary button while the hub serves only bookings (for the kiosk, or for its service)."""
        return not self.is_check_in(b) and (self.appointments_only or b.service in self.appointments_only_services)

    def keypad_entry(self) -> str | None:
        """What the keypad shows (None: closed). Always open in an appointments-only session with a screen."""
        with self._state:
            return self._keypad_entry()

    def _keypad_entry(self) -> str | None:
        if not self.keypad_available:
            return None
        if self.keypad is not None and self.monotonic() - self.keypad_at >= KEYPAD_IDLE_S:
            self.keypad = None  # walked away: the next person starts afresh
        if self.keypad is None and self.appointments_only:
            return ""
        return self.keypad

    def keypad_key(self, key: str) -> str | None:
        """A key of the on-screen keypad: a digit or letter, "back", "clear", "cancel" or "ok".

        Returns the code to check in on "ok" (the caller checks it in, off the drawing thread).
        """
        with self._state:
            entry = self._keypad_entry()
            if entry is None and key != "open":
                return None
            entry = entry or ""
            self.keypad_at = self.monotonic()
            done: str | None = None
            if key == "back":
                entry = entry[:-1]
            elif key == "clear" or key == "open":
                entry = ""
            elif key == "cancel":
                self.keypad = None
                self.last_result = None
            elif key == "ok":
                done, entry = entry, ""
            elif len(key) == 1 and (key.isascii() and key.isalnum() or key == "-") and len(entry) < 32:
                entry += key
            if key != "cancel":
                self.keypad = entry
        self._changed()
        return done

    def message(self) -> Message:
        with self._state:
            if self.busy:
                return PRINTING
            if self.last_result and self.monotonic() - self.last_result_at < RESULT_SHOWN_S:
                return self.last_result.message
            return self._standing_message()

    def standing_message(self) -> Message:
        """What the kiosk says when nobody has pressed: a fault (level error) if it cannot print."""
        with self._state:
            return self._standing_message()

    def shown_result(self) -> PressResult | None:
        """The last press's result while the screen still shows it (RESULT_SHOWN_S), not while printing."""
        with self._state:
            if self.busy or not self.last_result or self.monotonic() - self.last_result_at >= RESULT_SHOWN_S:
                return None
            return self.last_result

    def _standing_message(self) -> Message:
        if self.printer_status in PRINTER_MESSAGES:
            return PRINTER_MESSAGES[self.printer_status]  # type: ignore[index]
        if self.hold is not None:
            return self.hold
        if self.hub_problem:
            return Message("叫號主機拒絕此取號機，請洽服務人員",
                           f"The queue server refuses this kiosk: {self.hub_problem}", "error")
        if not self.hub_ok or not self.office:
            return HUB_DOWN
        if self.service_open and not any(self.service_open.get(b.service) for b in self.config.buttons):
            return ALL_CLOSED
        if self.appointments_only:
            return APPOINTMENTS_ONLY
        if self._keypad_entry() is not None:
            return ENTER_CODE
        return NEAR_END if self.paper_near_end else READY

    def status(self) -> dict[str, Any]:
        """For the log and the supervisor: everything the lamps summarise."""
        lamps, fault = self.lamps()
        msg = self.message()
        with self._state:
            return {
                "printer": str(self.printer_status) if self.printer_status else None,
                "paper_near_end": self.paper_near_end,
                "hub_ok": self.hub_ok,
                "hub_problem": self.hub_problem,
                "hub_status": self.hub_status,
                "lamps": {k: str(v) for k, v in lamps.items()},
                "fault_lamp": str(fault),
                "message": {"zh-TW": msg.zh, "en": msg.en, "level": msg.level},
                "pending_cancels": [t["number"] for t in self.pending_cancels],
                "unanswered_issues": len(self.orphans),
                "printed": self.printed,
            }

    def _changed(self) -> None:
        if self.on_change:
            try:
                self.on_change()
            except Exception:  # the lamps failing must not stop the kiosk from issuing
                log.exception("on_change failed")

    # -- polling --------------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Check printer and hub, tidy up what earlier failures left; False if a press was running."""
        if not self._io.acquire(blocking=False):
            return False
        try:
            self._check_printer()
            self._check_hub()
            if self.hub_ok:
                self._settle_orphans()
                self._settle_cancels()
                self._report_health()
        finally:
            self._io.release()
        self._changed()
        return True

    def _check_printer(self) -> PrinterStatus:
        status = self.printer.status()
        with self._state:
            before, self.printer_status = self.printer_status, status
            if status == PrinterStatus.NEAR_END and not self.paper_near_end:
                log.warning("printer %s: paper near end; load a new roll soon", self.printer.spec)
            if status in (PrinterStatus.OK, PrinterStatus.PAPER_OUT):
                self.paper_near_end = False  # a new roll, or a known empty one
            elif status == PrinterStatus.NEAR_END:
                self.paper_near_end = True
        if status != before:
            log.log(logging.INFO if status.can_print else logging.WARNING, "printer %s: %s", self.printer.spec, status)
        return status

    def _report_health(self) -> None:
        """Tell the hub how the printer is, when that changes and every REPORT_EVERY_S: staff see it."""
        status = self.printer_status
        if status is None:
            return
        state, code, zh, en = HEALTH[status]
        now = self.monotonic()
        if self.reported and self.reported[0] == code and now - self.reported[1] < REPORT_EVERY_S:
            return
        try:
            self.hub.report_status(state, code, {"zh-TW": zh, "en": en})
        except (HubUnreachable, HubRefused) as e:  # the next poll tries again
            log.info("could not report printer health to the hub: %s", e)
            return
        self.reported = (code, now)

    def _check_hub(self) -> None:
        try:
            if self.office is None:
                state = self.hub.state()
                office = OfficeInfo.from_json(state.get("office"))
                if office.name.blank:
                    raise HubRefused(200, "no_office", "GET /state has no office name: is --server the jiaohao hub?")
                with self._state:
                    self.office = office.name
                    self.timezone = office.timezone or self.timezone
                    self.hub_public_url = (office.public_url or "").rstrip("/")
                    self.hub_footer = office.ticket_footer  # hubs from before it was added do not send it
                answer = state
            else:
                answer = self.hub.services_answer()
            services, only = answer["services"], answer.get("appointments_only")
        except HubRefused as e:
            self._hub_down(e.message or e.code, refused=True)
            return
        except HubUnreachable as e:
            self._hub_down(str(e), refused=False)
            return
        with self._state:
            if not self.hub_ok:
                log.info("hub %s: reachable", self.server_url)
            self.hub_ok, self.hub_problem = True, None
            self.service_open = {s["id"]: bool(s.get("open")) for s in services}
            self.services = {s["id"]: s for s in services}
            # Absent (a hub from before appointments): ordinary sessions. Only a real true counts.
            self.appointments_only = only is True
            self.appointments_only_services = {s["id"] for s in services if s.get("appointments_only") is True}
            self._take_status(answer.get("hub"))
        self.hub_time.take(answer)

    def _take_status(self, hub: Any) -> None:
        """Under the state lock: the hub's status as its poll says it, so that a kiosk shows `clock_behind`
        (banner and fault lamp) before anyone presses. A hub that does not say keeps what a press learnt."""
        if not isinstance(hub, dict) or not isinstance(hub.get("status"), str):
            return
        status = hub["status"]
        if status != self.hub_status:
            log.log(logging.INFO if status == "ok" else logging.WARNING, "hub %s: status %s", self.server_url, status)
        self.hub_status = status
        if status == "ok":
            self.hold = None
        else:
            said = Text.maybe(hub.get("message"))
            self.hold = HOLD_MESSAGES.get(status) or Message(
                f"暫停取號：{said.zh if said else status}，請洽服務台",
                f"No numbers now: {said.en if said else status}. Please ask at the front desk.", "error")

    def _hub_down(self, why: str, refused: bool) -> None:
        with self._state:
            if self.hub_ok or (refused and self.hub_problem != why):
                log.warning("hub %s: %s", self.server_url, why)
            self.hub_ok = False
            self.hub_problem = why if refused else None
            self.hold, self.hub_status = None, None  # unreachable or refusing us: that is what it says now

    def _settle_orphans(self) -> None:
        while self.orphans:
            key, service, lane = self.orphans[0]
            try:
                ticket, created = self.hub.issue(service, lane, key, deadline_s=3.0)
            except HubRefused as e:
                log.warning("unanswered issue %s: the hub refuses it now (%s); dropped", key, e)
            except HubUnreachable:
                return
            else:
                if created:  # the first request never reached the hub; this one did, and nobody waits for it
                    log.info("unanswered issue %s: re-sent, issued now as %s: cancelling", key, ticket["number"])
                else:
                    log.warning("ticket %s was issued but its answer was lost, so nobody holds it: cancelling",
                                ticket["number"])
                with self._state:
                    self.pending_cancels.append(ticket)
            with self._state:
                self.orphans.pop(0)

    def _settle_cancels(self) -> None:
        while self.pending_cancels:
            ticket = self.pending_cancels[0]
            try:
                self.hub.cancel(ticket["id"], deadline_s=3.0)
                log.info("ticket %s cancelled at the hub", ticket["number"])
            except HubRefused as e:
                log.error("ticket %s could not be cancelled (%s): tell the counter staff", ticket["number"], e)
            except HubUnreachable:
                return
            with self._state:
                self.pending_cancels.pop(0)

    # -- a press ----------------------------------------------------------------------------------

    def press(self, button_id: str, *, ignore_cooldown: bool = False) -> PressResult:
        button = self.config.button(button_id)
        with self._state:
            now = self.monotonic()
            if self.busy:
                return PressResult(Outcome.BUSY, PRINTING)
            if self._only_check_in(button):
                # Nothing is issued: the lamp blinks "not this one" and the screen says what is possible.
                self.refused_until[button.id] = now + REFUSED_BLINK_S
                result = PressResult(Outcome.APPOINTMENTS_ONLY, APPOINTMENTS_ONLY)
                self.last_result, self.last_result_at = result, now
            elif self.is_check_in(button) and self.keypad_available:
                # With a screen, the check-in button asks for the code; without one it prints an ordinary
                # ticket of the appointment service, so that a volunteer can help (issue 11).
                self.keypad, self.keypad_at = "", now
                self.last_result = None
                result = PressResult(Outcome.KEYPAD, ENTER_CODE)
            else:
                result = None
            if result is not None:
                log.info("button %s: %s", button.id, result.outcome)
        if result is not None:
            self._changed()
            return result
        with self._state:
            if self.busy:
                return PressResult(Outcome.BUSY, PRINTING)
            if not ignore_cooldown and now < self.quiet_until.get(button.id, float("-inf")):
                log.debug("button %s: press within the cooldown ignored", button.id)
                return PressResult(Outcome.IGNORED, self.last_result.message if self.last_result else READY)
            self.busy = button.id
            self.quiet_until[button.id] = now + self.config.cooldown_s
        self._changed()  # its lamp blinks, the others go dark
        result = PressResult(Outcome.HUB_REFUSED,
                             Message("取號失敗，請洽服務台", "No number. Please ask at the front desk.", "error"))
        try:
            with self._io:
                result = self._press(button)
        except Exception:
            log.exception("button %s: unexpected failure", button.id)
            raise
        finally:
            with self._state:
                self.busy = None
                # The window starts again when the ticket is out: a press during printing is not a new one.
                self.quiet_until[button.id] = self.monotonic() + self.config.cooldown_s
                self.last_result, self.last_result_at = result, self.monotonic()
            self._changed()
        log.info("button %s: %s: %s", button.id, result.outcome, result.message)
        return result

    def _ready(self) -> PressResult | None:
        """Printer and hub checked before anything is issued; a result when nothing can be."""
        status = self._check_printer()
        if not status.can_print:
            return PressResult(Outcome.PRINTER_FAULT, PRINTER_MESSAGES[status])
        if self.office is None:
            self._check_hub()
            if self.hub_problem:
                with self._state:
                    return PressResult(Outcome.HUB_REFUSED, self._standing_message())
            if self.office is None:
                return self._no_hub()
        return None

    def _press(self, b: Button) -> PressResult:
        if self.service_open.get(b.service) is False and self.hub_ok:
            return PressResult(Outcome.CLOSED, Message("此項服務目前暫停，請洽服務台",
                                                       "This service is closed now. Please ask at the front desk.",
                                                       "warning"))
        not_ready = self._ready()
        if not_ready:
            return not_ready
        key = self.new_key()
        try:
            ticket, created = self.hub.issue(b.service, b.lane, key, deadline_s=self.issue_deadline_s)
        except HubUnreachable as e:
            log.warning("button %s: no answer from the hub: %s", b.id, e)
            with self._state:
                self.orphans.append((key, b.service, b.lane))
                self.hub_ok = False
            return self._no_hub()
        except HubRefused as e:
            log.error("button %s: the hub refused to issue %s/%s: %s", b.id, b.service, b.lane, e)
            if e.code in HOLD_MESSAGES:
                with self._state:
                    self.hold = HOLD_MESSAGES[e.code]
                return PressResult(Outcome.HUB_REFUSED, HOLD_MESSAGES[e.code])
            return PressResult(Outcome.HUB_REFUSED, Message("無法取號，請洽服務台",
                                                            "No number could be issued. Please ask at the front desk.",
                                                            "error"))
        with self._state:
            self.hub_ok, self.hold = True, None
        if not created:
            log.info("button %s: the hub had already issued %s for this press", b.id, ticket["number"])
        return self._print(ticket)

    # -- a check-in --------------------------------------------------------------------------------

    def check_in(self, raw: str) -> PressResult:
        """One booking code (typed, scanned, or from `jiaohao kiosk check-in`) checked in and printed."""
        with self._state:
            if self.busy:
                return PressResult(Outcome.BUSY, PRINTING)
            self.busy = CHECK_IN
            self.keypad = None
        self._changed()
        result = PressResult(Outcome.HUB_REFUSED,
                             Message("報到失敗，請洽服務台", "Check-in failed. Please ask at the front desk.", "error"))
        try:
            with self._io:
                result = self._check_in(raw)
        except Exception:
            log.exception("check-in: unexpected failure")
            raise
        finally:
            with self._state:
                self.busy = None
                self.last_result, self.last_result_at = result, self.monotonic()
                if result.outcome in (Outcome.NOT_FOUND, Outcome.TOO_EARLY, Outcome.NOT_TODAY):
                    self.keypad, self.keypad_at = "", self.monotonic()  # let them type it again
            self._changed()
        log.info("check-in: %s: %s", result.outcome, result.message)
        return result

    def _check_in(self, raw: str) -> PressResult:
        code = valid_code(raw)
        if code is None:
            # A scanner's garbage or a partial read: said like an unknown code, never sent to the hub.
            log.info("check-in: %r cannot be a booking code", raw[:40])
            return PressResult(Outcome.NOT_FOUND, NOT_FOUND)
        not_ready = self._ready()
        if not_ready:
            return not_ready
        try:
            answer, created = self.hub.check_in(code, self.new_key(), deadline_s=self.issue_deadline_s)
        except HubUnreachable as e:
            # No orphan to cancel: if the hub did check it in, the same code again gives the same ticket.
            log.warning("check-in %s: no answer from the hub: %s", code, e)
            with self._state:
                self.hub_ok = False
            return PressResult(Outcome.HUB_UNREACHABLE, CHECK_IN_HUB_DOWN)
        except HubRefused as e:
            log.info("check-in %s: %s", code, e)
            if e.code == "unknown_appointment":
                return PressResult(Outcome.NOT_FOUND, NOT_FOUND)
            if e.code == "too_early":
                return PressResult(Outcome.TOO_EARLY, too_early_message(e.message))
            if e.code == "not_today":
                return PressResult(Outcome.NOT_TODAY, NOT_TODAY)
            # A hub from before appointments answers 404 not_found for the route itself: not the citizen's
            # mistake, so not "booking not found"; staff see it in the log.
            log.error("check-in %s: the hub refused: %s", code, e)
            return PressResult(Outcome.HUB_REFUSED, Message(
                "無法報到，請洽服務台", "Cannot check in. Please ask at the front desk.", "error"))
        with self._state:
            self.hub_ok = True
        ticket, appointment = answer["ticket"], answer.get("appointment") or {}
        if not created:
            log.info("check-in %s: already checked in as %s: printing it again", code, ticket["number"])
        return self._print(ticket, appointment=appointment)

    def _no_hub(self) -> PressResult:
        return PressResult(Outcome.HUB_UNREACHABLE, Message(
            "目前無法取號：連不上叫號主機，請洽服務台",
            "No number now: the queue server cannot be reached. Please ask at the front desk.", "error"))

    def status_url(self, ticket_id: str) -> str:
        base = self.config.public_url or self.hub_public_url or self.server_url
        return f"{base}/s/{ticket_id}"

    def ticket_content(self, ticket: dict[str, Any], appointment: dict[str, Any] | None = None) -> TicketContent:
        assert self.office
        lapsed = None
        if appointment and appointment.get("status") == "lapsed":
            late = appointment.get("late_minutes")
            late = late if isinstance(late, int) else DEFAULT_LATE_MINUTES
            lapsed = Text(f"已逾預約時間 {late} 分鐘，改為現場候位", f"More than {late} min late: you now wait in line")
        return content_from_ticket(ticket, self.office, self.status_url(ticket["id"]),
                                   self.config.footer or self.hub_footer, note=lapsed)

    def _print(self, ticket: dict[str, Any], appointment: dict[str, Any] | None = None) -> PressResult:
        number = ticket["number"]
        error: Exception | None = None
        try:
            image = self.render(self.ticket_content(ticket, appointment), self.config.width_px)
        except Exception as e:  # a missing font: nothing can be printed, so the number must go
            log.exception("ticket %s: cannot render", number)
            image, error = None, e
        for attempt in (1, 2):
            if image is None:
                break
            try:
                self.printer.print_ticket(image)
                # A printer that ran out or opened mid-ticket takes the bytes without a word: ask it.
                after = self._check_printer()
                if not after.can_print:
                    raise PrintError(f"the printer is {after} after printing")
            except PrintError as e:
                error = e
                log.warning("ticket %s: print attempt %d failed: %s", number, attempt, e)
                continue
            with self._state:
                self.printed += 1
            msg = Message(f"請取號碼牌 {number}", f"Please take your ticket {number}")
            if appointment and appointment.get("status") == "lapsed":
                msg = Message(f"已逾預約時間，改為現場候位，請取號碼牌 {number}",
                              f"Too late for the booking: you now wait in line. Please take your ticket {number}")
            elif appointment:
                msg = Message(f"報到完成，請取號碼牌 {number}", f"Checked in. Please take your ticket {number}")
            return PressResult(Outcome.PRINTED, msg, ticket)
        if appointment:
            # Not cancelled: the booking is checked in at the hub and the ticket will be called. A clerk
            # finds it by its number (said here) or by the booking code, and the same code again at the
            # kiosk prints the same ticket once the printer is fixed.
            log.error("ticket %s (booking %s): checked in but not printed (%s): not cancelled",
                      number, appointment.get("code"), error)
            return PressResult(Outcome.CHECKED_IN_NOT_PRINTED, Message(
                f"列印失敗，但已完成報到，號碼 {number}，請洽服務台",
                f"Printing failed, but you are checked in as number {number}. Please ask at the front desk.",
                "error"), ticket)
        log.error("ticket %s: not printed (%s): cancelling it at the hub", number, error)
        try:
            self.hub.cancel(ticket["id"])
        except HubUnreachable:
            with self._state:
                self.pending_cancels.append(ticket)
            return PressResult(Outcome.CANCEL_PENDING, Message(
                f"列印失敗，號碼 {number} 作廢，請洽服務台",
                f"Printing failed: number {number} is void. Please ask at the front desk.", "error"), ticket)
        except HubRefused as e:
            log.error("ticket %s: the hub refused to cancel it (%s): tell the counter staff", number, e)
            return PressResult(Outcome.CANCEL_FAILED, Message(
                f"列印失敗，號碼 {number} 作廢，請洽服務台",
                f"Printing failed: number {number} is void. Please ask at the front desk.", "error"), ticket)
        return PressResult(Outcome.CANCELLED, Message(
            f"列印失敗，號碼 {number} 已取消，請洽服務台",
            f"Printing failed: number {number} has been cancelled. Please ask at the front desk.", "error"), ticket)


REPORT_EVERY_S = 60.0
# Printer status -> what the hub and its staff are told (state, code, zh-TW, English).
HEALTH = {
    PrinterStatus.OK: ("ok", "printer_ok", "印表機正常", "Printer ready"),
    PrinterStatus.NEAR_END: ("warn", "paper_near_end", "號碼牌紙張即將用完，請準備換紙", "Ticket paper is running low"),
    PrinterStatus.PAPER_OUT: ("error", "paper_out", "號碼牌紙張用完，暫停取號", "Ticket paper is out: no numbers"),
    PrinterStatus.OFFLINE: ("error", "printer_offline", "印表機離線或上蓋開啟", "Printer offline or cover open"),
}


def standing_state(c: Controller) -> tuple[tuple[tuple[str, Lamp], ...], Lamp, Message]:
    """A hashable summary, so that the runner logs and drives lamps only when something changes."""
    lamps, fault = c.lamps()
    return tuple(sorted(lamps.items())), fault, c.message()


__all__ = ["Controller", "HubError", "Lamp", "Message", "Outcome", "PressResult", "standing_state"]
