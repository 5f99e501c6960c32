"""One root for every error a person can act on; the HTTP status and a stable code live on the class."""

from __future__ import annotations


class JiaohaoError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class Malformed(JiaohaoError, ValueError):
    status = 400
    code = "malformed_request"


class Unauthorized(JiaohaoError):
    status = 401
    code = "unauthorized"


class Forbidden(JiaohaoError):
    status = 403
    code = "forbidden"


class NotFound(JiaohaoError, LookupError):
    status = 404
    code = "not_found"


class WrongState(JiaohaoError):
    status = 409
    code = "wrong_state"


class Gone(JiaohaoError):
    status = 410
    code = "gone"


class Invalid(JiaohaoError, ValueError):
    status = 422
    code = "invalid"


class TooLarge(JiaohaoError):
    status = 413
    code = "body_too_large"


class RateLimited(JiaohaoError):
    status = 429
    code = "rate_limited"


class InvalidRows(Invalid):
    """An import with bad rows: nothing is taken, and every bad row is named by its line."""

    def __init__(self, message: str, rows: list[dict[str, object]], *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.rows = rows

    def extra(self) -> dict[str, object]:
        return {"rows": self.rows}
