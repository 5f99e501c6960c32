"""What the kiosk does when a button is pressed, and what its lamps and screen say. No GPIO, no threads.

press -> cooldown -> printer status -> issue at the hub -> print -> (print again once) -> cancel.
Rules from issue #3: never fail silently, and never hand out a number the hub does not know: a
ticket is printed only after the hub has issued it, and one that could not be printed is cancelled.
Time comes in through `monotonic` so that tests decide when a cooldown has passed.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from PIL import Image

from server.wire.shapes import OfficeInfo
from server.wire.text import Text

from .config import Button, KioskConfig
from .hub_client import HubClient, HubError, HubRefused, HubUnreachable
from .printer import Printer, PrintError, PrinterStatus
from .ticket_image import TicketContent, content_from_ticket, render_ticket

log = logging.getLogger("jiaohao.kiosk")

RESULT_SHOWN_S = 20.0  # how long the screen keeps saying what happened to the last press


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
        self.office: Text | None = None
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

    # -- what the person sees ------------------------------------------------------------------

    @property
    def can_print(self) -> bool:
        return bool(self.printer_status and self.printer_status.can_print and self.hub_ok and self.office)

    def lamps(self) -> tuple[dict[str, Lamp], Lamp]:
        """Each button's lamp, and the fault lamp (on: cannot print; blinking: needs attention soon)."""
        with self._state:
            out: dict[str, Lamp] = {}
            for b in self.config.buttons:
                if self.busy == b.id:
                    out[b.id] = Lamp.BLINK
                elif self.busy or not self.can_print or self.service_open.get(b.service) is False:
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
        if self.hub_problem:
            return Message("叫號主機拒絕此取號機，請洽服務人員",
                           f"The queue server refuses this kiosk: {self.hub_problem}", "error")
        if not self.hub_ok or not self.office:
            return HUB_DOWN
        if self.service_open and not any(self.service_open.get(b.service) for b in self.config.buttons):
            return ALL_CLOSED
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
                    self.hub_public_url = (office.public_url or "").rstrip("/")
                    self.hub_footer = office.ticket_footer  # hubs from before it was added do not send it
                services = state["services"]
            else:
                services = self.hub.services()
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

    def _hub_down(self, why: str, refused: bool) -> None:
        with self._state:
            if self.hub_ok or (refused and self.hub_problem != why):
                log.warning("hub %s: %s", self.server_url, why)
            self.hub_ok = False
            self.hub_problem = why if refused else None

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

    def _press(self, b: Button) -> PressResult:
        if self.service_open.get(b.service) is False and self.hub_ok:
            return PressResult(Outcome.CLOSED, Message("此項服務目前暫停，請洽服務台",
                                                       "This service is closed now. Please ask at the front desk.",
                                                       "warning"))
        status = self._check_printer()
        if not status.can_print:
            return PressResult(Outcome.PRINTER_FAULT, PRINTER_MESSAGES[status])
        if self.office is None:
            self._check_hub()
            if self.hub_problem:
                return PressResult(Outcome.HUB_REFUSED, self._standing_message())
            if self.office is None:
                return self._no_hub()
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
            return PressResult(Outcome.HUB_REFUSED, Message("無法取號，請洽服務台",
                                                            "No number could be issued. Please ask at the front desk.",
                                                            "error"))
        with self._state:
            self.hub_ok = True
        if not created:
            log.info("button %s: the hub had already issued %s for this press", b.id, ticket["number"])
        return self._print(ticket)

    def _no_hub(self) -> PressResult:
        return PressResult(Outcome.HUB_UNREACHABLE, Message(
            "目前無法取號：連不上叫號主機，請洽服務台",
            "No number now: the queue server cannot be reached. Please ask at the front desk.", "error"))

    def status_url(self, ticket_id: str) -> str:
        base = self.config.public_url or self.hub_public_url or self.server_url
        return f"{base}/s/{ticket_id}"

    def ticket_content(self, ticket: dict[str, Any]) -> TicketContent:
        assert self.office
        return content_from_ticket(ticket, self.office, self.status_url(ticket["id"]),
                                   self.config.footer or self.hub_footer)

    def _print(self, ticket: dict[str, Any]) -> PressResult:
        number = ticket["number"]
        error: Exception | None = None
        try:
            image = self.render(self.ticket_content(ticket), self.config.width_px)
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
            return PressResult(Outcome.PRINTED, msg, ticket)
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
