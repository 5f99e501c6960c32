"""The kiosk's side of the HTTP API: issue (with Idempotency-Key), check-in, cancel, office facts, services.

Retries use backoff bounded by a deadline: an elderly person stands at the kiosk, so after the
deadline the kiosk says "no ticket" rather than keep them waiting. A retried issue always carries the
same Idempotency-Key, so a request the hub did serve but whose answer was lost gives back the same
ticket instead of a second one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests

log = logging.getLogger("jiaohao.kiosk.hub")

RETRY_STATUS = {429, 500, 502, 503, 504}
# 503s that say the hub is there but refuses changes for now (its clock, its disk): retrying within one
# press cannot help, and the citizen should be told why at once instead of after the press's deadline.
HOLD_CODES = {"clock_behind", "storage_unavailable"}


class HubError(Exception):
    pass


class HubUnreachable(HubError):
    """No answer in time (connection refused, timeout, 5xx, 429). The request may have been served."""


class HubRefused(HubError):
    """The hub answered no (4xx): retrying the same request cannot help."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class HubClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (2.0, 5.0),
        backoff: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0),
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout
        self.backoff = backoff
        self.sleep, self.monotonic = sleep, monotonic

    def _once(self, method: str, path: str, **kw: Any) -> requests.Response:
        deadline_left = kw.pop("deadline_left", None)
        timeout = self.timeout
        if deadline_left is not None:
            # Never let one request outlive the whole press's deadline.
            timeout = (min(timeout[0], max(deadline_left, 0.1)), min(timeout[1], max(deadline_left, 0.1)))
        try:
            return self.session.request(method, self.base + path, timeout=timeout, **kw)
        except requests.RequestException as e:
            raise HubUnreachable(f"{method} {path}: {type(e).__name__}: {e}") from e

    def _request(self, method: str, path: str, deadline_s: float, **kw: Any) -> dict[str, Any]:
        """One request, retried with backoff on no answer / 5xx / 429 until `deadline_s` has passed."""
        end = self.monotonic() + deadline_s
        attempt = 0
        while True:
            try:
                r = self._once(method, path, deadline_left=end - self.monotonic(), **kw)
                if r.status_code in RETRY_STATUS and _error_code(r) not in HOLD_CODES:
                    raise HubUnreachable(f"{method} {path}: HTTP {r.status_code}")
                return _answer(r)
            except HubUnreachable as e:
                wait = self.backoff[min(attempt, len(self.backoff) - 1)]
                attempt += 1
                if self.monotonic() + wait >= end:
                    raise HubUnreachable(f"{e} (gave up after {attempt} attempts)") from e
                log.info("hub: %s; retrying in %.2f s", e, wait)
                self.sleep(wait)

    # -- the calls the kiosk makes -----------------------------------------------------------

    def issue(self, service: str, lane: str, key: str, deadline_s: float = 15.0) -> tuple[dict[str, Any], bool]:
        """A ticket, and whether this call created it (201) or the key had already issued it (200)."""
        r = self._request("POST", "/api/v1/tickets", deadline_s, json={"service": service, "lane": lane},
                          headers={"Idempotency-Key": key})
        return r["ticket"], bool(r["_created"])

    def check_in(self, code: str, key: str, deadline_s: float = 15.0) -> tuple[dict[str, Any], bool]:
        """POST /appointments/{code}/check-in: `{"ticket", "appointment"}`, and whether it was new (201).

        The same code again gives the same ticket (200), so a retry after a lost answer is harmless;
        the Idempotency-Key is sent anyway, for a hub that keys its replies on it.
        """
        r = self._request("POST", f"/api/v1/appointments/{quote(code, safe='')}/check-in", deadline_s,
                          headers={"Idempotency-Key": key})
        return r, bool(r.pop("_created"))

    def cancel(self, ticket_id: str, deadline_s: float = 10.0) -> dict[str, Any]:
        return self._request("POST", f"/api/v1/tickets/{ticket_id}/cancel", deadline_s)["ticket"]  # type: ignore[no-any-return]

    def state(self, deadline_s: float = 3.0) -> dict[str, Any]:
        return self._request("GET", "/api/v1/state", deadline_s)

    def report_status(self, state: str, code: str, message: dict[str, str], deadline_s: float = 3.0) -> None:
        """This kiosk's health, for the supervisor (POST /devices/self/status)."""
        self._request("POST", "/api/v1/devices/self/status", deadline_s,
                      json={"state": state, "code": code, "message": message})

    def services(self, deadline_s: float = 3.0) -> list[dict[str, Any]]:
        return self.services_answer(deadline_s)["services"]  # type: ignore[no-any-return]

    def services_answer(self, deadline_s: float = 3.0) -> dict[str, Any]:
        """GET /services whole: its top level may say `appointments_only` (a session for bookings only)."""
        return self._request("GET", "/api/v1/services", deadline_s)


def _error_code(r: requests.Response) -> str | None:
    try:
        data = r.json()
    except ValueError:
        return None
    err = data.get("error") if isinstance(data, dict) else None
    return str(err.get("code")) if isinstance(err, dict) else None


def _answer(r: requests.Response) -> dict[str, Any]:
    try:
        data = r.json()
    except ValueError:
        data = None
    if 200 <= r.status_code < 300 and isinstance(data, dict):
        data["_created"] = r.status_code == 201
        return data
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        err = data["error"]
        raise HubRefused(r.status_code, str(err.get("code", "error")), str(err.get("message", "")))
    if 200 <= r.status_code < 300:
        raise HubRefused(r.status_code, "not_jiaohao", "the answer is not JSON: is --server the jiaohao hub?")
    raise HubRefused(r.status_code, "http_error", f"HTTP {r.status_code} from {r.url}")
