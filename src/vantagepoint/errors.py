"""One error tree for the whole platform; each error knows its HTTP status.

    VantageError (500)
    ├── Invalid (422)          carries a list of Problem(pointer, message)
    ├── Unauthorized (401)
    ├── Forbidden (403)
    ├── NotFound (404)
    ├── Conflict (409)
    │   └── InvalidTransition (409)
    ├── Unschedulable (409)
    ├── TooLarge (413)         a request body over its limit
    ├── RateLimited (429)      carries retry_after (seconds) and the limit it hit
    ├── Unavailable (503)      the database does not answer; retry shortly
    └── ToolError (500)        raised by tools; init refusals carry the reason

The core maps these to JSON bodies ``{"error", "message", "problems"}``; the
client raises the same classes from those bodies; the CLI prints them and exits
non-zero.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (RFC 6901 JSON pointer) and what."""

    pointer: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


class VantageError(Exception):
    status = 500
    code = "error"

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = list(problems or [])

    def to_dict(self) -> dict:
        return {
            "error": self.code,
            "message": self.message,
            "problems": [p.to_dict() for p in self.problems],
        }

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        lines = [self.message] + [f"  {p.pointer or '/'}: {p.message}" for p in self.problems]
        return "\n".join(lines)


class Invalid(VantageError):
    status = 422
    code = "invalid"


class Unauthorized(VantageError):
    status = 401
    code = "unauthorized"


class Forbidden(VantageError):
    status = 403
    code = "forbidden"


class AdminRefused(Forbidden):
    """Forbidden from an admin route: the core's audit log keeps the attempt."""


class NotFound(VantageError):
    status = 404
    code = "not_found"


class Conflict(VantageError):
    status = 409
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class Unschedulable(VantageError):
    status = 409
    code = "unschedulable"


class Unavailable(VantageError):
    status = 503
    code = "unavailable"


class ToolError(VantageError):
    code = "tool_error"


class TooLarge(VantageError):
    status = 413
    code = "too_large"


class RateLimited(VantageError):
    """Too many requests for one token; ``retry_after`` says when the next one may go."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: float = 1.0,
                 limit: dict | None = None, problems: list[Problem] | None = None):
        super().__init__(message, problems)
        self.retry_after = retry_after
        self.limit = dict(limit or {})

    def to_dict(self) -> dict:
        return {**super().to_dict(), "retry_after": self.retry_after, "limit": self.limit}


ERRORS_BY_CODE: dict[str, type[VantageError]] = {
    cls.code: cls
    for cls in (
        VantageError, Invalid, Unauthorized, Forbidden, NotFound,
        Conflict, InvalidTransition, Unschedulable, Unavailable, ToolError, TooLarge,
        RateLimited,
    )
}


def error_from_dict(status: int, body: dict) -> VantageError:
    """Rebuild an error from a core response body (used by the client)."""
    cls = ERRORS_BY_CODE.get(str(body.get("error")), VantageError)
    problems = [
        Problem(str(p.get("pointer", "")), str(p.get("message", "")))
        for p in body.get("problems") or []
        if isinstance(p, dict)
    ]
    err = cls(str(body.get("message") or f"HTTP {status}"), problems=problems)
    err.status = status
    if isinstance(err, RateLimited):
        err.retry_after = _seconds(body.get("retry_after"), 1.0)
        err.limit = body.get("limit") if isinstance(body.get("limit"), dict) else {}
    return err


def _seconds(value, default: float) -> float:
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return default
